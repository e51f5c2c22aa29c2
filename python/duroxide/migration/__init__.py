"""Moving a store: export to a dump file, import from one, and migrate between two stores
(SQLite <-> PostgreSQL, either direction). See docs/dump-format.md and docs/operations.md.

The copy itself is native (providers/store_dump.h): rows stream through in pages with the GIL
released, so memory does not grow with the store. This module checks arguments and safety
rules, moves dump bytes and reports.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from duroxide import _core
from duroxide.errors import FailedPreconditionError, InvalidArgumentError, InvalidTypeError
from duroxide.migration import _dumpfile, _stores
from duroxide.migration._verify import Verification, store_digests, verify

__all__ = ["export_store", "import_store", "migrate", "verify_stores", "store_digests",
           "MigrationReport", "ExportReport", "ImportReport", "Verification", "ProgressFn",
           "FORMAT_VERSION"]

FORMAT_VERSION = _dumpfile.FORMAT_VERSION
_STATUSES = ("Running", "Completed", "Failed", "ContinuedAsNew")
_EXPORT_PAGE = 5000

# progress(phase, done, total): phase "export" (done/total in instances... rows) or "import";
# `done` and `total` count rows of every kind; total is 0 when not known yet.
ProgressFn = Callable[[str, int, int], None]


@dataclass
class ExportReport:
    """What export_store wrote.

    Attributes:
        path: the dump file.
        counts: rows written per kind (table name, e.g. "history", "worker_queue").
        instances: instances in the dump.
        seconds: wall time.
    """

    path: str
    counts: Dict[str, int]
    instances: int
    seconds: float


@dataclass
class ImportReport:
    """What import_store wrote.

    Attributes:
        counts: rows of the dump per kind (table name); rows of skipped instances included.
        instances: instances in the dump, less `skipped`.
        skipped: ids the target already had (merge only); their rows were not imported.
        resumed: True if an earlier, interrupted run of the same import was continued.
        seconds: wall time of this run.
    """

    counts: Dict[str, int]
    instances: int
    skipped: List[str]
    resumed: bool
    seconds: float


@dataclass
class MigrationReport:
    """The result of migrate().

    Attributes:
        source, target: the stores (URL passwords hidden).
        counts: rows copied per kind (table name: "instances", "history", "orchestrator_queue"
            (messages, events and timers), "worker_queue" (activities), "kv_store", ...).
        instances_copied: instances copied (the target's existing ids excluded, see skipped).
        skipped: instance ids the target already had (merge), not copied.
        verified: True/False from the verification, None when verify=False.
        verification: the details of the verification (None when verify=False).
        resumed: True if this run finished an interrupted migration.
        seconds: wall time.
    """

    source: str
    target: str
    counts: Dict[str, int] = field(default_factory=dict)
    instances_copied: int = 0
    skipped: List[str] = field(default_factory=list)
    verified: Optional[bool] = None
    verification: Optional[Verification] = None
    resumed: bool = False
    seconds: float = 0.0

    @property
    def instances_per_second(self) -> float:
        return self.instances_copied / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        lines = [f"migrated {self.instances_copied} instances from {self.source} to "
                 f"{self.target} in {self.seconds:.1f}s "
                 f"({self.instances_per_second:.0f} instances/s)"
                 + (" (resumed)" if self.resumed else "")]
        for kind, n in sorted(self.counts.items()):
            lines.append(f"  {kind:<20} {n}")
        if self.skipped:
            more = " ..." if len(self.skipped) > 20 else ""
            lines.append(f"skipped {len(self.skipped)} existing instances: "
                         + ", ".join(self.skipped[:20]) + more)
        if self.verification is not None:
            lines.append(self.verification.summary())
        return "\n".join(lines)


def export_store(provider: Any, path: str, *, instance_ids: Optional[Sequence[str]] = None,
                 status: Optional[str] = None,
                 progress: Optional[ProgressFn] = None) -> ExportReport:
    """Writes the store of `provider` (or a store path/URL) to the dump file `path`, from one
    consistent snapshot, while the store stays in use.

    `instance_ids` and `status` (of the current execution) select instances: their rows, the
    topics they subscribe to, and every table that belongs to no instance (task cache,
    capability schemas, client replies, ...). Without them, everything is exported.

    Raises:
        InvalidArgumentError: a bad selection, an unknown URL scheme, a missing SQLite file or a
            source that is not a duroxide store.
    """
    if not isinstance(path, str) or not path:
        raise InvalidTypeError(f"export_store: path must be a non-empty str, got {path!r}")
    ids = _check_ids(instance_ids)
    if status is not None and status not in _STATUSES:
        raise InvalidArgumentError(f"export_store: status must be one of {_STATUSES}, "
                                   f"got {status!r}")
    started = time.monotonic()
    prov, opened = _stores.open_store(provider, must_exist=True)
    try:
        _stores.check_source(prov, _stores.describe(provider))
        return _export(prov, path, ids, status, progress, started)
    finally:
        if opened:
            prov.close()


def _export(prov: Any, path: str, ids: Optional[List[str]], status: Optional[str],
            progress: Optional[ProgressFn], started: float,
            dump_id: Optional[str] = None) -> ExportReport:
    exporter = _core._dump_exporter(_stores.native(prov), ids, status)
    header = {"format": _dumpfile.FORMAT_NAME, "version": FORMAT_VERSION,
              "dump_id": dump_id or uuid.uuid4().hex, "created_at_ms": int(time.time() * 1000),
              "source": type(prov).__name__,
              "filter": {"instance_ids": ids, "status": status}}
    writer = _dumpfile.DumpWriter(path, header)
    try:
        done = 0
        while True:
            block = exporter.next(_EXPORT_PAGE)
            if not block:
                break
            writer.write(block)
            done += block.count(b"\n")
            if progress is not None:
                progress("export", done, 0)
        counts = dict(exporter.counts())
        writer.finish(counts)
    except BaseException:
        writer.abort()
        raise
    return ExportReport(path, counts, int(exporter.instances_total), time.monotonic() - started)


def import_store(provider: Any, path: str, *, merge: bool = False,
                 progress: Optional[ProgressFn] = None) -> ImportReport:
    """Loads the dump file `path` into the store of `provider` (or a store path/URL).

    The whole dump is read and checked before anything is written. Until the import
    completes, the target carries a marker and a Runtime refuses to start on it; an
    interrupted import (even SIGKILL) continues where it stopped when run again with the same
    file. Leased work in the dump becomes claimable; surrogate queue ids are renumbered above
    the target's own.

    Raises:
        InvalidArgumentError: the file is missing, not a dump, of a newer format version,
            truncated or corrupt (naming the file and line), or names tables or columns the
            target does not have. Nothing is written.
        FailedPreconditionError: the target already holds instances and merge is False, or
            it has an unfinished import of another dump.
    """
    if not isinstance(path, str) or not path:
        raise InvalidTypeError(f"import_store: path must be a non-empty str, got {path!r}")
    started = time.monotonic()
    info = _dumpfile.scan(path, _scan_progress(progress))
    prov, opened = _stores.open_store(provider, must_exist=False)
    try:
        return _import(prov, info, merge, progress, started)
    finally:
        if opened:
            prov.close()


def _scan_progress(progress: Optional[ProgressFn]) -> Optional[Callable[[int], None]]:
    if progress is None:
        return None
    return lambda rows: progress("check", rows, 0)


def _import(prov: Any, info: _dumpfile.DumpInfo, merge: bool,
            progress: Optional[ProgressFn], started: float) -> ImportReport:
    importer = _core._dump_importer(_stores.native(prov), info.dump_id, merge)
    try:
        for s in info.sections:
            importer.begin_table(s.table, s.columns, f"{info.path}: line {s.line}")
    except BaseException:
        if not importer.resumed:  # nothing written yet: finishing removes the marker
            importer.finish()
        raise
    total = info.total_rows
    done = sum(min(importer.committed(s.table), s.rows) for s in info.sections)
    current = None
    for section, block, first, n in _dumpfile.iter_blocks(info.path, importer.committed):
        if section.table != current:
            importer.begin_table(section.table, section.columns,
                                 f"{info.path}: line {section.line}")
            current = section.table
        importer.insert(block, f"{info.path}: line {first}")
        done += n
        if progress is not None:
            progress("import", done, total)
    result = importer.finish()
    skipped = sorted(result["skipped"])
    instances = info.counts.get("instances", 0) - len(skipped)
    return ImportReport(dict(info.counts), instances, skipped, bool(result["resumed"]),
                        time.monotonic() - started)


def verify_stores(source: Any, target: Any, *, skip: Sequence[str] = (),
                  compare_counts: bool = True) -> Verification:
    """Compares two stores (providers or store strings): per-instance digests of every
    instance of `source` not in `skip`, and the row count of every kind."""
    a, a_opened = _stores.open_store(source, must_exist=True)
    try:
        b, b_opened = _stores.open_store(target, must_exist=True)
        try:
            return verify(_stores.native(a), _stores.native(b), skip=skip,
                          compare_counts=compare_counts)
        finally:
            if b_opened:
                b.close()
    finally:
        if a_opened:
            a.close()


def migrate(source: Any, target: Any, *, verify: bool = True, merge: bool = False,
            force: bool = False, schema: Optional[str] = None, workdir: Optional[str] = None,
            progress: Optional[ProgressFn] = None) -> MigrationReport:
    """Copies every instance and all its state from `source` to `target` (providers, SQLite
    paths or PostgreSQL URLs; `schema` applies to a PostgreSQL target given as a URL).

    The copy goes through a dump file in `workdir` (default: the temporary directory), kept
    until the import completes, so that an interrupted migration finishes when run again.

    Raises:
        FailedPreconditionError: a worker registered on the source is active or draining
            (unless force), the target holds instances (unless merge), or the source has an
            unfinished import.
        InvalidArgumentError: an unknown URL scheme, a missing SQLite source, a source that
            is not a duroxide store. Nothing is written to the target in these cases.
    """
    started = time.monotonic()
    src, src_opened = _stores.open_store(source, must_exist=True)
    try:
        dst, dst_opened = _stores.open_store(target, must_exist=False, schema=schema)
        try:
            report = _migrate(src, dst, merge, force, workdir, progress, started)
            report.source, report.target = _stores.describe(source), _stores.describe(target)
            if verify:
                report.verification = _verify_copy(src, dst, report, merge)
                report.verified = report.verification.ok
            report.seconds = time.monotonic() - started
            return report
        finally:
            if dst_opened:
                dst.close()
    finally:
        if src_opened:
            src.close()


def _migrate(src: Any, dst: Any, merge: bool, force: bool, workdir: Optional[str],
             progress: Optional[ProgressFn], started: float) -> MigrationReport:
    _stores.check_source(src, _stores.describe(src))
    if not force:
        live = _stores.live_workers(src)
        if live:
            raise FailedPreconditionError(
                f"workers are active on the source: {', '.join(live)}; stop them (or drain "
                f"them) first, or use force to copy a store that may still change")
    workdir = workdir or tempfile.gettempdir()
    marker = _stores.import_marker(dst)
    if marker is not None:
        state = json.loads(marker)
        path = _dump_path(workdir, str(state.get("dump_id")))
        if not os.path.isfile(path):
            raise FailedPreconditionError(
                f"the target has an unfinished import of dump {state.get('dump_id')}, but its "
                f"file {path} is gone; re-import that dump or use another workdir")
        merge = bool(state.get("merge", merge))
    else:
        if not merge and _stores.has_instances(dst):
            raise FailedPreconditionError(
                "the target already holds instances; use merge to copy only the ids it does "
                "not have (nothing was written)")
        dump_id = uuid.uuid4().hex
        path = _dump_path(workdir, dump_id)
        _export(src, path, None, None, progress, started, dump_id=dump_id)
    info = _dumpfile.scan(path)
    result = _import(dst, info, merge, progress, started)
    os.unlink(path)
    return MigrationReport(source="", target="", counts=result.counts,
                           instances_copied=result.instances, skipped=result.skipped,
                           resumed=result.resumed)


def _verify_copy(src: Any, dst: Any, report: MigrationReport, merge: bool) -> Verification:
    # A merged target holds other instances too: compare digests of the copied ones only.
    return verify(_stores.native(src), _stores.native(dst), skip=report.skipped,
                  compare_counts=not merge)


def _dump_path(workdir: str, dump_id: str) -> str:
    return os.path.join(workdir, f"duroxide-migrate-{dump_id}.dxdump.gz")


def _check_ids(ids: Optional[Sequence[str]]) -> Optional[List[str]]:
    if ids is None:
        return None
    if isinstance(ids, str) or not all(isinstance(i, str) and i for i in ids):
        raise InvalidArgumentError(
            f"export_store: instance_ids must be a list of non-empty str, got {ids!r}")
    return list(ids)
