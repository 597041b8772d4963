"""The SAML and database work of one SP-initiated sign-in, in one process and one thread, without
HTTP: what ``benchmarks/serve_sign_ins.py`` measures minus the HTTP servers, the client and the
worker threads. CPU time (``time.process_time``) per step, so that a change to the sign-in code
can be measured apart from the noise of a shared machine; run it with ``PYTHONPATH`` pointing at
two checkouts in turn to compare them (the code measured is the one ``PYTHONPATH`` names, else
this script's own checkout).

The pair is built as ``sso-harness serve`` builds it (``harness.serve.build``); the SP listens
only while the IdP provisions the demo directory. Each sign-in: ``SignInService.start`` (the
AuthnRequest, signed, remembered for a new browser), the IdP answering the redirect
(``MockIdP.sso_from_redirect``: parse, check, sign, encrypt), the ACS (``read_posted_response``
and ``SignInService.admit``: verify, decrypt, the replay cache, the session), ``/api/me``'s
reading (``AccountPages.me``).

``--pending N`` first leaves N unanswered AuthnRequests in the SP's store (ten minutes of
sign-ins at 40 a second is 24,000), to show whether starting a sign-in costs more as they pile up.

    python benchmarks/sign_in_work.py [--sign-ins 300] [--pending 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# PYTHONPATH names the checkout to measure; this script's own otherwise (put first, it would
# shadow the one PYTHONPATH names and both sides of a comparison would run the same code).
sys.path.insert(0, os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or str(ROOT))


def build(home: Path) -> Any:
    import uvicorn

    from harness import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    db = f"sqlite:///{home / 'sp.sqlite3'}"
    served = serve.build(parser.parse_args(["--sp-port", "0", "--idp-port", "0", "--db", db]))
    # The IdP provisions over HTTP: the SP listens for as long as that takes.
    server = uvicorn.Server(uvicorn.Config(served.sp.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [served.sp_socket]})
    thread.start()
    while not server.started:
        time.sleep(0.01)
    asyncio.run(served.idp.provision("initial"))
    server.should_exit = True
    thread.join()
    return served


def leave_pending(served: Any, count: int) -> None:
    organisation = served.sp.organisations.all()[0]
    for number in range(count):
        served.sp.saml.sign_in.start(organisation, organisation.idp, "/", f"left{number}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sign-ins", type=int, default=300)
    parser.add_argument("--pending", type=int, default=0)
    args = parser.parse_args()
    from reference_sp.sign_in import read_posted_response

    with tempfile.TemporaryDirectory(prefix="bench-sign-in-") as home:
        served = build(Path(home))
        sp, idp = served.sp, served.idp
        leave_pending(served, args.pending)
        organisation = sp.organisations.all()[0]
        users = [user.user_name for user in idp.directory.users()]
        spent: dict[str, float] = {}

        def step(name: str, action: Callable[..., Any], *arguments: Any) -> Any:
            started = time.process_time()
            result = action(*arguments)
            spent[name] = spent.get(name, 0.0) + time.process_time() - started
            return result

        sign_in, me = sp.saml.sign_in, sp.pages.pages.me
        warm_up = 20
        for number in range(warm_up + args.sign_ins):
            if number == warm_up:
                spent.clear()
            browser, user = f"browser{number}", users[number % len(users)]
            url = step("SP start", sign_in.start, organisation, organisation.idp, "/", browser)
            message = step("IdP", idp.sso_from_redirect, url, user)
            posted = step("SP ACS", read_posted_response, message.fields["SAMLResponse"], None)
            admitted = step("SP ACS", sign_in.admit, posted, browser, None)
            step("SP /api/me", me, admitted.token)
        import harness

        print(
            f"{args.sign_ins} sign-ins, {args.pending} AuthnRequests left pending first "
            f"(the code in {Path(harness.__file__).parents[1]})"
        )
        for name, seconds in spent.items():
            print(f"{name:11} {seconds * 1000 / args.sign_ins:6.2f} ms CPU per sign-in")
        print(f"{'total':11} {sum(spent.values()) * 1000 / args.sign_ins:6.2f} ms CPU per sign-in")
        served.close()


if __name__ == "__main__":
    main()
