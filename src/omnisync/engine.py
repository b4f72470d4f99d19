"""One run: read channels concurrently, reconcile interrupted writes, plan, apply, verify, record.

``plan`` never builds the write path: :meth:`Engine.observe` and :func:`diff.plan` are all it
uses, so a dry run cannot write by accident. ``push`` applies exactly the plan it was given.
"""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import channels as registry
from .channels.base import Channel, ChannelConfig, ChannelContext, job_key, parse_duration
from .diff import (
    Bases,
    ChannelInput,
    ChannelPlan,
    Observed,
    Plan,
    PlannedWrite,
    fingerprint,
    stock_get,
    stock_items,
)
from .diff import plan as make_plan
from .errors import (
    DEFAULT_BUSY_TIMEOUT_SECONDS,
    ChannelError,
    ConfigError,
    DatabaseLocked,
    Exit,
    Kind,
    PlanRefused,
)
from .models import QUANTITY, Product, RemoteListing, Value, WriteItem, WriteResult, field_kind, frozen
from .state import JournalEntry, State

MAX_ROUNDS = 3  # a conflicting write is re-read and re-planned at most this often in one run
# An incremental read asks for what changed since the last full read started, less this margin
# (the vendor's clock and ours may differ; a listing read twice costs nothing).
SINCE_MARGIN = timedelta(minutes=5)
# Feed jobs (Capabilities.feed_jobs) are polled with exponential backoff: first after this many
# seconds, doubling up to FEED_POLL_MAX, for at most the channel's feed_wait_seconds.
FEED_WAIT_SECONDS = 120.0
FEED_POLL_FIRST = 2.0
FEED_POLL_MAX = 30.0


@dataclass
class WriteOutcome:
    channel: str
    sku: str
    field: str
    old: Value | None
    new: Value
    status: str  # ok | failed | conflict | pending | unknown
    error: str | None = None


@dataclass
class ChannelReport:
    name: str
    status: str = "ok"  # ok | partial | failed | skipped
    error: str | None = None
    outcomes: list[WriteOutcome] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)
    calls: int = 0
    drift: int = 0
    api: dict[str, int] = field(default_factory=dict)  # calls, reads, writes, retries, throttled
    read: str | None = None  # full | incremental | skus: how the channel was read

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass
class RunReport:
    plan: Plan
    channels: dict[str, ChannelReport]
    run_id: int | None = None
    applied: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if any(r.status == "failed" for r in self.channels.values()):
            return int(Exit.CHANNEL_FAILED)
        if any(r.status == "partial" for r in self.channels.values()):
            return int(Exit.FAILED)
        return int(Exit.OK)

    def to_json(self) -> dict[str, Any]:
        from .models import value_to_json

        return {
            "run_id": self.run_id,
            "applied": self.applied,
            "exit_code": self.exit_code,
            "plan": self.plan.to_json(),
            "channels": [
                {
                    "channel": r.name,
                    "status": r.status,
                    "error": r.error,
                    "calls": r.calls,
                    "api_calls": r.api,
                    "read": r.read,
                    "applied": r.count("ok"),
                    "failed": r.count("failed") + r.count("conflict") + r.count("unknown"),
                    "pending": r.count("pending"),
                    "reconciled": r.reconciled,
                    "results": [
                        {
                            "sku": o.sku,
                            "field": o.field,
                            "old": value_to_json(o.old),
                            "new": value_to_json(o.new),
                            "status": o.status,
                            "error": o.error,
                        }
                        for o in r.outcomes
                    ],
                }
                for r in self.channels.values()
            ],
            "notes": self.notes,
        }


@dataclass
class Observation:
    """What one channel holds now, with the bases after reconciling interrupted writes.

    ``observed`` is kept compact (:class:`diff.Observed`): listings already equal to the catalog
    are held as their stock values only, so many channels of 100,000 SKUs fit in memory at once.
    """

    channel: Channel
    cfg: ChannelConfig
    observed: Observed | None
    bases: Bases
    error: str | None = None
    error_kind: str | None = None
    resolutions: list[tuple[JournalEntry, bool, str, Value | None]] = field(default_factory=list)
    read: str = "full"  # full | incremental | skus
    started: datetime | None = None  # when the read began
    returned: set[str] | None = None  # an incremental read: the SKUs the channel returned

    def input(self) -> ChannelInput:
        return ChannelInput(
            name=self.cfg.name,
            rules=self.observed.rules
            if self.observed is not None and self.observed.rules is not None
            else self.cfg.rules(self.channel.capabilities),
            capabilities=self.channel.capabilities,
            observed=self.observed,
            bases=self.bases,
            error=self.error,
        )


