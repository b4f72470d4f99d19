"""state.db: omnisync's own bookkeeping. Runs, the write journal, the base, the sales ledger, the lock.

The journal is written *before* a write is sent (status ``intent``) and updated after (``ok``,
``failed``, ``conflict``, ``pending``). A run killed between the two leaves ``intent`` rows; the next
run reconciles them against what the channel holds (and the channel's idempotency record where it
has one) before planning, so nothing is blindly re-sent and no sale is counted from our own write.

state.db uses SQLite's rollback journal (not WAL): recording a sale must take units out of the
seller's catalog.db and move the base in state.db in one transaction, and only the rollback journal
makes a transaction across ATTACHed databases atomic.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlite_utils
from sqlite_utils import Migrations

from .errors import DEFAULT_BUSY_TIMEOUT_SECONDS, DatabaseLocked, LockHeld, OmnisyncError, is_busy
from .models import Product, Sale, Value, decode_value, encode_value

migrations = Migrations("omnisync-state")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            exit_code INTEGER,
            pid INTEGER,
            summary TEXT
        );
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            channel TEXT NOT NULL,
            sku TEXT NOT NULL,
            field TEXT NOT NULL,
            old TEXT,
            new TEXT NOT NULL,
            key TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX journal_status ON journal(status, channel);
        CREATE INDEX journal_sku ON journal(channel, sku);
        CREATE INDEX journal_run ON journal(run_id);
        CREATE TABLE base (
            channel TEXT NOT NULL,
            sku TEXT NOT NULL,
            field TEXT NOT NULL,
            value TEXT NOT NULL,
            run_id INTEGER,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (channel, sku, field)
        );
        CREATE TABLE sales (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            channel TEXT NOT NULL,
            sku TEXT NOT NULL,
            field TEXT NOT NULL,
            base INTEGER NOT NULL,
            observed INTEGER NOT NULL,
            units INTEGER NOT NULL,
            allocation TEXT NOT NULL,
            oversold INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX sales_sku ON sales(sku);
        CREATE TABLE channel_runs (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            channel TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            planned INTEGER NOT NULL DEFAULT 0,
            applied INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            pending INTEGER NOT NULL DEFAULT 0,
            sales INTEGER NOT NULL DEFAULT 0,
            drift INTEGER NOT NULL DEFAULT 0,
            calls INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, channel)
        );
        """
    )


@migrations()
def m002_incremental_reads(db: sqlite_utils.Database) -> None:
    """Incremental reads: when each channel was last read in full, what it then held equal to the
    catalog (a fingerprint per SKU), and which kind of read each channel run made."""
    db.executescript(
        """
        CREATE TABLE channel_reads (
            channel TEXT PRIMARY KEY,
            full_started_at TEXT NOT NULL,
            full_run_id INTEGER,
            runs_since INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE snapshot (
            channel TEXT NOT NULL,
            sku TEXT NOT NULL,
            fingerprint INTEGER,
            PRIMARY KEY (channel, sku)
        ) WITHOUT ROWID;
        ALTER TABLE channel_runs ADD COLUMN read_mode TEXT;
        """
    )


@migrations()
def m003_read_reference(db: sqlite_utils.Database) -> None:
    """Incremental reads ask for what changed since the last read of any kind began (not only
    the last full one), so a quiet store costs a quiet read."""
    db.executescript("ALTER TABLE channel_reads ADD COLUMN read_started_at TEXT;")


@migrations()
def m004_journal_key(db: sqlite_utils.Database) -> None:
    """Settling a write finds its journal rows by idempotency key: without an index each lookup
    scanned the whole journal, so a push's cost grew with every push before it."""
    db.executescript("CREATE INDEX IF NOT EXISTS journal_key ON journal(key);")


