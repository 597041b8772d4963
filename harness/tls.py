"""The CA bundle for outbound HTTPS, loaded once per process: loading it costs 20-60 ms, and
every client httpx builds without being given a context loads it again (a run against a real SP
made one per scenario run for its metadata, its provisioning cycles and its clean-up). Shared
by the engine and the mock IdP's provisioning, as a component support module."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's CA bundle as httpx loads it (``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
    honoured), made on first use."""
    return httpx.create_ssl_context()
