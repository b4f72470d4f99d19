"""Asynchronous writes (feed jobs): a channel that accepts a batch as a feed and reports each SKU's
result later, rehearsed with the sandbox's ``async_writes`` mode.

Each case checks what a seller would: which SKUs were applied, failed (with the vendor's message)
or left pending, the exit code, what ``status`` and ``plan`` say, and that catalog, bases and every
channel agree afterwards, with no feed submitted twice and no sale counted twice. No test sleeps:
the feed's report is ready on the first poll, ``feed_wait_seconds = 0`` polls once, or the engine
gets an injected ``sleep``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tests.workspace import CONFIG, Workspace

from omnisync.channels.sandbox import KILL_AFTER_SUBMIT, sell
from omnisync.config import load_config
from omnisync.engine import Engine
from omnisync.state import Lock

SKUS = ("MUG", "POSTER", "TEE-L", "TEE-M", "TEE-S")


def async_config(**keys: object) -> str:
    lines = "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    return CONFIG + f'\n[channels.amz]\ntype = "sandbox"\npath = "amz.db"\nasync_writes = true\n{lines}'


def rows(ws: Workspace, name: str, query: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(ws.root / name)
    try:
        return list(conn.execute(query, args).fetchall())
    finally:
        conn.close()


def feeds(ws: Workspace) -> list[tuple[object, ...]]:
    """(feed id, submissions, SKUs) of every feed the amz sandbox accepted."""
    return rows(
        ws,
        "amz.db",
        "SELECT f.id, f.submissions, group_concat(r.sku) FROM feeds f JOIN feed_results r "
        "ON r.feed_id = f.id GROUP BY f.id ORDER BY f.id",
    )


def base(ws: Workspace, channel: str, sku: str) -> str | None:
    found = rows(
        ws, "state.db", "SELECT value FROM base WHERE channel=? AND sku=? AND field='quantity'", channel, sku
    )
    return str(found[0][0]) if found else None


def assert_converged(ws: Workspace) -> None:
    """Every channel equals the catalog (after rules), and the bases equal what they show."""
    r = ws.run("push", "--json")
    assert r.code == 0, r
    assert json.loads(r.stdout)["plan"]["summary"]["changes"] == 0, r
    shop, market, amz = ws.sandbox("shop"), ws.sandbox("market"), ws.sandbox("amz")
    for sku in SKUS:
        want = ws.stock(sku)
        assert shop[sku][0] == want and amz[sku][0] == want, sku
        assert market[sku][0] == max(0, want - 1), sku
        assert amz[sku][1] == shop[sku][1], sku
        assert base(ws, "amz", sku) == f"i:{want}", sku
    open_rows = rows(ws, "state.db", "SELECT COUNT(*) FROM journal WHERE status IN ('intent','pending')")
    assert open_rows == [(0,)]
    assert rows(ws, "amz.db", "SELECT COUNT(*) FROM replayed_writes") == [(0,)]


def test_accepted_feed_with_partial_failures_and_retry_failed(make_workspace) -> None:
    ws = make_workspace(async_config(max_write_batch=10, feed_fail_skus=["MUG"]))
    r = ws.run("push", "--json")
    assert r.code == 1, r  # a SKU failed inside the accepted feed
    report = json.loads(r.stdout)
    amz = next(c for c in report["channels"] if c["channel"] == "amz")
    assert amz["status"] == "partial"
    by_sku: dict[str, set[str]] = {}
    for res in amz["results"]:
        by_sku.setdefault(res["sku"], set()).add(res["status"])
        if res["sku"] == "MUG":
            assert "feed processing error 8560" in res["error"], res
    assert by_sku.pop("MUG") == {"failed"}
    assert all(s == {"ok"} for s in by_sku.values()), by_sku
    # the rest were applied, their bases moved; MUG's did not (nothing confirmed there)
    listed = ws.sandbox("amz")
    assert "MUG" not in listed and listed["TEE-S"][0] == ws.stock("TEE-S")
    assert base(ws, "amz", "TEE-S") == f"i:{ws.stock('TEE-S')}" and base(ws, "amz", "MUG") is None
    assert [(f[1], sorted(str(f[2]).split(","))) for f in feeds(ws)] == [(1, sorted(SKUS))]
    # still refused: the text report names the failed SKU with the vendor's message (exit 1)
    again = ws.run("push")
    assert again.code == 1 and "MUG" in again.stdout and "8560" in again.stdout, again
    n = len(feeds(ws))

    # the marketplace accepts MUG now: --retry-failed resends only MUG, in one new feed
    ws.config.write_text(async_config(max_write_batch=10))
    r = ws.run("push", "--retry-failed", "--json")
    assert r.code == 0, r
    amz = next(c for c in json.loads(r.stdout)["channels"] if c["channel"] == "amz")
    assert {res["sku"] for res in amz["results"]} == {"MUG"}
    assert all(res["status"] == "ok" for res in amz["results"])
    new = feeds(ws)[n:]
    assert [(f[1], f[2]) for f in new] == [(1, "MUG")]
    assert_converged(ws)


def test_still_processing_is_pending_then_settled_and_a_sale_counted_once(make_workspace) -> None:
    # the report is ready on the 2nd poll; a run polls once (feed_wait_seconds = 0)
    ws = make_workspace(async_config(feed_processing_polls=2, feed_wait_seconds=0))
    original = {sku: ws.stock(sku) for sku in SKUS}
    r = ws.run("push", "--json")
    assert r.code == 0, r  # pending is not a failure
    amz = next(c for c in json.loads(r.stdout)["channels"] if c["channel"] == "amz")
    assert amz["pending"] > 0 and amz["failed"] == 0
    assert {res["status"] for res in amz["results"]} == {"pending"}
    assert all("still processing" in res["error"] for res in amz["results"])
    text = ws.run("status")
    assert "amz: feed sandbox-feed-" in text.stdout and "pending since" in text.stdout
    st = json.loads(ws.run("status", "--json").stdout)
    pend = next(c for c in st if c["channel"] == "amz")["pending_feeds"]
    assert pend and sorted(s for f in pend for s in f["skus"]) == sorted(SKUS)
    assert all(f["job"].startswith("sandbox-feed-") and f["since"] for f in pend)
    plan = ws.run("plan")
    assert "amz: feed sandbox-feed-" in plan.stdout, plan
    assert json.loads(ws.run("plan", "--json").stdout)["pending_feeds"]

    # a buyer orders 2 on the async marketplace before the next run
    assert sell(ws.root / "amz.db", "TEE-M", 2) == 2
    r = ws.run("push")
    assert r.code == 0, r
    assert ws.stock("TEE-M") == original["TEE-M"] - 2  # counted once
    st = json.loads(ws.run("status", "--json").stdout)
    assert next(c for c in st if c["channel"] == "amz")["pending_feeds"] == []
    assert_converged(ws)
    assert rows(ws, "state.db", "SELECT sku, SUM(units) FROM sales GROUP BY sku") == [("TEE-M", 2)]
    assert all(f[1] == 1 for f in feeds(ws))
    for sku in SKUS:
        if sku != "TEE-M":
            assert ws.stock(sku) == original[sku]


def test_a_sale_while_the_feed_stays_pending_across_runs_is_counted_once(make_workspace) -> None:
    # ready on the 3rd poll: still pending at the start of the second run, settled at its end
    ws = make_workspace(async_config(feed_processing_polls=3, feed_wait_seconds=0))
    original = ws.stock("TEE-M")
    assert ws.run("push").code == 0
    assert sell(ws.root / "amz.db", "TEE-M", 2) == 2
    r = ws.run("push")
    assert r.code == 0, r
    assert ws.stock("TEE-M") == original - 2
    assert_converged(ws)
    assert ws.stock("TEE-M") == original - 2
    assert rows(ws, "state.db", "SELECT sku, SUM(units) FROM sales GROUP BY sku") == [("TEE-M", 2)]


def test_killed_after_submit_before_recording_collects_and_submits_nothing_twice(make_workspace) -> None:
    ws = make_workspace(async_config(max_write_batch=10))
    original = {sku: ws.stock(sku) for sku in SKUS}
    (ws.root / ("amz.db" + KILL_AFTER_SUBMIT)).touch()
    r = ws.run("push")
    assert r.code == -9, r  # SIGKILL right after the sandbox accepted the feed
    assert [f[1] for f in feeds(ws)] == [1]
    journalled = rows(ws, "state.db", "SELECT DISTINCT status, job FROM journal WHERE channel='amz'")
    assert journalled == [("intent", None)]  # the job was never recorded
    st = json.loads(ws.run("status", "--json").stdout)
    pend = next(c for c in st if c["channel"] == "amz")["pending_feeds"]
    assert len(pend) == 1 and pend[0]["job"] is None

    r = ws.run("push", "--json")
    assert r.code == 0, r
    amz = next(c for c in json.loads(r.stdout)["channels"] if c["channel"] == "amz")
    assert {res["status"] for res in amz["results"]} == {"ok"}  # the killed run's feed, collected
    assert [f[1] for f in feeds(ws)] == [1]  # found by its key: not submitted again
    assert rows(ws, "amz.db", "SELECT COUNT(*) FROM applied_writes") == [(len(SKUS),)]
    assert_converged(ws)
    assert {sku: ws.stock(sku) for sku in SKUS} == original
    assert rows(ws, "state.db", "SELECT COUNT(*) FROM sales") == [(0,)]


def run_engine(ws: Workspace, slept: list[float]) -> object:
    config = load_config(ws.config, env={})
    engine = Engine(config, env={}, log=lambda m: None, sleep=slept.append)
    with Lock(Path(str(config.state) + ".lock")):
        return engine.run("push", names=["amz"], apply=True)


@pytest.mark.parametrize(
    ("polls", "wait", "sleeps", "pending"),
    [(4, 120, [2.0, 4.0, 8.0], False), (20, 20, [2.0, 4.0, 8.0, 6.0], True)],
)
def test_polls_with_exponential_backoff_up_to_feed_wait_seconds(
    make_workspace, polls: int, wait: int, sleeps: list[float], pending: bool
) -> None:
    ws = make_workspace(async_config(feed_processing_polls=polls, feed_wait_seconds=wait))
    slept: list[float] = []
    report = run_engine(ws, slept)
    assert slept == sleeps
    amz = report.channels["amz"]  # type: ignore[attr-defined]
    assert {o.status for o in amz.outcomes} == ({"pending"} if pending else {"ok"})
    assert report.exit_code == 0  # type: ignore[attr-defined]
