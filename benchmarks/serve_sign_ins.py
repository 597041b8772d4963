"""Complete SP-initiated sign-ins over loopback through ``sso-harness serve``, next to the rate at
which pysaml2 creates signed responses, measured in the same run in alternating rounds.

One sign-in is what a browser does: ``GET /saml/login`` on the reference SP (302 to the mock
IdP with an AuthnRequest), the IdP's login form, the form posted (a signed SAML response in an
auto-submitting form), the response posted to the SP's ACS (303 and a session cookie), then
``GET /api/me`` naming the user. Each sign-in starts with no cookies; connections are kept alive
(one client for the SP, one for the IdP), as a browser keeps them.

The peer: pysaml2's ``Server.create_authn_response`` (response and assertion signed, RSA-SHA256,
configured as ``tests/peers/pysaml2_idp.py``) followed by its HTTP-POST binding: what an IdP on
pysaml2 does per sign-in, without HTTP. Also printed: the server's CPU per sign-in (``/proc``)
and the median time of ``GET /healthz`` on a kept-alive connection.

``--plain-socket`` runs ``serve`` with its listening sockets created without naming
``IPPROTO_TCP`` (as they were before ``harness/sockets.py`` named it). On asyncio's own event
loop, which ``serve`` ran on before it moved to uvloop (and still runs on where uvloop is not
installed), the accepted connections then have Nagle's algorithm on; uvloop sets TCP_NODELAY on
every connection, so with it the option shows no difference.

``--clients N`` signs in from N client processes at once (each its own connections and
cookies, as N browsers), so that the server, not one client waiting on each answer, sets the
rate. Each round also prints the capacity ratio: sign-ins per second of the server's CPU
against pysaml2's signed responses per second of its CPU (its own and the ``xmlsec1``
processes it runs to sign), which the
shared machine's other work moves less than wall-clock rates.

    python benchmarks/serve_sign_ins.py [--rounds 3] [--seconds 5] [--clients 2] [--plain-socket]
"""

from __future__ import annotations

import argparse
import html
import multiprocessing
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "password"  # the demo directory's password (mock_idp.demo.DEMO_PASSWORD)
LAUNCH = "import sys; from harness.cli import main; sys.exit(main(sys.argv[1:]))"
LAUNCH_PLAIN = """import socket, sys
import harness.serve
from harness.cli import main

def plain(host, port, what=""):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no IPPROTO_TCP
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock

harness.serve.listening_socket = plain
sys.exit(main(sys.argv[1:]))
"""
HIDDEN = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(home: Path, plain: bool) -> tuple[subprocess.Popen[str], str, str, list[str]]:
    sp_port, idp_port = free_port(), free_port()
    command = [
        sys.executable,
        "-c",
        LAUNCH_PLAIN if plain else LAUNCH,
        "serve",
        "--sp-port",
        str(sp_port),
        "--idp-port",
        str(idp_port),
        "--db",
        f"sqlite:///{home / 'sp.sqlite3'}",
    ]
    env = {**os.environ, "SSO_HARNESS_HOME": str(home), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert server.stdout is not None
    users: list[str] = []
    in_logins = False
    deadline = time.monotonic() + 60
    for line in server.stdout:
        if line.startswith("demo logins"):
            in_logins = True
        elif in_logins and line.startswith("  "):
            users.append(line.split()[0])
        elif line.startswith("Press Ctrl+C"):
            break
        if time.monotonic() > deadline:
            break
    if not users:
        server.kill()
        raise RuntimeError("serve did not start")
    return server, f"http://127.0.0.1:{sp_port}", f"http://127.0.0.1:{idp_port}", users


def fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in HIDDEN.findall(page)}


def sign_in(sp: httpx.Client, idp: httpx.Client, user: str) -> None:
    sp.cookies.clear()
    idp.cookies.clear()
    start = sp.get("/saml/login")
    assert start.status_code in (302, 303), start.status_code
    form = idp.get(start.headers["location"])
    assert form.status_code == 200, form.status_code
    login = {**fields(form.text), "username": user, "password": PASSWORD}
    posted = idp.post(html.unescape(ACTION.findall(form.text)[0]), data=login)
    assert posted.status_code == 200, posted.status_code
    answer = fields(posted.text)
    acs = sp.post(html.unescape(ACTION.findall(posted.text)[0]), data=answer)
    assert acs.status_code == 303, (acs.status_code, acs.text[:300])
    me = sp.get("/api/me")
    assert me.status_code == 200 and me.json()["userName"].lower() == user.lower(), me.text


def cpu_s(pid: int) -> float:
    fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def sign_ins(
    sp: httpx.Client, idp: httpx.Client, users: list[str], seconds: float, pid: int
) -> tuple[float, float]:
    """Sign-ins per second and server CPU (ms) per sign-in over ``seconds``."""
    done = 0
    cpu = cpu_s(pid)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        sign_in(sp, idp, users[done % len(users)])
        done += 1
    elapsed = time.perf_counter() - started
    return done / elapsed, (cpu_s(pid) - cpu) * 1000 / done


