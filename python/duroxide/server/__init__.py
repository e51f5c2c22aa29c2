"""duroxide's HTTP server: the REST API under /v1, Swagger UI at /docs, the dashboard at /.

Needs the `server` extra: `pip install duroxide[server]`. See docs/server.md.
"""

from __future__ import annotations

from duroxide.server.app import create_app, serve
from duroxide.server.settings import ServerSettings, is_loopback, read_token_file

__all__ = ["create_app", "serve", "ServerSettings", "is_loopback", "read_token_file"]
