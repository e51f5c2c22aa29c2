"""`duroxide server`: runs the REST API, Swagger UI and the dashboard (docs/server.md)."""

from __future__ import annotations

import argparse
from typing import Any

from duroxide.cli._base import EXIT_USAGE, CliError, Command


def add_commands(command: Command) -> None:
    p = command("server", "Serve the REST API (/v1), Swagger UI (/docs) and the dashboard (/).",
                cmd_server, needs_client=False)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; any other needs --token-file)")
    p.add_argument("--port", type=int, default=8200, help="port (default 8200)")
    # --token-file (a common option) names the file with the token that requests must carry.
    p.add_argument("--max-body-bytes", type=int, default=1024 * 1024, metavar="N",
                   help="refuse larger request bodies with 413 (default 1 MiB)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow cross-origin requests from ORIGIN (repeatable; default none)")
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))


def cmd_server(args: argparse.Namespace) -> int:
    try:
        from duroxide.server import ServerSettings, read_token_file, serve
    except ImportError as exc:
        raise CliError(f"the server needs its extra: pip install 'duroxide[server]' ({exc})",
                       EXIT_USAGE) from None
    from duroxide.server.app import open_store

    try:
        token_file = getattr(args, "token_file", None)
        token = read_token_file(token_file) if token_file else None
        settings = ServerSettings(host=args.host, port=args.port, token=token,
                                  max_body_bytes=args.max_body_bytes,
                                  cors_origins=tuple(args.cors_origin))
        settings.validate()
    except ValueError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if not args.db:
        raise CliError("no store given: pass --db PATH_OR_URL or set DUROXIDE_DB", EXIT_USAGE)
    try:
        client: Any = open_store(args.db, args.schema)
    except (RuntimeError, ValueError, TypeError, AttributeError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    serve(client, settings, log_level=args.log_level)
    return 0
