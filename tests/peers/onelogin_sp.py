"""A peer SP on python3-saml (``onelogin.saml2.auth.OneLogin_Saml2_Auth``), in its most secure
documented configuration, for proving the harness on an SP it did not write.

Run it by hand::

    python -m tests.peers.onelogin_sp --port 8102 --idp-metadata http://127.0.0.1:8002/saml/metadata

Configuration, and why (python3-saml 1.16; docs = ``README.md`` of SAML-Toolkits/python3-saml,
code = the installed ``onelogin.saml2`` package):

- ``strict: True``: README "Security Warning": "In production, the strict parameter MUST be set
  as true". With it, ``OneLogin_Saml2_Response.is_valid`` (``response.py``) checks Destination,
  Audience, Recipient, InResponseTo, the time window and the issuer, and raises on failure.
- IdP settings from the IdP's metadata (``OneLogin_Saml2_IdPMetadataParser.parse``) with the
  signing *certificates* (``x509cert``/``x509certMulti``), never a fingerprint: README "Security
  Warning" recommends registering the certificate ("the fingerprint ... is open to a collision
  attack").
- ``wantAssertionsSigned: True``: every assertion signed (README settings: "a requirement for
  the <saml:Assertion> elements received by this SP to be signed"; enforced in
  ``response.py`` ``is_valid``: "The Assertion of the Response is not signed and the SP require
  it").
- ``wantMessagesSigned: False`` by default, an option: with True python3-saml also requires the
  ``<samlp:Response>``, ``LogoutRequest`` and ``LogoutResponse`` to be signed (README settings).
  Entra ID and Ping sign only the assertion (the mock IdP's ``entra`` and ``ping`` presets too),
  so True would refuse their normal responses. A response signature that is present is still
  verified (``response.py`` ``is_valid`` -> ``validate_signed_elements`` and
  ``OneLogin_Saml2_Utils.validate_sign`` for every signed element found).
- ``authnRequestsSigned``, ``logoutRequestSigned``, ``logoutResponseSigned: True``: README
  settings of the same names; the HTTP-Redirect binding signs the query
  (``auth.py`` ``add_request_signature``/``add_response_signature``).
- ``signatureAlgorithm`` rsa-sha256, ``digestAlgorithm`` sha256 and
  ``rejectDeprecatedAlgorithm: True``: README settings ("If the toolkit receive a message signed
  with a deprecated algorithm ... will raise an error and reject the message");
  ``OneLogin_Saml2_Constants.DEPRECATED_ALGORITHMS`` is DSA-SHA1, RSA-SHA1, SHA1
  (``constants.py``), checked in ``response.py`` ``process_signed_elements`` (SignatureMethod
  and DigestMethod) and ``auth.py`` ``_validate_signature`` (the Redirect binding's SigAlg).
- ``wantAssertionsEncrypted: True`` (an option): python3-saml publishes the SP's encryption
  certificate in its metadata only when it wants encrypted assertions or NameIDs
  (``settings.py`` ``get_sp_metadata``: ``add_encryption = wantNameIdEncrypted or
  wantAssertionsEncrypted``), and a plaintext assertion is then refused (``response.py``
  ``is_valid``: "The assertion of the Response is not encrypted and the SP require it"). The
  mock IdP encrypts whenever the SP's metadata offers an encryption key, in every preset.
- ``wantNameId: True``, ``wantAttributeStatement: True`` (README defaults, kept): a response
  without a NameID or an AttributeStatement is refused.
- ``requestedAuthnContext: False``: no RequestedAuthnContext in the AuthnRequest (README
  settings), so a vendor IdP answering with its own context class is not refused for it.
- ``allowRepeatAttributeName: False`` (README default).
- ``validate_signature_from_qs: True`` in the request data (README "request" scheme): the
  HTTP-Redirect signature is checked over the query string exactly as received.
- InResponseTo: python3-saml checks it only when the application passes the request ID
  (README "If a match on the future SAMLResponse ID and the AuthNRequest ID ... is required,
  that AuthNRequest ID must to be extracted and stored": ``auth.get_last_request_id()``, then
  ``process_response(request_id=...)``). It accepts a response *without* InResponseTo even when
  a request ID is passed (``response.py`` ``is_valid``: "if in_response_to is not None and
  request_id is not None"), so refusing unsolicited responses is the application's part: this
  app refuses a response without InResponseTo unless ``allow_unsolicited`` (a constructor
  option, off by default, because the harness also tests IdP-initiated sign-in), and passes the
  matching outstanding ID of this browser (or an ID that matches nothing, so that the library
  itself refuses the response) otherwise.
- Replay: README "Avoiding Replay attacks" recommends that "the SP can keep a list of SAML
  Messages or Assertion IDs already validated and processed ... only ... the amount of time of
  the SAML Message life time", using ``get_last_assertion_id``: done here, bounded, each ID kept
  until the assertion's ``get_last_assertion_not_on_or_after()``.
- RelayState: README "Avoiding Open Redirect attacks": only a local path is followed.

Users are accepted on sight: the NameID is the user (``REMOTE_USER`` on ``/whoami``).
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from harness.protocol.keys import KeyPair, certificate_base64

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

LIBRARY = "python3-saml"
NO_SUCH_REQUEST = "_no-outstanding-request-from-this-browser"
REPLAY_WINDOW_FALLBACK = 3600.0  # seconds, when the assertion names no NotOnOrAfter


@dataclass(frozen=True)
class Options:
    allow_unsolicited: bool = False  # IdP-initiated sign-in; off by default
    want_messages_signed: bool = False  # True: the Response must be signed as well (see above)
    want_assertions_encrypted: bool = True  # also what publishes the SP's encryption key


def settings_dict(
    base_url: str, idp_metadata: bytes, key: KeyPair, options: Options
) -> dict[str, Any]:
    base = base_url.rstrip("/")
    idp = OneLogin_Saml2_IdPMetadataParser.parse(
        idp_metadata.decode("utf-8"),
        required_sso_binding=C.BINDING_HTTP_REDIRECT,
        required_slo_binding=C.BINDING_HTTP_REDIRECT,
    )
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": f"{base}/metadata",
            "assertionConsumerService": {"url": f"{base}/acs", "binding": C.BINDING_HTTP_POST},
            "singleLogoutService": {"url": f"{base}/slo", "binding": C.BINDING_HTTP_REDIRECT},
            "NameIDFormat": C.NAMEID_UNSPECIFIED,
            "x509cert": certificate_base64(key.certificate),
            "privateKey": key.private_key_pem().decode("ascii"),
        },
        "idp": idp["idp"],
        "security": {
            "nameIdEncrypted": False,
            "authnRequestsSigned": True,
            "logoutRequestSigned": True,
            "logoutResponseSigned": True,
            "signMetadata": False,
            "wantMessagesSigned": options.want_messages_signed,
            "wantAssertionsSigned": True,
            "wantAssertionsEncrypted": options.want_assertions_encrypted,
            "wantNameId": True,
            "wantNameIdEncrypted": False,
            "wantAttributeStatement": True,
            "requestedAuthnContext": False,
            "allowRepeatAttributeName": False,
            "signatureAlgorithm": C.RSA_SHA256,
            "digestAlgorithm": C.SHA256,
            "rejectDeprecatedAlgorithm": True,
        },
    }


def _in_response_to(saml_response: str) -> str | None:
    """The (not yet verified) InResponseTo of a POSTed Response: only used to choose which of
    this browser's outstanding request IDs to hand python3-saml, which then checks it."""
    try:
        document = OneLogin_Saml2_XML.to_etree(base64.b64decode(saml_response, validate=False))
    except Exception:
        return None
    value = document.get("InResponseTo")
    return str(value) if value else None


