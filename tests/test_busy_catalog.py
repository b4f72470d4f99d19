"""catalog.db is shared with other programs (an ERP export, a sheet sync, the seller's SQLite tool).

A lock another program holds for less than ``busy_timeout_seconds`` is waited for; one held longer
exits 75 (try again later) naming the file, never 2 (bad input), and sends nothing. Sales seen in a
run whose write-back finds the catalog or state.db locked are recorded by the next run, once.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.fakes.server import FakeServer
from tests.fakes.woocommerce import WooCommerceFake
from tests.workspace import CONFIG, Workspace

from omnisync.channels.sandbox import sell
from omnisync.state import State


@contextmanager
def held(path: Path, begin: str = "BEGIN EXCLUSIVE", seconds: float | None = None) -> Iterator[None]:
    """Another connection holds ``path`` locked from the start of the block: for ``seconds`` (then
    it commits), or until the block ends. ``begin`` is ``BEGIN EXCLUSIVE`` (no one reads or
    writes), ``BEGIN IMMEDIATE`` (no one else writes) or ``BEGIN`` (a reader: no one commits)."""
    ready, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        try:
            conn.execute(begin)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchall()  # a reader's lock, at least
            ready.set()
            release.wait(seconds if seconds is not None else 120)
            conn.execute("COMMIT")
        except BaseException as exc:  # pragma: no cover - reported below
            failed.append(exc)
            ready.set()
        finally:
            conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(30)
    assert not failed, failed
    try:
        yield
    finally:
        if seconds is None:
            release.set()
        thread.join(60)
    assert not failed, failed


def with_timeout(config: str, seconds: float) -> str:
    return f"busy_timeout_seconds = {seconds}\n{config}"


def ledger(ws: Workspace) -> list[tuple[str, str, int]]:
    """The sales omnisync recorded: (channel, sku, units)."""
    conn = sqlite3.connect(ws.state)
    try:
        return [tuple(r) for r in conn.execute("SELECT channel, sku, units FROM sales ORDER BY id")]
    finally:
        conn.close()


def sandbox_writes(ws: Workspace, name: str) -> int:
    conn = sqlite3.connect(ws.root / f"{name}.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM applied_writes").fetchone()[0])
    finally:
        conn.close()


# -- waiting, then giving up -----------------------------------------------------------------------


def test_push_waits_for_a_lock_shorter_than_the_timeout(workspace: Workspace) -> None:
    with held(workspace.catalog, "BEGIN EXCLUSIVE", seconds=2):
        r = workspace.cli("push")
    assert r.code == 0, r
    assert workspace.sandbox("shop")["MUG"][0] == 7


@pytest.fixture
def woo() -> Iterator[tuple[WooCommerceFake, str]]:
    fake = WooCommerceFake()
    fake.seed(5)
    with FakeServer(fake) as server:
        yield fake, server.url


def woo_config(url: str) -> str:
    return f"""busy_timeout_seconds = 1
catalog = "catalog.db"
state = "state.db"

[channels.shop]
type = "sandbox"
path = "shop.db"

