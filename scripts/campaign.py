"""What the fault campaigns share (chaos.py, soak.py, model_client.py; docs/reliability.md):
their common options, and the cleanup of the worker-process campaigns (chaos, soak)."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any, Optional


def parser(*, workers: bool = False) -> argparse.ArgumentParser:
    """The options of every campaign: the store and the seed of its random choices; with
    `workers`, those of the campaigns that run worker processes on a throwaway store."""
    p = argparse.ArgumentParser()
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--seed", type=int, default=int(time.time()))
    if workers:
        p.add_argument("--workers", type=int, default=3, help="worker processes")
        p.add_argument("--timeout", type=int, default=300,
                       help="wait per instance once the faults end, s")
        p.add_argument("--keep", action="store_true", help="keep the work directory")
    return p


def clean_up(work: Path, pg: Optional[Any], keep: bool) -> None:
    """Stops the campaign's PostgreSQL cluster (if any) and removes its work directory
    (unless `keep`)."""
    if pg:
        pg.stop()
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
