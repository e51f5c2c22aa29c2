"""Verification of a copy: per-instance digests and row counts of every kind.

A digest covers every row of an instance in every instance-scoped table (history, executions,
the instance row, queues, timers, KV, subscriptions, dead letters, ...), leaving out what a
copy changes on purpose: surrogate queue ids (shifted on import) and lease columns (dropped).
Both stores are read page by page, so memory does not grow with the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Dict, List, Optional

from duroxide import _core

PAGE = 500
MAX_REPORTED = 20


@dataclass
class Verification:
    """The result of comparing a source and a target.

    Attributes:
        ok: True when every compared instance has the same digest in both stores and (without
            merge) every kind has the same row count.
        instances_compared: instances whose digests were compared.
        mismatched: up to 20 instance ids whose digests differ or that the target lacks.
        count_mismatches: kind -> (source rows, target rows) for kinds whose counts differ.
    """

    ok: bool = True
    instances_compared: int = 0
    mismatched: List[str] = field(default_factory=list)
    count_mismatches: Dict[str, List[int]] = field(default_factory=dict)

    def summary(self) -> str:
        if self.ok:
            return f"verified: {self.instances_compared} instances, all kinds equal"
        parts = []
        if self.mismatched:
            parts.append(f"instances differ: {', '.join(self.mismatched)}")
        for kind, (a, b) in sorted(self.count_mismatches.items()):
            parts.append(f"{kind}: {a} rows in the source, {b} in the target")
        return "verification FAILED: " + "; ".join(parts)


def store_digests(provider_native: Any, instance_ids: List[str]) -> Dict[str, str]:
    """Digest of each listed instance (absent: the store has no row of it)."""
    return dict(_core._dump_session(provider_native).digests(instance_ids))


def verify(source_native: Any, target_native: Any, *, skip: Collection[str] = (),
           compare_counts: bool = True,
           instance_ids: Optional[List[str]] = None) -> Verification:
    """Compares `source` and `target`: digests of every source instance (or of `instance_ids`)
    not in `skip`, and, with compare_counts, the row count of every kind."""
    src = _core._dump_session(source_native)
    dst = _core._dump_session(target_native)
    out = Verification()
    skipped = set(skip)

    def compare(ids: List[str]) -> None:
        ids = [i for i in ids if i not in skipped]
        if not ids:
            return
        a = src.digests(ids)
        b = dst.digests(ids)
        out.instances_compared += len(ids)
        for i in ids:
            if a.get(i) != b.get(i):
                out.ok = False
                if len(out.mismatched) < MAX_REPORTED:
                    out.mismatched.append(i)

    if instance_ids is not None:
        for start in range(0, len(instance_ids), PAGE):
            compare(instance_ids[start:start + PAGE])
    else:
        after = ""
        while True:
            page = src.instance_ids_after(after, PAGE)
            if not page:
                break
            compare(page)
            after = page[-1]
    if compare_counts:
        a_counts = src.table_counts()
        b_counts = dst.table_counts()
        for kind, n in a_counts.items():
            if b_counts.get(kind, 0) != n:
                out.ok = False
                out.count_mismatches[kind] = [n, b_counts.get(kind, 0)]
    return out
