"""A peer IdP on pysaml2 (``saml2.server.Server``), configured as its documentation shows, for
proving the IdP-under-test suite on an IdP the project did not write.

Configuration, and why (pysaml2 7.5; docs = ``docs/howto/config.rst``, code = the installed
``saml2`` package):

- ``sign_response`` and ``sign_assertion`` True (``Server.create_authn_response`` parameters,
  "Whether the response/assertion should be signed"): saml2int SDP-IDP09 asks for both.
- ``signing_algorithm`` rsa-sha256 and ``digest_algorithm`` sha256 (docs of those names).
- ``encrypt_assertion`` True when the SP's metadata publishes an encryption key, with the SP's
  certificate from its metadata (``encrypt_cert_assertion``). The block cipher is pysaml2's
  default: ``saml2/sigver.py`` ``pre_encryption_part(msg_enc=TRIPLE_DES_CBC, ...)``.
- ``name_id_format`` emailAddress: the user's email is the NameID (``NameID(format=..., text=...)``
  given to ``create_authn_response``).
- ``policy.default.lifetime`` 15 minutes (docs "policy": "lifetime").
- ``single_logout_service`` on HTTP-Redirect; ``Server.create_logout_response`` answers the SP's
  LogoutRequest on the Redirect binding, whose query ``apply_binding`` signs only when the IdP's
  configuration has ``sign_response`` (``Entity.should_sign`` in ``saml2/entity.py``): set.

The login form has the fields ``login`` and ``passwd`` (not the mock IdP's names), so the
IdP target file names them, as it would for a real IdP.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from cryptography.utils import CryptographyDeprecationWarning
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.authn_context import PASSWORD as AUTHN_PASSWORD
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.keys import KeyPair

with warnings.catch_warnings():
    # pysaml2 7.5's saml2.cryptography.symmetric names cryptography's CFB mode at import, which
    # cryptography deprecates; this peer never uses it.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from saml2.server import Server

from ._common import sp_key_pair

LOGIN_FIELDS = ("login", "passwd")
_FORM = """<!doctype html><title>pysaml2 IdP</title>
<form method="post" action="{action}"><input type="hidden" name="key" value="{key}">
<input name="login"><input name="passwd" type="password"><button>Sign in</button></form>"""


def idp_config(base: str, sp_metadata: bytes, key: KeyPair, workdir: Path) -> IdPConfig:
    key_file, cert_file = workdir / "idp.key", workdir / "idp.crt"
    key_file.write_bytes(key.private_key_pem())
    key_file.chmod(0o600)
    cert_file.write_bytes(key.certificate_pem())
    xmlsec = shutil.which("xmlsec1")
    if xmlsec is None:
        raise RuntimeError("pysaml2 needs the xmlsec1 program: apt-get install xmlsec1")
    config: dict[str, Any] = {
        "entityid": f"{base}/metadata",
        "service": {
            "idp": {
                "endpoints": {
                    "single_sign_on_service": [
                        (f"{base}/sso/redirect", BINDING_HTTP_REDIRECT),
                        (f"{base}/sso/post", BINDING_HTTP_POST),
                    ],
                    "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                },
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                # Also what signs the HTTP-Redirect query of its logout messages: an IdP's
                # ``Entity.should_sign`` is this key (saml2/entity.py), so without it the
                # LogoutResponse goes unsigned whatever ``sigalg`` says.
                "sign_response": True,
                "policy": {"default": {"lifetime": {"minutes": 15}}},
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
            }
        },
        "metadata": {"inline": [sp_metadata.decode("utf-8")]},
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "xmlsec_binary": xmlsec,
        "crypto_backend": "xmlsec1",
    }
    return IdPConfig().load(config)


class PySaml2IdP:
    """The app: a login form for every AuthnRequest, then pysaml2's signed Response."""

    def __init__(self, base_url: str, sp_metadata: bytes, users: dict[str, str]) -> None:
        self.base = base_url.rstrip("/")
        self.users = users  # user name -> password
        self._workdir = tempfile.TemporaryDirectory(prefix="pysaml2-peer-idp-")
        key = sp_key_pair("pysaml2-peer-idp")
        self.config = idp_config(self.base, sp_metadata, key, Path(self._workdir.name))
        self.server = Server(config=self.config)
        self.metadata_xml = str(entity_descriptor(self.config)).encode("utf-8")
        self.pending: dict[str, tuple[Any, str | None]] = {}  # form key -> (request, RelayState)
        self.app = Starlette(
            routes=[
                Route("/metadata", self.metadata),
                Route("/sso/redirect", self.sso),
                Route("/sso/post", self.sso, methods=["POST"]),
                Route("/login", self.login, methods=["POST"]),
                Route("/slo", self.slo),
            ]
        )

    def close(self) -> None:
        self._workdir.cleanup()

    async def metadata(self, _: Request) -> Response:
        return Response(self.metadata_xml, media_type="application/samlmetadata+xml")

    async def sso(self, request: Request) -> Response:
        fields = dict(request.query_params)
        binding = BINDING_HTTP_REDIRECT
        if request.method == "POST":
            fields = {k: str(v) for k, v in (await request.form()).items()}
            binding = BINDING_HTTP_POST
        parsed = self.server.parse_authn_request(fields["SAMLRequest"], binding)
        key = parsed.message.id
        self.pending[key] = (parsed.message, fields.get("RelayState"))
        return HTMLResponse(_FORM.format(action=f"{self.base}/login", key=key))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        found = self.pending.pop(str(form.get("key")), None)
        user, password = str(form.get("login")), str(form.get("passwd"))
        if found is None or self.users.get(user) != password:
            return PlainTextResponse("sign-in failed", status_code=403)
        authn_request, relay_state = found
        args = self.server.response_args(authn_request)
        sp = args["sp_entity_id"]
        encrypt_cert = self.server.metadata.certs(sp, "spsso", "encryption")
        response = self.server.create_authn_response(
            {"mail": [user]},
            userid=user,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user),
            authn={"class_ref": AUTHN_PASSWORD, "authn_auth": self.config.entityid},
            sign_response=True,
            sign_assertion=True,
            encrypt_assertion=bool(encrypt_cert),
            encrypt_cert_assertion=encrypt_cert[0][1] if encrypt_cert else None,
            **args,
        )
        http = self.server.apply_binding(
            BINDING_HTTP_POST, str(response), args["destination"], relay_state, response=True
        )
        return HTMLResponse(http["data"])

    async def slo(self, request: Request) -> Response:
        fields = dict(request.query_params)
        parsed = self.server.parse_logout_request(fields["SAMLRequest"], BINDING_HTTP_REDIRECT)
        # As pysaml2's example IdP (example/idp2/idp.py) answers a LogoutRequest.
        answer = self.server.create_logout_response(parsed.message, [BINDING_HTTP_REDIRECT])
        binding, destination = self.server.pick_binding(
            "single_logout_service", [BINDING_HTTP_REDIRECT], "spsso", parsed
        )
        http = self.server.apply_binding(
            binding, str(answer), destination, fields.get("RelayState"), response=True
        )
        return RedirectResponse(dict(http["headers"])["Location"], status_code=302)
