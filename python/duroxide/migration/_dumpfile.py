"""Reading and writing dump files (docs/dump-format.md).

A dump is gzip'd JSON lines: a header object, then for each table a table record followed by
its rows (JSON arrays in the table record's column order), then an end record with the row
count of every table. Rows are produced and consumed by the native copier; this module only
moves bytes, checks the records and names the file and line of anything wrong.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from duroxide import _core
from duroxide.errors import InvalidArgumentError

FORMAT_NAME = "duroxide-dump"
FORMAT_VERSION: int = int(_core.DUMP_FORMAT_VERSION)

# Rows per block handed to the native side (validation and import). A block is one import
# transaction: big enough to amortise the commit, small enough to keep memory flat.
BLOCK_ROWS = 2000
BLOCK_BYTES = 4 << 20


@dataclass
class Section:
    """One table of a dump: its columns and where its rows are."""

    table: str
    columns: List[str]
    key: List[str]
    line: int  # line of the table record
    rows: int = 0


@dataclass
class DumpInfo:
    """What a full scan of a dump found (the dump is complete and well formed)."""

    path: str
    header: Dict[str, Any]
    sections: List[Section] = field(default_factory=list)
    counts: Dict[str, int] = field(default_factory=dict)

    @property
    def dump_id(self) -> str:
        return str(self.header["dump_id"])

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


def _bad(path: str, line: int, what: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{path}: line {line}: {what}")


def _lines(path: str) -> Iterator[Tuple[int, bytes]]:
    """(line number, line without newline); corrupt or truncated gzip is an
    InvalidArgumentError naming the last line read."""
    try:
        f = gzip.open(path, "rb")
    except OSError as exc:
        raise InvalidArgumentError(f"{path}: cannot open the dump: {exc}") from None
    n = 0
    with f:
        try:
            for raw in f:
                n += 1
                if not raw.endswith(b"\n"):
                    raise _bad(path, n, "truncated (the last line is incomplete)")
                yield n, raw[:-1]
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
            raise _bad(path, n + 1, f"truncated or corrupt dump ({exc})") from None


def _record(path: str, n: int, raw: bytes) -> Dict[str, Any]:
    try:
        rec = json.loads(raw)
    except ValueError:
        raise _bad(path, n, "not a valid JSON record") from None
    if not isinstance(rec, dict):
        raise _bad(path, n, "expected a JSON object")
    return rec


def check_header(path: str, raw: bytes) -> Dict[str, Any]:
    """The header record of line 1, checked: our format, a version this build reads."""
    rec = _record(path, 1, raw)
    if rec.get("format") != FORMAT_NAME:
        raise _bad(path, 1, f"not a duroxide dump (format {rec.get('format')!r})")
    version = rec.get("version")
    if not isinstance(version, int) or version < 1:
        raise _bad(path, 1, f"invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise _bad(path, 1, f"dump format version {version} is newer than this duroxide reads "
                            f"({FORMAT_VERSION}); upgrade duroxide to import it")
    if not isinstance(rec.get("dump_id"), str) or not rec["dump_id"]:
        raise _bad(path, 1, "the header has no dump_id")
    return rec


def iter_blocks(path: str, skip: Callable[[str], int]
                ) -> Iterator[Tuple[Section, bytes, int, int]]:
    """Yields (section, block of row lines, first line number, rows in the block) through the
    dump, leaving out the first skip(table) rows of every table (committed by an earlier run).
    The file must have passed scan()."""
    section: Optional[Section] = None
    block: List[bytes] = []
    size = 0
    first = 0
    to_skip = 0
    for n, raw in _lines(path):
        if n == 1:
            continue
        if raw[:1] == b"{":
            if section is not None and block:
                yield section, b"\n".join(block), first, len(block)
            block, size = [], 0
            rec = json.loads(raw)
            if "table" not in rec:
                break
            section = Section(rec["table"], rec["columns"], rec.get("key", []), n)
            to_skip = skip(section.table)
            continue
        if to_skip > 0:
            to_skip -= 1
            continue
        if not block:
            first = n
        block.append(raw)
        size += len(raw)
        if len(block) >= BLOCK_ROWS or size >= BLOCK_BYTES:
            assert section is not None
            yield section, b"\n".join(block), first, len(block)
            block, size = [], 0


def scan(path: str, progress: Optional[Callable[[int], None]] = None) -> DumpInfo:
    """Reads the whole dump and checks every record without writing anything.

    Raises:
        InvalidArgumentError: the file is missing, not a dump, of a newer format version,
            truncated or corrupt; the message names the file and the line.
    """
    if not os.path.isfile(path):
        raise InvalidArgumentError(f"{path}: no such dump file")
    info: Optional[DumpInfo] = None
    section: Optional[Section] = None
    ended = False
    block: List[bytes] = []
    first = 0
    rows = 0

    def flush() -> None:
        if block and section is not None:
            _core._dump_validate_rows(b"\n".join(block), len(section.columns), path, first)
            block.clear()

    last = 0
    for n, raw in _lines(path):
        last = n
        if n == 1:
            info = DumpInfo(path, check_header(path, raw))
            continue
        assert info is not None
        if ended:
            raise _bad(path, n, "data after the end record")
        if raw[:1] == b"{":
            flush()
            rec = _record(path, n, raw)
            if "table" in rec:
                cols = rec.get("columns")
                if not isinstance(rec["table"], str) or not isinstance(cols, list) or not all(
                        isinstance(c, str) for c in cols):
                    raise _bad(path, n, "malformed table record")
                section = Section(rec["table"], cols, list(rec.get("key") or []), n)
                info.sections.append(section)
                info.counts[section.table] = 0
            elif rec.get("end") is True:
                ended = True
                _check_end(path, n, rec, info)
            else:
                raise _bad(path, n, "unknown record")
            continue
        if section is None:
            raise _bad(path, n, "a row before any table record")
        if not block:
            first = n
        block.append(raw)
        section.rows += 1
        info.counts[section.table] += 1
        rows += 1
        if len(block) >= BLOCK_ROWS:
            flush()
            if progress is not None:
                progress(rows)
    flush()
    if info is None:
        raise InvalidArgumentError(f"{path}: line 1: empty file, not a duroxide dump")
    if not ended:
        raise _bad(path, last + 1, "truncated: the end record is missing")
    return info


def _check_end(path: str, n: int, rec: Dict[str, Any], info: DumpInfo) -> None:
    counts = rec.get("counts")
    if not isinstance(counts, dict):
        raise _bad(path, n, "malformed end record")
    for table, expected in counts.items():
        if info.counts.get(table, -1) != expected:
            raise _bad(path, n, f"table {table!r} has {info.counts.get(table, 0)} rows, the end "
                                f"record says {expected} (the dump is damaged)")


class DumpWriter:
    """Writes a dump to `path` through `path`.partial, renamed when complete, so that the final
    name only ever holds a complete dump."""

    def __init__(self, path: str, header: Dict[str, Any]) -> None:
        self.path = path
        self._tmp = path + ".partial"
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self._f = gzip.GzipFile(self._tmp, "wb", compresslevel=3)
        self._f.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")

    def write(self, block: bytes) -> None:
        self._f.write(block)

    def finish(self, counts: Dict[str, int]) -> None:
        end = {"end": True, "counts": counts}
        self._f.write(json.dumps(end, separators=(",", ":")).encode() + b"\n")
        self._f.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        try:
            self._f.close()
        finally:
            if os.path.exists(self._tmp):
                os.unlink(self._tmp)