class OneLoginSP:
    def __init__(
        self,
        base_url: str,
        idp_metadata: bytes,
        options: Options | None = None,
        key: KeyPair | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._https = parts.scheme == "https"
        self._host = parts.netloc  # with the port: python3-saml deprecated server_port
        self.options = options or Options()
        self.key = key or sp_key_pair("python3-saml-peer-sp")
        self.settings = OneLogin_Saml2_Settings(
            settings_dict(self.base_url, idp_metadata, self.key, self.options)
        )
        errors = self.settings.validate_metadata(self.settings.get_sp_metadata())
        if errors:
            raise ValueError(f"python3-saml refused the SP settings: {errors}")
        self.metadata_xml: bytes = self.settings.get_sp_metadata()
        self.sessions = SessionStore()
        self.seen_assertions: BoundedDict = BoundedDict(100_000)  # ID -> forget after (time)
        self.pending_logouts: BoundedDict = BoundedDict(1000)  # LogoutRequest ID -> user
        self.lock = threading.Lock()
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
        """Nothing on disk: the key stays in memory."""

    def auth(self, request: Request, path: str, post: dict[str, str] | None = None) -> Any:
        """python3-saml's request dict (README "request" scheme) from this SP's base URL."""
        data = {
            "https": "on" if self._https else "off",
            "http_host": self._host,
            "script_name": path,
            "get_data": dict(request.query_params),
            "post_data": post or {},
            "query_string": request.url.query,
            "validate_signature_from_qs": True,
        }
        return OneLogin_Saml2_Auth(data, old_settings=self.settings)

    async def metadata(self, request: Request) -> Response:
        return Response(self.metadata_xml, media_type="application/samlmetadata+xml")

    async def whoami(self, request: Request) -> Response:
        return whoami(self.sessions, request)

    async def login(self, request: Request) -> Response:
        relay_state = request.query_params.get("target", "")
        auth = self.auth(request, "/login")
        url = await run_in_threadpool(auth.login, return_to=relay_state or None)
        sid, session = self.sessions.get_or_create(request)
        remember_request(session, auth.get_last_request_id(), relay_state)
        response = RedirectResponse(url, status_code=302)
        set_cookie(response, sid, self.base_url)
        return response

    def _replayed(self, assertion_id: str | None, not_on_or_after: Any) -> bool:
        now = time.time()
        with self.lock:
            for old in [k for k, v in list(self.seen_assertions.items())[:64] if v < now]:
                self.seen_assertions.pop(old, None)  # expired IDs can no longer be replayed
            if not assertion_id:
                return False
            if assertion_id in self.seen_assertions:
                return True
            until = float(not_on_or_after) if not_on_or_after else now + REPLAY_WINDOW_FALLBACK
            self.seen_assertions[assertion_id] = max(until, now) + 300  # plus clock skew
            return False

    async def acs(self, request: Request) -> Response:
        form = await read_form(request)
        saml_response = form.get("SAMLResponse")
        if not saml_response:
            return refusal(LIBRARY, "no SAMLResponse in the form")
        found = self.sessions.get(request)
        pending = found[1].pending if found else {}
        in_response_to = _in_response_to(saml_response)
        if in_response_to is None:
            if not self.options.allow_unsolicited:
                return refusal(LIBRARY + " (application)", "unsolicited response refused")
            request_id = None
        else:
            request_id = in_response_to if in_response_to in pending else NO_SUCH_REQUEST
        auth = self.auth(request, "/acs", form)
        try:
            await run_in_threadpool(auth.process_response, request_id=request_id)
        except Exception as exc:
            return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
        errors = auth.get_errors()
        if errors or not auth.is_authenticated():
            reason = auth.get_last_error_reason() or "not authenticated"
            return refusal(LIBRARY, f"{', '.join(errors)}: {reason}")
        if self._replayed(auth.get_last_assertion_id(), auth.get_last_assertion_not_on_or_after()):
            return refusal(LIBRARY + " (application)", "assertion already processed (replay)")
        user = (auth.get_nameid() or "").strip()
        if not user:
            return refusal(LIBRARY, "no NameID in the assertion")
        if found is not None:
            pending.pop(in_response_to or "", None)
            self.sessions.drop(found[0])
        session = BrowserSession(user=user, session_index=auth.get_session_index())
        session.name_id = (auth.get_nameid_format(), auth.get_nameid_nq(), auth.get_nameid_spnq())
        sid, _ = self.sessions.put(session)
        response = RedirectResponse(local_path(form.get("RelayState")) or "/whoami", 303)
        set_cookie(response, sid, self.base_url)
        return response

    async def logout(self, request: Request) -> Response:
        found = self.sessions.get(request)
        response: Response
        if found is None or found[1].user is None:
            response = PlainTextResponse("not signed in\n")
            clear_cookie(response)
            return response
        sid, session = found
        self.sessions.drop(sid)
        name_id_format, nq, spnq = session.name_id
        auth = self.auth(request, "/logout")
        url = await run_in_threadpool(
            auth.logout,
            return_to="/",
            name_id=session.user,
            session_index=session.session_index,
            nq=nq,
            name_id_format=name_id_format,
            spnq=spnq,
        )
        self.pending_logouts[auth.get_last_request_id()] = session.user
        response = RedirectResponse(url, status_code=302)
        clear_cookie(response)
        return response

    async def slo(self, request: Request) -> Response:
        if request.method == "POST":  # python3-saml implements SLO over HTTP-Redirect only
            return PlainTextResponse(
                "python3-saml supports only the HTTP-Redirect binding for SLO\n", status_code=400
            )
        params = request.query_params
        auth = self.auth(request, "/slo")
        response: Response
        if "SAMLResponse" in params:
            try:
                irt = OneLogin_Saml2_Logout_Response(
                    self.settings, params["SAMLResponse"]
                ).get_in_response_to()
            except Exception as exc:
                return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
            request_id = irt if irt in self.pending_logouts else NO_SUCH_REQUEST
            try:
                await run_in_threadpool(
                    auth.process_slo, keep_local_session=True, request_id=request_id
                )
            except Exception as exc:
                return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
            if auth.get_errors():
                reason = auth.get_last_error_reason() or ""
                return refusal(LIBRARY, f"{', '.join(auth.get_errors())}: {reason}")
            self.pending_logouts.pop(irt or "", None)
            response = PlainTextResponse("signed out\n")
            clear_cookie(response)
            return response
        if "SAMLRequest" in params:
            try:
                url = await run_in_threadpool(auth.process_slo, keep_local_session=True)
            except Exception as exc:
                return refusal(LIBRARY, f"{type(exc).__name__}: {exc}")
            if auth.get_errors() or not url:
                reason = auth.get_last_error_reason() or ""
                return refusal(LIBRARY, f"{', '.join(auth.get_errors())}: {reason}")
            user = OneLogin_Saml2_Logout_Request.get_nameid(auth.get_last_request_xml())
            if user:
                self.sessions.drop_user(user.strip())
            response = RedirectResponse(url, status_code=302)
            clear_cookie(response)
            return response
        return PlainTextResponse("no SAML message\n", status_code=400)


def create_app(
    base_url: str, idp_metadata: bytes, *, allow_unsolicited: bool = False, **options: Any
) -> OneLoginSP:
    """The peer SP at ``base_url`` trusting the IdP in ``idp_metadata``; ``.app`` is the ASGI
    app, ``.metadata_xml`` the SP's metadata."""
    return OneLoginSP(
        base_url, idp_metadata, Options(allow_unsolicited=allow_unsolicited, **options)
    )


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    args = command_line("python -m tests.peers.onelogin_sp", "a python3-saml peer SP", argv)
    base_url = args.base_url or f"http://{args.host}:{args.port}"
    peer = create_app(
        base_url, load_metadata(args.idp_metadata), allow_unsolicited=args.allow_unsolicited
    )
    print(f"python3-saml peer SP at {base_url} (metadata {base_url}/metadata)")
    uvicorn.run(peer.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
