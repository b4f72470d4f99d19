"""The real `omnisync push` process against the WooCommerce fake served on 127.0.0.1 (real HTTP),
with 20% 5xx and 429 storms injected: it converges to the catalog, and --verbose prints the calls."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from tests.fakes import FakeServer, Faults
from tests.fakes.woocommerce import WooCommerceFake
from tests.workspace import Workspace


def test_push_converges_through_5xx_and_429_storms(tmp_path: Path) -> None:
    fake = WooCommerceFake(seed=7, faults=Faults.parse("5xx=0.2,storm=0.05,storm_length=3,retry_after=0"))
    skus = fake.seed(150, variable=5, per_parent=3)
    rows = ["sku,title,description,price,currency,quantity"]
    want: dict[str, tuple[int, str]] = {}
    for i, sku in enumerate(skus):
        qty = 10 if i % 4 else i % 7  # a quarter of the stock changes
        price = "19.99" if i % 3 else f"{20 + i % 10}.49"  # a third of the prices change
        title = f"Product {i + 1}" if sku.startswith("WC-0") else ""
        rows.append(f"{sku},{title or 'Variant'},Description.,{price},USD,{qty}")
        want[sku] = (qty, price)
    ws = Workspace(tmp_path)
    (tmp_path / "catalog.csv").write_text("\n".join(rows) + "\n")
    with FakeServer(fake) as server:
        ws.config.write_text(f"""catalog = "catalog.db"
[channels.woo]
type = "woocommerce"
base_url = "{server.url}"
consumer_key_env = "WC_KEY"
consumer_secret_env = "WC_SECRET"
sync = ["quantity", "price"]
""")
        env = {"WC_KEY": fake.consumer_key, "WC_SECRET": fake.consumer_secret}
        assert ws.run("init", env=env).code == 0
        assert ws.run("import", "catalog.csv", env=env).code == 0
        codes = []
        for _ in range(2):  # converges in at most two runs
            r = ws.run("push", "--verbose", env=env, timeout=300)
            codes.append(r.code)
            if r.code == 0:
                break
        assert codes[-1] == 0, r
        m = re.search(
            r"woo: ok - \d+ applied, 0 failed \((\d+) API calls: (\d+) reads, (\d+) writes, "
            r"(\d+) retries, (\d+) throttled\)",
            r.stdout,
        )
        assert m, r.stdout[-2000:]
        assert int(m.group(4)) > 0  # the faults really happened and were retried
        assert "GET /wp-json/wc/v3/products" in r.stderr  # the --verbose request log
        assert fake.consumer_secret not in r.stdout + r.stderr
        for sku, (qty, price) in want.items():
            stored = fake.stored(sku)
            assert stored is not None and stored.quantity == qty, sku
            assert Decimal(stored.price or "0") == Decimal(price), sku
        fake.faults = Faults()
        again = ws.run("push", "--json", env=env)
        assert again.code == 0 and '"changes": 0' in again.stdout
