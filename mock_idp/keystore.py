"""The IdP's signing key on disk: generated on first start under the data directory, then
loaded once per process (loading is the slow part; signing is cheap)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from harness.home import creating_files_in
from harness.protocol.keys import KeyPair, KeyType, generate_key_pair, load_key_pair


def load_or_create(
    directory: Path,
    name: str = "signing",
    *,
    key_type: KeyType = "rsa",
    now: dt.datetime | None = None,
    common_name: str = "sso-harness-mock-idp",
    generated_here: bool = False,
) -> KeyPair:
    """The key pair kept in ``directory``, made there on first use. ``generated_here``: only
    this tool writes there (the in-process worlds' keys), so the key is loaded unchecked (see
    ``load_private_key``); a user may replace the mock IdP's own."""
    key_path = directory / f"{name}.key"
    cert_path = directory / f"{name}.crt"
    with creating_files_in(directory):
        if key_path.exists() and cert_path.exists():
            return load_key_pair(
                key_path.read_bytes(), cert_path.read_bytes(), generated_here=generated_here
            )
        pair = generate_key_pair(common_name, now=now or dt.datetime.now(dt.UTC), key_type=key_type)
        # The private key is written readable by the owner only.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pair.private_key_pem())
        cert_path.write_bytes(pair.certificate_pem())
        return pair
