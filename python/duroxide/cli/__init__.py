"""The `duroxide` command line: inspect and manage the instances in a store.

Run `duroxide --help` (or `python -m duroxide --help`). Every command works on a store given
with --db (a SQLite file path or `sqlite:` URL, or a PostgreSQL URL) and prints a readable
table, or JSON with --json. See docs/operations.md.

Exit codes: 0 success, 1 the operation failed or was refused, 2 bad arguments (including an
unusable --db), 3 the instance (or execution) does not exist.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

import duroxide
from duroxide.cli import (
    fleet,
    graphs,
    instances,
    limits,
    messaging,
    migration,
    operations,
    schedules,
    server,
    testing,
)
from duroxide.cli._base import (
    DATA_WIDTH,
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    STATUSES,
    CliError,
    Handler,
    add_common_options,
    open_client,
)
from duroxide.cli.instances import (
    cmd_cancel,
    cmd_delete,
    cmd_enqueue,
    cmd_history,
    cmd_list,
    cmd_metrics,
    cmd_prune,
    cmd_raise,
    cmd_show,
    cmd_start,
    cmd_tree,
)

__all__ = ["main", "build_parser", "open_client", "CliError", "EXIT_OK", "EXIT_FAILED",
           "EXIT_USAGE", "EXIT_NOT_FOUND", "STATUSES", "DATA_WIDTH", "cmd_list", "cmd_show",
           "cmd_history", "cmd_tree", "cmd_start", "cmd_raise", "cmd_enqueue", "cmd_cancel",
           "cmd_delete", "cmd_prune", "cmd_metrics"]

# One module per command group: each has add_commands(command), where command(name, help,
# handler) adds a subcommand with the common options (_base.Command). A handler is called as
# handler(args, client); one that needs no store is added with `needs_client=False` and is
# called as handler(args).
_COMMAND_GROUPS = (instances, operations, server, testing, fleet, messaging, graphs,
                   migration, schedules, limits)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duroxide",
        description="Inspect and manage duroxide orchestration instances in a store.",
        epilog="Exit codes: 0 success, 1 operation failed or refused, 2 bad arguments, "
               "3 instance not found.")
    add_common_options(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, help_text: str, handler: Optional[Handler] = None, *,
                needs_client: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_common_options(p, top_level=False)
        if handler is not None:
            p.set_defaults(handler=handler, needs_client=needs_client)
        return p

    for module in _COMMAND_GROUPS:
        module.add_commands(command)
    return parser


# ---- entry point --------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the CLI and returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not getattr(args, "needs_client", True):
            return int(args.handler(args))
        client = open_client(args.db, args.schema, getattr(args, "url", None),
                             getattr(args, "token_file", None))
        return int(args.handler(args, client))
    except CliError as exc:
        print(f"duroxide: error: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:  # e.g. `duroxide list | head`
        try:
            sys.stdout.close()
        except OSError:
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report every duroxide error as one line
        if not isinstance(exc, (duroxide.DuroxideError, RuntimeError)):
            raise
        code = EXIT_NOT_FOUND if isinstance(exc, duroxide.NotFoundError) else EXIT_FAILED
        print(f"duroxide: error: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