def reconcile(
    entries: Sequence[JournalEntry], observed: Mapping[str, RemoteListing], applied_keys: set[str] | None
) -> list[tuple[JournalEntry, bool, str, Value | None]]:
    """Decide, for writes journalled but never settled, whether they took effect.

    With the channel's idempotency record the answer is exact. Without it, the value the channel
    holds now decides: the new value means applied, the old one means not. When sales since then
    make both possible, the higher of the two becomes the base, so a unit is never offered twice
    (at worst a sale is counted that did not happen, and the note says so).

    Returns (entry, applied, note, new base).
    """
    out: list[tuple[JournalEntry, bool, str, Value | None]] = []
    for e in entries:
        remote = observed.get(e.sku)
        now = remote.values.get(e.field) if remote is not None else None
        if applied_keys is not None:
            ok = e.key in applied_keys
            note = "the channel's idempotency record says it was " + ("applied" if ok else "not applied")
            out.append((e, ok, note, e.new if ok else e.old))
            continue
        if now == e.new:
            out.append((e, True, "the channel holds the new value", e.new))
        elif now == e.old:
            out.append((e, False, "the channel holds the old value", e.old))
        elif field_kind(e.field) == QUANTITY and isinstance(e.new, int) and isinstance(now, int):
            old = e.old if isinstance(e.old, int) else 0
            if now > e.new:
                out.append((e, False, "the channel holds more than the new value", old))
            elif now > old:
                out.append((e, True, "the channel holds more than the old value", e.new))
            else:
                base = max(old, e.new)
                out.append((e, False, f"outcome unknown (sales since); assumed base {base}", base))
        else:
            out.append((e, False, "outcome unknown; the value will be re-planned", e.old))
    return out


