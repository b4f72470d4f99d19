"""BigCommerce adapter behaviour beyond the shared contract (tests/contract): config, the product and
variant mapping, the three kinds of batched writes and their per-SKU outcomes (207, refused batches),
asynchronous stock adjustments, multi-location stock, the store quota, and a whole push through the
engine that makes no more write calls than the vendor's batch limits require."""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from tests.fakes.bigcommerce import BigCommerceFake, bigcommerce_spec
from tests.spec_check import RecordedRequest, RecordingTransport, assert_conforms

from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.channels.bigcommerce import BigCommerceChannel, BigCommerceConfig
from omnisync.errors import AuthError, Kind, PermanentError, TransientError
from omnisync.models import DESCRIPTION, PRICE, QUANTITY, TITLE, Listing, RemoteListing, WriteItem, frozen
from omnisync.money import Money

# The adapter's own contract beyond the shared suite: selected with `-m contract -k bigcommerce`.
pytestmark = pytest.mark.contract

TOKEN = "bc_test_token_5d41402abc4b2a76b9719d911017c592"


class Store:
    """An adapter wired to a fake store, with a sleep that moves the fake's clock (virtual time).
    Every request it sends is recorded in ``sent`` (for the spec check)."""

    def __init__(
        self, fake: BigCommerceFake | None = None, *, sent: list[RecordedRequest] | None = None, **cfg: Any
    ) -> None:
        self.now = 0.0
        self.fake = fake or BigCommerceFake(access_token=TOKEN, clock=lambda: self.now)
        self.sleeps: list[float] = []
        self.logs: list[str] = []
        self.counters: dict[str, int] = {}
        self.sent: list[RecordedRequest] = sent if sent is not None else []
        self.ctx = ChannelContext(
            env={"BC_TOKEN": TOKEN},
            transport=RecordingTransport(self.fake.transport(), self.sent),
            log=self.logs.append,
            sleep=self._sleep,
            config_dir=Path("."),
            counters=self.counters,
            verbose=True,
        )
        self.cfg = BigCommerceConfig.model_validate(
            {
                "name": "bc",
                "type": "bigcommerce",
                "base_url": "https://bc.test",
                "store_hash": "fakestore",
                "access_token_env": "BC_TOKEN",
                "currency": "USD",
                **cfg,
            }
        )
        self.adapter = BigCommerceChannel(self.cfg, self.ctx)

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def read(self, skus: list[str] | None = None) -> dict[str, RemoteListing]:
        return {r.sku: r for r in self.adapter.read(skus=skus)}

    def write(
        self, values: dict[str, dict[str, Any]], remote: dict[str, RemoteListing] | None = None
    ) -> list[Any]:
        items = [
            WriteItem(
                sku=s,
                values=frozen(v),
                listing=Listing(s, frozen(v)),
                key=f"k-{s}",
                remote=(remote or {}).get(s),
            )
            for s, v in values.items()
        ]
        return self.adapter.write(items)

    def calls(self, method: str | None = None) -> list[str]:
        return [
            f"{r.method} {r.path.split('/v3', 1)[1]}"
            for r in self.fake.requests
            if method is None or r.method == method
        ]


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


# -- config ----------------------------------------------------------------------------------------
def test_the_registry_loads_the_adapter_and_its_config_model() -> None:
    cls = load("bigcommerce")
    assert cls is BigCommerceChannel and cls.Config is BigCommerceConfig


@pytest.mark.parametrize(
    "change, message",
    [
        ({"currency": None}, "currency is required"),
        ({"currency": "usd"}, "ISO 4217"),
        ({"store_hash": "abc/123"}, "store_hash"),
        ({"locations": {"main": ["warehouse"]}}, "positive integers"),
        ({"access_token": "inline-secret"}, "Extra inputs are not permitted"),
        ({"default_location_id": 0}, "greater than or equal to 1"),
    ],
)
def test_config_mistakes_are_refused(change: dict[str, Any], message: str) -> None:
    raw = {
        "name": "bc",
        "type": "bigcommerce",
        "store_hash": "abc123",
        "access_token_env": "T",
        "currency": "USD",
        **change,
    }
    with pytest.raises(pydantic.ValidationError, match=message):
        BigCommerceConfig.model_validate(raw)


