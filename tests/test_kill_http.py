"""SIGKILL the real `omnisync push` process while it talks HTTP to a WooCommerce fake on 127.0.0.1
(before, during and after its write batches); each rerun converges, state.db passes SQLite's
integrity check, and no sale is counted twice or lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import pytest
from tests.fakes import FakeServer, Faults
from tests.fakes.woocommerce import WooCommerceFake
from tests.workspace import Workspace


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5, 2.5])
def test_killed_http_push_converges(tmp_path: Path, delay: float) -> None:
    fake = WooCommerceFake(seed=3, faults=Faults.parse("slow=1.0,slow_seconds=0.05"))
    skus = fake.seed(300)
    rows = ["sku,title,description,price,currency,quantity"]
    for i, sku in enumerate(skus):
        rows.append(f"{sku},Product {i + 1},Description of product {i + 1}.,{20 + i % 7}.49,USD,{i % 9}")
    (tmp_path / "catalog.csv").write_text("\n".join(rows) + "\n")
    ws = Workspace(tmp_path)
    with FakeServer(fake) as server:
        ws.config.write_text(f"""catalog = "catalog.db"
[channels.woo]
type = "woocommerce"
base_url = "{server.url}"
consumer_key_env = "WC_KEY"
consumer_secret_env = "WC_SECRET"
batch_limit = 20
sync = ["quantity", "price"]
""")
        env = {"WC_KEY": fake.consumer_key, "WC_SECRET": fake.consumer_secret}
        assert ws.run("init", env=env).code == 0 and ws.run("import", "catalog.csv", env=env).code == 0
        os.environ.update(env)
        try:
            assert ws.run("push", "-q", env=env, timeout=300).code == 0  # the channel is in sync
            conn = sqlite3.connect(ws.catalog)  # then the seller reprices and restocks everything
            conn.execute("UPDATE products SET price_minor = price_minor + 100")
            conn.execute("UPDATE stock SET quantity = quantity + 2")
            conn.commit()
            conn.close()
            proc = ws.popen("push", "-q")
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            state = sqlite3.connect(ws.state)
            in_flight = {
                r[0]
                for r in state.execute(
                    "SELECT sku FROM journal WHERE status = 'intent' AND field = 'quantity'"
                )
            }
            state.close()
            sold = {sku: fake.sell(sku, 1 + k % 2) for k, sku in enumerate(skus[1:40:3])}
            r = ws.run("push", env=env, timeout=300)
            assert r.code == 0, r
            again = ws.run("push", "--json", env=env, timeout=300)
            assert again.code == 0 and '"changes": 0' in again.stdout
        finally:
            for k in env:
                os.environ.pop(k, None)
    for i, sku in enumerate(skus):
        stored = fake.stored(sku)
        assert stored is not None and Decimal(stored.price or "0") == Decimal(f"{21 + i % 7}.49")
        assert stored.quantity == ws.stock(sku), sku
    # Every unit bought after the kill is taken out of the catalog exactly once. The exception is a
    # SKU whose stock write was in flight when the run died: WooCommerce keeps no idempotency
    # record, so the rerun judges by the value the store holds, and a sale that brings the stock
    # back to exactly the old value cannot be told from a write that never landed
    # (docs/failure-modes.md): there the catalog is off by at most that write's step.
    for sku, units in sold.items():
        i = skus.index(sku)
        truth = i % 9 + 2 - units
        if sku in in_flight:
            assert truth - 2 <= ws.stock(sku) <= truth + 2, sku
        else:
            assert ws.stock(sku) == truth, (sku, in_flight)
    state = sqlite3.connect(ws.state)
    try:
        assert state.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert (
            state.execute("SELECT COUNT(*) FROM journal WHERE status IN ('intent','pending')").fetchone()[0]
            == 0
        )
        per_sku = dict(state.execute("SELECT sku, SUM(units) FROM sales GROUP BY sku").fetchall())
    finally:
        state.close()
    assert set(per_sku) <= {sku for sku, units in sold.items() if units}  # no sale invented elsewhere
    assert sum(sold.values()) > 0
