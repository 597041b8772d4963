"""``sso-harness load``: load on Locust. Virtual employees sign in through SSO, open their
account and activate devices while the IdP provisions and deprovisions over SCIM in a dialect,
against the reference SP or a target file's SP, on one machine or on a Locust master and
workers on several (docs/load.md).

Only ``harness.load.locustfile`` imports Locust (it monkey-patches the standard library with
gevent): the command line starts it in a process of its own, so nothing else ever imports it.
"""

from __future__ import annotations

from pathlib import Path

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