def test_requests_go_to_the_store_path_with_the_token_header() -> None:
    fake = BigCommerceFake(access_token=TOKEN)
    fake.seed(1)
    requests: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return fake.handler(request)

    ctx = ChannelContext(env={"T": TOKEN}, transport=httpx.MockTransport(handler), sleep=lambda s: None)
    cfg = BigCommerceConfig(
        name="bc", type="bigcommerce", store_hash="fakestore", access_token_env="T", currency="USD"
    )
    ch = BigCommerceChannel(cfg, ctx)
    assert len(list(ch.read())) == 1
    assert str(requests[0].url).startswith(
        "https://api.bigcommerce.com/stores/fakestore/v3/catalog/products?"
    )
    assert (
        requests[0].headers["x-auth-token"] == TOKEN and requests[0].headers["accept"] == "application/json"
    )


# -- reading ---------------------------------------------------------------------------------------
def test_products_and_variants_map_to_skus() -> None:
    store = Store()
    store.fake.seed(2, variable=1, per_parent=2)
    variant = store.fake.variant_by_sku("BC-V001-2")
    assert variant is not None
    variant.price = usd("25.50").amount  # its own price; BC-V001-1 inherits the product's
    listed = store.read()
    assert sorted(listed) == ["BC-0001", "BC-0002", "BC-V001-1", "BC-V001-2"]
    assert dict(listed["BC-0001"].values) == {
        QUANTITY: 10,
        PRICE: usd("19.99"),
        TITLE: "Product 1",
        DESCRIPTION: "<p>Description of product 1.</p>",
    }
    assert listed["BC-V001-1"].values[PRICE] == usd("19.99")
    assert listed["BC-V001-2"].values[PRICE] == usd("25.50")
    assert listed["BC-V001-2"].values[TITLE] == "Variable 1"  # the product's name
    assert listed["BC-V001-2"].extra["simple"] is False
    assert store.calls() == ["GET /catalog/products"], "one request reads products with their variants"


def test_a_product_without_inventory_tracking_reports_no_quantity() -> None:
    store = Store()
    sku = store.fake.seed(1)[0]
    store.fake.set_tracking(sku, "none")
    assert QUANTITY not in store.read()[sku].values


def test_binary_noise_in_a_price_is_dropped_but_a_real_fraction_is_not() -> None:
    store = Store()
    a, b = store.fake.seed(2)
    for sku, price in ((a, "19.990000000000002"), (b, "19.995")):
        variant = store.fake.variant_by_sku(sku)
        assert variant is not None
        store.fake.products[variant.product_id].price = Decimal(price)
    listed = store.read()
    assert listed[a].values[PRICE] == usd("19.99")
    assert PRICE not in listed[b].values
    assert any("19.995" in line and "treated as unknown" in line for line in store.logs)


def test_reading_some_skus_finds_products_by_sku_and_variants_one_by_one() -> None:
    store = Store()
    skus = store.fake.seed(3, variable=2, per_parent=2)
    got = store.read([skus[0], "BC-V002-1", "NOPE"])
    assert set(got) == {skus[0], "BC-V002-1"}
    assert store.calls() == [
        "GET /catalog/products",
        "GET /catalog/variants",
        "GET /catalog/variants",
        "GET /catalog/products",
    ]
    # once placed, SKUs are read by their product ids
    before = len(store.fake.requests)
    assert set(store.read(["BC-V002-1", skus[0]])) == {skus[0], "BC-V002-1"}
    assert store.calls()[before:] == ["GET /catalog/products"]


def test_many_unknown_variant_skus_are_found_in_one_scan() -> None:
    store = Store()
    skus = store.fake.seed(0, variable=6, per_parent=3)
    assert set(store.read(skus)) == set(skus)
    assert "GET /catalog/variants" not in store.calls()


