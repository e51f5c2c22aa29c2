"""Tracebacks as an operator reads them (docs/operations.md): root cause first, the user's
frames innermost first, duroxide's own frames last, bounded in size.

Used for the traceback an activity failure keeps (ActivityFailedError.traceback and the
ActivityFailed history event) and by the CLI to show a failed orchestration's error.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from typing import List, Optional, Tuple

from duroxide._common import ACTIVITY_TRACEBACK_NOTE, ORCHESTRATION_TRACEBACK_NOTE

MAX_TRACEBACK_BYTES = 8192  # what one failure event keeps at most

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FRAME = re.compile(r'^  File "(?P<file>[^"]*)", line \d+')
_ENGINE_NOTE = "  -- duroxide's own frames --"
_STANDARD = "Traceback (most recent call last):"



def _is_engine(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)


def _bound(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_TRACEBACK_BYTES:
        return text
    cut = data[:MAX_TRACEBACK_BYTES - 40].decode(errors="ignore")
    return cut + "\n  ... (traceback truncated)"


def _order(head: List[str], frames: List[Tuple[str, List[str]]],
           engine_before: Optional[List[str]] = None, user_label: str = "") -> str:
    user = [lines for file, lines in frames if not _is_engine(file)]
    engine = [lines for file, lines in frames if _is_engine(file)]
    out = list(head)
    if user and user_label:
        out.append(user_label)
    for lines in reversed(user):
        out += lines
    if engine or engine_before:
        out.append(_ENGINE_NOTE)
        out += engine_before or []
        for lines in reversed(engine):
            out += lines
    return "\n".join(out)


def _pull_engine_blocks(lines: List[str]) -> Tuple[List[str], List[str]]:
    """Splits text already in our order into (the rest, the frames under its engine notes),
    so that a nested traceback's engine frames can join the outer ones at the very end."""
    rest: List[str] = []
    engine: List[str] = []
    inside = False
    for line in lines:
        if line == _ENGINE_NOTE:
            inside = True
        elif inside and line.startswith("  "):
            engine.append(line)
        else:
            inside = False
            rest.append(line)
    return rest, engine


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
    root cause first; any other text is returned unchanged. An orchestration's error that
    starts with a failed activity's traceback (generator.failure_text) reads: the error, the
    activity's frames, the orchestration's frames, then every duroxide frame of both."""
    lines = text.rstrip("\n").splitlines()
    activity: List[str] = []
    if lines and lines[0] == ACTIVITY_TRACEBACK_NOTE and _STANDARD in lines:
        at = lines.index(_STANDARD)
        activity = [line for line in lines[1:at]
                    if line and line != ORCHESTRATION_TRACEBACK_NOTE]
        lines = lines[at:]
    if not lines or not lines[0].startswith(_STANDARD):
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
    if not activity:
        return _order(head, frames)
    activity, engine = _pull_engine_blocks(activity)
    return _order(head + ["", ACTIVITY_TRACEBACK_NOTE] + activity, frames, engine,
                  ORCHESTRATION_TRACEBACK_NOTE)


def event_traceback(kind: str, data: Optional[str]) -> Optional[str]:
    """The traceback an ActivityFailed event records (its details' "traceback"), else None.

    Events written before tracebacks were kept, and failures that had none (timeouts,
    poison), give None.
    """
    if kind != "ActivityFailed" or not data:
        return None
    try:
        details = json.loads(data)
    except ValueError:
        return None
    body = details.get("Application") if isinstance(details, dict) else None
    text = body.get("traceback") if isinstance(body, dict) else None
    return text if isinstance(text, str) and text else None


def collapse_engine_frames(text: str) -> str:
    """Text already in our order with duroxide's own frames replaced by one line that counts
    them (what the CLI prints; its --json output keeps them)."""
    rest, engine = _pull_engine_blocks(text.splitlines())
    frames = sum(1 for line in engine if _FRAME.match(line))
    if not frames:
        return text
    return "\n".join(rest + [f"  -- and {frames} of duroxide's own frames (--json shows them) --"])
