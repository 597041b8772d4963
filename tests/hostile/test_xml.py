"""Hostile XML is refused by design, whatever the encoding.

libxml2 reads encodings a byte scan cannot (UCS-4 in four byte orders, UTF-7, EBCDIC...), and it
obeyed a <!DOCTYPE> the scan missed: ``file:///proc/self/fd/N`` blocked the event loop in
``read()`` (the SP's ACS and the IdP's SSO froze until kill -9), and an existing file answered
differently from a missing one (a file-existence oracle). Every document here names a FIFO:
opening it for reading blocks until a writer comes, so a parser that so much as opens it is a
thread still alive after a second, and the FIFO is then released so the test fails instead of
hanging. Each document is also tried against ``/proc/self/fd/0``, an existing file and a
missing one, and all four answers must be the same.
"""

from __future__ import annotations

import base64
import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from harness.protocol.keys import KeyPair, load_key_pair
from harness.protocol.saml import constants as c
from harness.protocol.saml.bindings import encode_redirect_query
from harness.protocol.saml.signing import sign_element, verify_element
from harness.protocol.xml import XMLSecurityError, hardened_parser, parse_xml, to_bytes
from mock_idp.app import create_app
from mock_idp.idp import MockIdP
from reference_sp.app import ReferenceSP, Settings

from ..support.servers import serve

KEYS = Path(__file__).parents[1] / "samples" / "saml" / "keys"
BOM = "\ufeff"


def key(name: str) -> KeyPair:
    return load_key_pair((KEYS / f"{name}.key").read_bytes(), (KEYS / f"{name}.crt").read_bytes())


def declaration(encoding: str) -> str:
    return f'<?xml version="1.0" encoding="{encoding}"?>'


def ucs4(text: str, order: str) -> bytes:
    """``text`` in UCS-4 with the bytes of each big-endian unit in ``order`` ("2143", "3412":
    the unusual orders of XML 1.0 Appendix F, which no Python codec writes)."""
    big = text.encode("utf-32-be")
    return b"".join(bytes(big[i + int(k) - 1] for k in order) for i in range(0, len(big), 4))


def utf7_hiding_markup(text: str) -> bytes:
    """UTF-7 that spells every markup character in base64, so no byte scan sees "<!DOCTYPE"."""
    hidden = {"<": "+ADw-", ">": "+AD4-", "!": "+ACE-", "%": "+ACU-", "&": "+ACY-"}
    return "".join(hidden.get(ch, ch) for ch in text).encode("ascii")


