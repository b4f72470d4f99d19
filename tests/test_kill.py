"""A real `omnisync push` process killed with SIGKILL mid-apply; the next run converges.

Nothing lost, nothing doubled: after the rerun every channel equals the catalog after rules, the
catalog lost exactly the units buyers bought (never our own writes mistaken for sales), no write
was applied twice on the sandbox, and state.db passes SQLite's integrity check.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest
from tests.workspace import CONFIG, Workspace

from omnisync.channels.sandbox import sell

SLOW = CONFIG.replace("max_write_batch = 2", "max_write_batch = 1\nwrite_delay_ms = 40").replace(
    'path = "shop.db"', 'path = "shop.db"\nmax_write_batch = 1\nwrite_delay_ms = 40'
)


def applied(ws: Workspace, name: str) -> int:
    try:
        conn = sqlite3.connect(ws.root / f"{name}.db", timeout=10)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM applied_writes").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def replays(ws: Workspace, name: str) -> int:
    conn = sqlite3.connect(ws.root / f"{name}.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM replayed_writes").fetchone()[0])
    finally:
        conn.close()


def kill_after(ws: Workspace, channel: str, writes: int) -> None:
    proc = ws.popen("push", "-q")
    deadline = time.monotonic() + 60
    while applied(ws, channel) < writes and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def expected_quantity(ws: Workspace, sku: str, buffer: int = 0) -> int:
    return max(0, ws.stock(sku) - buffer)


@pytest.mark.parametrize("kill_at", [1, 3, 6, 11])
def test_killed_push_converges_without_doubling(make_workspace, kill_at: int) -> None:
    ws = make_workspace(SLOW)
    assert ws.run("push", "-q").code == 0
    original = {sku: ws.stock(sku) for sku in ("TEE-S", "TEE-M", "TEE-L", "MUG", "POSTER")}
    # Buyers order on both sandboxes, and the seller changes prices and restocks.
    assert sell(ws.root / "shop.db", "TEE-M", 2) == 2
    assert sell(ws.root / "market.db", "MUG", 3) == 3
    conn = sqlite3.connect(ws.catalog)
    conn.execute("UPDATE products SET price_minor = price_minor + 100")
    conn.execute("UPDATE stock SET quantity = quantity + 1 WHERE sku = 'POSTER' AND location = 'warehouse'")
    conn.commit()
    conn.close()
    before_shop, before_market = applied(ws, "shop"), applied(ws, "market")

    kill_after(
        ws, "market" if kill_at % 2 else "shop", (before_market if kill_at % 2 else before_shop) + kill_at
    )

    r = ws.run("push")
    assert r.code == 0, r
    r = ws.run("push", "--json")
    assert r.code == 0, r
    assert '"changes": 0' in r.stdout  # converged: nothing left to do

    assert ws.stock("TEE-M") == original["TEE-M"] - 2
    assert ws.stock("MUG") == original["MUG"] - 3
    assert ws.stock("POSTER") == original["POSTER"] + 1
    assert ws.stock("TEE-S") == original["TEE-S"] and ws.stock("TEE-L") == original["TEE-L"]
    shop, market = ws.sandbox("shop"), ws.sandbox("market")
    for sku in original:
        assert shop[sku][0] == expected_quantity(ws, sku), sku
        assert market[sku][0] == expected_quantity(ws, sku, buffer=1), sku
        assert shop[sku][1] == market[sku][1]
    assert replays(ws, "shop") == 0 and replays(ws, "market") == 0
    state = sqlite3.connect(ws.state)
    assert state.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    open_intents = state.execute("SELECT COUNT(*) FROM journal WHERE status='intent'").fetchone()[0]
    sales = state.execute("SELECT sku, SUM(units) FROM sales GROUP BY sku ORDER BY sku").fetchall()
    state.close()
    assert open_intents == 0
    assert sales == [("MUG", 3), ("TEE-M", 2)]


def test_killed_before_any_write_and_during_sales_recording(make_workspace) -> None:
    ws = make_workspace(SLOW)
    assert ws.run("push", "-q").code == 0
    sell(ws.root / "shop.db", "TEE-S", 1)
    original = ws.stock("TEE-S")
    for delay in (0.0, 0.05, 0.15, 0.3):
        proc = ws.popen("push", "-q")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert ws.run("push").code == 0
    assert ws.stock("TEE-S") == original - 1
    assert ws.sandbox("market")["TEE-S"][0] == original - 1 - 1