class Engine:
    """Wires config, catalog, state and channels for one command."""

    def __init__(
        self,
        config: Any,
        *,
        env: Mapping[str, str],
        log: Callable[[str], None],
        transport: Any = None,
        verbose: bool = False,
        sleep: Any = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.config = config
        self.progress = progress  # (channel, writes done, writes planned), after every batch
        self.env = env
        self.log = log
        self.counters: dict[str, int] = {}
        self._sent = False  # whether this run has begun sending writes (for a DatabaseLocked)
        self.ctx = ChannelContext(
            env=dict(env),
            config_dir=Path(config.path).parent,
            state_dir=Path(config.state).parent,
            transport=transport,
            verbose=verbose,
            log=log,
            sleep=sleep,
            counters=self.counters,
        )

    # -- channels ----------------------------------------------------------------------------
    def open_channels(self, cfgs: Sequence[ChannelConfig]) -> dict[str, Channel]:
        out: dict[str, Channel] = {}
        for cfg in cfgs:
            try:
                cls = registry.load(cfg.type)
            except KeyError:
                raise ConfigError(
                    f"unknown channel type {cfg.type!r}",
                    file=str(self.config.path),
                    field=f"channels.{cfg.name}.type",
                ) from None
            out[cfg.name] = cls.from_config(cfg, self.ctx)
        return out

    def observe(
        self,
        chans: Mapping[str, Channel],
        cfgs: Mapping[str, ChannelConfig],
        state: State | None,
        skus: Collection[str] | None,
        products: Mapping[str, Product] | None = None,
    ) -> dict[str, Observation]:
        """Read every channel concurrently and reconcile its interrupted writes (in memory).

        Each listing is folded into a compact :class:`diff.Observed` as it arrives (over
        ``products``, the catalog the plan will be made from), so a channel's listings are never
        all held at once.
        """

        def one(name: str) -> Observation:
            ch = chans[name]
            cfg = cfgs[name]
            bases = Bases()
            mode, since = self._read_mode(ch, cfg, state, skus, products)
            started = self.ctx.clock()
            try:
                intents = state.open_intents(name) if state is not None else []
                observed = Observed(products, cfg.rules(ch.capabilities), keep={e.sku for e in intents})
                returned: set[str] | None = None
                if mode == "incremental":
                    assert state is not None and products is not None
                    returned = set()

                    def noted(listings: Iterable[RemoteListing]) -> Iterator[RemoteListing]:
                        for r in listings:
                            returned.add(r.sku)
                            yield r

                    observed.update(noted(ch.read(skus=None, since=since)))
                    unsure = self._assume_unchanged(
                        observed, state.snapshot(name, products), products, {e.sku for e in intents}
                    )
                    if unsure:
                        observed.update(noted(ch.read(skus=sorted(unsure))))
                else:
                    observed.update(ch.read(skus=skus))
                resolutions: list[tuple[JournalEntry, bool, str, Value | None]] = []
                if intents:
                    missing = {e.sku for e in intents if e.sku not in observed}
                    if missing and mode != "full":
                        observed.update(ch.read(skus=missing))
                if state is not None:
                    # read after the channel: the bases equal to what it showed are left out
                    stock, absent = state.stock_bases_beside(name, products, observed.entries)
                    bases = Bases(stock, same=observed.entries, absent=absent)
                if intents:
                    applied_keys = (
                        ch.applied({e.key for e in intents}) if ch.capabilities.idempotency_keys else None
                    )
                    resolutions = reconcile(intents, observed, applied_keys)
                    for e, _ok, _note, base in resolutions:
                        if base is not None:
                            bases.set(e.sku, e.field, base)
                    # A feed job still processing: its SKUs are read against the value it carries
                    # (as an interrupted write is), but the job's own result settles the journal.
                    resolutions = [r for r in resolutions if not _waiting(r[0])]
                return Observation(
                    ch,
                    cfg,
                    observed,
                    bases,
                    resolutions=resolutions,
                    read=mode,
                    started=started,
                    returned=returned,
                )
            except ChannelError as exc:
                if state is not None:
                    bases = Bases(state.stock_bases(name, products))
                return Observation(
                    ch,
                    cfg,
                    None,
                    bases,
                    error=str(exc),
                    error_kind=exc.kind.value,
                    read=mode,
                    started=started,
                )

        names = list(chans)
        if len(names) <= 1:
            return {n: one(n) for n in names}
        with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
            return dict(zip(names, pool.map(one, names)))

    # -- incremental reads -------------------------------------------------------------------
    def _read_mode(
        self,
        ch: Channel,
        cfg: ChannelConfig,
        state: State | None,
        skus: Collection[str] | None,
        products: Mapping[str, Product] | None,
    ) -> tuple[str, datetime | None]:
        """``("skus", None)`` for a read of chosen SKUs, ``("incremental", since)`` for a channel
        that reads what changed since a time and had a full read recently enough, else
        ``("full", None)``."""
        if skus is not None:
            return "skus", None
        if not ch.capabilities.changed_since or state is None or products is None:
            return "full", None
        last = state.last_full_read(ch.name)
        if last is None:
            return "full", None
        started, runs_since, last_read = last
        every = cfg.full_read_every
        if isinstance(every, int):
            due = runs_since + 1 >= every
        else:
            due = (self.ctx.clock() - started).total_seconds() >= parse_duration(every)
        if due:
            return "full", None
        return "incremental", last_read - SINCE_MARGIN

    @staticmethod
    def _assume_unchanged(
        observed: Observed,
        snapshot: Mapping[str, int | None],
        products: Mapping[str, Product],
        keep: Collection[str],
    ) -> set[str]:
        """After an incremental read: the SKUs it did not return are unchanged on the channel
        since the last full read. Where the channel then held exactly what the catalog wants now
        (same fingerprint), that is recorded without reading; the SKUs returned are the ones whose
        values are not known (the catalog changed, or they differed then): read them by SKU."""
        d = observed.desired
        assert d is not None
        unsure: set[str] = set(s for s in keep if s not in observed)
        for sku, fp in snapshot.items():
            if sku in observed.entries:
                continue
            product = products.get(sku)
            if product is None:
                continue  # not in the catalog (or not asked for): left alone
            if fp is not None and sku not in keep:
                want = d.values(product)
                if fingerprint(want) == fp:
                    observed.assume_same(sku, want)
                    continue
            unsure.add(sku)
        return unsure

    def _record_reads(self, state: State, run_id: int, plan: Plan, obs: Mapping[str, Observation]) -> None:
        """Remember each read of a channel that can read incrementally: where the next
        incremental read starts from, and the fingerprint of every listing the read returned that
        it left equal to the catalog (a full read returns them all)."""
        for name, o in obs.items():
            if o.error is not None or not o.channel.capabilities.changed_since:
                continue
            if o.read not in ("full", "incremental") or o.observed is None or o.started is None:
                continue
            cp = plan.channel(name)
            touched = {w.sku for w in cp.writes} | {s for s, _ in cp.invalid}
            catalog = plan.catalog or {}
            d = o.observed.desired
            snap: list[tuple[str, int | None]] = []
            skus = o.observed.entries if o.read == "full" else sorted(o.returned or ())
            for sku in skus:
                product = catalog.get(sku)
                fp = None
                if product is not None and d is not None and sku not in touched:
                    fp = fingerprint(d.values(product))
                snap.append((sku, fp))
            if o.read == "full":
                state.record_full_read(name, o.started, run_id, snap)
            else:
                state.record_incremental_read(name, o.started, snap)

    # -- apply -------------------------------------------------------------------------------
    def apply_channel(
        self, state: State, run_id: int, ch: Channel, cp: ChannelPlan, report: ChannelReport
    ) -> list[str]:
        """Apply one channel's writes in batches; returns the SKUs that hit a conflict.

        The channel groups its writes into batches (``write_batches``: by default runs of
        ``max_write_batch``; a feed takes everything in one). Batches go out one at a time, or up
        to ``capabilities.max_in_flight`` at once for a channel that allows concurrent requests
        (its client's pacer still spaces them to the vendor's rate). A channel that goes down
        stops the batches not yet started.
        """
        caps = ch.capabilities
        writes = list(cp.writes)
        if caps.feed:
            batches = [list(range(len(writes)))] if writes else []
        else:
            batches = ch.write_batches([(w.sku, [c.field for c in w.changes]) for w in writes])
            placed = sorted(i for b in batches for i in b)
            if placed != list(range(len(writes))):  # an adapter's grouping must place each write once
                raise AssertionError(f"{ch.name}: write_batches() lost or doubled a write")
        conflicts: list[str] = []
        stop: list[ChannelError] = []  # the error that took the channel down
        not_sent: list[ChannelError] = []  # set when the rest must be reported as not sent
        lock = threading.Lock()
        done = [0]

        def one(indices: list[int]) -> None:
            batch = [writes[i] for i in indices]
            if stop:
                if not_sent:
                    exc = not_sent[0]
                    report.outcomes.extend(
                        WriteOutcome(w.channel, w.sku, c.field, c.old, c.new, "failed", f"not sent: {exc}")
                        for w in batch
                        for c in w.changes
                    )
                return
            found = self._apply_batch(state, run_id, ch, batch, report, stop, not_sent)
            with lock:
                conflicts.extend(found)
                done[0] += len(batch)
                if self.progress is not None and not stop:
                    self.progress(ch.name, done[0], len(writes))

        workers = 1 if caps.feed else max(1, min(caps.max_in_flight, len(batches)))
        if workers == 1:
            for indices in batches:
                one(indices)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, batches))
        return conflicts

    def _apply_batch(
        self,
        state: State,
        run_id: int,
        ch: Channel,
        batch: list[PlannedWrite],
        report: ChannelReport,
        stop: list[ChannelError],
        not_sent: list[ChannelError],
    ) -> list[str]:
        caps = ch.capabilities
        conflicts: list[str] = []
        if not caps.compare_and_set and not caps.feed:
            try:
                moved = self._moved_since_read(ch, batch)
            except ChannelError as exc:
                report.status, report.error = "failed", str(exc)
                stop.append(exc)
                not_sent.append(exc)
                report.outcomes.extend(
                    WriteOutcome(w.channel, w.sku, c.field, c.old, c.new, "failed", f"not sent: {exc}")
                    for w in batch
                    for c in w.changes
                )
                return conflicts
            if moved:
                conflicts += sorted(moved)
                report.outcomes.extend(
                    WriteOutcome(
                        w.channel,
                        w.sku,
                        c.field,
                        c.old,
                        c.new,
                        "conflict",
                        "the stock changed on the channel since it was read; not written, "
                        "re-read and re-planned",
                    )
                    for w in batch
                    if w.sku in moved
                    for c in w.changes
                )
                batch = [w for w in batch if w.sku not in moved]
                if not batch:
                    return conflicts
        items = [self._item(w) for w in batch]
        # a feed job's client-side key, journalled with its writes before it is submitted
        feed = job_key(it.key for it in items) if caps.feed_jobs else None
        state.journal_intents(
            run_id,
            [
                (w.channel, w.sku, c.field, c.old, c.new, item.key)
                for w, item in zip(batch, items)
                for c in w.changes
            ],
            job_key=feed,
        )
        try:
            results = ch.write(items)
        except ChannelError as exc:
            report.error = str(exc)
            if exc.kind in (Kind.RETRY, Kind.RATE_LIMITED):
                # Sent, maybe applied: leave the journal open for the next run to reconcile.
                report.outcomes.extend(
                    WriteOutcome(w.channel, w.sku, c.field, c.old, c.new, "unknown", str(exc))
                    for w in batch
                    for c in w.changes
                )
            else:
                state.settle(run_id, ch.name, [(it.key, "failed", str(exc), {}) for it in items])
                report.outcomes.extend(
                    WriteOutcome(w.channel, w.sku, c.field, c.old, c.new, "failed", str(exc))
                    for w in batch
                    for c in w.changes
                )
            if exc.kind in (Kind.AUTH, Kind.RETRY, Kind.RATE_LIMITED):
                report.status = "failed"
                stop.append(exc)  # the channel is down: do not hammer it batch after batch
            return conflicts
        by_sku = {r.sku: r for r in results}
        settled: list[tuple[str, str, str | None, Mapping[str, Value]]] = []
        outcomes: list[WriteOutcome] = []
        jobs: dict[str, str] = {}  # write key -> the feed job it went into
        for w, item in zip(batch, items):
            accepted = by_sku.get(w.sku)
            if feed is not None and accepted is not None and accepted.pending and accepted.job:
                jobs[item.key] = accepted.job
            res = by_sku.get(w.sku) or WriteResult.failure(w.sku, "the channel returned no result")
            status, error, confirmed = self._verify(w, res)
            if status == "conflict":
                conflicts.append(w.sku)
            settled.append((item.key, status, error, confirmed))
            for c in w.changes:
                st = status
                err = error
                if status == "ok" and confirmed.get(c.field) != c.new:
                    st, err = "failed", f"the channel stored {confirmed.get(c.field)!r}"
                outcomes.append(WriteOutcome(w.channel, w.sku, c.field, c.old, c.new, st, err))
        report.outcomes.extend(outcomes)
        state.settle(run_id, ch.name, settled, jobs=jobs)
        return conflicts

    # -- feed jobs -----------------------------------------------------------------------------
    def collect(
        self, state: State, run_id: int, ch: Channel, cfg: ChannelConfig, report: ChannelReport
    ) -> None:
        """Settle the channel's feed jobs (``Capabilities.feed_jobs``): find the jobs a killed run
        submitted but never recorded (by their client-side key, :meth:`jobs`), poll every open job
        with the vendor's backoff up to ``feed_wait_seconds``, and record each SKU's own result:
        its base moves only when its result says it was applied. A job still processing stays
        pending, reported per SKU; the next run collects it before it plans."""
        if not ch.capabilities.feed_jobs:
            return
        entries = state.open_jobs(ch.name)
        if not entries:
            return
        try:
            unsent = sorted({e.job_key for e in entries if e.job is None and e.job_key})
            if unsent:
                # the optional part of the protocol a feed_jobs adapter implements (BaseChannel.jobs)
                finder: Callable[[Collection[str]], dict[str, str]] | None = getattr(ch, "jobs", None)
                found = finder(unsent) if finder is not None else {}
                if found:
                    state.record_jobs(found)
                    entries = state.open_jobs(ch.name)
                    self.log(f"{ch.name}: found {len(found)} feed(s) an interrupted run submitted")
            waiting = {e.job for e in entries if e.job is not None}
            if not waiting:
                return  # journalled, never submitted: reconciled as an interrupted write
            results = self._poll_jobs(ch, cfg, waiting)
        except ChannelError as exc:
            report.error = f"collecting feed results: {exc}"
            self.log(f"{ch.name}: {report.error}")
            results = []
        by = {(r.job, r.sku): r for r in results if r.job}
        finished = {r.job for r in results if r.job}
        settled: list[tuple[int, str, str | None, Value | None]] = []
        outcomes: list[WriteOutcome] = []
        wait = float(getattr(cfg, "feed_wait_seconds", FEED_WAIT_SECONDS))
        for e in entries:
            if e.job is None:
                continue
            if e.job not in finished:
                outcomes.append(
                    WriteOutcome(
                        ch.name,
                        e.sku,
                        e.field,
                        e.old,
                        e.new,
                        "pending",
                        f"feed {e.job} still processing (submitted {e.created_at}, waited "
                        f"{wait:g} s); the next run collects its result",
                    )
                )
                continue
            res = by.get((e.job, e.sku))
            got: Value | None = None
            error: str | None
            if res is None:
                status, error = "failed", f"feed {e.job}: its report has no result for this SKU"
            elif res.ok:
                got = res.applied.get(e.field)
                status, error = ("ok", None) if got == e.new else ("failed", f"the channel stored {got!r}")
            else:
                status, error = "failed", f"feed {e.job}: {res.error or 'failed'}"
            settled.append((e.id, status, error, got))
            outcomes.append(WriteOutcome(ch.name, e.sku, e.field, e.old, e.new, status, error))
        state.settle_job(run_id, ch.name, settled)
        touched = {(o.sku, o.field) for o in outcomes}
        report.outcomes = [
            o for o in report.outcomes if not (o.status == "pending" and (o.sku, o.field) in touched)
        ] + outcomes

    def _poll_jobs(self, ch: Channel, cfg: ChannelConfig, jobs: Collection[str]) -> list[WriteResult]:
        """Poll ``jobs`` until each has finished or ``feed_wait_seconds`` have passed: at once,
        then after FEED_POLL_FIRST seconds, doubling to FEED_POLL_MAX (``ctx.sleep`` when
        injected). The final results of the jobs that finished."""
        budget = float(getattr(cfg, "feed_wait_seconds", FEED_WAIT_SECONDS))
        sleep = self.ctx.sleep or time.sleep
        left = set(jobs)
        out: list[WriteResult] = []
        waited, delay = 0.0, FEED_POLL_FIRST
        while True:
            got = ch.poll(sorted(left))
            out.extend(got)
            left -= {r.job for r in got if r.job}
            if not left or waited >= budget:
                return out
            pause = min(delay, budget - waited)
            sleep(pause)
            waited += pause
            delay = min(delay * 2, FEED_POLL_MAX)

    @staticmethod
    def _moved_since_read(ch: Channel, batch: Sequence[PlannedWrite]) -> set[str]:
        """A channel without compare-and-set: re-read the batch's stock just before writing it.

        A SKU whose stock moved since the plan's read (a sale, a return) is not written blind: it
        goes back to be re-read on every channel and re-planned, like a compare-and-set conflict.
        One read call per batch of stock writes; what is left is the round trip between this read
        and the write.
        """
        stock = {
            w.sku: w
            for w in batch
            if w.remote is not None and any(field_kind(c.field) == QUANTITY for c in w.changes)
        }
        if not stock:
            return set()
        fresh = {r.sku: r for r in ch.read(skus=list(stock))}
        moved = set()
        for sku, w in stock.items():
            now = fresh.get(sku)
            assert w.remote is not None
            for c in w.changes:
                if field_kind(c.field) != QUANTITY:
                    continue
                if now is None or now.values.get(c.field) != w.remote.values.get(c.field):
                    moved.add(sku)
        return moved

    @staticmethod
    def _item(w: PlannedWrite) -> WriteItem:
        return WriteItem(
            sku=w.sku,
            values=frozen(w.values),
            listing=w.listing,
            key=uuid.uuid4().hex,
            expected=w.expected,
            create=w.create,
            remote=w.remote,
        )

    @staticmethod
    def _verify(w: PlannedWrite, res: WriteResult) -> tuple[str, str | None, Mapping[str, Value]]:
        if res.pending:
            return "pending", None, {}
        if not res.ok:
            if res.error_kind == Kind.CONFLICT.value:
                return "conflict", res.error, {}
            return "failed", res.error or "failed", {}
        wrong = [k for k, v in w.values.items() if res.applied.get(k) != v]
        if wrong:
            # The channel confirmed other values than we sent: record what it holds, report it.
            return (
                "failed",
                "the channel stored " + ", ".join(f"{k}={res.applied.get(k)!r}" for k in wrong),
                {k: v for k, v in res.applied.items()},
            )
        return "ok", None, res.applied

    # -- one whole run ---------------------------------------------------------------------------
    def run(
        self,
        command: str,
        *,
        names: Collection[str] | None = None,
        skus: Collection[str] | None = None,
        apply: bool = False,
        max_changes: int | None = None,
        yes: bool = False,
        retry_failed: bool = False,
        show_plan: Callable[[Plan], None] | None = None,
    ) -> RunReport:
        """Plan (and with ``apply``, push) the selected channels. The caller holds the lock."""
        from .config import check_secrets

        cfg_list = self.config.enabled_channels(names)
        check_secrets(self.config, self.env, [c.name for c in cfg_list])
        cfgs = {c.name: c for c in cfg_list}
        self._sent = False
        try:
            return self._run(command, cfg_list, cfgs, skus, apply, max_changes, yes, retry_failed, show_plan)
        except DatabaseLocked as exc:
            # catalog.db or state.db stayed locked by another program: say what this run did
            exc.add_outcome(
                "writes this run sent are reconciled by the next run" if self._sent else "nothing was sent"
            )
            raise

    def _run(
        self,
        command: str,
        cfg_list: list[ChannelConfig],
        cfgs: dict[str, ChannelConfig],
        skus: Collection[str] | None,
        apply: bool,
        max_changes: int | None,
        yes: bool,
        retry_failed: bool,
        show_plan: Callable[[Plan], None] | None,
    ) -> RunReport:
        from .catalog import open_catalog, read_products
        from .http import api_calls

        timeout = getattr(self.config, "busy_timeout_seconds", DEFAULT_BUSY_TIMEOUT_SECONDS)
        db = open_catalog(Path(self.config.catalog), busy_timeout=timeout)
        state_path = Path(self.config.state)
        state: State | None
        if apply:
            state = State(state_path, busy_timeout=timeout)
        else:
            state = State(state_path, readonly=True, busy_timeout=timeout) if state_path.exists() else None
        wanted = set(skus) if skus is not None else None
        if retry_failed:
            failed = state.failed_skus() if state is not None else set()
            wanted = failed if wanted is None else wanted & failed
        products = _load(read_products(db, sorted(wanted) if wanted is not None else None))
        chans = self.open_channels(cfg_list)
        reports = {n: ChannelReport(n) for n in chans}
        run_id: int | None = None
        try:
            if apply:
                assert state is not None
                run_id = state.start_run(command)
                # feed jobs of earlier runs are collected before anything is read or planned
                self._collect_all(state, run_id, chans, cfgs, reports)
            obs = self.observe(chans, cfgs, state, wanted, products)
            for name, o in obs.items():
                reports[name].read = o.read
                if o.error is not None:
                    reports[name].status, reports[name].error = "failed", o.error
                for e, ok, note, base in o.resolutions:
                    reports[name].reconciled.append(f"{e.sku} {e.field}: {note}")
                    if apply and state is not None and run_id is not None:
                        state.resolve_intent(e, ok, note, base, run_id)
            plan = make_plan(products, [o.input() for o in obs.values()])
            for cp in plan.channels:
                o = obs[cp.channel]
                if state is not None and cp.writes:
                    # the bases of other fields, only for the SKUs this plan writes
                    for key, value in state.field_bases(cp.channel, [w.sku for w in cp.writes]).items():
                        if key not in o.bases.other:
                            o.bases.other[key] = value
                reports[cp.channel].drift = _drift(cp, o.bases)
            if show_plan is not None:
                show_plan(plan)
            report = RunReport(plan, reports, run_id)
            if not apply:
                return report
            assert state is not None and run_id is not None
            try:
                guard(plan, cfgs, max_changes=max_changes, yes=yes)
            except PlanRefused:
                state.finish_run(run_id, "refused", int(Exit.FAILED), {"changes": plan.change_count})
                raise
            report.applied = True
            self._apply_rounds(state, run_id, chans, cfgs, plan, obs, reports, db)
            self._record_reads(state, run_id, plan, obs)
            for name, r in reports.items():
                cp = plan.channel(name)
                state.record_channel_run(
                    run_id,
                    name,
                    r.status,
                    r.error,
                    read_mode=r.read,
                    planned=len(cp.changes),
                    applied=r.count("ok"),
                    failed=r.count("failed") + r.count("conflict"),
                    pending=r.count("pending") + r.count("unknown"),
                    sales=sum(1 for s in plan.sales if s.channel == name),
                    drift=r.drift,
                    calls=self.counters.get(name, 0),
                )
                r.calls = self.counters.get(name, 0)
                r.api = api_calls(self.counters, name)
            state.finish_run(
                run_id,
                "ok" if report.exit_code == 0 else "failed",
                report.exit_code,
                plan.to_json()["summary"],
            )
            return report
        except DatabaseLocked as exc:
            # the catalog was the busy one: record how the run ended (a busy state.db leaves the
            # run recorded as unfinished, as a killed run is)
            if state is not None and run_id is not None and exc.file != str(state.path):
                try:
                    state.finish_run(run_id, "locked", int(Exit.LOCKED), {})
                except DatabaseLocked:
                    pass
            raise
        finally:
            gc.unfreeze()
            for ch in chans.values():
                ch.close()
            if state is not None:
                state.close()

    def _collect_all(
        self,
        state: State,
        run_id: int,
        chans: Mapping[str, Channel],
        cfgs: Mapping[str, ChannelConfig],
        reports: dict[str, ChannelReport],
    ) -> None:
        """:meth:`collect` every feed_jobs channel, in parallel."""
        todo = [n for n, c in chans.items() if c.capabilities.feed_jobs]
        if not todo:
            return

        def one(name: str) -> None:
            self.collect(state, run_id, chans[name], cfgs[name], reports[name])

        if len(todo) == 1:
            one(todo[0])
            return
        with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
            list(pool.map(one, todo))

    def _apply_rounds(
        self,
        state: State,
        run_id: int,
        chans: Mapping[str, Channel],
        cfgs: Mapping[str, ChannelConfig],
        plan: Plan,
        obs: Mapping[str, Observation],
        reports: dict[str, ChannelReport],
        db: Any,
    ) -> None:
        """Record the plan's sales, apply it; re-read and re-plan what hit a conflict."""
        from .catalog import read_products

        current = plan
        for round_no in range(MAX_ROUNDS):
            state.record_sales(run_id, Path(self.config.catalog), current.sales)
            for name, o in obs.items():
                state.confirm_stock(run_id, name, _stock_readings(o))
            todo = [cp for cp in current.channels if cp.writes and reports[cp.channel].status != "failed"]
            if todo:
                self._sent = True

            def one(cp: ChannelPlan) -> tuple[str, list[str]]:
                return cp.channel, self.apply_channel(
                    state, run_id, chans[cp.channel], cp, reports[cp.channel]
                )

            if len(todo) > 1:
                with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
                    results = list(pool.map(one, todo))
            else:
                results = [one(cp) for cp in todo]
            conflicted = sorted({sku for _, skus in results for sku in skus})
            if not conflicted or round_no == MAX_ROUNDS - 1:
                self._collect_all(
                    state,
                    run_id,
                    {n: c for n, c in chans.items() if reports[n].status != "failed"},
                    cfgs,
                    reports,
                )
                break
            self.log(
                f"{len(conflicted)} SKU(s) changed on a channel while this run wrote them; "
                "re-reading and re-planning them"
            )
            live = {n: c for n, c in chans.items() if reports[n].status != "failed"}
            products = {p.sku: p for p in read_products(db, conflicted)}
            obs = self.observe(live, cfgs, state, conflicted, products)
            for o in obs.values():
                for e, ok, note, base in o.resolutions:
                    if base is not None:
                        state.resolve_intent(e, ok, note, base, run_id)
            current = make_plan(products, [o.input() for o in obs.values()])
            for r in reports.values():
                # the conflicts are re-planned: only the last word on each SKU counts
                r.outcomes = [o for o in r.outcomes if o.status != "conflict"]
        for r in reports.values():
            if r.status == "ok" and any(o.status in ("failed", "unknown", "conflict") for o in r.outcomes):
                r.status = "partial"


