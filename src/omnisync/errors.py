"""The exception tree, the error-classification table and the exit-code table.

Every error omnisync raises is one of these. The CLI maps them to exit codes (DESIGN.md section 5);
adapters raise only these, and the HTTP layer classifies responses through :func:`classify_status`.
"""

from __future__ import annotations

import enum
import sqlite3
from dataclasses import dataclass
from pathlib import Path


class Exit(enum.IntEnum):
    """Process exit codes. Each one is documented in the README and tested."""

    OK = 0  # success, or nothing to do
    FAILED = 1  # some listings failed, or validation found errors
    BAD_INPUT = 2  # usage, config, catalog or CSV error; nothing was sent
    CHANNEL_FAILED = 3  # a whole channel failed (auth, unreachable after retries)
    CHANGES_PENDING = 4  # `plan --detailed-exitcode` found changes
    LOCKED = 75  # another run holds the lock, or another program holds catalog.db/state.db (EX_TEMPFAIL)


# How long a connection to catalog.db or state.db waits for a lock another program holds
# (``busy_timeout_seconds`` at the top of the config) before the run gives up with exit 75.
DEFAULT_BUSY_TIMEOUT_SECONDS = 60


class Kind(str, enum.Enum):
    """What an error means for the caller: retry it, wait, re-authenticate, or give up."""

    RETRY = "retry"  # transient: 5xx, timeouts, resets (retry idempotent requests)
    RATE_LIMITED = "rate_limited"  # 429 or a vendor throttle signal (wait, then retry)
    AUTH = "auth"  # 401/403: credentials wrong or expired (refresh once, then fail the channel)
    NOT_FOUND = "not_found"  # the listing or resource does not exist
    CONFLICT = "conflict"  # compare-and-set lost: re-read and re-plan, never overwrite
    PERMANENT = "permanent"  # the request itself is wrong: do not retry


class OmnisyncError(Exception):
    """Base of every error omnisync raises on purpose."""

    exit_code: Exit = Exit.FAILED


@dataclass
class Where:
    """A place in an input file: the file, a line or CSV row, and a field or column."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}" if not parts else str(self.line))
        loc = ":".join(parts)
        if self.field:
            loc = f"{loc}: {self.field}" if loc else self.field
        return loc


class InputError(OmnisyncError):
    """Bad input: the message names the file, the line or row, and the field. Nothing is sent."""

    exit_code = Exit.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        problems: list[str] | None = None,
    ) -> None:
        self.where = Where(file, line, field)
        self.message = message
        self.problems = list(problems or [])
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if str(self.where) else self.message
        if self.problems:
            return head + "\n" + "\n".join(f"  {p}" for p in self.problems)
        return head


class ConfigError(InputError):
    """channels.toml is wrong (syntax, unknown key, wrong type, missing secret)."""


class CatalogError(InputError):
    """The catalog file or an imported CSV is wrong."""


class UsageError(InputError):
    """The command line is wrong."""


class LockHeld(OmnisyncError):
    """Another omnisync run holds the lock on this state directory."""

    exit_code = Exit.LOCKED


class DatabaseLocked(OmnisyncError):
    """catalog.db or state.db stayed locked by another program for longer than
    ``busy_timeout_seconds``. Not bad input: the file is fine, it is busy; run again later."""

    exit_code = Exit.LOCKED

    def __init__(self, file: str | Path, waited: float, outcome: str | None = None) -> None:
        self.file = str(file)
        self.waited = waited
        self.outcome = outcome  # what this run did and did not do, when the raiser knows
        super().__init__(self.file)

    def add_outcome(self, text: str) -> None:
        self.outcome = f"{self.outcome}; {text}" if self.outcome else text

    def __str__(self) -> str:
        return (
            f"{self.file} is locked by another program (waited {self.waited:g} s; "
            f"busy_timeout_seconds){'; ' + self.outcome if self.outcome else ''}. Run again when "
            "that program has finished, or raise busy_timeout_seconds in the config"
        )


def is_busy(exc: BaseException) -> bool:
    """Whether an SQLite error means another connection holds the file's lock (SQLITE_BUSY,
    "database is locked"), as opposed to a file that is damaged or not SQLite at all."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(exc)


