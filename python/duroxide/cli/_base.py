"""What the command modules of the `duroxide` CLI share: exit codes, CliError, the common
options, the argument validators, output formatting and opening the store (--db) or the
server (--url)."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Callable, Dict, Optional, Protocol, Sequence

import duroxide
from duroxide._common import loads_or_raw
from duroxide._providers import open_provider
from duroxide.client.api import ClientAPI
from duroxide.client.results import OrchestrationResult
from duroxide.errors import InvalidArgumentError
from duroxide.worker import loader
from duroxide.worker.registry import Registry

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3

STATUSES = ("Running", "Completed", "Failed", "ContinuedAsNew")
DATA_WIDTH = 72  # readable output truncates long payloads to this many characters


Handler = Callable[..., int]


class Command(Protocol):
    """What build_parser hands each command module: command(name, help, handler) adds the
    subcommand (with the common options) and returns its parser. The command runs
    handler(args, client); with needs_client=False, handler(args) without opening a store. A
    group of subcommands of its own passes no handler and sets one on each subcommand."""

    def __call__(self, name: str, help_text: str, handler: Optional[Handler] = None, *,
                 needs_client: bool = True) -> argparse.ArgumentParser: ...


class CliError(Exception):
    """An error reported as `duroxide: error: <message>` with exit code `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


# ---- formatting ---------------------------------------------------------------------------


def fmt_ms(ms: Optional[int]) -> str:
    """Epoch milliseconds as UTC 'YYYY-MM-DD HH:MM:SS.mmmZ' ('-' for None or 0)."""
    if not ms:
        return "-"
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def short(text: Optional[str], width: int = DATA_WIDTH) -> str:
    if text is None:
        return "-"
    text = " ".join(str(text).split())  # one line
    return text if len(text) <= width else text[: width - 3] + "..."


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


INFO_FIELDS = ("instance_id", "orchestration_name", "orchestration_version",
               "current_execution_id", "status", "output", "created_at", "updated_at",
               "parent_instance_id")
EVENT_FIELDS = ("event_id", "kind", "source_event_id", "timestamp_ms")


def fields(value: Any, *names: str) -> Dict[str, Any]:
    """{name: value.name} for the JSON output of a result object."""
    return {name: getattr(value, name) for name in names}


def info_dict(info: Any) -> Dict[str, Any]:
    return fields(info, *INFO_FIELDS)


def event_dict(event: Any) -> Dict[str, Any]:
    """The event's fields with its data decoded (raw text if it is not JSON)."""
    return {**fields(event, *EVENT_FIELDS), "data": loads_or_raw(event.data)}


def emit(args: argparse.Namespace, payload: Any, text: Callable[[], str]) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, sort_keys=False))
    else:
        print(text())


# ---- arguments ----------------------------------------------------------------------------


def json_arg(option: str) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"{option} must be JSON (e.g. '{{\"a\": 1}}', '42' or '\"text\"'): {exc}"
            ) from None

    return parse


def status_arg(value: str) -> str:
    for status in STATUSES:
        if value.lower() == status.lower():
            return status
    raise argparse.ArgumentTypeError(
        f"invalid status {value!r} (choose from {', '.join(STATUSES)})")


def non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {number}")
    return number


def positive(value: str) -> int:
    number = non_negative(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return number


def instance_command(command: Command, name: str, help_text: str,
                     handler: Handler) -> argparse.ArgumentParser:
    """A command on one instance: `duroxide NAME ID ...`, run by `handler(args, client)`."""
    p = command(name, help_text, handler)
    p.add_argument("instance_id", metavar="ID")
    return p


def json_option(p: argparse.ArgumentParser, option: str, what: str) -> None:
    """`option JSON`, parsed (default null)."""
    p.add_argument(option, type=json_arg(option), default=None, metavar="JSON",
                   help=f"{what} as JSON (default: null)")


def payload_args(p: argparse.ArgumentParser, dest: str, metavar: str, what: str) -> None:
    """The arguments of a command that sends a payload to a named target (raise, enqueue,
    send, publish, request): `METAVAR [--data JSON]`."""
    p.add_argument(dest, metavar=metavar)
    json_option(p, "--data", what)


def add_common_options(parser: argparse.ArgumentParser, top_level: bool) -> None:
    # Accepted before and after the command; below the top level they default to SUPPRESS so
    # that an option given before the command is not reset by the subparser.
    def default(value: Any) -> Any:
        return value if top_level else argparse.SUPPRESS

    parser.add_argument(
        "--db", metavar="DB", default=default(os.environ.get("DUROXIDE_DB")),
        help="the store: a SQLite file path or sqlite: URL, or a postgresql:// URL "
             "(default: $DUROXIDE_DB)")
    parser.add_argument("--schema", metavar="SCHEMA", default=default(None),
                        help="PostgreSQL schema (default: public)")
    parser.add_argument(
        "--url", metavar="URL", default=default(os.environ.get("DUROXIDE_URL")),
        help="a duroxide server instead of a store, e.g. http://host:8200 "
             "(default: $DUROXIDE_URL; the token comes from $DUROXIDE_TOKEN or --token-file)")
    parser.add_argument("--token-file", metavar="F", default=default(None),
                        help="a file holding the bearer token (with --url: sent to the server; "
                             "for `server`: required from clients)")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print machine-readable JSON instead of tables")


# ---- the store ----------------------------------------------------------------------------


def open_client(db: Optional[str], schema: Optional[str], url: Optional[str] = None,
                token_file: Optional[str] = None) -> ClientAPI:
    """A Client on the store named by --db, or an HttpClient on the server named by --url.

    Raises CliError (EXIT_USAGE) if it is unusable.
    """
    if url and (not db or db == os.environ.get("DUROXIDE_DB") or
                url != os.environ.get("DUROXIDE_URL")):
        # --url given, or only $DUROXIDE_URL set: an explicit --db would win over the latter.
        if schema:
            raise CliError("--schema applies to --db, not to --url", EXIT_USAGE)
        token = os.environ.get("DUROXIDE_TOKEN")
        if token_file:
            from duroxide.server.settings import read_token_file  # the server's own checks

            try:
                token = read_token_file(token_file)
            except duroxide.InvalidArgumentError as exc:
                raise CliError(str(exc), EXIT_USAGE) from None
        try:
            return duroxide.HttpClient(url, token=token)
        except duroxide.InvalidArgumentError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    if not db:
        raise CliError("no store given: pass --db PATH_OR_URL (or --url http://host:8200), "
                       "or set DUROXIDE_DB (or DUROXIDE_URL)", EXIT_USAGE)
    if not db.startswith(("postgres://", "postgresql://")) and not schema:
        _check_sqlite_file(db)
    try:
        return duroxide.Client(open_provider(db, schema))
    except duroxide.DuroxideError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _check_sqlite_file(db: str) -> None:
    """Opening would create an empty store: a typo in the path should not look like "no
    instances"."""
    path = db
    for prefix in ("sqlite://", "sqlite:"):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    path = path.split("?", 1)[0]
    if ":memory:" in path:
        raise CliError("an in-memory database is empty in a new process; pass a file", EXIT_USAGE)
    if not os.path.isfile(path):
        raise CliError(f"database file not found: {path}", EXIT_USAGE)


def load_registry(spec: str) -> Registry:
    """The Registry named by MODULE:ATTR (or path/file.py:ATTR, or MODULE alone); CliError
    (exit 2) otherwise."""
    try:
        return loader.load_registry(spec)
    except InvalidArgumentError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def require_instance(client: ClientAPI, instance_id: str) -> OrchestrationResult:
    """The OrchestrationResult of an existing (or queued) instance; CliError if missing."""
    status = client.get_status(instance_id)
    if status.status == "NotFound":
        raise CliError(f"Instance {instance_id} not found", EXIT_NOT_FOUND)
    return status


def require_running(client: ClientAPI, instance_id: str, what: str) -> None:
    status = require_instance(client, instance_id)
    if status.status in ("Completed", "Failed", "Terminated"):
        raise CliError(f"Instance {instance_id} is {status.status}; the {what} would be "
                       "dropped")
