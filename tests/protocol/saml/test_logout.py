import datetime as dt

from harness.protocol.saml import constants as c
from harness.protocol.saml.logout import (
    LogoutRequest,
    LogoutResponse,
    build_logout_request,
    build_logout_response,
    parse_logout_request,
    parse_logout_response,
)
from harness.protocol.xml import to_bytes

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def test_logout_request_round_trip() -> None:
    request = LogoutRequest(
        id="_l1",
        issue_instant=NOW,
        issuer="https://sp.test",
        name_id="alice@example.com",
        name_id_format=c.NAMEID_EMAIL,
        session_indexes=("_s1", "_s2"),
        destination="https://idp.test/saml/slo",
        reason=c.LOGOUT_USER,
    )
    assert parse_logout_request(to_bytes(build_logout_request(request))) == request


def test_logout_response_round_trip() -> None:
    response = LogoutResponse(
        id="_l2",
        issue_instant=NOW,
        issuer="https://idp.test",
        in_response_to="_l1",
        destination="https://sp.test/slo",
        status_code=c.STATUS_PARTIAL_LOGOUT,
    )
    assert parse_logout_response(to_bytes(build_logout_response(response))) == response
