"""A peer SP on pysaml2 (``saml2.client.Saml2Client``), in its most secure documented
configuration, for proving the harness on an SP it did not write.

Run it by hand::

    python -m tests.peers.pysaml2_sp --port 8101 --idp-metadata http://127.0.0.1:8002/saml/metadata

Configuration, and why (pysaml2 7.5; docs = ``docs/howto/config.rst`` of IdentityPython/pysaml2,
code = the installed ``saml2`` package):

- ``want_assertions_signed: True``: every assertion must carry a valid signature by a key in the
  IdP's metadata. Docs "want_assertions_signed" (default False); enforced in
  ``saml2/entity.py`` ``Entity._parse_response`` (``response.require_signature``, then
  ``response.verify(keys)``) and ``saml2/response.py`` ``AuthnResponse._assertion`` /
  ``SecurityContext.check_signature``.
- ``want_response_signed: False`` by default, an option: the docs default it to True ("the SP will
  not consume any SAML Responses that are not signed"; enforced in ``Entity._parse_response``,
  which sets ``response.require_response_signature`` before ``response.loads``). Entra ID and
  Ping sign only the assertion (the mock IdP's ``entra`` and ``ping`` presets do the same), so the
  strictest setting that accepts every vendor's normal response is "assertion signed, response
  signature verified when present": ``Entity._parse_response`` first forces the response
  signature check and only falls back to an unsigned read when the response carries no
  signature, so a *bad* response signature is still refused. ``want_response_signed=True``
  (both signed, as the ``generic`` and ``okta`` presets send) is the constructor option
  ``want_response_signed``.
- ``allow_unsolicited``: False by default (docs "allow_unsolicited": "the SP will consume
  unsolicited SAML Responses" only when True); a constructor option because the harness also
  tests IdP-initiated sign-in. Enforced in ``saml2/response.py`` ``AuthnResponse.loads`` (raises
  ``UnsolicitedResponse`` when ``in_response_to`` is not in ``outstanding_queries``) and
  ``AuthnResponse._bearer_confirmed`` for the SubjectConfirmationData's InResponseTo.
- ``outstanding=``: pysaml2 keeps no request cache of its own: the application passes the IDs
  it sent (``Saml2Client.parse_authn_request_response(xmlstr, binding, outstanding=...)``,
  ``saml2/client_base.py``). This app passes the requests sent *from this browser* (a
  cookie-bound server-side session) and forgets an ID once answered: pysaml2 itself does not
  (the ``del self.outstanding_queries[...]`` in ``AuthnResponse.loads`` is commented out), so
  without that a captured solicited response could be replayed. pysaml2 does not detect the
  replay of an *unsolicited* response ("# Should check that I haven't seen this before" in
  ``AuthnResponse.loads``) and its docs recommend nothing; this app adds nothing either, so a
  harness FAIL there is pysaml2's documented behaviour.
- ``authn_requests_signed``, ``logout_requests_signed``, ``logout_responses_signed: True``:
  docs of the same names; the HTTP-Redirect binding signs the query
  (``Entity.apply_binding`` -> ``saml2/pack.py`` ``http_redirect_message`` with ``sigalg``).
- ``signing_algorithm`` rsa-sha256, ``digest_algorithm`` sha256 (docs "signing_algorithm",
  "digest_algorithm"): what this SP signs with. pysaml2 has no allow-list for what it *accepts*:
  xmlsec1 verifies whatever algorithm the signature names (``saml2/sigver.py``
  ``CryptoBackendXmlSec1.validate_signature``), RSA-SHA1 included.
- Recipient: ``AuthnResponse.verify_recipient`` (``saml2/response.py``) returns True, without
  looking, unless the application passes ``conv_info`` to ``parse_authn_request_response``, a
  parameter documented only as "Information about the conversation". The peer stays with the
  documented API by default, so a response whose SubjectConfirmationData Recipient names another
  SP is accepted (a harness FAIL that traces here); ``check_recipient=True`` passes
  ``conv_info={"entity_id": <SP entityID>}``, and the Recipient must then be the SP's entityID
  or one of its ACS URLs.
- With ``allow_unsolicited`` on, a response whose InResponseTo names a request this SP never
  sent is treated like an unsolicited one and accepted (``AuthnResponse.loads`` and
  ``_bearer_confirmed``: ``elif self.allow_unsolicited: pass``).
- ``crypto_backend: xmlsec1`` with ``xmlsec_binary`` (docs "crypto_backend", "xmlsec_binary"):
  ``saml2/sigver.py`` ``CryptoBackendXmlSec1`` runs ``xmlsec1 --verify`` with
  ``--id-attr:ID`` and ``--enabled-key-data``/``--enabled-reference-uris`` restrictions.
- ``only_use_keys_in_metadata: True`` (docs; the default): never trust a certificate embedded
  in the message.
- ``encryption_keypairs``: the SP's key decrypts ``EncryptedAssertion`` (docs
  "encryption_keypairs"; ``saml2/sigver.py`` ``SecurityContext.decrypt_keys``); its certificate
  is published in the metadata with ``use="encryption"``.
- ``accepted_time_diff: 180`` seconds of clock skew (docs "accepted_time_diff"): saml2int
  SDP-G01 asks for three to five minutes either way; three is its strictest.
- ``allow_unknown_attributes: True``: vendor claim URIs are not in pysaml2's attribute maps; the
  user is the NameID, attributes are only carried along.

Users are accepted on sight: the NameID is the user (``REMOTE_USER`` on ``/whoami``).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.keys import KeyPair

from ._common import (
    BoundedDict,
    BrowserSession,
    SessionStore,
    clear_cookie,
    command_line,
    load_metadata,
    local_path,
    read_form,
    refusal,
    remember_request,
    set_cookie,
    sp_key_pair,
    whoami,
)

LIBRARY = "pysaml2"


@dataclass(frozen=True)
class Options:
    allow_unsolicited: bool = False  # IdP-initiated sign-in; off is pysaml2's secure default
    want_response_signed: bool = False  # True: the Response must be signed as well (see above)
    accepted_time_diff: int = 180
    check_recipient: bool = False  # pass conv_info: see the module docstring


def sp_config(
    base_url: str, idp_metadata: bytes, key: KeyPair, workdir: Path, options: Options
) -> SPConfig:
    base = base_url.rstrip("/")
    key_file, cert_file = workdir / "sp.key", workdir / "sp.crt"
    key_file.write_bytes(key.private_key_pem())
    key_file.chmod(0o600)
    cert_file.write_bytes(key.certificate_pem())
    xmlsec = shutil.which("xmlsec1")
    if xmlsec is None:
        raise RuntimeError("pysaml2 needs the xmlsec1 program: apt-get install xmlsec1")
    config: dict[str, Any] = {
        "entityid": f"{base}/metadata",
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(f"{base}/acs", BINDING_HTTP_POST)],
                    "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                },
                "want_assertions_signed": True,
                "want_response_signed": options.want_response_signed,
                "allow_unsolicited": options.allow_unsolicited,
                "authn_requests_signed": True,
                "logout_requests_signed": True,
                "logout_responses_signed": True,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "only_use_keys_in_metadata": True,
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_UNSPECIFIED],
                "allow_unknown_attributes": True,
            }
        },
        "metadata": {"inline": [idp_metadata.decode("utf-8")]},
        "key_file": str(key_file),
        "cert_file": str(cert_file),
        "encryption_keypairs": [{"key_file": str(key_file), "cert_file": str(cert_file)}],
        "xmlsec_binary": xmlsec,
        "crypto_backend": "xmlsec1",
        "accepted_time_diff": options.accepted_time_diff,
        "allow_unknown_attributes": True,
    }
    return SPConfig().load(config)


def _location(http_info: dict[str, Any]) -> str:
    return str(dict(http_info["headers"])["Location"])


class PySaml2SP:
    """The app and its state: one Saml2Client, bounded sessions, the SP key's temp files."""

    def __init__(
        self,
        base_url: str,
        idp_metadata: bytes,
        options: Options | None = None,
        key: KeyPair | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.options = options or Options()
        self.key = key or sp_key_pair("pysaml2-peer-sp")
        self._workdir = tempfile.TemporaryDirectory(prefix="pysaml2-peer-")
        self.config = sp_config(
            self.base_url, idp_metadata, self.key, Path(self._workdir.name), self.options
        )
        # state_cache holds SP-initiated logouts in progress: bounded.
        self.client = Saml2Client(config=self.config, state_cache=BoundedDict(1000))
        self.idp_entity_id = next(iter(self.config.metadata.identity_providers()))
        self.sessions = SessionStore(on_evict=self._forget_identity)
        self.lock = threading.Lock()  # the client's identity cache is not thread-safe
        self.metadata_xml = str(entity_descriptor(self.config)).encode("utf-8")
        self.app = Starlette(
            routes=[
                Route("/metadata", self.metadata),
                Route("/login", self.login),
                Route("/acs", self.acs, methods=["POST"]),
                Route("/whoami", self.whoami),
                Route("/logout", self.logout),
                Route("/slo", self.slo, methods=["GET", "POST"]),
            ]
        )

    def close(self) -> None:
        self._workdir.cleanup()

    def _forget_identity(self, session: BrowserSession) -> None:
        if session.name_id is not None:
            with self.lock:
                self.client.users.remove_person(session.name_id)

    async def metadata(self, request: Request) -> Response:
        return Response(self.metadata_xml, media_type="application/samlmetadata+xml")

    async def whoami(self, request: Request) -> Response:
        return whoami(self.sessions, request)

    async def login(self, request: Request) -> Response:
        relay_state = request.query_params.get("target", "")

        def prepare() -> tuple[str, dict[str, Any]]:
            with self.lock:
                request_id, info = self.client.prepare_for_authenticate(
                    entityid=self.idp_entity_id,
                    relay_state=relay_state,
                    binding=BINDING_HTTP_REDIRECT,
                    sigalg=SIG_RSA_SHA256,
                    digest_alg=DIGEST_SHA256,
                )
            return str(request_id), info

        request_id, info = await run_in_threadpool(prepare)
        sid, session = self.sessions.get_or_create(request)
        remember_request(session, request_id, relay_state)
        response = RedirectResponse(_location(info), status_code=302)
        set_cookie(response, sid, self.base_url)
        return response

    async def acs(self, request: Request) -> Response:
        form = await read_form(request)
        saml_response = form.get("SAMLResponse")
        if not saml_response:
            return refusal(LIBRARY, "no SAMLResponse in the form")
        found = self.sessions.get(request)
        outstanding = dict(found[1].pending) if found else {}
        conv_info = {"entity_id": self.config.entityid} if self.options.check_recipient else None

        def parse() -> Any:
            with self.lock:
                return self.client.parse_authn_request_response(
                    saml_response, BINDING_HTTP_POST, outstanding=outstanding, conv_info=conv_info
                )

        try:
            result = await run_in_threadpool(parse)
        except Exception as exc:  # pysaml2 raises a different class per rule
            return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
        if result is None:
            return refusal(LIBRARY, "parse_authn_request_response returned None")
        name_id = result.name_id
        user = (name_id.text or "").strip() if name_id is not None else ""
        if not user:
            return refusal(LIBRARY, "no NameID in the assertion")
        if found is not None:
            found[1].pending.pop(result.in_response_to or "", None)  # answered: never again
            self.sessions.drop(found[0])
        session = BrowserSession(user=user, name_id=name_id)
        session.session_index = result.session_info().get("session_index")
        sid, _ = self.sessions.put(session)
        relay = form.get("RelayState") or (result.came_from if found else None)
        response = RedirectResponse(local_path(relay) or "/whoami", status_code=303)
        set_cookie(response, sid, self.base_url)
        return response

    async def logout(self, request: Request) -> Response:
        found = self.sessions.get(request)
        if found is None or found[1].user is None:
            response: Response = PlainTextResponse("not signed in\n")
            clear_cookie(response)
            return response
        sid, session = found
        self.sessions.drop(sid)

        def start() -> str | None:
            with self.lock:
                try:
                    responses = self.client.global_logout(session.name_id, sign_alg=SIG_RSA_SHA256)
                except Exception:  # no SLO at the IdP, or the identity was forgotten
                    self.client.users.remove_person(session.name_id)
                    return None
            for binding, http_info in responses.values():
                if binding == BINDING_HTTP_REDIRECT:
                    return _location(http_info)
            return None

        location = await run_in_threadpool(start)
        response = (
            RedirectResponse(location, status_code=302)
            if location
            else PlainTextResponse("signed out\n")
        )
        clear_cookie(response)
        return response

    async def slo(self, request: Request) -> Response:
        if request.method == "GET":
            params = dict(request.query_params)
            binding = BINDING_HTTP_REDIRECT
        else:
            params = await read_form(request)
            binding = BINDING_HTTP_POST
        if "SAMLRequest" in params:
            return await self._logout_request(request, params, binding)
        if "SAMLResponse" in params:
            saml_response = params["SAMLResponse"]

            def consume() -> None:
                with self.lock:
                    response = self.client.parse_logout_request_response(saml_response, binding)
                    if response is None:
                        raise ValueError("parse_logout_request_response returned None")
                    self.client.handle_logout_response(response)

            try:
                await run_in_threadpool(consume)
            except Exception as exc:
                return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
            answer: Response = PlainTextResponse("signed out\n")
            clear_cookie(answer)
            return answer
        return PlainTextResponse("no SAML message\n", status_code=400)

    async def _logout_request(
        self, request: Request, params: dict[str, str], binding: str
    ) -> Response:
        def handle() -> tuple[str | None, dict[str, Any]]:
            with self.lock:
                parsed = self.client.parse_logout_request(
                    params["SAMLRequest"],
                    binding,
                    relay_state=params.get("RelayState"),
                    sigalg=params.get("SigAlg"),
                    signature=params.get("Signature"),
                )
                name_id = parsed.message.name_id
                info = self.client.handle_logout_request(
                    params["SAMLRequest"],
                    name_id,
                    binding,
                    sign_alg=SIG_RSA_SHA256,
                    relay_state=params.get("RelayState"),
                    sigalg=params.get("SigAlg"),
                    signature=params.get("Signature"),
                )
            return (name_id.text if name_id is not None else None), info

        try:
            user, info = await run_in_threadpool(handle)
        except Exception as exc:
            return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
        if user:
            self.sessions.drop_user(user.strip())
        location = dict(info.get("headers", [])).get("Location")
        response: Response
        if location:
            response = RedirectResponse(location, status_code=302)
        else:  # the POST binding's auto-submitting form
            response = Response(str(info.get("data", "")), media_type="text/html")
        clear_cookie(response)
        return response


def create_app(
    base_url: str, idp_metadata: bytes, *, allow_unsolicited: bool = False, **options: Any
) -> PySaml2SP:
    """The peer SP at ``base_url`` trusting the IdP in ``idp_metadata``; ``.app`` is the ASGI
    app, ``.metadata_xml`` the SP's metadata, ``.close()`` removes the key's temp files."""
    return PySaml2SP(
        base_url, idp_metadata, Options(allow_unsolicited=allow_unsolicited, **options)
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    args = command_line("python -m tests.peers.pysaml2_sp", "a pysaml2 peer SP", argv)
    base_url = args.base_url or f"http://{args.host}:{args.port}"
    peer = create_app(
        base_url, load_metadata(args.idp_metadata), allow_unsolicited=args.allow_unsolicited
    )
    print(f"pysaml2 peer SP at {base_url} (metadata {base_url}/metadata)")
    try:
        uvicorn.run(peer.app, host=args.host, port=args.port, log_level="info")
    finally:
        peer.close()


if __name__ == "__main__":
    main()