class PlanRefused(OmnisyncError):
    """A guard refused the plan (--max-changes, or too many listings set to 0 without --yes)."""

    exit_code = Exit.FAILED


class ChannelError(OmnisyncError):
    """A channel call failed. ``kind`` says what to do about it; ``status`` is the HTTP status."""

    exit_code = Exit.CHANNEL_FAILED
    kind: Kind = Kind.PERMANENT

    def __init__(
        self,
        message: str,
        *,
        channel: str | None = None,
        status: int | None = None,
        kind: Kind | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.channel = channel
        self.status = status
        if kind is not None:
            self.kind = kind
        self.retry_after = retry_after
        prefix = f"{channel}: " if channel else ""
        suffix = f" (HTTP {status})" if status else ""
        super().__init__(f"{prefix}{message}{suffix}")


class TransientError(ChannelError):
    kind = Kind.RETRY


class NetworkError(TransientError):
    """No usable answer: a timeout, a refused or reset connection, a body cut off mid-way.

    ``sent`` is False when the request never reached the server (the connection could not be
    opened), so even a non-idempotent request may be sent again.
    """

    def __init__(
        self,
        message: str,
        *,
        sent: bool = True,
        channel: str | None = None,
        status: int | None = None,
        kind: Kind | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.sent = sent
        super().__init__(message, channel=channel, status=status, kind=kind, retry_after=retry_after)


class RateLimited(TransientError):
    kind = Kind.RATE_LIMITED


class AuthError(ChannelError):
    kind = Kind.AUTH


class NotFound(ChannelError):
    kind = Kind.NOT_FOUND


class Conflict(ChannelError):
    kind = Kind.CONFLICT


class PermanentError(ChannelError):
    kind = Kind.PERMANENT


class ResponseError(PermanentError):
    """The channel answered with something that is not what its API documents (garbage, truncated
    JSON, wrong types). Never a traceback, never a partial write."""


KIND_TO_ERROR: dict[Kind, type[ChannelError]] = {
    Kind.RETRY: TransientError,
    Kind.RATE_LIMITED: RateLimited,
    Kind.AUTH: AuthError,
    Kind.NOT_FOUND: NotFound,
    Kind.CONFLICT: Conflict,
    Kind.PERMANENT: PermanentError,
}


# The one classification table (airbyte CDK style): HTTP status -> kind. Vendors override single
# entries for their quirks (passing ``overrides`` to classify_status), never the whole table.
STATUS_TABLE: dict[int, Kind] = {
    400: Kind.PERMANENT,
    401: Kind.AUTH,
    403: Kind.AUTH,
    404: Kind.NOT_FOUND,
    405: Kind.PERMANENT,
    408: Kind.RETRY,
    409: Kind.CONFLICT,
    410: Kind.NOT_FOUND,
    412: Kind.CONFLICT,
    413: Kind.PERMANENT,
    422: Kind.PERMANENT,
    423: Kind.RETRY,
    425: Kind.RETRY,
    429: Kind.RATE_LIMITED,
    500: Kind.RETRY,
    502: Kind.RETRY,
    503: Kind.RETRY,
    504: Kind.RETRY,
}


def classify_status(status: int, overrides: dict[int, Kind] | None = None) -> Kind | None:
    """The kind of an HTTP status, or ``None`` for success (1xx-3xx)."""
    if overrides and status in overrides:
        return overrides[status]
    if status < 400:
        return None
    if status in STATUS_TABLE:
        return STATUS_TABLE[status]
    return Kind.RETRY if status >= 500 else Kind.PERMANENT


def error_for(kind: Kind, message: str, **kw: object) -> ChannelError:
    return KIND_TO_ERROR[kind](message, **kw)  # type: ignore[arg-type]
