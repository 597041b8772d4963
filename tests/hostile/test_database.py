"""The reference SP's database under hostile load and faults (DESIGN.md, "Servers under hostile
load"): a slow request never holds up the event loop, concurrent creators on PostgreSQL never
deadlock, a database fault is a 503 (a SCIM error body with Retry-After) while /healthz reports
it, and a database that cannot be opened at start is one line and exit 2, its password never
printed. Every server here is reached over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from starlette.responses import Response

from harness.protocol.scim.errors import ERROR_SCHEMA
from harness.protocol.scim.schema import USER_SCHEMA
from reference_sp.app import ReferenceSP, Settings
from reference_sp.db import PROBE_EVERY_SECONDS, Database, make_engine, mask_url, normalise_url
from reference_sp.scim import journal
from reference_sp.tables import metadata
from tests.support.servers import pytest_heap_frozen, serve

TOKEN = "hostile-token"
PG = os.environ.get("SSO_HARNESS_TEST_PG")
needs_pg = pytest.mark.skipif(not PG, reason="SSO_HARNESS_TEST_PG is not set")
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}


def user(name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": name, **extra}


def make_sp(url: str) -> ReferenceSP:
    sp = ReferenceSP(Settings(db_url=url))
    if sp.db.engine.dialect.name == "postgresql":  # a shared database: start empty
        metadata.drop_all(sp.db.engine)
        metadata.create_all(sp.db.engine)
    sp.add_organisation("default", TOKEN, seats=1000)
    return sp


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def sp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReferenceSP]:
    url = f"sqlite:///{tmp_path / 'sp.sqlite3'}" if request.param == "sqlite" else PG
    assert url is not None
    reference = make_sp(url)
    yield reference
    reference.close()


def timed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.get(path)
    return response, time.perf_counter() - started


# -- 1. nothing blocks the event loop ------------------------------------------------------


@pytest.mark.serial  # a latency bound: measured alone
def test_healthz_answers_within_100ms_while_a_slow_request_holds_the_database(
    sp: ReferenceSP,
) -> None:
    """A SCIM write made slow (1.5 s inside its transaction, holding SQLite's lock or the
    organisation's row lock), plus a page and a second write queued behind it: /healthz still
    answers 200 in under 100 ms, every time."""
    entered = threading.Event()

    def slow(conn: Connection, org_pk: int) -> None:
        if not entered.is_set():
            entered.set()
            time.sleep(1.5)

    sp.scim_endpoints.before_write.append(slow)
    with serve(sp.app) as base:
        results: dict[str, int] = {}

        def call(name: str, method: str, path: str, body: Any = None) -> None:
            with httpx.Client(base_url=base, headers=HEADERS, timeout=30) as client:
                results[name] = client.request(method, path, json=body).status_code

        # The server's first use of each path (its thread pools, the app's middleware stack) is
        # not what is measured: warm them, then let the probe's interval pass, so the first
        # /healthz measured still probes the database while the slow write holds it.
        call("warm-up", "GET", "/api/me")
        call("warm-up", "GET", "/healthz")
        results.clear()
        time.sleep(PROBE_EVERY_SECONDS)
        slow_write = threading.Thread(
            target=call, args=("slow", "POST", "/scim/v2/Users", user("slow@example.com"))
        )
        slow_write.start()
        assert entered.wait(10)
        queued = [
            threading.Thread(
                target=call, args=("queued", "POST", "/scim/v2/Users", user("q@example.com"))
            ),
            threading.Thread(target=call, args=("page", "GET", "/api/me")),
        ]
        for thread in queued:
            thread.start()
        durations = []
        with pytest_heap_frozen(), httpx.Client(base_url=base, timeout=5) as probe:
            for _ in range(10):
                response, took = timed_get(probe, "/healthz")
                assert response.status_code == 200, response.text
                durations.append(took)
                time.sleep(0.05)
            assert slow_write.is_alive(), "the slow request ended before /healthz was measured"
        slow_write.join(10)
        for thread in queued:
            thread.join(10)
    assert max(durations) < 0.1, durations
    assert results == {"slow": 201, "queued": 201, "page": 401}


# -- 2. concurrent creators on PostgreSQL --------------------------------------------------


def create_concurrently(base: str, clients: int, per_client: int) -> list[int]:
    barrier = threading.Barrier(clients)
    statuses: list[int] = []
    lock = threading.Lock()

    def creator(n: int) -> None:
        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as client:
            barrier.wait()
            for i in range(per_client):
                status = client.post(
                    "/scim/v2/Users", json=user(f"c{n}-{i}@example.com")
                ).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=creator, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


@needs_pg
def test_eight_concurrent_creators_on_postgresql_all_201() -> None:
    """Each insert takes a KEY SHARE lock on the organisation's row through the foreign key;
    the business rules then lock that row. Once 21 of 22 creates from 8 clients died as
    deadlock victims; now the row lock is taken first and never conflicts with KEY SHARE."""
    assert PG is not None
    sp = make_sp(PG)
    try:
        with serve(sp.app) as base:
            statuses = create_concurrently(base, clients=8, per_client=6)
            with httpx.Client(base_url=base, headers=HEADERS) as client:
                listed = client.get("/scim/v2/Users", params={"count": "0"}).json()
    finally:
        sp.close()
    assert statuses == [201] * 48
    assert listed["totalResults"] == 48


# -- 3. database faults --------------------------------------------------------------------


def assert_scim_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA] and body["status"] == "503"
    assert "database" in body["detail"]


@pytest.mark.serial  # a latency bound: measured alone
def test_a_full_sqlite_disk_is_a_scim_503_and_healthz_says_so(tmp_path: Path) -> None:
    """The disk fills (simulated: PRAGMA max_page_count at the file's size): a create that
    needs a page is a SCIM 503 with Retry-After, /healthz is 503 naming the fault; when space
    returns, both recover."""
    sp = make_sp(f"sqlite:///{tmp_path / 'sp.sqlite3'}")
    try:
        with serve(sp.app) as base, httpx.Client(base_url=base, headers=HEADERS) as client:
            assert client.get("/healthz").status_code == 200
            with sp.db.transaction() as conn:
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
                conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
            big = user("full@example.com", displayName="x" * 20000)
            assert_scim_503(client.post("/scim/v2/Users", json=big))
            health, took = timed_get(client, "/healthz")
            assert health.status_code == 503
            assert "full" in health.json()["database"]["error"]
            assert took < 0.1
            with sp.db.transaction() as conn:
                conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
            assert client.post("/scim/v2/Users", json=big).status_code == 201
            assert client.get("/healthz").status_code == 200
    finally:
        sp.close()


def test_a_read_only_sqlite_database_is_a_scim_503_for_writes_while_reads_answer(
    tmp_path: Path,
) -> None:
    """The database stops taking writes (PRAGMA query_only, as a read-only file does for a
    non-root server): a write is a 503, never a 500 or plain text; reads write nothing (their
    journal entries wait in memory, bounded), so they still answer."""
    sp = make_sp(f"sqlite:///{tmp_path / 'sp.sqlite3'}")
    try:
        with serve(sp.app) as base, httpx.Client(base_url=base, headers=HEADERS) as client:
            with sp.db.transaction() as conn:
                conn.exec_driver_sql("PRAGMA query_only = ON")
            assert_scim_503(client.post("/scim/v2/Users", json=user("ro@example.com")))
            for _ in range(journal.HELD_BATCH + 1):  # a batch of entries due, and not written
                listed = client.get("/scim/v2/Users")
                assert listed.status_code == 200 and listed.json()["totalResults"] == 0
            health = client.get("/healthz")
            assert health.status_code == 503 and "readonly" in health.text
    finally:
        sp.close()


def terminate_backends(url: str) -> None:
    """Kill every other session of the test database (what a PostgreSQL restart does)."""
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()


@pytest.mark.serial  # a latency bound: measured alone
@needs_pg
def test_terminated_postgresql_connections_are_503_then_recover() -> None:
    """pg_terminate_backend under the server (a PostgreSQL restart): the requests on the dead
    connections are 503 (SCIM error body, Retry-After; JSON on /api/me, HTML on /), the next
    ones succeed on fresh connections."""
    assert PG is not None
    sp = make_sp(PG)
    try:
        with serve(sp.app) as base, httpx.Client(base_url=base, headers=HEADERS) as client:
            assert client.post("/scim/v2/Users", json=user("a@example.com")).status_code == 201
            terminate_backends(PG)
            assert_scim_503(client.post("/scim/v2/Users", json=user("b@example.com")))
            # The pool reconnected (the failed request's journal entry was written on a fresh
            # connection): the database is healthy again, and /healthz says so.
            assert client.post("/scim/v2/Users", json=user("b@example.com")).status_code == 201
            assert client.get("/healthz").status_code == 200
            # A signed session cookie (for no session): the pages then ask the database.
            stamped = Response()
            sp.sessions.set_session_cookie(stamped, "no-such-session", 60)
            cookie = stamped.headers["set-cookie"].split(";", 1)[0]
            signed_in = {"Cookie": cookie, "Accept": "application/json"}
            assert client.get("/api/me", headers=signed_in).status_code == 401
            terminate_backends(PG)
            page = client.get("/api/me", headers=signed_in)
            assert page.status_code == 503 and page.json()["reason"] == "database-unavailable"
            assert "retry-after" in page.headers
            assert client.get("/", headers=signed_in).status_code == 200  # a fresh connection
            terminate_backends(PG)
            html = client.get("/", headers={**signed_in, "Accept": "text/html"})
            assert html.status_code == 503 and "database" in html.text
            assert html.headers["content-type"].startswith("text/html")
    finally:
        sp.close()


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.serial  # a latency bound: measured alone
@needs_pg
def test_unreachable_postgresql_is_503_and_healthz_probes_it() -> None:
    """The database goes away (the engine now points at a closed port): /healthz is 503 before
    any request fails (its probe, on a connection of its own), and SCIM requests are 503."""
    assert PG is not None
    sp = make_sp(PG)
    try:
        gone = normalise_url(PG).rsplit("@", 1)[0] + f"@127.0.0.1:{closed_port()}/nowhere"
        sp.db.engine.dispose()
        sp.db.engine = create_engine(gone)
        with serve(sp.app) as base, httpx.Client(base_url=base, headers=HEADERS) as client:
            health, took = timed_get(client, "/healthz")
            assert health.status_code == 503, health.text
            assert took < 0.1
            assert "sso_harness" not in health.text.replace("sso_harness_test", "")  # no creds
            assert_scim_503(client.get("/scim/v2/Users"))
    finally:
        sp.close()


# -- 4. start-up ---------------------------------------------------------------------------


def start_sp(tmp_path: Path, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "sp", "--port", "0", "--db", db],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SSO_HARNESS_HOME": str(tmp_path / "home")},
    )


@pytest.mark.parametrize(
    "db",
    [
        "sqlite:///file:{tmp}/ro.sqlite3?mode=ro&uri=true",  # read-only
        "sqlite:///{tmp}/not-a-database",  # garbage
        "sqlite:///{tmp}/no/such/dir/x.sqlite3",  # cannot be created
        "postgresql://sso:pw-s3cret@127.0.0.1:{closed}/x",  # unreachable
        "postgresql://sso:pw-s3cret@oops@127.0.0.1:{closed}/x",  # an unescaped @ in it
    ],
)
def test_an_unusable_database_at_start_is_one_line_and_exit_2(tmp_path: Path, db: str) -> None:
    (tmp_path / "ro.sqlite3").write_bytes(b"")
    (tmp_path / "not-a-database").write_bytes(b"this is not SQLite " * 100)
    url = db.format(tmp=tmp_path, closed=closed_port())
    done = start_sp(tmp_path, url)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("sso-harness sp: cannot open the database")
    assert "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr and "oops" not in done.stderr


@needs_pg
def test_a_wrong_password_is_not_printed(tmp_path: Path) -> None:
    assert PG is not None
    scheme, _, rest = PG.partition("://")
    host = rest.rsplit("@", 1)[1]
    done = start_sp(tmp_path, f"{scheme}://sso_harness:wrong-pw-s3cret@{host}")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "s3cret" not in done.stderr and "***" in done.stderr


def test_mask_url() -> None:
    assert mask_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert mask_url("postgresql://u:p@w@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql://h/db?sslmode=x&password=pw") == (
        "postgresql://h/db?sslmode=x&password=***"
    )
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert mask_url("sqlite:////tmp/a@b.sqlite3") == "sqlite:////tmp/a@b.sqlite3"
    assert "pw" not in repr(Settings(db_url="postgresql://u:pw@h/db"))


def test_a_flood_beyond_the_queue_is_503_not_an_unbounded_queue(tmp_path: Path) -> None:
    """More requests waiting for the database than it serves soon are refused at once with a
    SCIM 503 and Retry-After; the ones admitted are answered."""
    reference = make_sp(f"sqlite:///{tmp_path / 'sp.sqlite3'}")
    reference.db.max_waiting = 2
    release = threading.Event()
    slow = reference.db.run

    async def held(fn: Any, *args: Any) -> Any:
        return await slow(lambda: (release.wait(5), fn(*args))[1])

    reference.db.run = held  # type: ignore[method-assign]
    try:
        with serve(reference.app) as base:
            answers: list[int] = []

            def create(i: int) -> None:
                with httpx.Client(base_url=base, headers=HEADERS, timeout=10) as http:
                    answers.append(
                        http.post("/scim/v2/Users", json=user(f"f{i}@x.test")).status_code
                    )

            threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
            for thread in threads:
                thread.start()
            time.sleep(0.5)
            release.set()
            for thread in threads:
                thread.join()
    finally:
        reference.close()
    assert sorted(answers).count(201) >= 1 and 503 in answers, answers
    assert set(answers) <= {201, 503}


def test_health_checks_at_once_wait_for_one_probe_and_all_answer(tmp_path: Path) -> None:
    """Several /healthz at once while the probe is slow (a monitor retrying on its own timeout):
    one probe runs and each caller gets its answer; the first to see the probe finish used to
    clear it under the others, which then failed with a 500."""
    db = Database(make_engine(f"sqlite:///{tmp_path / 'health.sqlite3'}"))
    probes: list[float] = []

    def slow_probe() -> str | None:  # the database takes its time to answer
        probes.append(time.monotonic())
        time.sleep(0.05)
        return None

    db.probe = slow_probe  # type: ignore[method-assign]

    async def at_once() -> list[str | None]:
        return await asyncio.gather(*(db.problem() for _ in range(5)))

    try:
        assert asyncio.run(at_once()) == [None] * 5
        assert len(probes) == 1
    finally:
        db.close()


def test_judging_a_sqlite_failure_does_not_import_the_postgresql_driver() -> None:
    # psycopg takes 50 ms to import; a process on SQLite judged its first refused statement
    # by importing it, though no psycopg error can exist before psycopg is imported.
    code = (
        "import sqlite3, sys\n"
        "from reference_sp.db import is_operational\n"
        "assert is_operational(sqlite3.OperationalError('database is locked'))\n"
        "assert not is_operational(sqlite3.IntegrityError('UNIQUE constraint failed'))\n"
        "print('psycopg' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