def _waiting(e: JournalEntry) -> bool:
    """A journalled write in a feed job the channel accepted and has not reported on yet."""
    return e.job is not None and e.status == "pending"


def _load(products: Iterable[Product]) -> dict[str, Product]:
    """The catalog by SKU, read with the cyclic garbage collector paused and then frozen.

    A catalog is 100,000s of small acyclic objects: every collection while reading it would walk
    all of those read so far (a third of the read's time at 100,000 SKUs), and every later one
    would walk them again while the channels are read. Frozen (``gc.freeze``), they are left out
    of collections until the run ends (``gc.unfreeze``); they are still freed normally.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        out = {p.sku: p for p in products}
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return out


def _stock_readings(o: Observation) -> list[tuple[str, str, int]]:
    """Every stock value a channel showed this run: each becomes the base omnisync confirmed
    (sales below the old base were recorded first), so a unit sold after this read is seen as a
    sale next time even on a listing omnisync never wrote."""
    out: list[tuple[str, str, int]] = []
    if o.observed is None:
        return out
    bases = o.bases
    base_stock = bases.stock
    for sku, st in o.observed.stock():
        b = base_stock.get(sku)
        if b is None:
            b = bases.implied(sku)  # read beside the channel: equal to what it showed
        if b == st:
            continue
        for key, value in stock_items(st):
            if stock_get(b, key) != value:
                out.append((sku, key, value))
    return out


def _drift(cp: ChannelPlan, bases: Mapping[tuple[str, str], Value]) -> int:
    """Fields someone changed on the channel since omnisync last confirmed them (not sales)."""
    n = 0
    for w in cp.writes:
        for c in w.changes:
            base = bases.get((w.sku, c.field))
            if base is None or c.old == base:
                continue
            if (
                field_kind(c.field) == QUANTITY
                and isinstance(c.old, int)
                and isinstance(base, int)
                and c.old < base
            ):
                continue  # a sale, not drift
            n += 1
    return n


def guard(plan: Plan, cfgs: Mapping[str, ChannelConfig], *, max_changes: int | None, yes: bool) -> None:
    """Refuse a plan too big for --max-changes, or one zeroing too many listings without --yes."""
    if max_changes is not None and plan.change_count > max_changes:
        raise PlanRefused(
            f"the plan has {plan.change_count} changes, more than --max-changes "
            f"{max_changes}; nothing was sent"
        )
    if yes:
        return
    for cp in plan.channels:
        cfg = cfgs.get(cp.channel)
        share = cfg.max_zero_share if cfg is not None else 0.5
        if cp.zeroes >= 5 and cp.listed and cp.zeroes > share * cp.listed:
            raise PlanRefused(
                f"{cp.channel}: the plan sets {cp.zeroes} of {cp.listed} listings to 0 "
                f"(more than max_zero_share {share:.0%}); check the catalog, then re-run with --yes"
            )
