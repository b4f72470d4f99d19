"""``type = "sandbox"``: a local marketplace kept in its own SQLite file.

It behaves like a well-run marketplace API, so a seller can rehearse a cron set-up and the demo has
somewhere to sell: listings with stock, price and content; batch writes with a size limit;
compare-and-set on stock; reads of only what changed since a time (every write and every sale
moves a listing's ``updated_at``); idempotency keys (a write re-sent with a key the sandbox has
seen is not applied again, and :meth:`applied` tells which keys took effect); optional simulated
sales between runs; optional latency per batch. Every write it applies is kept in its ``applied_writes`` table, so
tests can prove that no write was applied twice.

With ``async_writes = true`` it rehearses a marketplace that takes writes as a feed (Amazon's
JSON_LISTINGS_FEED, Walmart's bulk feeds): write() accepts the batch as one feed job under the
client-side key the engine journalled (:func:`base.job_key`; a feed re-submitted under a key it has
seen is not processed again, and counted in ``feeds.submissions``), processes it at once (the
SKUs listed in ``feed_fail_skus`` fail inside the accepted feed), and reports the per-SKU results
only on the ``feed_processing_polls``-th poll.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from ..errors import ChannelError, Kind
from ..models import DESCRIPTION, PRICE, QUANTITY, TITLE, RemoteListing, Value, WriteItem, WriteResult, frozen
from ..money import Money
from .base import BaseChannel, Capabilities, Channel, ChannelConfig, ChannelContext, job_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS listings (
    sku TEXT PRIMARY KEY,
    quantity INTEGER NOT NULL DEFAULT 0,
    price_minor INTEGER,
    currency TEXT,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applied_writes (
    key TEXT PRIMARY KEY,
    sku TEXT NOT NULL,
    payload TEXT NOT NULL,
    applied_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replayed_writes (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sales (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL,
    units INTEGER NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    submitted_at TEXT NOT NULL,
    submissions INTEGER NOT NULL DEFAULT 1,
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_results (
    feed_id INTEGER NOT NULL REFERENCES feeds(id),
    sku TEXT NOT NULL,
    result TEXT NOT NULL
);
"""

# A file next to the sandbox's (``<path>.kill-after-submit``) that makes the next feed submission
# kill the process right after the feed is accepted, before the engine records it (tests).
KILL_AFTER_SUBMIT = ".kill-after-submit"


