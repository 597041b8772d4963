"""The SP's own key (signing AuthnRequests and LogoutRequests, decrypting assertions) and the
secret that signs its cookies: made on first start under the data directory, loaded once."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from harness.home import creating_files_in, data_dir
from harness.protocol.keys import KeyPair, generate_key_pair, load_key_pair


def key_dir() -> Path:
    path = data_dir() / "reference-sp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_or_create_key(directory: Path | None = None) -> KeyPair:
    directory = directory or key_dir()
    key_path, cert_path = directory / "sp.key", directory / "sp.crt"
    with creating_files_in(directory):
        if key_path.exists() and cert_path.exists():
            return load_key_pair(key_path.read_bytes(), cert_path.read_bytes())
        pair = generate_key_pair("sso-harness-reference-sp", now=datetime.now(UTC))
        _write_private(key_path, pair.private_key_pem())
        cert_path.write_bytes(pair.certificate_pem())
        return pair


def load_or_create_secret(directory: Path | None = None) -> bytes:
    directory = directory or key_dir()
    path = directory / "cookie-secret"
    with creating_files_in(directory):
        if path.exists():
            return path.read_bytes()
        secret = secrets.token_bytes(32)
        _write_private(path, secret)
        return secret