[channels.store]
type = "woocommerce"
base_url = "{url}"
consumer_key_env = "WOO_KEY"
consumer_secret_env = "WOO_SECRET"
"""


@pytest.mark.parametrize("begin", ["BEGIN EXCLUSIVE", "BEGIN IMMEDIATE"])
def test_a_catalog_locked_past_the_timeout_exits_75_and_sends_nothing(
    make_workspace: Any, woo: tuple[WooCommerceFake, str], begin: str
) -> None:
    fake, url = woo
    ws: Workspace = make_workspace(woo_config(url))
    ws.config.chmod(0o600)
    env = {"WOO_KEY": fake.consumer_key, "WOO_SECRET": fake.consumer_secret}
    r = ws.run("push", env=env)
    assert r.code == 0, r  # listings and bases exist
    sell(ws.root / "shop.db", "MUG", 2)  # a sale to write back into the catalog
    shop_writes, requests = sandbox_writes(ws, "shop"), len(fake.requests)
    woo_writes = sum(1 for q in fake.requests if q.method != "GET")
    stock = {sku: ws.stock(sku) for sku in ("MUG", "TEE-M")}

    with held(ws.catalog, begin):
        r = ws.run("push", env=env)

    assert r.code == 75, r
    assert "catalog.db is locked by another program" in r.stderr, r.stderr
    assert "busy_timeout_seconds" in r.stderr and "nothing was sent" in r.stderr
    assert "Traceback" not in r.stderr and "cannot read it as an SQLite database" not in r.stderr
    if begin == "BEGIN EXCLUSIVE":  # not even the catalog could be read: no request at all
        assert len(fake.requests) == requests, "a request reached the channel"
    else:  # readers get through, so the channels were read; the sales write-back is what waited
        assert "not recorded" in r.stderr
    assert sum(1 for q in fake.requests if q.method != "GET") == woo_writes, "a write reached the channel"
    assert sandbox_writes(ws, "shop") == shop_writes
    assert {sku: ws.stock(sku) for sku in stock} == stock
    assert ledger(ws) == []
    assert fake.consumer_key not in r.stdout + r.stderr
    assert fake.consumer_secret not in r.stdout + r.stderr

    # the lock gone, the next run records the sale, once
    r = ws.run("push", env=env)
    assert r.code == 0, r
    assert ws.stock("MUG") == stock["MUG"] - 2
    assert ledger(ws) == [("shop", "MUG", 2)]


def test_a_file_that_is_not_sqlite_is_still_bad_input(workspace: Workspace) -> None:
    workspace.catalog.write_bytes(b"this is not a database" * 100)
    r = workspace.cli("push")
    assert r.code == 2, r
    assert "catalog.db: cannot read it as an SQLite database" in r.stderr


def test_a_locked_state_db_exits_75_naming_it(workspace: Workspace) -> None:
    workspace.config.write_text(with_timeout(CONFIG, 0.5))
    assert workspace.cli("push").code == 0
    with held(workspace.state, "BEGIN EXCLUSIVE"):
        push = workspace.cli("push")
        status = workspace.cli("status")
    for r in (push, status):
        assert r.code == 75, r
        assert "state.db is locked by another program (waited 0.5 s" in r.stderr, r.stderr


@pytest.mark.parametrize("command", [("import", "catalog.csv"), ("export", "-"), ("validate",)])
def test_other_catalog_commands_exit_75_too(workspace: Workspace, command: tuple[str, ...]) -> None:
    workspace.config.write_text(with_timeout(CONFIG, 0.3))
    with held(workspace.catalog, "BEGIN EXCLUSIVE"):
        r = workspace.cli(*command)
    assert r.code == 75, r
    assert "catalog.db is locked by another program" in r.stderr, r.stderr


# -- the sales write-back --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "file,begin",
    [
        ("catalog.db", "BEGIN IMMEDIATE"),  # another program is writing the catalog
        ("catalog.db", "BEGIN"),  # another program is reading it: our COMMIT cannot complete
        ("state.db", "BEGIN IMMEDIATE"),
    ],
)
def test_sales_whose_write_back_finds_a_lock_are_recorded_by_the_next_run_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, file: str, begin: str
) -> None:
    ws = workspace
    ws.config.write_text(with_timeout(CONFIG, 0.5))
    assert ws.cli("push").code == 0
    assert sell(ws.root / "shop.db", "TEE-M", 2) == 2
    assert sell(ws.root / "market.db", "MUG", 3) == 3
    before = {sku: ws.stock(sku) for sku in ("TEE-M", "MUG")}
    writes = {name: sandbox_writes(ws, name) for name in ("shop", "market")}
    feed = (ws.root / "feed.tsv").read_bytes()

    # the lock is taken just as the run is about to write its sales back
    record_sales = State.record_sales
    lock = held(ws.root / file, begin)

    def locked_first(self: State, run_id: int, catalog_path: Path, sales: Any) -> None:
        if sales:
            lock.__enter__()
        record_sales(self, run_id, catalog_path, sales)

    monkeypatch.setattr(State, "record_sales", locked_first)
    try:
        r = ws.cli("push")
    finally:
        lock.__exit__(None, None, None)
        monkeypatch.undo()

    assert r.code == 75, r
    assert f"{file} is locked by another program" in r.stderr, r.stderr
    assert "sales this run found were not recorded" in r.stderr and "nothing was sent" in r.stderr
    # nothing moved: not the catalog, not the ledger, not a channel
    assert {sku: ws.stock(sku) for sku in before} == before
    assert ledger(ws) == []
    assert {name: sandbox_writes(ws, name) for name in writes} == writes
    assert (ws.root / "feed.tsv").read_bytes() == feed

    r = ws.cli("push")
    assert r.code == 0, r
    assert ws.stock("TEE-M") == before["TEE-M"] - 2
    assert ws.stock("MUG") == before["MUG"] - 3
    assert sorted(ledger(ws)) == [("market", "MUG", 3), ("shop", "TEE-M", 2)]
    # and never again
    assert ws.cli("push").code == 0
    assert ws.stock("TEE-M") == before["TEE-M"] - 2 and ws.stock("MUG") == before["MUG"] - 3
    assert len(ledger(ws)) == 2


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ['"60"', "-1", "true", "100000", "nan", "[60]"])
def test_a_bad_busy_timeout_is_bad_input_naming_the_line(workspace: Workspace, value: str) -> None:
    workspace.config.write_text(f'catalog = "catalog.db"\nbusy_timeout_seconds = {value}\n' + CONFIG[23:])
    r = workspace.cli("push")
    assert r.code == 2, r
    assert "channels.toml:2" in r.stderr and "busy_timeout_seconds" in r.stderr, r.stderr
    assert "should be a number of seconds" in r.stderr
    assert not (workspace.root / "shop.db").exists()


@pytest.mark.parametrize("value,seconds", [("0", 0.0), ("2.5", 2.5), (None, 60.0)])
def test_the_busy_timeout_is_read_from_the_config(tmp_path: Path, value: str | None, seconds: float) -> None:
    from omnisync.config import load_config

    path = tmp_path / "channels.toml"
    path.write_text(("" if value is None else f"busy_timeout_seconds = {value}\n") + CONFIG)
    assert load_config(path, env={}).busy_timeout_seconds == seconds


# -- chaos: a writer that keeps the catalog busy ---------------------------------------------------

SKUS = ("A", "B", "C", "D", "E")
CHAOS_CSV = "sku,title,price,currency,quantity@warehouse,quantity@store\n" + "".join(
    f"{sku},Item {sku},10.00,USD,300,40\n" for sku in SKUS
)


def chaos_config(timeout: float, sales: int, seed: int = 0) -> str:
    return f"""busy_timeout_seconds = {timeout}