# -- writing ---------------------------------------------------------------------------------------
def test_each_field_goes_to_its_endpoint_and_applied_is_what_the_store_answered() -> None:
    store = Store()
    store.fake.seed(1, variable=1, per_parent=1)
    listed = store.read()
    results = store.write(
        {
            "BC-0001": {PRICE: usd("1234567.89"), TITLE: "Mug — blue", QUANTITY: 4},
            "BC-V001-1": {PRICE: usd("0.10"), QUANTITY: 0},
        },
        listed,
    )
    assert [r.ok for r in results] == [True, True]
    assert dict(results[0].applied) == {PRICE: usd("1234567.89"), TITLE: "Mug — blue", QUANTITY: 4}
    assert dict(results[1].applied) == {PRICE: usd("0.10"), QUANTITY: 0}
    assert store.calls("PUT") == [
        "PUT /catalog/products",
        "PUT /catalog/variants",
        "PUT /inventory/adjustments/absolute",
    ]
    products, variants, adjustment = (r.json for r in store.fake.write_requests())
    # prices travel as JSON numbers with the exact digits (the fake reads them as Decimal)
    assert products == [
        {"id": listed["BC-0001"].extra["product_id"], "price": Decimal("1234567.89"), "name": "Mug — blue"}
    ]
    assert variants == [{"id": listed["BC-V001-1"].extra["variant_id"], "price": Decimal("0.10")}]
    # stock by product id for a product tracked by product, by variant id for one tracked by variant
    assert adjustment["items"] == [
        {"location_id": 1, "product_id": listed["BC-0001"].extra["product_id"], "quantity": 4},
        {"location_id": 1, "variant_id": listed["BC-V001-1"].extra["variant_id"], "quantity": 0},
    ]
    assert store.fake.stored("BC-V001-1").price == "0.10"  # type: ignore[union-attr]


def test_batches_follow_the_vendor_limits_per_kind_of_write() -> None:
    store = Store()
    simple = store.fake.seed(25)
    variants = store.fake.seed(0, variable=3, per_parent=20)
    listed = store.read()
    values = {s: {PRICE: usd("3.00"), QUANTITY: 1} for s in simple + variants}
    assert all(r.ok for r in store.write(values, listed))
    by_kind: dict[str, list[int]] = {}
    for r, size in zip(store.fake.write_requests(), store.fake.batch_sizes()):
        by_kind.setdefault(r.path.split("/v3", 1)[1], []).append(size)
    assert by_kind == {
        "/catalog/products": [10, 10, 5],
        "/catalog/variants": [50, 10],
        "/inventory/adjustments/absolute": [85],
    }


def test_a_207_answer_is_reported_per_sku() -> None:
    store = Store()
    skus = store.fake.seed(3)
    listed = store.read()
    store.fake.reject(skus[1], "This product is locked by another app.")
    results = store.write({s: {PRICE: usd("7.00")} for s in skus}, listed)
    assert [r.ok for r in results] == [True, False, True]
    assert "locked by another app" in (results[1].error or "") and "207" in (results[1].error or "")
    assert results[1].error_kind == Kind.PERMANENT.value
    assert len(store.fake.write_requests()) == 1, "a multi-status answer needs no second call"
    assert [store.fake.stored(s).price for s in skus] == ["7.00", "19.99", "7.00"]  # type: ignore[union-attr]


def test_a_refused_variant_batch_is_narrowed_down_to_the_refused_sku() -> None:
    store = Store()
    skus = store.fake.seed(0, variable=1, per_parent=4)
    listed = store.read()
    store.fake.reject(skus[2], "Variant is archived.")
    results = store.write({s: {PRICE: usd("8.00")} for s in skus}, listed)
    assert [r.ok for r in results] == [True, True, False, True]
    assert "archived" in (results[2].error or "")
    assert [store.fake.stored(s).price for s in skus] == ["8.00", "8.00", "19.99", "8.00"]  # type: ignore[union-attr]
    assert store.fake.batch_sizes() == [4, 2, 2, 1, 1]


def test_a_refused_adjustment_loses_the_named_item_and_is_sent_again() -> None:
    store = Store()
    skus = store.fake.seed(4)
    listed = store.read()
    store.fake.set_tracking(skus[1], "variant")  # changed in the store since the read
    results = store.write({s: {QUANTITY: 2} for s in skus}, listed)
    assert [r.ok for r in results] == [True, False, True, True]
    assert "tracked by variant" in (results[1].error or "") and str(listed[skus[1]].extra["product_id"]) in (
        results[1].error or ""
    )
    assert store.fake.batch_sizes() == [4, 3]


