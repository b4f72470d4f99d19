"""Chaos: 10,000 SKUs over 4 channels served by the fakes on 127.0.0.1, with 20% 5xx, 429 storms
with Retry-After, timeouts, connection resets, and buyers ordering during the run.

The push converges in at most 2 runs: 0 lost updates (every channel ends equal to the catalog after
rules, to the cent and the unit), 0 sales lost or counted twice (the catalog lost exactly the units
the channels sold), 0 oversold units; and when a run cannot finish a SKU it says which and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeServer, Faults
from tests.fakes.base import FakeMarketplace, Sales
from tests.fakes.bigcommerce import BigCommerceFake
from tests.fakes.ecwid import EcwidFake
from tests.fakes.shopify import ShopifyFake
from tests.fakes.woocommerce import WooCommerceFake
from tests.workspace import Workspace

from omnisync.config import load_config
from omnisync.engine import Engine, RunReport
from omnisync.state import Lock

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

N = 10_000
FAULTS = "5xx=0.2,storm=0.03,storm_length=3,retry_after=1,timeout=0.01,reset=0.01,hang_seconds=1.5"


@dataclass
class Store:
    name: str
    fake: FakeMarketplace
    block: Callable[[str], str]  # base_url -> [channels.NAME] block
    env: dict[str, str]


COMMON = """timeout_seconds = 1
sync = ["quantity", "price"]
retry_attempts = 10
"""


def woo(name: str, seed: int) -> Store:
    fake = WooCommerceFake(seed=seed)
    fake.seed(N, quantity=12, price="19.99", prefix="SKU")
    env = {f"{name.upper()}_KEY": fake.consumer_key, f"{name.upper()}_SECRET": fake.consumer_secret}
    return Store(
        name,
        fake,
        lambda url: (
            f"""
[channels.{name}]
type = "woocommerce"
base_url = "{url}"
consumer_key_env = "{name.upper()}_KEY"
consumer_secret_env = "{name.upper()}_SECRET"
"""
            + COMMON
        ),
        env,
    )


def bigcommerce(name: str, seed: int) -> Store:
    fake = BigCommerceFake(access_token="bc-chaos-token-000000000000000", quota=1_000_000, seed=seed)
    fake.seed(N, quantity=12, price="19.99", prefix="SKU")
    return Store(
        name,
        fake,
        lambda url: (
            f"""
[channels.{name}]
type = "bigcommerce"
base_url = "{url}"
store_hash = "fakestore"
access_token_env = "{name.upper()}_TOKEN"
currency = "USD"
"""
            + COMMON
        ),
        {f"{name.upper()}_TOKEN": "bc-chaos-token-000000000000000"},
    )


def ecwid(name: str, seed: int) -> Store:
    fake = EcwidFake(token="secret_chaos00000000000000000000", store_id=4870020, seed=seed)
    fake.seed(N, quantity=12, price="19.99", prefix="SKU")
    return Store(
        name,
        fake,
        lambda url: (
            f"""
[channels.{name}]
type = "ecwid"
base_url = "{url}"
store_id = 4870020
token_env = "{name.upper()}_TOKEN"
currency = "USD"
"""
            + COMMON
        ),
        {f"{name.upper()}_TOKEN": "secret_chaos00000000000000000000"},
    )


def shopify(name: str, seed: int) -> Store:
    fake = ShopifyFake(access_token="shpat_chaos0000000000000000000000", seed=seed)
    fake.seed(N, quantity=12, price="19.99", prefix="SKU")
    return Store(
        name,
        fake,
        lambda url: (
            f"""