catalog = "catalog.db"
state = "state.db"

[channels.shop]
type = "sandbox"
path = "shop.db"
simulate_sales = {sales}
seed = {seed}

[channels.market]
type = "sandbox"
path = "market.db"
max_write_batch = 2
simulate_sales = {sales}
seed = {seed + 1000}
"""


# Adds one unit at a time to a SKU's warehouse stock, each in a transaction held for 1 s, with
# 200 ms between transactions; every other one EXCLUSIVE (no one may even read). A committed
# addition is appended to the log; a failed one is not. Stops at the stop file (or after 400).
WRITER = r"""
import sqlite3, sys, time
from pathlib import Path
catalog, log, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
skus = sys.argv[4].split(",")
conn = sqlite3.connect(catalog, isolation_level=None, timeout=120)
for i in range(400):
    if stop.exists():
        break
    sku = skus[i % len(skus)]
    try:
        conn.execute("BEGIN EXCLUSIVE" if i % 2 else "BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE stock SET quantity = quantity + 1 WHERE sku = ? AND location = 'warehouse'", (sku,)
        )
        time.sleep(1.0)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        print(f"writer: {exc}", file=sys.stderr)
    else:
        with log.open("a") as fh:
            fh.write(sku + "\n")
    time.sleep(0.2)
conn.close()
"""


def sandbox_sold(ws: Workspace, name: str) -> dict[str, int]:
    conn = sqlite3.connect(ws.root / f"{name}.db")
    try:
        return dict(conn.execute("SELECT sku, SUM(units) FROM sales GROUP BY sku"))
    finally:
        conn.close()


@pytest.mark.chaos
@pytest.mark.slow
def test_pushes_during_a_busy_writer_lose_and_double_nothing(make_workspace: Any) -> None:
    ws: Workspace = make_workspace(chaos_config(5, 0), CHAOS_CSV)
    assert ws.cli("push").code == 0  # every listing created, every base set
    initial = {sku: ws.stock(sku) for sku in SKUS}
    log, stop = ws.root / "writer.log", ws.root / "writer.stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(ws.catalog), str(log), str(stop), ",".join(SKUS)],
        stderr=subprocess.PIPE,
        text=True,
    )
    codes: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not log.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.exists(), "the writer never committed"
        for i in range(20):
            # a patient run and an impatient one by turns: both outcomes, every time
            ws.config.write_text(chaos_config(5 if i % 2 else 0.3, 3, seed=i))
            time.sleep(0.3)  # spread the pushes over many of the writer's transactions
            r = ws.cli("push", "-q")
            assert r.code in (0, 75), r
            assert "Traceback" not in r.stderr
            if r.code == 75:
                assert "catalog.db is locked by another program" in r.stderr, r.stderr
            codes.append(r.code)
    finally:
        stop.touch()
        writer.wait(timeout=60)
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""

    # the writer gone and no more sales: the next run settles whatever is left
    ws.config.write_text(chaos_config(5, 0))
    r = ws.cli("push", "--json")
    assert r.code == 0, r
    assert json.loads(ws.cli("push", "--json").stdout)["plan"]["summary"]["changes"] == 0

    added = {sku: 0 for sku in SKUS}
    for line in log.read_text().split():
        added[line] += 1
    sold = {sku: 0 for sku in SKUS}
    for name in ("shop", "market"):
        for sku, units in sandbox_sold(ws, name).items():
            sold[sku] += units
    recorded = {sku: 0 for sku in SKUS}
    for _channel, sku, units in ledger(ws):
        recorded[sku] += units
    assert sum(sold.values()) > 0 and sum(added.values()) > 0
    assert recorded == sold  # every unit sold on a channel is in the ledger, once
    for sku in SKUS:
        assert ws.stock(sku) == initial[sku] + added[sku] - sold[sku], (sku, codes)
        shown = ws.sandbox("shop")[sku][0]
        assert shown == ws.stock(sku) and ws.sandbox("market")[sku][0] == shown