Encode = Callable[[str], bytes]
# name -> (document text -> bytes, the reason it must be refused with). Accepted encodings are
# refused for the DOCTYPE ("doctype"), every other one for the encoding itself ("encoding").
ENCODINGS: dict[str, tuple[Encode, str]] = {
    "UTF-8": (lambda d: d.encode(), "doctype"),
    "UTF-8 BOM": (lambda d: b"\xef\xbb\xbf" + d.encode(), "doctype"),
    "UTF-8 declared": (lambda d: (declaration("UTF-8") + d).encode(), "doctype"),
    "US-ASCII declared": (lambda d: (declaration("US-ASCII") + d).encode("ascii"), "doctype"),
    "ISO-8859-1 declared": (
        lambda d: (declaration("ISO-8859-1") + d).encode("latin-1"),
        "doctype",
    ),
    "UTF-16 LE BOM": (lambda d: (BOM + d).encode("utf-16-le"), "doctype"),
    "UTF-16 BE BOM": (lambda d: (BOM + d).encode("utf-16-be"), "doctype"),
    "UTF-16 LE declared, no BOM": (
        lambda d: (declaration("UTF-16") + d).encode("utf-16-le"),
        "doctype",
    ),
    "UTF-16 BE declared, no BOM": (
        lambda d: (declaration("UTF-16") + d).encode("utf-16-be"),
        "doctype",
    ),
    "UTF-32 LE BOM (FF FE 00 00)": (lambda d: (BOM + d).encode("utf-32-le"), "encoding"),
    "UTF-32 BE BOM (00 00 FE FF)": (lambda d: (BOM + d).encode("utf-32-be"), "encoding"),
    "UTF-32 LE, no BOM": (lambda d: d.encode("utf-32-le"), "encoding"),
    "UTF-32 BE, no BOM": (lambda d: d.encode("utf-32-be"), "encoding"),
    "UTF-32BE declared, no BOM": (
        lambda d: (declaration("UTF-32BE") + d).encode("utf-32-be"),
        "encoding",
    ),
    "UCS-4 declared": (lambda d: (declaration("UCS-4") + d).encode("utf-32-le"), "encoding"),
    "UCS-4 2143 BOM": (lambda d: ucs4(BOM + d, "2143"), "encoding"),
    "UCS-4 3412 BOM": (lambda d: ucs4(BOM + d, "3412"), "encoding"),
    "UCS-4 2143, no BOM": (lambda d: ucs4(declaration("ISO-10646-UCS-4") + d, "2143"), "encoding"),
    "UCS-4 3412, no BOM": (lambda d: ucs4(declaration("ISO-10646-UCS-4") + d, "3412"), "encoding"),
    "UTF-7 declared": (
        lambda d: declaration("UTF-7").encode() + utf7_hiding_markup(d),
        "encoding",
    ),
    "UTF-7 declared after a UTF-16 BOM": (
        lambda d: (BOM + declaration("UTF-7") + d).encode("utf-16-le"),
        "encoding",
    ),
    "UTF-32 declared after a UTF-16 BOM": (
        lambda d: (BOM + declaration("UTF-32") + d).encode("utf-16-le"),
        "encoding",
    ),
    "UTF-16 declared in 8-bit bytes": (
        lambda d: (declaration("UTF-16") + d).encode(),
        "encoding",
    ),
    "ISO-8859-1 declared after a UTF-8 BOM": (
        lambda d: b"\xef\xbb\xbf" + (declaration("ISO-8859-1") + d).encode(),
        "encoding",
    ),
    "EBCDIC cp037 declared": (lambda d: (declaration("IBM037") + d).encode("cp037"), "encoding"),
    "EBCDIC cp500 declared": (lambda d: (declaration("IBM500") + d).encode("cp500"), "encoding"),
    "EBCDIC cp037, no declaration": (lambda d: d.encode("cp037"), "encoding"),
    "ISO-2022-JP declared": (
        lambda d: (declaration("ISO-2022-JP") + d).encode("iso-2022-jp"),
        "encoding",
    ),
    "Shift_JIS declared": (
        lambda d: (declaration("Shift_JIS") + d).encode("shift_jis"),
        "encoding",
    ),
    "EUC-JP declared": (lambda d: (declaration("EUC-JP") + d).encode("euc-jp"), "encoding"),
    "GB18030 declared": (lambda d: (declaration("GB18030") + d).encode("gb18030"), "encoding"),
    "Big5 declared": (lambda d: (declaration("Big5") + d).encode("big5"), "encoding"),
    "windows-1252 declared": (
        lambda d: (declaration("windows-1252") + d).encode("cp1252"),
        "encoding",
    ),
}
ACCEPTED = [name for name, (_encode, reason) in ENCODINGS.items() if reason == "doctype"]

KINDS = {
    "SYSTEM DTD": '<!DOCTYPE r SYSTEM "{url}"><r/>',
    "parameter entity": '<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}"> %p;]><r/>',
    "external general entity": '<!DOCTYPE r [<!ENTITY e SYSTEM "{url}">]><r>&e;</r>',
}


# ------------------------------------------------------------------------- the FIFO witness


def release(fifo: Path) -> bool:
    """Open ``fifo`` for writing without blocking: True (and the reader sees EOF) when someone
    holds it open for reading, False when nobody does (ENXIO)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            return False
        raise
    os.close(fd)
    return True


def bounded(call: Callable[[], object], fifo: Path, timeout: float = 1.0) -> BaseException | None:
    """Run ``call``; fail if it is still running after ``timeout`` (then release the FIFO so it
    ends); return what it raised."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)
        else:
            raised.append(None)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        opened = release(fifo)
        thread.join(1)
        pytest.fail(f"still parsing after {timeout}s (FIFO opened for reading: {opened})")
    assert time.monotonic() - started < timeout
    return raised[0]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """URLs a hostile document names: a FIFO, our stdin, an existing file and a missing one."""
    folder = tmp_path_factory.mktemp("hostile-xml")
    fifo = folder / "fifo"
    os.mkfifo(fifo)
    existing = folder / "exists.dtd"
    existing.write_text('<!ENTITY leak "secret">\n')
    yield {
        "fifo": fifo.as_uri(),
        "stdin": "file:///proc/self/fd/0",
        "existing": existing.as_uri(),
        "missing": (folder / "missing.dtd").as_uri(),
    }
    # A reader still waiting here is a parser that opened the FIFO.
    assert not release(fifo), "a parser opened the FIFO for reading"


