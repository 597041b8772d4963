"""python-scim's scim2-server (PyPI ``scim2-server``), served on loopback exactly as its own
``scim2-server`` command serves it (scim2_server/testserver/cli.py): the default schemas,
resource types and service provider configuration, an in-memory storage, a static bearer
token, wsgiref's threading server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

from scim2_models import ScimProvider
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService, patch_only_config
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

TOKEN = "scim2-server-token"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def scim2_server(*, patch_only: bool = False) -> Iterator[str]:
    """The server on a free port of 127.0.0.1 until the block ends; yields its SCIM base URL.
    ``patch_only``: the configuration the library falls back on without one
    (scim2_server/service.py ``patch_only_config``: no filter, sort, etag or bulk)."""
    config = patch_only_config() if patch_only else load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    app = BearerTokenApplication(
        InMemoryStorage(), provider, service=ScimService(provider), bearer_tokens=[TOKEN]
    )
    with make_server(
        "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_Quiet
    ) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}/v2"
        finally:
            server.shutdown()
            thread.join(timeout=10)