def _client(
    sp_url: str, idp_url: str, users: list[str], offset: int, start: Any, seconds: float, out: Any
) -> None:
    """One client process: sign in from ``start`` (a shared monotonic time) for ``seconds``."""
    done = 0
    with (
        httpx.Client(base_url=sp_url, timeout=30) as sp,
        httpx.Client(base_url=idp_url, timeout=30) as idp,
    ):
        sign_in(sp, idp, users[offset % len(users)])  # connections open, code warm
        while time.monotonic() < start.value:
            time.sleep(0.001)
        while time.monotonic() - start.value < seconds:
            sign_in(sp, idp, users[(offset + done) % len(users)])
            done += 1
    out.put(done)


def concurrent_sign_ins(
    sp_url: str, idp_url: str, users: list[str], seconds: float, pid: int, clients: int
) -> tuple[float, float]:
    """As ``sign_ins``, from ``clients`` processes signing in at once."""
    context = multiprocessing.get_context("fork")
    start, out = context.Value("d", time.monotonic() + 3600), context.Queue()
    workers = [
        context.Process(target=_client, args=(sp_url, idp_url, users, n * 7, start, seconds, out))
        for n in range(clients)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # every client connected and warm
    cpu = cpu_s(pid)
    start.value = time.monotonic()
    done = sum(out.get(timeout=seconds + 60) for _ in workers)
    elapsed = time.monotonic() - start.value
    cpu_used = cpu_s(pid) - cpu
    for worker in workers:
        worker.join(10)
    return done / elapsed, cpu_used * 1000 / done


def healthz_ms(sp: httpx.Client, count: int = 50) -> float:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        sp.get("/healthz").raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def pysaml2_peer(sp_metadata: bytes) -> Any:
    from tests.peers.pysaml2_idp import PySaml2IdP

    return PySaml2IdP("http://127.0.0.1:9", sp_metadata, {})


def _own_and_children_cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def pysaml2_responses(
    peer: Any, acs_url: str, sp_entity: str, seconds: float
) -> tuple[float, float]:
    """pysaml2's signed responses (response and assertion), bound for POST: per second of wall
    time and per second of CPU (this process's and the ``xmlsec1`` processes pysaml2 runs to
    sign)."""
    from saml2 import BINDING_HTTP_POST
    from saml2.authn_context import PASSWORD as AUTHN_PASSWORD
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

    server = peer.server
    done = 0
    started, cpu = time.perf_counter(), _own_and_children_cpu()
    while time.perf_counter() - started < seconds:
        user = f"user{done}@example.com"
        response = server.create_authn_response(
            {"mail": [user]},
            userid=user,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=user),
            authn={"class_ref": AUTHN_PASSWORD, "authn_auth": peer.config.entityid},
            sign_response=True,
            sign_assertion=True,
            in_response_to=f"_bench{done}",
            destination=acs_url,
            sp_entity_id=sp_entity,
            name_id_policy=None,
        )
        server.apply_binding(BINDING_HTTP_POST, str(response), acs_url, "relay", response=True)
        done += 1
    return done / (time.perf_counter() - started), done / (_own_and_children_cpu() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per round and side")
    parser.add_argument("--plain-socket", action="store_true")
    parser.add_argument("--clients", type=int, default=1, help="client processes at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as home:
        server, sp_url, idp_url, users = start_serve(Path(home), args.plain_socket)
        try:
            with (
                httpx.Client(base_url=sp_url, timeout=30) as sp,
                httpx.Client(base_url=idp_url, timeout=30) as idp,
            ):
                metadata = sp.get("/saml/metadata").content
                peer = pysaml2_peer(metadata)
                sign_in(sp, idp, users[0])  # warm up both sides
                pysaml2_responses(peer, f"{sp_url}/saml/acs", f"{sp_url}/saml/metadata", 0.5)
                print(f"serve{' (plain sockets)' if args.plain_socket else ''}: {sp_url} {idp_url}")
                print(f"GET /healthz on a kept-alive connection: {healthz_ms(sp):.2f} ms (median)")
                for round_ in range(1, args.rounds + 1):
                    if args.clients > 1:
                        rate, cpu_ms = concurrent_sign_ins(
                            sp_url, idp_url, users, args.seconds, server.pid, args.clients
                        )
                    else:
                        rate, cpu_ms = sign_ins(sp, idp, users, args.seconds, server.pid)
                    peer_rate, peer_cpu_rate = pysaml2_responses(
                        peer, f"{sp_url}/saml/acs", f"{sp_url}/saml/metadata", args.seconds
                    )
                    print(
                        f"round {round_}: {rate:.1f} sign-ins/s through serve "
                        f"({cpu_ms:.2f} ms server CPU each, {args.clients} client(s)); pysaml2 "
                        f"{peer_rate:.1f} signed responses/s; ratio {rate / peer_rate:.2f}; "
                        f"per second of CPU: {1000 / cpu_ms:.0f} sign-ins against "
                        f"{peer_cpu_rate:.1f} responses, ratio {1000 / cpu_ms / peer_cpu_rate:.2f}"
                    )
                peer.close()
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