@migrations()
def m005_feed_jobs(db: sqlite_utils.Database) -> None:
    """Asynchronous writes (feed jobs): each journalled write of a feed carries the feed's
    client-side key (journalled before it is submitted) and, once the channel accepted it, the
    vendor's job id; the job's per-SKU results settle the rows later."""
    db.executescript(
        """
        ALTER TABLE journal ADD COLUMN job_key TEXT;
        ALTER TABLE journal ADD COLUMN job TEXT;
        CREATE INDEX IF NOT EXISTS journal_job ON journal(job);
        """
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class JournalEntry:
    id: int
    run_id: int
    channel: str
    sku: str
    field: str
    old: Value | None
    new: Value
    key: str
    status: str
    error: str | None
    created_at: str
    updated_at: str
    job_key: str | None = None  # the feed's client-side key (feed_jobs channels)
    job: str | None = None  # the vendor's job id, once the channel accepted the feed


class Lock:
    """An exclusive, non-blocking lock on ``<state>.lock`` (flock).

    The kernel drops the lock when the holder dies, however it dies, so a lock left by a killed run
    is never stale: the next run simply takes it (and says whose it was).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.previous_pid: int | None = None

    def acquire(self) -> Lock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise LockHeld(
                f"another omnisync run (pid {holder or '?'}) holds {self.path}; this run did nothing"
            ) from None
        old = os.pread(fd, 32, 0).decode(errors="replace").strip()
        self.previous_pid = int(old) if old.isdigit() and int(old) != os.getpid() else None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Lock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _busy_as_locked(method: _Method) -> _Method:
    """state.db still locked by another program after the busy timeout: :class:`DatabaseLocked`
    naming it (exit 75), not a raw ``sqlite3.OperationalError``."""

    @functools.wraps(method)
    def wrapper(self: State, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            raise DatabaseLocked(self.path, self.busy_timeout) from None

    return cast(_Method, wrapper)


def _held_by_another(path: Path) -> bool:
    """Whether another connection holds a lock on ``path`` right now (asked without waiting)."""
    try:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        probe.execute("BEGIN EXCLUSIVE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        return is_busy(exc)
    finally:
        probe.close()


class State:
    """omnisync's own database. Thread-safe: one connection behind a lock.

    Every statement waits up to ``busy_timeout`` seconds for a lock another program holds on
    state.db (or, while sales are recorded, on the ATTACHed catalog); past that,
    :class:`DatabaseLocked` names the file.
    """

    def __init__(
        self, path: Path, *, readonly: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        if readonly and not path.exists():
            raise OmnisyncError(f"{path}: no state yet (nothing has been pushed)")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=busy_timeout)
        self._mutex = threading.RLock()
        try:
            self.conn.execute("PRAGMA journal_mode=DELETE")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Even a reader brings an older state.db's schema up to date (schema only, no data),
            # so `plan` and `status` work after an upgrade before the first `push`.
            if migrations.pending(sqlite_utils.Database(self.conn)):
                migrations.apply(sqlite_utils.Database(self.conn))
        except sqlite3.OperationalError as exc:
            self.conn.close()
            if is_busy(exc):
                raise DatabaseLocked(path, busy_timeout) from None
            raise

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._mutex:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # a COMMIT that found the file busy leaves it open
                    self.conn.execute("ROLLBACK")
                raise

    # -- runs --------------------------------------------------------------------------------
    @_busy_as_locked
    def start_run(self, command: str) -> int:
        with self.tx() as c:
            cur = c.execute(
                "INSERT INTO runs(command, started_at, pid) VALUES (?, ?, ?)", (command, _now(), os.getpid())
            )
            return int(cur.lastrowid or 0)

    @_busy_as_locked
    def finish_run(self, run_id: int, status: str, exit_code: int, summary: Mapping[str, Any]) -> None:
        with self.tx() as c:
            c.execute(
                "UPDATE runs SET finished_at=?, status=?, exit_code=?, summary=? WHERE id=?",
                (_now(), status, exit_code, json.dumps(summary), run_id),
            )

    @_busy_as_locked
    def record_channel_run(
        self,
        run_id: int,
        channel: str,
        status: str,
        error: str | None = None,
        read_mode: str | None = None,
        **counts: int,
    ) -> None:
        cols = ["planned", "applied", "failed", "pending", "sales", "drift", "calls"]
        vals = [int(counts.get(k, 0)) for k in cols]
        with self.tx() as c:
            c.execute(
                f"INSERT OR REPLACE INTO channel_runs(run_id, channel, status, error, read_mode, "
                f"{', '.join(cols)}) VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(cols))})",
                (run_id, channel, status, error, read_mode, *vals),
            )

    # -- incremental reads -------------------------------------------------------------------
    @_busy_as_locked
    def last_full_read(self, channel: str) -> tuple[datetime, int, datetime] | None:
        """(start of the channel's last successful full read, runs since it, start of its last
        successful read of either kind), or None."""
        with self._mutex:
            if not self._has_table("channel_reads"):
                return None
            has_ref = any(
                r[1] == "read_started_at" for r in self.conn.execute("PRAGMA table_info(channel_reads)")
            )
            row = self.conn.execute(
                "SELECT full_started_at, runs_since, "
                f"{'read_started_at' if has_ref else 'NULL'} FROM channel_reads WHERE channel=?",
                (channel,),
            ).fetchone()
        if row is None:
            return None
        full = datetime.fromisoformat(row[0].replace("Z", "+00:00"))
        last = datetime.fromisoformat(row[2].replace("Z", "+00:00")) if row[2] else full
        return full, int(row[1]), max(full, last)

    @_busy_as_locked
    def record_full_read(
        self, channel: str, started_at: datetime, run_id: int, snapshot: Iterable[tuple[str, int | None]]
    ) -> None:
        """A full read of ``channel`` that started at ``started_at`` succeeded: it becomes the
        reference of the incremental reads that follow, with ``snapshot`` (every SKU listed, and
        the fingerprint of its values where it then held exactly what the catalog wanted)."""
        stamp = started_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self.tx() as c:
            c.execute("DELETE FROM snapshot WHERE channel=?", (channel,))
            c.executemany(
                "INSERT INTO snapshot(channel, sku, fingerprint) VALUES (?,?,?)",
                ((channel, sku, fp) for sku, fp in snapshot),
            )
            c.execute(
                "INSERT OR REPLACE INTO channel_reads(channel, full_started_at, full_run_id, "
                "runs_since, read_started_at) VALUES (?,?,?,0,?)",
                (channel, stamp, run_id, stamp),
            )

    @_busy_as_locked
    def record_incremental_read(
        self, channel: str, started_at: datetime, snapshot: Iterable[tuple[str, int | None]]
    ) -> None:
        """An incremental read that started at ``started_at`` succeeded: the listings it returned
        (``snapshot``, fingerprinted as for a full read) replace theirs, and the next incremental
        read asks for what changed since it began."""
        stamp = started_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self.tx() as c:
            c.executemany(
                "INSERT OR REPLACE INTO snapshot(channel, sku, fingerprint) VALUES (?,?,?)",
                ((channel, sku, fp) for sku, fp in snapshot),
            )
            c.execute(
                "UPDATE channel_reads SET runs_since = runs_since + 1, read_started_at = ? WHERE channel=?",
                (stamp, channel),
            )

    @_busy_as_locked
    def snapshot(self, channel: str, catalog: Mapping[str, Product] | None = None) -> dict[str, int | None]:
        """SKU -> fingerprint (None: listed, values not known equal) as of the last read that
        returned it (every listing is returned by a full read). With ``catalog``, a SKU it has is
        keyed by the catalog's own string (as :meth:`stock_bases`)."""
        with self._mutex:
            if not self._has_table("snapshot"):
                return {}
            rows = self.conn.execute(
                "SELECT sku, fingerprint FROM snapshot WHERE channel=?", (channel,)
            ).fetchall()
        if catalog is None:
            return dict(rows)
        get = catalog.get
        return {(sku if (p := get(sku)) is None else p.sku): fp for sku, fp in rows}

    def _has_table(self, name: str) -> bool:
        # a read-only State opened on a state.db from before a migration lacks the new tables
        return (
            self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
            is not None
        )

    @_busy_as_locked
    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._mutex:
            cur = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
            return [dict(zip([d[0] for d in cur.description], row)) for row in cur.fetchall()]

    @_busy_as_locked
    def channel_status(self) -> list[dict[str, Any]]:
        """Per channel: its latest run's record, with the run's times."""
        with self._mutex:
            cur = self.conn.execute(
                """SELECT cr.*, r.started_at, r.finished_at, r.command FROM channel_runs cr
                   JOIN runs r ON r.id = cr.run_id
                   WHERE cr.run_id = (SELECT MAX(run_id) FROM channel_runs c2
                                      WHERE c2.channel = cr.channel)
                   ORDER BY cr.channel"""
            )
            return [dict(zip([d[0] for d in cur.description], row)) for row in cur.fetchall()]

    # -- base --------------------------------------------------------------------------------
    @_busy_as_locked
    def bases(self, channel: str) -> dict[tuple[str, str], Value]:
        with self._mutex:
            rows = self.conn.execute(
                "SELECT sku, field, value FROM base WHERE channel=?", (channel,)
            ).fetchall()
        out: dict[tuple[str, str], Value] = {}
        for sku, fld, value in rows:
            decoded = decode_value(value)
            if decoded is not None:
                out[(sku, fld)] = decoded
        return out

    @_busy_as_locked
    def stock_bases(
        self, channel: str, catalog: Mapping[str, Product] | None = None
    ) -> dict[str, int | tuple[tuple[str, int], ...]]:
        """Stock bases of a channel, compact: SKU -> quantity for a single-pool listing, else
        SKU -> ((field key, quantity), ...) sorted by key (the planner's ``StockValues``).

        With ``catalog`` (SKU -> product), a SKU the catalog has is keyed by the catalog's own
        string (``product.sku``), not a copy of it: at a million SKUs on five channels the copies
        would cost ~300 MB.
        """
        return self._stock_bases(channel, catalog, None)[0]

    @_busy_as_locked
    def stock_bases_beside(
        self, channel: str, catalog: Mapping[str, Product] | None, observed: Mapping[str, object]
    ) -> tuple[dict[str, int | tuple[tuple[str, int], ...]], set[str]]:
        """The stock bases of a channel that differ from what it showed, read just after it was
        read: ``observed`` is SKU -> its entry (a quantity for a single-pool listing, as
        :class:`diff.Observed` holds it). Returns (the bases as :meth:`stock_bases` gives them,
        less every single-pool base equal to the quantity ``observed`` holds for that SKU; the
        SKUs of ``observed`` that have no single-pool base). A SKU of ``observed`` in neither
        has its observed quantity as base (``diff.Bases(same=..., absent=...)``).

        At a million SKUs, the bases equal to what a channel shows are nearly all of them: left
        out, a channel's bases cost kilobytes, not 40 MB beside its observed listings."""
        out, absent = self._stock_bases(channel, catalog, observed)
        assert absent is not None
        return out, absent

    _BASE_CHUNK = 20_000

    def _stock_bases(
        self, channel: str, catalog: Mapping[str, Product] | None, observed: Mapping[str, object] | None
    ) -> tuple[dict[str, int | tuple[tuple[str, int], ...]], set[str] | None]:
        out: dict[str, int | tuple[tuple[str, int], ...]] = {}
        matched = 0  # SKUs of ``observed`` showing a quantity, with a single-pool base
        last: str | None = None
        while True:
            # a chunk in two JSON arrays, decoded in C: a third of the CPU of a row per SKU, and
            # only a chunk's SKUs held at once (the first chunk from the very first SKU, even "")
            with self._mutex:
                skus_json, quantities_json, top, n = self.conn.execute(
                    "SELECT json_group_array(sku), json_group_array(q), max(sku), count(*) FROM "
                    "(SELECT sku, CAST(substr(value, 3) AS INTEGER) AS q FROM base "
                    "WHERE channel=? AND field='quantity' AND value LIKE 'i:%' "
                    f"{'' if last is None else 'AND sku > ? '}ORDER BY sku LIMIT ?)",
                    (channel, self._BASE_CHUNK) if last is None else (channel, last, self._BASE_CHUNK),
                ).fetchone()
            if not n:
                break
            last = top
            skus: list[str] = json.loads(skus_json)
            quantities: list[int] = json.loads(quantities_json)
            if observed is not None:
                seen = list(map(observed.get, skus))
                kept = [i for i, (q, o) in enumerate(zip(quantities, seen)) if type(o) is not int or o != q]
                matched += sum(1 for o in seen if type(o) is int)
                skus = [skus[i] for i in kept]
                quantities = [quantities[i] for i in kept]
            if catalog is not None:
                get = catalog.get
                skus = [sku if p is None else p.sku for sku, p in zip(skus, map(get, skus))]
            out.update(zip(skus, quantities))
            if n < self._BASE_CHUNK:
                break
        absent: set[str] | None = None
        if observed is not None:
            absent = set()
            if matched != sum(1 for e in observed.values() if type(e) is int):
                # some listings have no base yet (a first push): name them
                with self._mutex:
                    have = {
                        r[0]
                        for r in self.conn.execute(
                            "SELECT sku FROM base WHERE channel=? AND field='quantity' AND value LIKE 'i:%'",
                            (channel,),
                        )
                    }
                absent = {sku for sku, e in observed.items() if type(e) is int and sku not in have}
                del have
        with self._mutex:
            rows = self.conn.execute(
                "SELECT sku, field, CAST(substr(value, 3) AS INTEGER) FROM base "
                "WHERE channel=? AND field LIKE 'quantity@%' AND value LIKE 'i:%'",
                (channel,),
            ).fetchall()
        multi: dict[str, dict[str, int]] = {}
        for sku, fld, q in rows:
            multi.setdefault(sku, {})[fld] = q
        for sku, pairs in multi.items():
            first = out.get(sku)
            if first is None and observed is not None and absent is not None and sku not in absent:
                seen_q = observed.get(sku)  # left out above: equal to the observed quantity
                first = seen_q if type(seen_q) is int else None
            if type(first) is int:
                pairs["quantity"] = first
            out[sku] = tuple(sorted(pairs.items()))
        return out, absent

    @_busy_as_locked
    def field_bases(self, channel: str, skus: Iterable[str]) -> dict[tuple[str, str], Value]:
        """The bases of fields other than stock, for ``skus`` only."""
        wanted = sorted(set(skus))
        out: dict[tuple[str, str], Value] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            with self._mutex:
                rows = self.conn.execute(
                    f"SELECT sku, field, value FROM base WHERE channel=? AND sku IN "
                    f"({','.join('?' * len(chunk))}) AND field NOT LIKE 'quantity%'",
                    (channel, *chunk),
                ).fetchall()
            for sku, fld, value in rows:
                decoded = decode_value(value)
                if decoded is not None:
                    out[(sku, fld)] = decoded
        return out

    _UPSERT_BASE = (
        "INSERT INTO base(channel, sku, field, value, run_id, updated_at) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT(channel, sku, field) DO UPDATE SET value=excluded.value, "
        "run_id=excluded.run_id, updated_at=excluded.updated_at"
    )

    @staticmethod
    def _set_base(
        c: sqlite3.Connection, channel: str, sku: str, fld: str, value: Value, run_id: int | None
    ) -> None:
        c.execute(State._UPSERT_BASE, (channel, sku, fld, encode_value(value), run_id, _now()))

    @staticmethod
    def _set_bases(
        c: sqlite3.Connection, channel: str, values: Iterable[tuple[str, str, Value]], run_id: int | None
    ) -> None:
        """Many bases in one statement (``executemany``), inside the caller's transaction."""
        now = _now()
        c.executemany(
            State._UPSERT_BASE,
            ((channel, sku, fld, encode_value(value), run_id, now) for sku, fld, value in values),
        )

    @_busy_as_locked
    def set_bases(self, channel: str, values: Iterable[tuple[str, str, Value]], run_id: int | None) -> None:
        with self.tx() as c:
            self._set_bases(c, channel, values, run_id)

    @_busy_as_locked
    def confirm_stock(self, run_id: int, channel: str, readings: Sequence[tuple[str, str, int]]) -> None:
        """Stock values read from the channel (after its sales were recorded) become the base."""
        if not readings:
            return
        with self.tx() as c:
            self._set_bases(c, channel, readings, run_id)

    # -- journal -----------------------------------------------------------------------------
    @_busy_as_locked
    def journal_intents(
        self,
        run_id: int,
        rows: Sequence[tuple[str, str, str, Value | None, Value, str]],
        job_key: str | None = None,
    ) -> None:
        """Journal writes before they are sent: (channel, sku, field, old, new, key); ``job_key``:
        the client-side key of the feed job that will carry them (feed_jobs channels)."""
        now = _now()
        with self.tx() as c:
            c.executemany(
                "INSERT INTO journal(run_id, channel, sku, field, old, new, key, status, created_at, "
                "updated_at, job_key) VALUES (?,?,?,?,?,?,?, 'intent', ?, ?, ?)",
                [
                    (run_id, ch, sku, f, encode_value(old), encode_value(new), key, now, now, job_key)
                    for ch, sku, f, old, new, key in rows
                ],
            )

    @_busy_as_locked
    def settle(
        self,
        run_id: int,
        channel: str,
        outcomes: Sequence[tuple[str, str, str | None, Mapping[str, Value]]],
        jobs: Mapping[str, str] | None = None,
    ) -> None:
        """Record outcomes: (key, status, error, confirmed values). ``ok`` rows move the base to
        the confirmed values in the same transaction. ``jobs`` (write key -> job id): the feed
        job each ``pending`` write went into, recorded in the same transaction."""
        now = _now()
        with self.tx() as c:
            if jobs:
                c.executemany(
                    "UPDATE journal SET job=? WHERE key=? AND status IN ('intent','pending')",
                    [(job, key) for key, job in jobs.items()],
                )
            c.executemany(
                "UPDATE journal SET status=?, error=?, updated_at=? WHERE key=? AND status IN ('intent','pending')",
                [(status, error, now, key) for key, status, error, _ in outcomes],
            )
            bases: list[tuple[str, str, Value]] = []
            for key, status, _, confirmed in outcomes:
                if status == "ok":
                    for sku, fld in c.execute("SELECT sku, field FROM journal WHERE key=?", (key,)):
                        if fld in confirmed:
                            bases.append((sku, fld, confirmed[fld]))
            self._set_bases(c, channel, bases, run_id)

    @_busy_as_locked
    def record_jobs(self, jobs: Mapping[str, str]) -> None:
        """Feeds a killed run submitted, found again by their key (job key -> job id): their
        journalled writes become ``pending`` on that job."""
        with self.tx() as c:
            c.executemany(
                "UPDATE journal SET job=?, status='pending', updated_at=? WHERE job_key=? "
                "AND status='intent'",
                [(job, _now(), key) for key, job in jobs.items()],
            )

    @_busy_as_locked
    def settle_job(
        self, run_id: int, channel: str, outcomes: Sequence[tuple[int, str, str | None, Value | None]]
    ) -> None:
        """Record a feed job's per-SKU results: (journal id, status, error, the value the channel
        confirmed). An ``ok`` row moves the base, unless a later run already moved it (that run
        read the channel after the feed was accepted and interpreted the SKU against the pending
        value: moving it back would count a sale twice)."""
        now = _now()
        with self.tx() as c:
            for jid, status, error, confirmed in outcomes:
                row = c.execute(
                    "SELECT run_id, sku, field FROM journal WHERE id=? AND status IN ('intent','pending')",
                    (jid,),
                ).fetchone()
                if row is None:
                    continue
                c.execute(
                    "UPDATE journal SET status=?, error=?, updated_at=? WHERE id=?", (status, error, now, jid)
                )
                if status != "ok" or confirmed is None:
                    continue
                at, sku, fld = row
                base = c.execute(
                    "SELECT run_id FROM base WHERE channel=? AND sku=? AND field=?", (channel, sku, fld)
                ).fetchone()
                if base is None or base[0] is None or int(base[0]) <= int(at):
                    self._set_base(c, channel, sku, fld, confirmed, run_id)

    @_busy_as_locked
    def open_jobs(self, channel: str | None = None) -> list[JournalEntry]:
        """Writes of feed jobs not settled yet: submitted (a job id) or journalled for one (a
        job key only: a run was killed before it recorded the job)."""
        return self._unsettled(channel, " AND job_key IS NOT NULL")

    @_busy_as_locked
    def pending_jobs(self) -> list[dict[str, Any]]:
        """Feed jobs not settled yet, oldest first: channel, job (None: a run was killed before it
        recorded the job the channel accepted), skus, since (when the writes were journalled)."""
        with self._mutex:
            rows = self.conn.execute(
                "SELECT channel, job, job_key, json_group_array(DISTINCT sku), MIN(created_at) FROM journal "
                "WHERE status IN ('intent','pending') AND job_key IS NOT NULL "
                "GROUP BY channel, job_key, job ORDER BY MIN(id)"
            ).fetchall()
        return [
            {"channel": ch, "job": job, "key": key, "skus": sorted(json.loads(skus)), "since": since}
            for ch, job, key, skus, since in rows
        ]

    @_busy_as_locked
    def open_intents(self, channel: str | None = None) -> list[JournalEntry]:
        """Writes journalled but never settled (a run was killed in between)."""
        return self._unsettled(channel)

    def _unsettled(self, channel: str | None, where: str = "") -> list[JournalEntry]:
        """Journal rows not settled yet (of ``channel``, or all), in journal order."""
        q = "SELECT * FROM journal WHERE status IN ('intent','pending')" + where
        args: tuple[Any, ...] = ()
        if channel is not None:
            q += " AND channel=?"
            args = (channel,)
        return self._entries(q + " ORDER BY id", args)

    @_busy_as_locked
    def resolve_intent(
        self, entry: JournalEntry, applied: bool, note: str, base: Value | None, run_id: int
    ) -> None:
        """Settle an interrupted write after reconciling it with the channel."""
        with self.tx() as c:
            c.execute(
                "UPDATE journal SET status=?, error=?, updated_at=? WHERE id=?",
                ("ok" if applied else "not-applied", note, _now(), entry.id),
            )
            if base is not None:
                self._set_base(c, entry.channel, entry.sku, entry.field, base, run_id)

    def _entries(self, query: str, args: tuple[Any, ...]) -> list[JournalEntry]:
        with self._mutex:
            cur = self.conn.execute(query, args)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        out = []
        for row in rows:
            d = dict(zip(names, row))
            out.append(
                JournalEntry(
                    id=d["id"],
                    run_id=d["run_id"],
                    channel=d["channel"],
                    sku=d["sku"],
                    field=d["field"],
                    old=decode_value(d["old"]),
                    new=decode_value(d["new"]),  # type: ignore[arg-type]
                    key=d["key"],
                    status=d["status"],
                    error=d["error"],
                    created_at=d["created_at"],
                    updated_at=d["updated_at"],
                    job_key=d.get("job_key"),
                    job=d.get("job"),
                )
            )
        return out

    @_busy_as_locked
    def history(
        self, *, channel: str | None = None, sku: str | None = None, limit: int = 100
    ) -> list[JournalEntry]:
        q = "SELECT * FROM journal WHERE 1=1"
        args: list[Any] = []
        if channel:
            q += " AND channel=?"
            args.append(channel)
        if sku:
            q += " AND sku=?"
            args.append(sku)
        q += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return self._entries(q, tuple(args))

    @_busy_as_locked
    def failed_skus(self, channel: str | None = None) -> set[str]:
        """SKUs whose latest journalled write failed (for ``push --retry-failed``)."""
        q = (
            "SELECT sku, status FROM journal j WHERE id = (SELECT MAX(id) FROM journal j2 "
            "WHERE j2.channel=j.channel AND j2.sku=j.sku)"
        )
        args: tuple[Any, ...] = ()
        if channel:
            q += " AND channel=?"
            args = (channel,)
        with self._mutex:
            rows = self.conn.execute(q, args).fetchall()
        return {sku for sku, status in rows if status in ("failed", "conflict")}

    # -- sales -------------------------------------------------------------------------------
    def record_sales(self, run_id: int, catalog_path: Path, sales: Sequence[Sale]) -> None:
        """Take sold units out of the catalog and move the base, in ONE transaction.

        The catalog update is relative (``quantity = quantity - sold``), so a seller's edit made
        at the same moment is kept. The base moves to the observed quantity, so the same sale is
        never counted twice however often the channel is planned.

        The sales ledger, the bases and the catalog move together or not at all: when state.db or
        the catalog stays locked by another program past the busy timeout, the transaction rolls
        back and :class:`DatabaseLocked` names the file; the channel still shows the sales below
        the unmoved base, so the next run records them (once).
        """
        if not sales:
            return
        outcome = "the sales this run found were not recorded; the next run records them"
        with self._mutex:
            # Each file is locked by the first statement that touches it (a deferred BEGIN), so a
            # busy file is named exactly; only a COMMIT kept waiting by a reader needs a probe.
            busy_in: Path | None = catalog_path
            try:
                self.conn.execute("ATTACH DATABASE ? AS catalog", (str(catalog_path),))
            except sqlite3.OperationalError as exc:
                if is_busy(exc):
                    raise DatabaseLocked(catalog_path, self.busy_timeout, outcome) from None
                raise
            try:
                self.conn.execute("SELECT count(*) FROM catalog.sqlite_master").fetchone()
                self.conn.execute("BEGIN")
                now = _now()
                for s in sales:
                    busy_in = self.path
                    self.conn.execute(
                        "INSERT INTO sales(run_id, channel, sku, field, base, observed, units, "
                        "allocation, oversold, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (
                            run_id,
                            s.channel,
                            s.sku,
                            s.field,
                            s.base,
                            s.observed,
                            s.units,
                            json.dumps(dict(s.allocation)),
                            s.oversold,
                            now,
                        ),
                    )
                    self._set_base(self.conn, s.channel, s.sku, s.field, s.observed, run_id)
                    busy_in = catalog_path
                    for loc, units in s.allocation.items():
                        self.conn.execute(
                            "UPDATE catalog.stock SET quantity = MAX(quantity - ?, 0) "
                            "WHERE sku=? AND location=?",
                            (units, s.sku, loc),
                        )
                busy_in = None
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if not is_busy(exc):
                    raise
                if busy_in is None:  # COMMIT: another program is reading one of the two files
                    busy_in = self.path if _held_by_another(self.path) else catalog_path
                raise DatabaseLocked(busy_in, self.busy_timeout, outcome) from None
            finally:
                self.conn.execute("DETACH DATABASE catalog")

    @_busy_as_locked
    def sales(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._mutex:
            cur = self.conn.execute("SELECT * FROM sales ORDER BY id DESC LIMIT ?", (limit,))
            return [dict(zip([d[0] for d in cur.description], row)) for row in cur.fetchall()]

    @_busy_as_locked
    def integrity_ok(self) -> bool:
        with self._mutex:
            return bool(self.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