class SandboxConfig(ChannelConfig):
    path: str = Field(description="the sandbox marketplace's SQLite file (created on first use)")
    max_write_batch: int = Field(default=50, ge=1, le=10_000)
    simulate_sales: int = Field(default=0, ge=0, description="units sold at random before each read")
    seed: int | None = None
    write_delay_ms: int = Field(default=0, ge=0, le=60_000, description="latency per write batch")
    max_title_length: int | None = Field(
        default=None, ge=1, description="reject longer titles, as a marketplace would (per SKU)"
    )
    async_writes: bool = Field(
        default=False, description="take writes as feed jobs reported later, as Amazon and Walmart do"
    )
    feed_processing_polls: int = Field(
        default=1, ge=1, le=1000, description="async: a feed's report is ready on this poll"
    )
    feed_fail_skus: list[str] = Field(
        default=[], description="async: SKUs that fail inside an accepted feed, with a vendor message"
    )
    feed_wait_seconds: float = Field(
        default=120.0, ge=0, le=86_400, description="async: how long a run waits for a feed's report"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    return conn


def sell(path: Path, sku: str, units: int) -> int:
    """Sell up to ``units`` of ``sku`` on the sandbox (as a buyer would); returns units sold."""
    conn = connect(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT quantity FROM listings WHERE sku=?", (sku,)).fetchone()
        if row is None:
            conn.execute("ROLLBACK")
            raise KeyError(f"{sku} is not listed on {path}")
        sold = min(units, int(row[0]))
        if sold > 0:
            conn.execute(
                "UPDATE listings SET quantity=quantity-?, version=version+1, updated_at=? WHERE sku=?",
                (sold, _now(), sku),
            )
            conn.execute("INSERT INTO sales(sku, units, at) VALUES (?,?,?)", (sku, sold, _now()))
        conn.execute("COMMIT")
        return sold
    finally:
        conn.close()


class SandboxChannel(BaseChannel):
    Config = SandboxConfig

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        super().__init__(cfg, ctx)
        assert isinstance(cfg, SandboxConfig)
        self.cfg: SandboxConfig = cfg
        self.file = ctx.path(cfg.path)
        self.capabilities = self.capabilities_for(cfg)
        self._conn: sqlite3.Connection | None = None
        self._sold_this_run = False

    @classmethod
    def capabilities_for(cls, cfg: ChannelConfig) -> Capabilities:
        assert isinstance(cfg, SandboxConfig)
        return Capabilities(
            fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
            read_page_size=1000,
            max_write_batch=cfg.max_write_batch,
            compare_and_set=True,
            # every write and every sale moves updated_at (write(), sell()): a read of what
            # changed since a time misses nothing
            changed_since=True,
            create=True,
            idempotency_keys=True,
            async_writes=cfg.async_writes,
            feed_jobs=cfg.async_writes,
        )

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                self._conn = connect(self.file)
            except sqlite3.DatabaseError as exc:
                raise ChannelError(
                    f"cannot open sandbox {self.file}: {exc}", channel=self.name, kind=Kind.PERMANENT
                ) from None
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- reading -----------------------------------------------------------------------------
    def _simulate_sales(self) -> None:
        if self._sold_this_run or not self.cfg.simulate_sales:
            return
        self._sold_this_run = True
        rng = random.Random(self.cfg.seed)
        skus = [r[0] for r in self.conn.execute("SELECT sku FROM listings WHERE quantity > 0 ORDER BY sku")]
        for _ in range(self.cfg.simulate_sales):
            if not skus:
                break
            sku = rng.choice(skus)
            if sell(self.file, sku, 1) == 0:
                skus.remove(sku)

    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """Every listing (or only ``skus``), in pages; with ``since``, only the listings changed
        at or after it: every write and every sale moves a listing's ``updated_at``."""
        self._simulate_sales()
        stamp = (
            ""
            if since is None
            else since.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        page = self.capabilities.read_page_size
        columns = "sku, quantity, price_minor, currency, title, description, version"
        if skus is not None:  # looked up by SKU, a page's worth per call
            wanted = sorted(set(skus))
            for start in range(0, len(wanted), page):
                chunk = wanted[start : start + page]
                rows = self.conn.execute(
                    f"SELECT {columns} FROM listings WHERE sku IN ({','.join('?' * len(chunk))}) "
                    "AND updated_at >= ? ORDER BY sku",
                    (*chunk, stamp),
                ).fetchall()
                self._count()
                yield from map(_listing, rows)
            return
        last = ""
        while True:
            rows = self.conn.execute(
                f"SELECT {columns} FROM listings WHERE sku > ? AND updated_at >= ? ORDER BY sku LIMIT ?",
                (last, stamp, page),
            ).fetchall()
            self._count()
            yield from map(_listing, rows)
            if len(rows) < page:
                return
            last = rows[-1][0]

    def _count(self) -> None:
        self.ctx.counters[self.name] = self.ctx.counters.get(self.name, 0) + 1

    # -- writing -----------------------------------------------------------------------------
    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        if len(batch) > self.capabilities.max_write_batch:
            raise ChannelError(
                f"batch of {len(batch)} exceeds the limit of {self.capabilities.max_write_batch}",
                channel=self.name,
                status=413,
                kind=Kind.PERMANENT,
            )
        self.ctx.counters[self.name] = self.ctx.counters.get(self.name, 0) + 1
        if self.cfg.write_delay_ms:
            time.sleep(self.cfg.write_delay_ms / 1000)
        if self.cfg.async_writes:
            return self._submit(batch)
        results: list[WriteResult] = []
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for item in batch:
                results.append(self._write_one(c, item))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return results

    # -- feeds (async_writes) -----------------------------------------------------------------
    def _submit(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        """Accept ``batch`` as one feed under its client-side key; a key seen before is the same
        feed again: counted, not processed twice. Processed at once, reported on a later poll."""
        key = job_key(it.key for it in batch)
        fail = set(self.cfg.feed_fail_skus)
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute("SELECT id FROM feeds WHERE key=?", (key,)).fetchone()
            if row is not None:
                c.execute("UPDATE feeds SET submissions = submissions + 1 WHERE id=?", (row[0],))
                feed = int(row[0])
            else:
                cur = c.execute("INSERT INTO feeds(key, submitted_at) VALUES (?, ?)", (key, _now()))
                feed = int(cur.lastrowid or 0)
                for item in batch:
                    if item.sku in fail:
                        res = WriteResult.failure(
                            item.sku,
                            f"feed processing error 8560: {item.sku} was rejected by the "
                            "marketplace (feed_fail_skus)",
                            Kind.PERMANENT.value,
                        )
                    else:
                        res = self._write_one(c, item)
                    c.execute(
                        "INSERT INTO feed_results(feed_id, sku, result) VALUES (?,?,?)",
                        (feed, item.sku, json.dumps(_result_json(res))),
                    )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        marker = Path(str(self.file) + KILL_AFTER_SUBMIT)
        if marker.exists():  # tests: die between the submission and the engine recording it
            marker.unlink()
            os.kill(os.getpid(), signal.SIGKILL)
        job = _job_id(feed)
        return [WriteResult.accepted(item.sku, job) for item in batch]

    def poll(self, jobs: Sequence[str]) -> list[WriteResult]:
        """Each feed's per-SKU results once it has been polled ``feed_processing_polls`` times."""
        self._count()
        out: list[WriteResult] = []
        c = self.conn
        for job in jobs:
            feed = _feed_id(job)
            if feed is None:
                continue
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("UPDATE feeds SET polls = polls + 1 WHERE id=?", (feed,))
                row = c.execute("SELECT polls FROM feeds WHERE id=?", (feed,)).fetchone()
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            if row is None or int(row[0]) < self.cfg.feed_processing_polls:
                continue
            for sku, text in c.execute(
                "SELECT sku, result FROM feed_results WHERE feed_id=? ORDER BY rowid", (feed,)
            ).fetchall():
                out.append(_result_from_json(sku, job, json.loads(text)))
        return out

    def jobs(self, keys: Collection[str]) -> dict[str, str]:
        self._count()
        out: dict[str, str] = {}
        for key in keys:
            row = self.conn.execute("SELECT id FROM feeds WHERE key=?", (key,)).fetchone()
            if row is not None:
                out[key] = _job_id(int(row[0]))
        return out

    def _write_one(self, c: sqlite3.Connection, item: WriteItem) -> WriteResult:
        seen = c.execute("SELECT payload FROM applied_writes WHERE key=?", (item.key,)).fetchone()
        if seen is not None:
            # An idempotent replay: answer as the first time, apply nothing.
            c.execute("INSERT INTO replayed_writes(key, at) VALUES (?, ?)", (item.key, _now()))
            return WriteResult.success(item.sku, _decode(json.loads(seen[0])))
        row = c.execute("SELECT quantity FROM listings WHERE sku=?", (item.sku,)).fetchone()
        if row is None and not item.create:
            return WriteResult.failure(item.sku, "not listed on this sandbox", Kind.NOT_FOUND.value)
        expected = item.expected.get(QUANTITY)
        if row is not None and isinstance(expected, int) and row[0] != expected:
            return WriteResult.failure(
                item.sku,
                f"quantity is {row[0]}, expected {expected} (changed since it was read)",
                Kind.CONFLICT.value,
            )
        values = dict(item.values)
        title = values.get(TITLE)
        limit = self.cfg.max_title_length
        if limit is not None and isinstance(title, str) and len(title) > limit:
            return WriteResult.failure(
                item.sku,
                f"title is {len(title)} characters; this marketplace allows {limit}",
                Kind.PERMANENT.value,
            )
        now = _now()
        if row is None:
            c.execute("INSERT INTO listings(sku, updated_at) VALUES (?, ?)", (item.sku, now))
        sets: list[str] = []
        args: list[Any] = []
        for key, value in values.items():
            if key == QUANTITY and isinstance(value, int):
                sets.append("quantity=?")
                args.append(value)
            elif key == PRICE and isinstance(value, Money):
                sets += ["price_minor=?", "currency=?"]
                args += [value.minor, value.currency]
            elif key in (TITLE, DESCRIPTION) and isinstance(value, str):
                sets.append(f"{key}=?")
                args.append(value)
            else:
                return WriteResult.failure(item.sku, f"cannot write {key}={value!r}")
        c.execute(
            f"UPDATE listings SET {', '.join(sets)}, version=version+1, updated_at=? WHERE sku=?",
            (*args, now, item.sku),
        )
        c.execute(
            "INSERT INTO applied_writes(key, sku, payload, applied_at) VALUES (?,?,?,?)",
            (item.key, item.sku, json.dumps(_encode(values)), now),
        )
        return WriteResult.success(item.sku, values)

    def applied(self, keys: Collection[str]) -> set[str]:
        out: set[str] = set()
        keys = list(keys)
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = self.conn.execute(
                f"SELECT key FROM applied_writes WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            out.update(r[0] for r in rows)
        return out

    def check(self) -> str:
        n = self.conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
        return f"sandbox {self.file} ({n} listings)"


def _listing(row: tuple[Any, ...]) -> RemoteListing:
    sku, qty, minor, cur, title, desc, version = row
    values: dict[str, Value] = {QUANTITY: qty, TITLE: title, DESCRIPTION: desc}
    if minor is not None and cur:
        values[PRICE] = Money(minor, cur)
    return RemoteListing(sku, frozen(values), remote_id=sku, version=str(version))


def _job_id(feed: int) -> str:
    return f"sandbox-feed-{feed}"


def _feed_id(job: str) -> int | None:
    prefix = "sandbox-feed-"
    rest = job[len(prefix) :] if job.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def _result_json(res: WriteResult) -> dict[str, Any]:
    return {"ok": res.ok, "applied": _encode(res.applied), "error": res.error, "kind": res.error_kind}


def _result_from_json(sku: str, job: str, data: Mapping[str, Any]) -> WriteResult:
    if data["ok"]:
        return WriteResult(sku, True, frozen(_decode(data["applied"])), job=job)
    return WriteResult(sku, False, error=data["error"], error_kind=data["kind"], job=job)


def _encode(values: Mapping[str, Value]) -> dict[str, Any]:
    return {k: (v.to_json() if isinstance(v, Money) else v) for k, v in values.items()}


def _decode(values: Mapping[str, Any]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for k, v in values.items():
        out[k] = Money.parse(v["amount"], v["currency"]) if isinstance(v, dict) else v
    return out


_: type[Channel] = SandboxChannel
