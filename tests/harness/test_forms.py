"""Forms are submitted as a browser submits them: the fast encoding of base64 values gives
exactly what urllib's gives, for any field."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from harness.forms import urlencoded

fields = st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=4)
base64_values = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())


@given(fields)
def test_any_form_is_encoded_as_urllib_encodes_it(form: dict[str, str]) -> None:
    assert urlencoded(form) == urlencode(form).encode()


@given(base64_values, st.text(alphabet="abc+/=& %é", max_size=30))
def test_base64_values_and_their_near_misses_are_encoded_as_urllib_encodes_them(
    value: str, relay_state: str
) -> None:
    form = {"SAMLResponse": value, "RelayState": relay_state}
    assert urlencoded(form) == urlencode(form).encode()
    assert urlencoded({"v": value + "\n"}) == urlencode({"v": value + "\n"}).encode()
