"""Server settings: where to listen, the access token and the request limits."""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
from dataclasses import dataclass, field
from typing import Optional, Tuple

from duroxide.errors import InvalidArgumentError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8200
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MAX_WAIT_TIMEOUT_MS = 300_000


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


MIN_TOKEN_BYTES = 16
_log = logging.getLogger("duroxide.server")


def read_token_file(path: str) -> str:
    """The token in `path` (surrounding whitespace removed), for the server (--token-file) and
    the CLI's HttpClient alike.

    Refused (InvalidArgumentError, every message names the file): a file that cannot be read,
    a file anyone may write (anyone could then choose the token), an empty file and a token
    shorter than MIN_TOKEN_BYTES (16) bytes (guessable). A file anyone may read is accepted
    with a warning logged on "duroxide.server" (other users of the machine can read the token:
    chmod 600 it).
    """
    try:
        mode = os.stat(path).st_mode
        if mode & stat.S_IWOTH:
            raise InvalidArgumentError(
                f"token file {path} is world-writable (mode {stat.S_IMODE(mode):04o}): anyone "
                "on this machine could replace the token; chmod 600 it")
        with open(path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise InvalidArgumentError(
            f"cannot read token file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"token file {path} is not UTF-8 text") from None
    if not token:
        raise InvalidArgumentError(f"token file {path} is empty")
    if len(token.encode("utf-8")) < MIN_TOKEN_BYTES:
        raise InvalidArgumentError(
            f"token in {path} is {len(token.encode('utf-8'))} bytes, shorter than "
            f"{MIN_TOKEN_BYTES}: use a long random token (e.g. `openssl rand -hex 32`)")
    if mode & stat.S_IROTH:
        _log.warning("token file %s is world-readable (mode %04o): other users of this machine "
                     "can read the token; chmod 600 it", path, stat.S_IMODE(mode))
    return token


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs. Immutable: build a new one to change it.

    Attributes:
        host, port: where uvicorn listens (used for the loopback check and by `serve`).
        token: the bearer token every /v1 request (except health) must carry; None means
            no authentication, which is only allowed on a loopback address.
        max_body_bytes: larger request bodies are refused with 413.
        cors_origins: origins allowed by CORS; empty (the default) sends no CORS headers.
        wait_slice_ms: long-polls wait in slices of this length and check between slices
            whether the client went away.
        max_concurrent_waits: long-polls that hold a thread per slice served at once (requests,
            and waits of a server on another client; waits on an in-process store use
            AsyncClient and hold none); more wait their turn without blocking other requests.
        metrics_interval_s: how often the metrics history is sampled (0 disables it).
        metrics_samples: how many samples the metrics history keeps.
        request_read_timeout_s: a client must send each whole request (headers and body)
            within this many seconds of connecting or of the previous response, or the
            connection is closed (slow or half-sent requests; docs/reliability.md).
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: Optional[str] = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    cors_origins: Tuple[str, ...] = field(default_factory=tuple)
    wait_slice_ms: int = 1000
    max_concurrent_waits: int = 64
    metrics_interval_s: float = 5.0
    metrics_samples: int = 720
    request_read_timeout_s: float = 5.0

    def validate(self) -> None:
        """Raises ValueError for settings the server must refuse to start with."""
        if self.token is None and not is_loopback(self.host):
            raise InvalidArgumentError(
                f"refusing to listen on {self.host} without a token: a non-loopback address "
                "needs --token-file (or bind to 127.0.0.1)")
        if self.token is not None and not self.token.strip():
            raise InvalidArgumentError("the token is empty")
        if not 0 < self.port < 65536:
            raise InvalidArgumentError(f"port must be in 1..65535, got {self.port}")
        if self.max_body_bytes < 1024:
            raise InvalidArgumentError(f"max_body_bytes must be >= 1024, got {self.max_body_bytes}")
        if not 0 < self.request_read_timeout_s <= 3600:
            raise InvalidArgumentError(
                f"request_read_timeout_s must be in (0, 3600], got {self.request_read_timeout_s}")
        if self.wait_slice_ms < 10 or self.max_concurrent_waits < 1:
            raise InvalidArgumentError("wait_slice_ms must be >= 10 and max_concurrent_waits >= 1")