def fifo_of(targets: dict[str, str]) -> Path:
    return Path(targets["fifo"].removeprefix("file://"))


# ----------------------------------------------------------------------------------- parse_xml


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_hostile_document_is_refused_fast_with_one_answer(
    encoding: str, kind: str, targets: dict[str, str]
) -> None:
    encode, reason = ENCODINGS[encoding]
    answers: dict[str, str] = {}
    for target, url in targets.items():
        data = encode(KINDS[kind].format(url=url))
        error = bounded(lambda data=data: parse_xml(data), fifo_of(targets))
        assert isinstance(error, XMLSecurityError), f"{target}: {error!r}"
        assert error.reason == reason, f"{target}: {error}"
        answers[target] = str(error)
    # The same words for the FIFO, our stdin, /exists and /missing: nothing to learn.
    assert len(set(answers.values())) == 1, answers
    assert not release(fifo_of(targets))


@pytest.mark.parametrize("encoding", ACCEPTED)
def test_accepted_encodings_read_the_same_document(encoding: str) -> None:
    text = '<r a="&#233;">caf&#233; &#10003;</r>'
    if encoding != "US-ASCII declared":
        text = '<r a="é">café &#10003;</r>'
    root = parse_xml(ENCODINGS[encoding][0](text))
    assert (root.tag, root.get("a"), root.text) == ("r", "é", "café \u2713")


@pytest.mark.parametrize(
    "encoding", ["UTF-16 BE BOM", "UTF-16 LE declared, no BOM", "ISO-8859-1 declared"]
)
def test_a_signed_message_still_verifies_in_another_accepted_encoding(encoding: str) -> None:
    # libxml2 reads our UTF-8 re-encoding of the text; C14N is over characters, not bytes.
    idp = key("idp")
    response = etree.fromstring(
        f'<samlp:Response xmlns:samlp="{c.SAMLP}" xmlns:saml="{c.SAML}" ID="_r" Version="2.0">'
        "<saml:Issuer>https://idp.test</saml:Issuer><x>café</x></samlp:Response>".encode()
    )
    text = to_bytes(sign_element(response, idp)).decode()
    verified = verify_element(parse_xml(ENCODINGS[encoding][0](text)), [idp.certificate])
    assert verified.signed_element.findtext("x") == "café"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b' <?xml version="1.0" encoding="UTF-7"?><r/>', "malformed"),  # not at the start
        (b'<?xml encoding="UTF-7"?><r/>', "malformed"),  # no version: not a declaration
        (b'<?xml version="1.0" encoding="UTF-7" standalone="maybe"?><r/>', "malformed"),
        (b'<?XML version="1.0" encoding="UTF-7"?><r/>', "malformed"),
        (b"<r>\xe9</r>", "encoding"),  # not UTF-8, and nothing declared
        (b'<?xml version="1.0" encoding="US-ASCII"?><r>\xe9</r>', "encoding"),
        (b"\xff\xfe<\x00r\x00/", "encoding"),  # odd-length UTF-16
        (b"\xfe\xff\xd8\x00\x00<", "encoding"),  # a lone surrogate
    ],
)
def test_declarations_and_bytes_that_do_not_add_up_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(XMLSecurityError) as info:
        parse_xml(data)
    assert info.value.reason == reason


# -------------------------------------------------------------- the parser on its own (no scan)


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize("kind", ["SYSTEM DTD", "parameter entity"])
def test_hardened_parser_opens_nothing_even_without_the_scan(
    kind: str, codec: str, targets: dict[str, str]
) -> None:
    # Straight into lxml, as if a DOCTYPE slipped past the scan: the resolver refuses it.
    answers: set[str] = set()
    for url in targets.values():
        data = KINDS[kind].format(url=url).encode(codec)
        error = bounded(
            lambda data=data: etree.fromstring(data, hardened_parser()),
            fifo_of(targets),
        )
        assert isinstance(error, XMLSecurityError), repr(error)
        assert error.reason == "doctype"
        answers.add(str(error))
    assert len(answers) == 1, answers