def test_what_bigcommerce_cannot_take_is_refused_per_field_and_the_rest_is_written() -> None:
    store = Store()
    store.fake.seed(2, variable=1, per_parent=1)
    store.fake.set_tracking("BC-0002", "none")
    listed = store.read()
    results = store.write(
        {
            "BC-V001-1": {TITLE: "New name", QUANTITY: 5},
            "BC-0002": {QUANTITY: 5, PRICE: usd("2.00")},
            "BC-0001": {PRICE: Money.parse("5.00", "EUR"), TITLE: "x" * 251},
            "GHOST": {QUANTITY: 1},
        },
        listed,
    )
    assert not any(r.ok for r in results)
    assert "no title of its own" in (results[0].error or "") and dict(results[0].applied) == {QUANTITY: 5}
    assert "inventory tracking is off" in (results[1].error or "")
    assert dict(results[1].applied) == {PRICE: usd("2.00")}
    assert "EUR" in (results[2].error or "") and "1 to 250" in (results[2].error or "")
    assert results[3].error_kind == Kind.NOT_FOUND.value
    assert store.fake.stored("BC-V001-1").title == "Variable 1"  # type: ignore[union-attr]


def test_writes_without_a_prior_read_look_the_skus_up() -> None:
    store = Store()
    skus = store.fake.seed(2, variable=1, per_parent=1)
    results = store.write({s: {QUANTITY: 9} for s in skus})
    assert all(r.ok for r in results)
    assert all(store.fake.stored(s).quantity == 9 for s in skus)  # type: ignore[union-attr]


def test_a_stock_adjustment_not_visible_yet_is_pending_not_confirmed() -> None:
    store = Store(BigCommerceFake(access_token=TOKEN, inventory_lag=2))
    sku = store.fake.seed(1)[0]
    listed = store.read()
    [result] = store.write({sku: {QUANTITY: 3, PRICE: usd("4.00")}}, listed)
    assert not result.ok and result.pending is not None and "inventory adjustment" in result.pending
    assert store.fake.adjustments[-1]["transaction_id"] in result.pending
    assert result.applied == {PRICE: usd("4.00")}, "only what the store showed"
    store.read()  # BigCommerce processes the adjustment a little later
    assert store.read()[sku].values[QUANTITY] == 3


def test_a_failed_first_request_raises_and_a_later_one_is_reported_per_sku() -> None:
    store = Store()
    store.fake.seed(1, variable=1, per_parent=1)
    listed = store.read()
    store.fake.faults.fail_next(503, count=6, match="/catalog/products")
    with pytest.raises(TransientError):
        store.write({"BC-0001": {PRICE: usd("1.00")}, "BC-V001-1": {PRICE: usd("1.00")}}, listed)
    store.fake.faults.fail_next(503, count=6, match="/catalog/variants")
    results = store.write(
        {"BC-0001": {PRICE: usd("2.00"), QUANTITY: 1}, "BC-V001-1": {PRICE: usd("2.00")}}, listed
    )
    assert results[0].applied == {PRICE: usd("2.00")} and "not sent" in (results[0].error or "")
    assert results[1].error_kind == Kind.RETRY.value and "gave up" in (results[1].error or "")
    assert store.fake.stored("BC-0001").quantity == 10  # type: ignore[union-attr]


# -- locations -------------------------------------------------------------------------------------
def test_multi_location_stock_is_read_and_written_per_location() -> None:
    fake = BigCommerceFake(access_token=TOKEN, locations=[1, 2, 3])
    store = Store(fake, locations={"1": ["warehouse"], "2": ["shop"]})
    skus = fake.seed(2, variable=1, per_parent=1)
    fake.set_stock(skus[0], 2, 4)
    listed = store.read()
    assert listed[skus[0]].values["quantity@1"] == 10 and listed[skus[0]].values["quantity@2"] == 4
    assert QUANTITY not in listed[skus[0]].values and "quantity@3" not in listed[skus[0]].values
    results = store.write({skus[0]: {"quantity@1": 6, "quantity@2": 1}, skus[2]: {"quantity@2": 8}}, listed)
    assert all(r.ok for r in results)
    assert dict(results[0].applied) == {"quantity@1": 6, "quantity@2": 1}
    assert (fake.stock(skus[0], 1), fake.stock(skus[0], 2), fake.stock(skus[2], 2)) == (6, 1, 8)
    [adjustment] = [r.json for r in fake.write_requests()]
    assert [i["location_id"] for i in adjustment["items"]] == [1, 2, 2], "grouped by location"
    assert store.read([skus[2]])[skus[2]].values["quantity@2"] == 8
    assert store.adapter.check() == "BigCommerce store fakestore: 3 products, locations 1, 2"


