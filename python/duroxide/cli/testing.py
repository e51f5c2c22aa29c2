"""`duroxide lint`, `duroxide replay` and `duroxide export-history` (duroxide.testing tools).

    duroxide lint PATH...                         determinism linter; exit 1 on findings
    duroxide replay MODULE:ATTR --db DB [--name N] [--since T] [--instance ID]
    duroxide replay MODULE:ATTR HISTORY.json|DIR...   replay exported histories (no store)
    duroxide export-history --db DB [--name N] [--since T] [--instance ID] --out DIR|FILE.json

MODULE:ATTR names a duroxide.Registry (or a Runtime, whose registrations are used), imported
with the current directory on sys.path; `path/to/file.py:ATTR` works too. Exit codes: 0 all
good, 1 findings or nondeterminism, 2 bad arguments or an unusable store or file.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from typing import Any, List, Optional

import duroxide
from duroxide import _core
from duroxide.cli._base import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Command,
    load_registry,
    open_client,
)
from duroxide.client.api import ClientAPI
from duroxide.testing._lint import LintError, format_finding, lint_paths
from duroxide.testing._replay import (
    export_history,
    load_histories,
    parse_since,
    read_history,
    replay_exported,
)


def add_commands(command: Command) -> None:
    p = command("lint", "Check orchestration functions for code that breaks replay.",
                cmd_lint, needs_client=False)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to lint")
    p.add_argument("--select", metavar="CODES", help="only these rules, e.g. DX001,DX006")
    p.add_argument("--ignore", metavar="CODES", help="skip these rules")

    p = command("replay", "Replay recorded histories against a registry's current code.",
                cmd_replay, needs_client=False)
    p.add_argument("targets", nargs="*", metavar="MODULE:ATTR|HISTORY",
                   help="the registry (MODULE:ATTR) and/or exported history files or "
                        "directories; without history files the store (--db) is read")
    p.add_argument("--registry", metavar="MODULE:ATTR", help="the registry (alternative form)")
    p.add_argument("--history", "--from", dest="history", action="append", default=None,
                   metavar="PATH", help="an exported history file or directory (repeatable)")
    _add_selection(p)
    p.add_argument("--all-executions", action="store_true",
                   help="replay every stored execution, not only the current one")
    p.add_argument("--quiet", "-q", action="store_true", help="print only problems")

    p = command("export-history", "Write instance histories to JSON files (for replay in CI).",
                cmd_export_history)
    p.add_argument("ids", nargs="*", metavar="ID", help="instances to export (default: all "
                                                        "matching the filters)")
    _add_selection(p)
    p.add_argument("--out", "--output", "-o", dest="out", metavar="DIR|FILE.json", default=None,
                   help="a directory (one file per instance) or a .json file (all instances); "
                        "default: print to stdout")


def _add_selection(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", metavar="N", help="only this orchestration name (wildcards allowed)")
    p.add_argument("--since", metavar="T",
                   help="only instances created since T: epoch ms, an ISO date/datetime, or an "
                        "age such as 7d, 12h, 30m")
    p.add_argument("--instance", action="append", metavar="ID", default=None,
                   help="only this instance (repeatable)")
    p.add_argument("--status", metavar="S", help="only this status (Running, Completed, ...)")


# ---- lint ---------------------------------------------------------------------------------


def _codes(text: Optional[str]) -> Optional[set]:  # type: ignore[type-arg]
    if not text:
        return None
    return {c.strip().upper() for c in text.split(",") if c.strip()}


def cmd_lint(args: argparse.Namespace) -> int:
    try:
        findings = lint_paths(args.paths)
    except LintError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    select, ignore = _codes(args.select), _codes(args.ignore)
    findings = [f for f in findings if (select is None or f.code in select)
                and (ignore is None or f.code not in ignore)]
    if getattr(args, "json", False):
        print(json.dumps([f.to_dict() for f in findings], indent=2))
    else:
        for f in findings:
            print(format_finding(f))
        files = len({f.path for f in findings})
        print(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
              + (f" in {files} file{'s' if files != 1 else ''}" if findings else ""),
              file=sys.stderr)
    return EXIT_FAILED if findings else EXIT_OK


# ---- store selection ----------------------------------------------------------------------


def _select_instances(args: argparse.Namespace, client: ClientAPI) -> List[str]:
    since = None
    if args.since:
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    ids = list(args.instance) if args.instance else list(client.list_all_instances())
    selected = []
    for instance_id in ids:
        try:
            info = client.get_instance_info(instance_id)
        except duroxide.NotFoundError:
            if args.instance:
                raise CliError(f"Instance {instance_id} not found", 3) from None
            continue
        if args.name and not fnmatch.fnmatchcase(info.orchestration_name, args.name):
            continue
        if since is not None and (info.created_at or 0) < since:
            continue
        if args.status and str(info.status).lower() != args.status.lower():
            continue
        selected.append(instance_id)
    return selected


# ---- replay / export ----------------------------------------------------------------------


def cmd_replay(args: argparse.Namespace) -> int:
    registry_spec = args.registry
    files: List[str] = list(args.history or [])
    for target in args.targets:
        if os.path.exists(target) and not target.endswith(".py"):
            files.append(target)
        elif registry_spec is None:
            registry_spec = target
        else:
            raise CliError(f"{target}: no such history file or directory", EXIT_USAGE)
    if registry_spec is None:
        registry_spec = os.environ.get("DUROXIDE_REGISTRY")
    if not registry_spec:
        raise CliError("no registry given: pass MODULE:ATTR (a duroxide.Registry)", EXIT_USAGE)
    registry = load_registry(registry_spec)
    if not (os.environ.get("DUROXIDE_LOG") or os.environ.get("RUST_LOG")):
        # The engine logs each nondeterminism it finds as an error; here the report says it.
        _core.configure_logging(
            "warn,duroxide::runtime=off", "compact")
    if files:
        try:
            histories = load_histories(files)
        except (OSError, ValueError, KeyError) as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        histories = [h for h in histories if _matches(args, h)]
    else:
        client = open_client(args.db, args.schema, getattr(args, "url", None),
                             getattr(args, "token_file", None))
        histories = [read_history(client, i) for i in _select_instances(args, client)]
    results = list(replay_exported(histories, registry, args.all_executions))
    bad = [r for r in results if not r.ok]
    if getattr(args, "json", False):
        print(json.dumps([_result_dict(r) for r in results], indent=2, default=str))
    else:
        for r in results:
            if not r.ok or not args.quiet:
                print(r.report())
        print(f"{len(results)} replayed, {len(results) - len(bad)} ok, {len(bad)} failed",
              file=sys.stderr)
    return EXIT_FAILED if bad else EXIT_OK


def _matches(args: argparse.Namespace, h: Any) -> bool:
    if args.name and not fnmatch.fnmatchcase(h.orchestration_name, args.name):
        return False
    if args.instance and h.instance_id not in args.instance:
        return False
    if args.status and h.status.lower() != args.status.lower():
        return False
    if args.since:
        first = h.executions[0].events[0] if h.executions and h.executions[0].events else {}
        if int(first.get("timestamp_ms", 0)) < parse_since(args.since):
            return False
    return True


def _result_dict(r: Any) -> dict:  # type: ignore[type-arg]
    return {k: getattr(r, k) for k in (
        "instance_id", "execution_id", "orchestration_name", "orchestration_version", "ok",
        "nondeterministic", "unregistered", "outcome_mismatch", "message", "event_id",
        "recorded", "actual", "outcome", "recorded_outcome", "new_work", "events", "source")}


def cmd_export_history(args: argparse.Namespace, client: ClientAPI) -> int:
    if args.ids:
        args.instance = list(args.instance or []) + list(args.ids)
    ids = _select_instances(args, client)
    if args.out is None:
        print(json.dumps([read_history(client, i).to_dict() for i in ids], indent=1))
        return EXIT_OK
    written = export_history(client, ids, args.out)
    print(f"exported {len(ids)} instance{'s' if len(ids) != 1 else ''} to "
          f"{args.out if len(written) <= 1 else os.path.dirname(written[0]) or '.'}",
          file=sys.stderr)
    return EXIT_OK