def _parse_into(data: bytes, parsed: list[etree._Element]) -> None:
    parsed.append(etree.fromstring(data, hardened_parser()))


@pytest.mark.parametrize("codec", ["utf-8", "utf-32"])
def test_hardened_parser_never_expands_an_entity(codec: str, targets: dict[str, str]) -> None:
    for url in targets.values():
        data = (
            '<!DOCTYPE r [<!ENTITY e SYSTEM "' + url + '"><!ENTITY i "expanded">]><r>&e;&i;</r>'
        ).encode(codec)
        parsed: list[etree._Element] = []
        error = bounded(partial(_parse_into, data, parsed), fifo_of(targets))
        assert error is None
        serialised = etree.tostring(parsed[0])
        assert b"secret" not in serialised and b"expanded" not in serialised


# ------------------------------------------------------------------ real servers on loopback


class Deferred:
    """An ASGI app whose target is set once the server's URL is known."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    sp_app, idp_app = Deferred(), Deferred()
    with serve(sp_app) as sp_url, serve(idp_app) as idp_url:
        sp = ReferenceSP(
            Settings(db_url="sqlite://", base_url=sp_url, key=key("sp"), cookie_secret=b"x")
        )
        sp_app.app = sp.app
        idp_app.app = create_app(MockIdP(idp_url, signing_keys=[key("idp")], seed=5))
        try:
            yield sp_url, idp_url
        finally:
            sp.close()


def _post(field: str) -> Callable[[httpx.Client, str, bytes], httpx.Response]:
    def send(http: httpx.Client, url: str, xml: bytes) -> httpx.Response:
        return http.post(url, data={field: base64.b64encode(xml).decode()})

    return send


def _redirect(http: httpx.Client, url: str, xml: bytes) -> httpx.Response:
    return http.get(f"{url}?{encode_redirect_query(xml)}")  # DEFLATE + base64


# endpoint -> (SP or IdP, path, how the message travels)
ENDPOINTS: dict[str, tuple[str, str, Callable[[httpx.Client, str, bytes], httpx.Response]]] = {
    "SP POST /saml/acs": ("sp", "/saml/acs", _post("SAMLResponse")),
    "SP POST /saml/slo": ("sp", "/saml/slo", _post("SAMLRequest")),
    "IdP GET /saml/sso": ("idp", "/saml/sso", _redirect),
    "IdP POST /saml/sso": ("idp", "/saml/sso", _post("SAMLRequest")),
    "IdP GET /saml/slo": ("idp", "/saml/slo", _redirect),
}
OVER_HTTP = [
    "UTF-32 LE BOM (FF FE 00 00)",
    "UTF-32 BE, no BOM",
    "UCS-4 2143 BOM",
    "UTF-7 declared",
    "UTF-16 LE BOM",
]


@pytest.mark.loopback
@pytest.mark.parametrize("encoding", OVER_HTTP)
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_endpoint_answers_hostile_xml_with_a_4xx_in_time_and_keeps_serving(
    endpoint: str, encoding: str, servers: tuple[str, str], targets: dict[str, str]
) -> None:
    sp_url, idp_url = servers
    side, path, send = ENDPOINTS[endpoint]
    base = sp_url if side == "sp" else idp_url
    encode, _reason = ENCODINGS[encoding]
    with httpx.Client(timeout=2.0, headers={"Accept": "application/json"}) as http:
        for kind, template in KINDS.items():
            answers: dict[str, tuple[int, bytes]] = {}
            for target, url in targets.items():
                started = time.monotonic()
                try:
                    answer = send(http, base + path, encode(template.format(url=url)))
                except httpx.TimeoutException:
                    release(fifo_of(targets))
                    pytest.fail(f"{kind} naming {target}: no answer within 2 s")
                assert time.monotonic() - started < 2.0
                assert 400 <= answer.status_code < 500, (kind, target, answer.text)
                body = answer.json()
                assert body.get("reason") in ("encoding", "doctype"), body
                answers[target] = (answer.status_code, answer.content)
            # The same status and body whatever the named file is: no oracle over HTTP either.
            assert len(set(answers.values())) == 1, (kind, answers)
        # ... and the server is still serving.
        alive = http.get(f"{sp_url}/healthz" if side == "sp" else f"{idp_url}/saml/metadata")
        assert alive.status_code == 200
    assert not release(fifo_of(targets))
