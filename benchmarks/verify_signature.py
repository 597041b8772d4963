"""One XML signature check, per call: ``verify_element`` (the common shape verified directly)
against ``verify_element_with_signxml`` (signxml for every shape), alternating in one process on
the golden Okta sample's Response signature and its Assertion's, as the ACS checks them.

    python benchmarks/verify_signature.py [--rounds 3] [--calls 500]
"""

from __future__ import annotations

import argparse
import functools
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.protocol.keys import load_key_pair  # noqa: E402
from harness.protocol.saml import constants as c  # noqa: E402
from harness.protocol.saml.signing import (  # noqa: E402
    verify_element,
    verify_element_with_signxml,
)
from harness.protocol.xml import parse_xml  # noqa: E402

SAMPLES = ROOT / "tests" / "samples" / "saml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    keys = SAMPLES / "keys"
    trusted = [load_key_pair((keys / "idp.key").read_bytes(), (keys / "idp.crt").read_bytes())]
    certificates = [trusted[0].certificate]
    response = parse_xml((SAMPLES / "golden" / "response-okta.xml").read_bytes())
    signed = verify_element(response, certificates).signed_element
    assertion = signed.find(c.q(c.SAML, "Assertion"))
    assert assertion is not None
    for number in range(1, args.rounds + 1):
        for label, element in (("Response", response), ("Assertion", assertion)):
            figures = []
            for verify in (verify_element_with_signxml, verify_element):
                call = functools.partial(verify, element, certificates)
                # The best of three: the least disturbed by the rest of a shared machine.
                seconds = min(timeit.repeat(call, number=args.calls, repeat=3))
                figures.append(seconds / args.calls * 1e6)
            print(
                f"round {number} {label:9}  signxml {figures[0]:5.0f} us"
                f"  common shape {figures[1]:5.0f} us  ratio {figures[1] / figures[0]:.2f}"
            )


if __name__ == "__main__":
    main()