def test_a_location_the_store_does_not_have_is_named() -> None:
    store = Store(BigCommerceFake(access_token=TOKEN, locations=[1, 2]), locations={"1": ["a"], "7": ["b"]})
    store.fake.seed(1)
    with pytest.raises(
        PermanentError, match=r"location id\(s\) 7.*it has: 1 \(Location 1\), 2 \(Location 2\)"
    ):
        store.read()


def test_check_names_the_store_and_catches_a_wrong_default_location() -> None:
    store = Store()
    store.fake.seed(3, variable=1)
    assert store.adapter.check() == "BigCommerce store fakestore: 4 products, default location 1"
    other = Store(BigCommerceFake(access_token=TOKEN, locations=[1, 5], default_location=5))
    with pytest.raises(PermanentError, match="set default_location_id = 5"):
        other.adapter.check()


def test_a_revoked_token_is_an_auth_error_naming_the_header() -> None:
    store = Store()
    store.fake.seed(1)
    store.fake.revoke_credentials()
    with pytest.raises(AuthError, match="X-Auth-Token") as err:
        store.read()
    assert TOKEN not in str(err.value)


# -- the store quota -------------------------------------------------------------------------------
def test_the_quota_headers_pace_a_long_run_so_it_is_never_throttled() -> None:
    fake = BigCommerceFake(access_token=TOKEN, quota=20, window_ms=30_000)
    store = Store(fake)
    fake.clock = lambda: store.now
    skus = fake.seed(60)
    for sku in skus:  # 60 single reads: three windows' worth of quota
        store.read([sku])
    assert store.counters.get("bc.throttled", 0) == 0
    assert store.now >= 2 * 30, "the run was spread over the windows the quota allows"


def test_a_bigger_plan_quota_speeds_the_pacer_up() -> None:
    fake = BigCommerceFake(access_token=TOKEN, quota=450, window_ms=30_000)
    store = Store(fake)
    fake.clock = lambda: store.now
    store.fake.seed(1)
    store.adapter.check()
    assert store.adapter.client.pacer.rate == 15.0  # 450 per 30 s (Pro), not the Standard 5/s


def test_a_429_waits_for_the_window_to_reset() -> None:
    fake = BigCommerceFake(access_token=TOKEN, quota=2, window_ms=10_000)
    store = Store(fake)
    fake.clock = lambda: store.now
    fake.seed(1)
    fake.spend_quota(2)  # another app used the window up
    store.read()
    assert store.counters["bc.throttled"] == 1
    assert 10.0 in store.sleeps