[channels.{name}]
type = "shopify"
base_url = "{url}"
access_token_env = "{name.upper()}_TOKEN"
"""
            + COMMON
        ),
        {f"{name.upper()}_TOKEN": "shpat_chaos0000000000000000000000"},
    )


STORES: list[Callable[[str, int], Store]] = [woo, bigcommerce, ecwid, shopify]


def catalog_csv(skus: list[str]) -> str:
    rows = ["sku,title,description,price,currency,quantity"]
    for i, sku in enumerate(skus):
        price = "19.99" if i % 20 else f"{18 + i % 5}.{i % 100:02d}"  # 5% of prices change
        qty = 12 if i % 10 else 12 + (i % 7) - 3  # 10% of stock changes
        rows.append(f"{sku},Product {i + 1},Description of product {i + 1}.,{price},USD,{qty}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Workspace, list[Store], list[FakeServer]]]:
    stores = [make(f"ch{i}", 100 + i) for i, make in enumerate(STORES)]
    with ExitStack() as stack:
        servers = [stack.enter_context(FakeServer(s.fake)) for s in stores]
        ws = Workspace(tmp_path)
        ws.config.write_text(
            'catalog = "catalog.db"\n' + "".join(s.block(srv.url) for s, srv in zip(stores, servers))
        )
        (tmp_path / "catalog.csv").write_text(catalog_csv(sorted(stores[0].fake.skus())))
        assert ws.cli("init").code == 0 and ws.cli("import", "catalog.csv").code == 0
        yield ws, stores, servers


def push(ws: Workspace, env: dict[str, str], *, apply: bool = True) -> RunReport:
    config = load_config(ws.config, env=env)
    engine = Engine(config, env=env, log=lambda m: None, sleep=lambda s: None)
    with Lock(Path(str(config.state) + ".lock")):
        return engine.run("push", apply=apply, yes=True)


def test_chaos_push_converges_in_two_runs_losing_and_doubling_nothing(stores: Any) -> None:
    ws, stores_, _ = stores
    env = {k: v for s in stores_ for k, v in s.env.items()}
    initial = {sku: ws.stock(sku) for sku in stores_[0].fake.skus()}
    for s in stores_:
        s.fake.faults = Faults.parse(FAULTS)
        s.fake.sales = Sales(rate=0.002, max_units=2)

    first = push(ws, env)
    for r in first.channels.values():  # whatever failed says why
        assert all(o.error for o in r.outcomes if o.status != "ok")
        assert r.status == "ok" or r.error or any(o.status != "ok" for o in r.outcomes)

    for s in stores_:
        s.fake.sales = Sales()  # buyers stop; the faults go on
    second = push(ws, env)
    assert second.exit_code == 0, {n: (r.status, r.error) for n, r in second.channels.items()}

    for s in stores_:
        s.fake.faults = Faults()
    check = push(ws, env, apply=False)
    assert check.plan.empty, check.plan.to_json()["summary"]  # 0 lost updates

    sold = {sku: sum(s.fake.sold.get(sku, 0) for s in stores_) for sku in initial}
    assert sum(sold.values()) > 0  # buyers really ordered during the run
    for sku, units in initial.items():
        stock = ws.stock(sku)
        assert stock == units - sold[sku], sku  # each sale taken out exactly once
        assert sold[sku] <= units, sku  # 0 oversold
        for s in stores_:
            stored = s.fake.stored(sku)
            assert stored is not None and stored.quantity == stock, (s.name, sku)
    prices = {
        r.split(",")[0]: Decimal(r.split(",")[3])
        for r in (ws.root / "catalog.csv").read_text().splitlines()[1:]
    }
    for s in stores_:
        for sku in list(initial)[::97]:
            assert Decimal(s.fake.stored(sku).price or "0") == prices[sku]


def test_chaos_run_that_cannot_finish_names_each_failed_sku(stores: Any) -> None:
    ws, stores_, _ = stores
    env = {k: v for s in stores_ for k, v in s.env.items()}
    bad = stores_[1]
    victims = bad.fake.skus()[:3]
    for sku in victims:
        bad.fake.reject(sku, "This product cannot be edited.")
    for s in stores_:
        s.fake.faults = Faults.parse(FAULTS)
    report = push(ws, env)
    failures = {o.sku: o.error for o in report.channels[bad.name].outcomes if o.status == "failed"}
    changed = {sku for sku in victims if any(w.sku == sku for w in report.plan.channel(bad.name).writes)}
    assert set(failures) >= changed and changed
    assert all("cannot be edited" in (failures[s] or "") for s in changed)
    assert report.exit_code in (1, 3)
    assert report.channels[bad.name].status != "ok"
