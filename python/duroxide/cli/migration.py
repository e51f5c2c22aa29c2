"""Store-moving commands of the `duroxide` CLI (docs/operations.md, "Moving a store").

    duroxide export --db SOURCE --out FILE [--instance ID ...] [--status S]
    duroxide import --db TARGET --in FILE [--merge]
    duroxide migrate --from SOURCE --to TARGET [--schema S] [--force] [--merge] [--no-verify]

SOURCE and TARGET are SQLite paths or PostgreSQL URLs. These commands work on stores, never
through a server (--url): a copy must read the tables themselves.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any, Optional

from duroxide import migration
from duroxide.cli._base import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError, Command, status_arg


def add_commands(command: Command) -> None:
    p = command("export", "Write a store (or some instances) to a dump file.",
                cmd_export, needs_client=False)
    p.add_argument("--out", required=True, metavar="FILE", help="the dump file to write (gzip)")
    p.add_argument("--instance", action="append", metavar="ID", dest="instances",
                   help="export only this instance (repeatable)")
    p.add_argument("--status", type=status_arg, metavar="S",
                   help="export only instances whose current execution has status S")

    p = command("import", "Load a dump file into a store (run again to finish an interrupted "
                          "import).", cmd_import, needs_client=False)
    p.add_argument("--in", required=True, metavar="FILE", dest="infile", help="the dump file")
    p.add_argument("--merge", action="store_true",
                   help="import into a store that has instances, skipping the ids it has")

    p = command("migrate", "Copy a whole store to another (SQLite <-> PostgreSQL) with every "
                           "running instance, then verify the copy.",
                cmd_migrate, needs_client=False)
    p.add_argument("--from", required=True, metavar="SOURCE", dest="source",
                   help="the store to copy: a SQLite path or a PostgreSQL URL")
    p.add_argument("--to", required=True, metavar="TARGET", dest="target",
                   help="the store to fill: a SQLite path or a PostgreSQL URL")
    p.add_argument("--force", action="store_true",
                   help="copy even while workers registered on the source are active")
    p.add_argument("--merge", action="store_true",
                   help="copy into a store that has instances, skipping the ids it has")
    p.add_argument("--no-verify", action="store_true", help="skip the verification")
    p.add_argument("--workdir", metavar="DIR",
                   help="where the intermediate dump is kept until the import completes "
                        "(default: the temporary directory)")


class Progress:
    """A one-line progress bar on stderr: rows done / total, and the rate."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.last = 0.0
        self.phase = ""

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and phase == self.phase):
            return
        if phase != self.phase:
            self.started, self.phase = now, phase
        self.last = now
        rate = done / max(now - self.started, 1e-6)
        if total:
            width = 30
            filled = int(width * done / total)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} rows"
        else:
            bar = f"{done} rows"
        sys.stderr.write(f"\r{phase:<7} {bar} {rate:,.0f} rows/s ")
        sys.stderr.flush()

    def end(self) -> None:
        if self.enabled and self.phase:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _no_url(args: argparse.Namespace) -> None:
    if getattr(args, "url", None):
        raise CliError(f"`{args.command}` works on stores, not through a server: give the "
                       f"store with --db", EXIT_USAGE)


def _print(args: argparse.Namespace, report: Any, text: str) -> None:
    if getattr(args, "json", False):
        payload = dataclasses.asdict(report)
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
    else:
        print(text)


def cmd_export(args: argparse.Namespace) -> int:
    _no_url(args)
    if not args.db:
        raise CliError("export needs --db SOURCE", EXIT_USAGE)
    progress = Progress(sys.stderr.isatty())
    source: Any = args.db
    if args.schema and args.db.startswith(("postgres://", "postgresql://")):
        source = _open_pg(args.db, args.schema)
    report = migration.export_store(source, args.out, instance_ids=args.instances,
                                    status=args.status, progress=progress)
    progress.end()
    _print(args, report, f"exported {report.instances} instances to {report.path} "
                         f"({sum(report.counts.values())} rows) in {report.seconds:.1f}s")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    _no_url(args)
    if not args.db:
        raise CliError("import needs --db TARGET", EXIT_USAGE)
    progress = Progress(sys.stderr.isatty())
    report = migration.import_store(_target(args.db, args.schema), args.infile,
                                    merge=args.merge, progress=progress)
    progress.end()
    text = (f"imported {report.instances} instances ({sum(report.counts.values())} rows) in "
            f"{report.seconds:.1f}s" + (" (resumed)" if report.resumed else ""))
    if report.skipped:
        text += f"\nskipped {len(report.skipped)} existing instances: " + ", ".join(report.skipped)
    _print(args, report, text)
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    _no_url(args)
    progress = Progress(True)
    report = migration.migrate(args.source, args.target, verify=not args.no_verify,
                               merge=args.merge, force=args.force, schema=args.schema,
                               workdir=args.workdir, progress=progress)
    progress.end()
    _print(args, report, report.summary())
    return EXIT_OK if report.verified is not False else EXIT_FAILED


def _target(db: str, schema: Optional[str]) -> Any:
    if schema and db.startswith(("postgres://", "postgresql://")):
        return _open_pg(db, schema)
    return db


def _open_pg(url: str, schema: str) -> Any:
    from duroxide._providers import PostgresProvider

    return PostgresProvider.connect_with_schema(url, schema)
