"""Tracebacks as an operator reads them (docs/operations.md): root cause first, the user's
frames innermost first, duroxide's own frames last, bounded in size.

Used for the traceback an activity failure keeps (ActivityFailedError.traceback and the
ActivityFailed history event) and by the CLI to show a failed orchestration's error.
"""

from __future__ import annotations

import os
import re
import traceback
from typing import List, Tuple

MAX_TRACEBACK_BYTES = 8192  # what one failure event keeps at most

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FRAME = re.compile(r'^  File "(?P<file>[^"]*)", line \d+')
_ENGINE_NOTE = "  -- duroxide's own frames --"


def _is_engine(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _bound(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_TRACEBACK_BYTES:
        return text
    cut = data[:MAX_TRACEBACK_BYTES - 40].decode(errors="ignore")
    return cut + "\n  ... (traceback truncated)"


def _order(head: List[str], frames: List[Tuple[str, List[str]]]) -> str:
    user = [lines for file, lines in frames if not _is_engine(file)]
    engine = [lines for file, lines in frames if _is_engine(file)]
    out = list(head)
    for lines in reversed(user):
        out += lines
    if engine:
        out.append(_ENGINE_NOTE)
        for lines in reversed(engine):
            out += lines
    return "\n".join(out)


def exception_traceback(exc: BaseException) -> str:
    """`exc`'s traceback, root cause first (see the module docstring)."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        lines = [f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}']
        if frame.line:
            lines.append(f"    {frame.line}")
        frames.append((frame.filename, lines))
    head = traceback.format_exception_only(type(exc), exc)
    text = _order([line.rstrip("\n") for line in head], frames)
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None:
        text += "\ncaused by: " + exception_traceback(cause)
    return _bound(text)


def root_cause_first(text: str) -> str:
    """A standard Python traceback text ("Traceback (most recent call last): ...") reordered
    root cause first; any other text is returned unchanged."""
    lines = text.rstrip("\n").splitlines()
    if not lines or not lines[0].startswith("Traceback (most recent call last)"):
        return text
    frames: List[Tuple[str, List[str]]] = []
    i = 1
    while i < len(lines) and lines[i].startswith("  "):
        m = _FRAME.match(lines[i])
        if m is not None:
            frames.append((m.group("file"), [lines[i]]))
        elif frames:
            frames[-1][1].append(lines[i])
        i += 1
    head = lines[i:] or [""]
    return _order(head, frames)