# -- a whole push through the engine --------------------------------------------------------------
def _catalog_csv(fake: BigCommerceFake, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sku", "title", "description", "price", "currency", "quantity"])
        for sku in fake.skus():
            s = fake.stored(sku)
            assert s is not None
            w.writerow([sku, s.title, s.description, s.price, "USD", s.quantity])


def test_a_1000_sku_push_with_5_percent_changed_makes_the_fewest_write_calls(tmp_path: Path) -> None:
    from omnisync.catalog import import_csv, init_catalog, open_catalog
    from omnisync.config import load_config
    from omnisync.engine import Engine

    now = [0.0]
    fake = BigCommerceFake(access_token=TOKEN, quota=450, clock=lambda: now[0])
    simple = fake.seed(900)
    variants = fake.seed(0, variable=25, per_parent=4)
    assert len(simple) + len(variants) == 1000
    # the catalog differs from the store in 50 SKUs: 20 product prices, 12 variant prices, 30 stocks
    # (16 of them also a price), 4 product titles
    price_products, price_variants = simple[:20], variants[:12]
    stock = simple[10:30] + variants[6:16]
    titles = simple[500:504]
    _catalog_csv(fake, tmp_path / "catalog.csv")
    rows = list(csv.reader((tmp_path / "catalog.csv").open(encoding="utf-8")))
    for row in rows[1:]:
        if row[0] in price_products or row[0] in price_variants:
            row[3] = "24.99"
        if row[0] in stock:
            row[5] = "3"
        if row[0] in titles:
            row[1] = f"{row[1]} (new)"
    with (tmp_path / "catalog.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    changed = set(price_products) | set(price_variants) | set(stock) | set(titles)
    assert len(changed) == 50
    init_catalog(tmp_path / "catalog.db")
    db = open_catalog(tmp_path / "catalog.db")
    import_csv(db, tmp_path / "catalog.csv")
    db.close()
    (tmp_path / "channels.toml").write_text(
        'catalog = "catalog.db"\nstate = "state.db"\n\n[channels.bc]\ntype = "bigcommerce"\n'
        'base_url = "https://bc.test"\nstore_hash = "fakestore"\naccess_token_env = "BC_TOKEN"\n'
        'currency = "USD"\n'
    )
    env = {"BC_TOKEN": TOKEN}
    config = load_config(tmp_path / "channels.toml", env=env)
    logs: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    engine = Engine(config, env=env, log=logs.append, transport=fake.transport(), sleep=sleep)
    report = engine.run("push", apply=True)
    assert report.exit_code == 0, report.to_json()
    assert report.plan.change_count == len(price_products) + len(price_variants) + len(stock) + len(titles)

    writes: dict[str, int] = {}
    for r in fake.write_requests():
        writes[r.path.split("/v3", 1)[1]] = writes.get(r.path.split("/v3", 1)[1], 0) + 1
    product_writes = len(set(price_products) | set(titles))
    assert writes == {
        "/catalog/products": math.ceil(product_writes / 10),
        "/catalog/variants": math.ceil(len(price_variants) / 50),
        "/inventory/adjustments/absolute": math.ceil(len(stock) / 2000),
    }
    assert all(fake.stored(s).quantity == 3 for s in stock)  # type: ignore[union-attr]
    assert all(fake.stored(s).price == "24.99" for s in price_products + price_variants)  # type: ignore[union-attr]
    assert TOKEN not in "\n".join(logs)

    before = len(fake.write_requests())
    again = Engine(config, env=env, log=logs.append, transport=fake.transport(), sleep=sleep)
    second = again.run("push", apply=True)
    assert second.plan.change_count == 0 and len(fake.write_requests()) == before


# -- spec conformance of what the contract suite does not exercise ---------------------------------
@pytest.mark.spec
def test_multi_location_selective_reads_and_checks_conform_to_the_spec() -> None:
    specs = bigcommerce_spec()
    sent: list[RecordedRequest] = []
    fake = BigCommerceFake(access_token=TOKEN, locations=[1, 2], inventory_lag=1)
    multi = Store(fake, sent=sent, locations={"1": ["warehouse"], "2": ["shop"]})
    skus = fake.seed(3, variable=2, per_parent=2)
    multi.adapter.check()
    listed = multi.read()
    multi.read([skus[0], "BC-V002-1", "NOPE"])
    fake.set_tracking(skus[1], "variant")
    multi.write({s: {"quantity@1": 2, "quantity@2": 3, PRICE: usd("5.55")} for s in skus}, listed)
    single = Store(sent=sent)
    single.fake.seed(2, variable=1, per_parent=1)
    single.adapter.check()
    single.read(["BC-V001-1", "BC-0002"])
    single.write({"BC-0001": {QUANTITY: 1, TITLE: "T", DESCRIPTION: "D"}, "BC-V001-1": {PRICE: usd("1.00")}})
    paths = {r.path.split("/v3", 1)[1] for r in sent}
    assert {"/inventory/items", "/inventory/locations", "/catalog/variants"} <= paths
    assert_conforms(v for r in sent for v in specs.violations(r))


def test_the_fake_serves_the_adapter_over_loopback() -> None:
    from tests.fakes.server import FakeServer

    fake = BigCommerceFake(access_token=TOKEN)
    skus = fake.seed(30, variable=1, per_parent=3)
    with FakeServer(fake) as server:
        ctx = ChannelContext(env={"T": TOKEN}, sleep=lambda s: None)
        cfg = BigCommerceConfig(
            name="bc",
            type="bigcommerce",
            base_url=server.url,
            store_hash="fakestore",
            access_token_env="T",
            currency="USD",
        )
        ch = BigCommerceChannel(cfg, ctx)
        listed = {r.sku: r for r in ch.read()}
        items = [
            WriteItem(
                sku=s, values=frozen({QUANTITY: 2}), listing=Listing(s, frozen({})), key=s, remote=listed[s]
            )
            for s in skus
        ]
        results = ch.write(items)
        ch.close()
    assert len(listed) == len(skus) and all(r.ok for r in results)
    assert all(fake.stored(s).quantity == 2 for s in skus)  # type: ignore[union-attr]
