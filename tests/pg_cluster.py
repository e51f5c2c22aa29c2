"""A PostgreSQL server for the tests: DATABASE_URL, or a throwaway cluster started here.

Tests never depend on a server that happens to be running. When DATABASE_URL is not set,
`database_url()` starts a cluster from the installed server binaries with
scripts/pg_test_cluster.sh on a free port and removes it afterwards. Failing to start one is
an error, never a skip.

Typical use, in a conftest.py or a test module::

    import pg_cluster

    @pytest.fixture(scope="session")
    def pg_url():
        with pg_cluster.database_url() as url:
            yield url

    @pytest.fixture
    def pg_schema(pg_url):
        schema = pg_cluster.unique_schema()
        yield schema
        pg_cluster.drop_schema(pg_url, schema)  # only on a server we do not own
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "pg_test_cluster.sh"

_counter = itertools.count()
_run_id = uuid.uuid4().hex[:8]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster_parent() -> str:
    """Where throwaway clusters live: tmpfs (/dev/shm) when it is there and writable, else /tmp.

    A test cluster runs with fsync off and is removed afterwards, so nothing is lost by keeping
    it in memory, and the suite gains a lot: creating a schema's files, starting and removing a
    cluster are 2-6x faster than on the root filesystem (measured: 60 schemas 14.3 s -> 7.6 s,
    start 6.0 s -> 1.2 s, stop+remove 2.2 s -> 0.4 s). PG_TEST_DURABLE=1 (fsync on, used by
    durability measurements) keeps the cluster on disk, where a flush means what it says.
    """
    shm = "/dev/shm"
    if os.environ.get("PG_TEST_DURABLE") != "1" and os.path.isdir(shm) \
            and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return "/tmp"


class PgCluster:
    """A throwaway cluster in a temporary directory (see scripts/pg_test_cluster.sh)."""

    def __init__(self, port: Optional[int] = None):
        self.port = port if port is not None else free_port()
        # The server may run as the `postgres` user (when the tests run as root): the
        # directory must be reachable by it, hence a world-searchable parent and mode 0755.
        self.dir = tempfile.mkdtemp(prefix="duroxide-pg-", dir=_cluster_parent())
        os.chmod(self.dir, 0o755)
        self.url: Optional[str] = None

    def start(self) -> str:
        """Starts the server and returns its URL. Raises RuntimeError if it cannot start."""
        proc = subprocess.run([str(SCRIPT), "start", self.dir, str(self.port)],
                              capture_output=True, text=True, timeout=180)
        if proc.returncode != 0 or not proc.stdout.strip():
            self.stop()
            raise RuntimeError(
                "could not start a throwaway PostgreSQL cluster (set DATABASE_URL or install "
                f"the server with scripts/setup.sh): {proc.stderr.strip() or proc.stdout}")
        self.url = proc.stdout.strip().splitlines()[-1]
        atexit.register(self.stop)
        return self.url

    def restart(self, mode: str = "fast") -> None:
        """Restarts the server: every open connection is dropped. `mode` is pg_ctl's shutdown
        mode: "fast" (clean) or "immediate" (no checkpoint: crash recovery on start)."""
        subprocess.run([str(SCRIPT), "restart", self.dir, mode], check=True, capture_output=True,
                       timeout=180)

    def stop(self) -> None:
        """Stops the server and removes its directory. Idempotent."""
        if self.dir and os.path.isdir(self.dir):
            subprocess.run([str(SCRIPT), "stop", self.dir], capture_output=True, timeout=180)
            shutil.rmtree(self.dir, ignore_errors=True)


_owned: List[PgCluster] = []


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """Yields DATABASE_URL if set, else the URL of a throwaway cluster removed on exit."""
    env = os.environ.get("DATABASE_URL")
    if env:
        yield env
        return
    cluster = PgCluster()
    url = cluster.start()
    _owned.append(cluster)
    try:
        yield url
    finally:
        _owned.remove(cluster)
        cluster.stop()


def owned_cluster(url: str) -> Optional[PgCluster]:
    """The throwaway cluster serving `url`, or None for a server we do not own."""
    for cluster in _owned:
        if cluster.url == url:
            return cluster
    return None


def unique_schema(stem: str = "t") -> str:
    """A schema name no other test (of this or an earlier run) uses."""
    return f"dxpy_{_run_id}_{stem}_{next(_counter)}"


def drop_schema(url: str, schema: str) -> None:
    """Drops `schema` on a server we do not own (a throwaway cluster is removed anyway)."""
    if owned_cluster(url) is not None or shutil.which("psql") is None:
        return
    subprocess.run(["psql", url, "-q", "-c", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'],
                   capture_output=True, timeout=60)
