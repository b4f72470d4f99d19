"""Shopify adapter behaviour beyond the shared contract (tests/contract): config, API versions and
compare-and-set, cost-based throttling, bulk reads, duplicate SKUs, the title policy for products
with several variants, multi-location stock, client credentials, and two pushes through the Engine
(the write-call budget of a 1,000-SKU push, and a sale made on Shopify during a run)."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

import pydantic
import pytest
from tests.fakes.base import Faults, LoggedRequest
from tests.fakes.server import FakeServer
from tests.fakes.shopify import (
    SCHEMA_GAP,
    BulkOp,
    CostBucket,
    ShopifyFake,
    query_cost,
    schema_for,
    shopify_spec,
    shopify_violations,
)
from tests.spec_check import RecordedRequest, RecordingTransport

from omnisync.catalog import import_csv, init_catalog, open_catalog, read_products
from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.channels.shopify import (
    ShopifyChannel,
    ShopifyConfig,
    read_page_size,
    variant_node_cost,
)
from omnisync.config import load_config
from omnisync.engine import Engine
from omnisync.errors import AuthError, Kind, PermanentError, TransientError
from omnisync.models import (
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    Listing,
    RemoteListing,
    Value,
    WriteItem,
    frozen,
)
from omnisync.money import Money

# Shopify's side of the adapter contract: `pytest -m "contract or spec" -k shopify` runs it with the
# shared suite (the spec-conformance tests below are marked `spec` as well).
pytestmark = pytest.mark.contract

TOKEN = "shpat_test_0123456789abcdef0123456789ab"
CLIENT_ID = "test-client-id-0123456789"
CLIENT_SECRET = "shpss_test_fedcba9876543210fedcba98"
BASE = "https://omnisync-test.myshopify.com"
ENV = {"SHOPIFY_TOKEN": TOKEN, "SHOPIFY_CLIENT_ID": CLIENT_ID, "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET}


class Clock:
    """Virtual seconds: the fake's cost bucket refills as the adapter's injected sleeps pass."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 4))
        self.now += seconds


class Shop:
    def __init__(
        self,
        *,
        fake: ShopifyFake | None = None,
        clock: Clock | None = None,
        sink: list[RecordedRequest] | None = None,
        **cfg: Any,
    ) -> None:
        self.fake = fake or ShopifyFake(access_token=TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        self.clock = clock or Clock()
        self.logs: list[str] = []
        self.counters: dict[str, int] = {}
        transport: Any = self.fake.transport()
        if sink is not None:
            transport = RecordingTransport(transport, sink)
        self.ctx = ChannelContext(
            env=ENV,
            transport=transport,
            log=self.logs.append,
            verbose=True,
            sleep=self.clock.sleep,
            counters=self.counters,
            config_dir=Path("."),
        )
        raw = {
            "name": "shop",
            "type": "shopify",
            "base_url": BASE,
            "access_token_env": "SHOPIFY_TOKEN",
            **cfg,
        }
        self.cfg = ShopifyConfig.model_validate({k: v for k, v in raw.items() if v is not None})
        self.adapter = ShopifyChannel(self.cfg, self.ctx)
        self.remote: dict[str, RemoteListing] = {}

    def read(self, skus: list[str] | None = None) -> dict[str, RemoteListing]:
        got = {r.sku: r for r in self.adapter.read(skus=skus)}
        self.remote.update(got)
        return got

    def item(self, sku: str, values: dict[str, Value]) -> WriteItem:
        remote = self.remote.get(sku)
        expected = {
            k: remote.values[k] for k in values if k.startswith(QUANTITY) and remote and k in remote.values
        }
        return WriteItem(
            sku=sku,
            values=frozen(values),
            listing=Listing(sku, frozen(values)),
            key=uuid.uuid4().hex,
            expected=frozen(expected),
            remote=remote,
        )

    def write(self, values: dict[str, dict[str, Value]]) -> list[Any]:
        return self.adapter.write([self.item(s, v) for s, v in values.items()])

    def calls(self, word: str) -> list[LoggedRequest]:
        """GraphQL calls whose document contains ``word`` (e.g. a mutation's name)."""
        return [
            r for r in self.fake.requests if isinstance(r.json, dict) and word in str(r.json.get("query"))
        ]


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


# -- config ----------------------------------------------------------------------------------------
def test_the_registry_loads_the_adapter_and_its_config_model() -> None:
    cls = load("shopify")
    assert cls is ShopifyChannel and cls.Config is ShopifyConfig


@pytest.mark.parametrize(
    "change, message",
    [
        ({"base_url": None}, "set shop"),
        ({"client_id_env": "ID", "client_secret_env": "SECRET"}, "not both"),
        ({"access_token_env": None}, "set access_token_env"),
        ({"api_version": "2026-02"}, "not a Shopify API version"),
        ({"locations": {"warehouse": ["a"]}}, "not a Shopify location id"),
        ({"max_write_batch": 251}, "less than or equal to 250"),
        ({"access_token": "shpat_inline"}, "Extra inputs are not permitted"),
        ({"shop": "my store!"}, "not a shop name"),
    ],
)
def test_config_mistakes_are_refused(change: dict[str, Any], message: str) -> None:
    raw = {"name": "shop", "type": "shopify", "base_url": BASE, "access_token_env": "T", **change}
    with pytest.raises(pydantic.ValidationError, match=message):
        ShopifyConfig.model_validate({k: v for k, v in raw.items() if v is not None})


def test_the_shop_name_gives_the_real_address() -> None:
    cfg = ShopifyConfig(
        name="s", type="shopify", shop="https://My-Store.myshopify.com/", access_token_env="T"
    )
    assert cfg.shop == "my-store" and cfg.root_url == "https://my-store.myshopify.com"
    assert cfg.api_version == "2026-04"


def test_a_page_holds_what_the_1000_point_ceiling_allows() -> None:
    assert read_page_size(1) == 199 and read_page_size(2) == 142
    for n in (1, 2, 3, 8):
        assert 2 + read_page_size(n) * variant_node_cost(n) <= 1000
    many = ShopifyConfig(
        name="s",
        type="shopify",
        shop="x",
        access_token_env="T",
        locations={"1": ["a"], "2": ["b"], "3": ["c"]},
        max_write_batch=100,
    )
    caps = ShopifyChannel.capabilities_for(many)
    assert caps.read_page_size == read_page_size(3) and caps.max_write_batch == 100
    assert caps.compare_and_set and caps.multi_location and caps.rate_limit_per_second is None


def test_the_adapters_read_query_costs_what_it_plans() -> None:
    """The fake charges Shopify's cost rules; a full page of the adapter's query is within 1000."""
    from graphql import parse

    from omnisync.channels.shopify import variants_query

    for n in (1, 3):
        doc = parse(variants_query(n))
        op = doc.definitions[0]
        cost = query_cost(schema_for("change"), doc, op, {"first": read_page_size(n)}, bulk=False)  # type: ignore[arg-type]
        assert cost == 2 + read_page_size(n) * variant_node_cost(n) <= 1000


# -- reading ---------------------------------------------------------------------------------------
def test_a_full_read_pages_with_cursors_at_the_cost_derived_size() -> None:
    shop = Shop()
    skus = shop.fake.seed(450, variable=2, per_parent=3)
    listed = shop.read()
    assert set(listed) == set(skus)
    pages = shop.calls("OmnisyncVariants")
    assert len(pages) == math.ceil(len(skus) / 199)
    assert [p.json["variables"]["first"] for p in pages] == [199] * len(pages)
    assert pages[0].json["variables"]["after"] is None and pages[1].json["variables"]["after"]
    assert shop.counters["shop.reads"] == len(shop.fake.requests) and "shop.writes" not in shop.counters
    group = listed["SH-V001-2"]
    assert group.values[TITLE] == "Group 1" and group.extra["single"] is False


def test_a_sku_on_two_variants_is_listed_empty_and_never_written() -> None:
    shop = Shop()
    skus = shop.fake.seed(2)
    shop.fake.add_product("Copy", [skus[0]])
    listed = shop.read()
    assert dict(listed[skus[0]].values) == {} and len(listed[skus[0]].extra["duplicates"]) == 2
    assert any(f"SKU {skus[0]} is on 2 variants" in line for line in shop.logs)
    first, second = shop.write({skus[0]: {QUANTITY: 1, PRICE: usd("1.00")}, skus[1]: {QUANTITY: 1}})
    assert not first.ok and first.error_kind == Kind.PERMANENT.value
    assert "2 Shopify variants" in (first.error or "") and "unique" in (first.error or "")
    assert second.ok
    assert [v.price for v in shop.fake.variants.values() if v.sku == skus[0]] == ["19.99", "19.99"]


def test_untracked_inventory_has_no_quantity_and_is_not_written() -> None:
    shop = Shop()
    sku = shop.fake.seed(1)[0]
    shop.fake.item_of(sku).tracked = False
    remote = shop.read()[sku]
    assert QUANTITY not in remote.values
    [result] = shop.write({sku: {QUANTITY: 4, PRICE: usd("2.50")}})
    assert not result.ok and "Track quantity" in (result.error or "")
    assert dict(result.applied) == {PRICE: usd("2.50")}
    assert not shop.calls("inventorySetQuantities")


def test_stock_per_configured_location() -> None:
    fake = ShopifyFake(access_token=TOKEN)
    warehouse = fake.add_location("Warehouse")
    skus = fake.seed(3)
    fake.stock_at(skus[0], warehouse, 4)
    primary = str(fake.primary)
    shop = Shop(fake=fake, locations={primary: ["store"], str(warehouse): ["warehouse"]})
    assert shop.adapter.capabilities.read_page_size == 142
    listed = shop.read()
    assert dict(listed[skus[0]].values) == {
        f"quantity@{primary}": 10,
        f"quantity@{warehouse}": 4,
        PRICE: usd("19.99"),
        TITLE: "Product 1",
        DESCRIPTION: "Description of product 1.",
    }
    assert f"quantity@{warehouse}" not in listed[skus[1]].values  # not stocked there
    results = shop.write(
        {
            skus[0]: {f"quantity@{warehouse}": 7},
            skus[1]: {f"quantity@{warehouse}": 7, f"quantity@{primary}": 2},
        }
    )
    assert results[0].ok and dict(results[0].applied) == {f"quantity@{warehouse}": 7}
    assert not results[1].ok and f"not stocked at location {warehouse}" in (results[1].error or "")
    assert dict(results[1].applied) == {f"quantity@{primary}": 2}
    assert fake.quantity(skus[0], warehouse) == 7 and fake.quantity(skus[1], fake.primary) == 2


def test_a_configured_location_the_shop_does_not_have_is_named() -> None:
    shop = Shop(locations={"999": ["store"]})
    shop.fake.seed(1)
    with pytest.raises(PermanentError, match="no location 999"):
        shop.read()


# -- bulk reads ------------------------------------------------------------------------------------
def test_a_large_catalog_is_read_with_a_bulk_operation() -> None:
    fake = ShopifyFake(access_token=TOKEN, bulk_polls=4)
    fake.storage_url = "https://storage.example.test"
    skus = fake.seed(30, variable=2, per_parent=2)
    paged = {r.sku: r.values for r in Shop(fake=fake).adapter.read()}
    fake.requests.clear()
    shop = Shop(fake=fake, bulk_threshold=20)
    bulk = shop.read()
    assert {s: r.values for s, r in bulk.items()} == paged and set(bulk) == set(skus)
    assert len(shop.calls("bulkOperationRunQuery")) == 1 and not shop.calls("OmnisyncVariants")
    assert len(shop.calls("OmnisyncBulkStatus")) == 4
    assert shop.clock.sleeps == [1.0, 2.0, 4.0]  # growing pauses between polls, held by the pacer
    [download] = [r for r in fake.requests if r.method == "GET"]
    assert download.path.startswith("/shopify-bulk-results/")
    assert "x-shopify-access-token" not in download.headers, "the token never leaves Shopify"
    assert not any("Signature" in line for line in shop.logs)


def test_a_bulk_operation_already_running_falls_back_to_pages() -> None:
    shop = Shop(bulk_threshold=1, api_version="2025-10")
    skus = shop.fake.seed(5)
    shop.fake.bulk_ops[1] = BulkOp(1, "{ products { edges { node { id } } } }", "2025-10", status="RUNNING")
    assert set(shop.read()) == set(skus)
    assert any("bulk read not started" in line and "already in progress" in line for line in shop.logs)
    assert shop.calls("OmnisyncVariants")


# -- API versions and compare-and-set --------------------------------------------------------------
@pytest.mark.parametrize("version, idempotent", [("2025-10", False), ("2026-01", True), ("2026-04", True)])
def test_stock_writes_use_the_versions_compare_and_set(version: str, idempotent: bool) -> None:
    shop = Shop(api_version=version)
    skus = shop.fake.seed(2)
    shop.read()
    results = shop.write({s: {QUANTITY: 4} for s in skus})
    assert all(r.ok and r.applied[QUANTITY] == 4 for r in results)
    [call] = shop.calls("inventorySetQuantities")
    rows = call.json["variables"]["input"]["quantities"]
    assert call.path == f"/admin/api/{version}/graphql.json"
    if idempotent:
        assert "@idempotent(key: $idempotencyKey)" in call.json["query"]
        assert uuid.UUID(call.json["variables"]["idempotencyKey"])
        assert all(r["changeFromQuantity"] == 10 and "compareQuantity" not in r for r in rows)
    else:
        assert "@idempotent" not in call.json["query"]
        assert all(r["compareQuantity"] == 10 and "changeFromQuantity" not in r for r in rows)


def test_before_2026_a_write_that_may_have_been_applied_is_not_sent_again() -> None:
    shop = Shop(api_version="2025-10")
    sku = shop.fake.seed(1)[0]
    shop.read()
    shop.fake.faults.fail_next(kind="timeout", applied=True, match="graphql")
    with pytest.raises(TransientError, match="timed out"):
        shop.write({sku: {QUANTITY: 3}})
    assert len(shop.calls("inventorySetQuantities")) == 1  # left to the journal to reconcile
    assert shop.fake.stored(sku).quantity == 3  # type: ignore[union-attr]


def test_a_stale_row_is_a_conflict_and_the_rest_is_sent_again_with_a_new_key() -> None:
    shop = Shop()
    skus = shop.fake.seed(3)
    shop.read()
    shop.fake.sell_before_next_write(skus[1], 2)
    results = shop.write({s: {QUANTITY: 5} for s in skus})
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_kind == Kind.CONFLICT.value and "not overwritten" in (results[1].error or "")
    assert [shop.fake.stored(s).quantity for s in skus] == [5, 8, 5]  # type: ignore[union-attr]
    calls = shop.calls("inventorySetQuantities")
    assert [len(c.json["variables"]["input"]["quantities"]) for c in calls] == [3, 2]
    keys = {c.json["variables"]["idempotencyKey"] for c in calls}
    assert len(keys) == 2, "other variables, other idempotency key"


def test_a_re_sent_write_compares_with_what_this_adapter_confirmed() -> None:
    """The engine's items carry the quantity read; after this adapter set it, that read is stale
    because of its own write, not a sale: it compares with the value it confirmed."""
    shop = Shop()
    sku = shop.fake.seed(1)[0]
    shop.read()
    assert shop.write({sku: {QUANTITY: 4}})[0].ok
    [again] = shop.write({sku: {QUANTITY: 6}})
    assert again.ok and again.applied[QUANTITY] == 6
    shop.fake.sell(sku, 1)
    [after_sale] = shop.write({sku: {QUANTITY: 9}})
    assert after_sale.error_kind == Kind.CONFLICT.value and shop.fake.stored(sku).quantity == 5  # type: ignore[union-attr]


# -- throttling ------------------------------------------------------------------------------------
def test_pacing_follows_the_cost_bucket_so_reads_are_never_throttled() -> None:
    clock = Clock()
    fake = ShopifyFake(
        access_token=TOKEN, bucket=CostBucket(maximum=1000, restore_rate=100, enforce=True, clock=clock)
    )
    skus = fake.seed(500)
    shop = Shop(fake=fake, clock=clock)
    assert set(shop.read()) == set(skus)
    assert shop.counters.get("shop.throttled", 0) == 0
    # each 997-point page leaves the bucket short of the next one: (997 - available) / 100 s
    # shop and count queries cost 3; each page asks 997 of the 1000-point bucket (restoring 100/s),
    # so the pacer holds the next page until the bucket holds 997 again and a point to spare
    # (the spare point is still there after the second page, so the second wait is 0.01 s shorter)
    assert clock.sleeps == [9.98, 9.97]


@pytest.mark.parametrize("status", [200, 429])
def test_a_throttled_call_is_retried_after_the_bucket_refills(status: int) -> None:
    clock = Clock()
    fake = ShopifyFake(
        access_token=TOKEN,
        throttle_status=status,
        bucket=CostBucket(maximum=2000, restore_rate=100, enforce=True, clock=clock),
    )
    skus = fake.seed(10)
    shop = Shop(fake=fake, clock=clock)
    shop.read()
    fake.bucket.available = 101  # Shopify lowered the limit, or another call drained it
    listed = shop.read()  # a 1-point count query, then a 997-point page: THROTTLED
    assert set(listed) == set(skus)
    assert shop.counters["shop.throttled"] == 1 and shop.counters["shop.retries"] == 1
    assert clock.sleeps == [(997 - 100 + 1) / 100]


# -- writes: prices, titles, errors ----------------------------------------------------------------
def test_prices_of_many_products_go_in_one_call_and_fail_per_variant() -> None:
    shop = Shop()
    skus = shop.fake.seed(40, variable=1, per_parent=3)
    shop.read()
    shop.fake.reject("SH-V001-2", "Variant is locked by another app.")
    results = shop.write({s: {PRICE: usd("7.25")} for s in skus})
    assert len(shop.calls("productVariantsBulkUpdate")) == 1
    failed = [r for r in results if not r.ok]
    assert [r.sku for r in failed] == ["SH-V001-2"] and "locked by another app" in (failed[0].error or "")
    assert all(r.applied[PRICE] == usd("7.25") for r in results if r.ok)
    assert shop.fake.stored("SH-V001-3").price == "7.25"  # type: ignore[union-attr]


def test_a_products_title_is_written_when_all_its_variants_agree() -> None:
    shop = Shop()
    skus = shop.fake.seed(0, variable=1, per_parent=3)
    shop.read()
    results = shop.write({s: {TITLE: "Organic tee", DESCRIPTION: "Soft."} for s in skus})
    assert all(r.ok and dict(r.applied) == {TITLE: "Organic tee", DESCRIPTION: "Soft."} for r in results)
    [call] = shop.calls("productUpdate")
    assert call.json["variables"]["u0"]["title"] == "Organic tee"


@pytest.mark.parametrize(
    "titles, reason",
    [
        ({"SH-V001-1": "Tee S", "SH-V001-2": "Tee M", "SH-V001-3": "Tee L"}, "ask for different values"),
        ({"SH-V001-1": "Tee", "SH-V001-2": "Tee"}, "other variants (SH-V001-3)"),
    ],
)
def test_variants_that_disagree_on_their_products_title_never_rename_it(
    titles: dict[str, str], reason: str
) -> None:
    shop = Shop()
    shop.fake.seed(0, variable=1, per_parent=3)
    shop.read()
    results = shop.write({s: {TITLE: t, QUANTITY: 3} for s, t in titles.items()})
    assert all(
        not r.ok and r.error_kind == Kind.PERMANENT.value and reason in (r.error or "") for r in results
    )
    assert all(dict(r.applied) == {QUANTITY: 3} for r in results), "the other fields are written"
    assert not shop.calls("productUpdate") and shop.fake.stored("SH-V001-1").title == "Group 1"  # type: ignore[union-attr]


def test_a_refused_product_update_is_reported_for_its_sku() -> None:
    shop = Shop()
    skus = shop.fake.seed(2)
    shop.read()
    results = shop.write({skus[0]: {TITLE: ""}, skus[1]: {TITLE: "Fine"}})
    assert not results[0].ok and "Title can't be blank" in (results[0].error or "")
    assert results[1].ok and results[1].applied[TITLE] == "Fine"


def test_a_write_without_a_prior_read_looks_the_skus_up() -> None:
    shop = Shop()
    skus = shop.fake.seed(3)
    results = shop.adapter.write(
        [WriteItem(s, frozen({PRICE: usd("3.00")}), Listing(s, frozen({})), "k") for s in [*skus, "GHOST"]]
    )
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].error_kind == Kind.NOT_FOUND.value


# -- auth ------------------------------------------------------------------------------------------
def test_client_credentials_get_a_token_and_refresh_it_once_after_a_401() -> None:
    shop = Shop(
        access_token_env=None, client_id_env="SHOPIFY_CLIENT_ID", client_secret_env="SHOPIFY_CLIENT_SECRET"
    )
    skus = shop.fake.seed(2)
    assert set(shop.read()) == set(skus)
    tokens = [r for r in shop.fake.requests if r.path == "/admin/oauth/access_token"]
    assert len(tokens) == 1
    [issued] = shop.fake.issued
    assert shop.fake.requests[1].headers["x-shopify-access-token"] == issued
    shop.fake.expire_token()
    assert set(shop.read()) == set(skus)
    assert len([r for r in shop.fake.requests if r.path == "/admin/oauth/access_token"]) == 2
    assert not any(issued in line or CLIENT_SECRET in line for line in shop.logs)


def test_a_revoked_app_is_an_auth_error_naming_shopifys_reason() -> None:
    shop = Shop(
        access_token_env=None, client_id_env="SHOPIFY_CLIENT_ID", client_secret_env="SHOPIFY_CLIENT_SECRET"
    )
    shop.fake.revoke_credentials()
    with pytest.raises(AuthError, match="Client authentication failed"):
        shop.read()


def test_check_names_the_shop_version_and_currency() -> None:
    shop = Shop()
    assert shop.adapter.check() == (
        "Shopify shop 'Omnisync Test Shop' (omnisync-test.myshopify.com), Admin API 2026-04, sells in USD"
    )


# -- faults and real sockets -----------------------------------------------------------------------
def test_a_push_through_5xx_and_429_storms_converges() -> None:
    fake = ShopifyFake(
        access_token=TOKEN, seed=3, faults=Faults.parse("5xx=0.2,storm=0.05,storm_length=3,retry_after=0")
    )
    skus = fake.seed(300, variable=3, per_parent=4)
    shop = Shop(fake=fake)
    listed = shop.read()
    results = shop.write({s: {QUANTITY: 2, PRICE: usd("5.00")} for s in listed})
    assert len(results) == len(skus) and all(r.ok for r in results)
    assert all(v["quantity"] == 2 and v["price"] == "5.00" for v in fake.state().values())
    faulted = [r for r in fake.requests if r.fault]
    assert faulted and shop.counters["shop.retries"] == len(faulted)
    assert [n for n in fake.batch_sizes() if n] and max(fake.batch_sizes()) <= 250


def test_the_adapter_reads_in_bulk_and_writes_over_loopback() -> None:
    fake = ShopifyFake(access_token=TOKEN)
    skus = fake.seed(40, variable=2, per_parent=3)
    with FakeServer(fake) as server:
        ctx = ChannelContext(env=ENV, sleep=lambda s: None)
        cfg = ShopifyConfig(
            name="shop",
            type="shopify",
            base_url=server.url,
            access_token_env="SHOPIFY_TOKEN",
            bulk_threshold=10,
        )
        ch = ShopifyChannel(cfg, ctx)
        listed = {r.sku: r for r in ch.read()}
        results = ch.write(
            [
                WriteItem(
                    s,
                    frozen({QUANTITY: 3}),
                    Listing(s, frozen({})),
                    uuid.uuid4().hex,
                    expected=frozen({QUANTITY: 10}),
                    remote=listed[s],
                )
                for s in skus
            ]
        )
        ch.close()
    assert set(listed) == set(skus) and all(r.ok for r in results)
    assert [r.path.split("/")[1] for r in fake.requests if r.method == "GET"] == ["shopify-bulk-results"]
    assert all(fake.stored(s).quantity == 3 for s in skus)  # type: ignore[union-attr]


# -- through the engine ----------------------------------------------------------------------------
def _workspace(tmp_path: Path, rows: list[dict[str, str]]) -> tuple[Any, Path]:
    header = ["sku", "group_key", "title", "description", "price", "currency", "quantity"]
    csv = tmp_path / "catalog.csv"
    csv.write_text(",".join(header) + "\n" + "".join(",".join(r[h] for h in header) + "\n" for r in rows))
    init_catalog(tmp_path / "catalog.db")
    db = open_catalog(tmp_path / "catalog.db")
    import_csv(db, csv)
    db.close()
    (tmp_path / "channels.toml").write_text(
        'catalog = "catalog.db"\nstate = "state.db"\n\n[channels.shop]\ntype = "shopify"\n'
        f'base_url = "{BASE}"\naccess_token_env = "SHOPIFY_TOKEN"\n'
    )
    return load_config(tmp_path / "channels.toml", env=ENV), csv


def _rows(fake: ShopifyFake) -> list[dict[str, str]]:
    out = []
    for v in sorted(fake.variants.values(), key=lambda v: v.sku):
        p = fake.products[v.product]
        group = f"G{p.num}" if len(p.variants) > 1 else ""
        out.append(
            {
                "sku": v.sku,
                "group_key": group,
                "title": p.title,
                "description": p.description,
                "price": v.price,
                "currency": "USD",
                "quantity": str(fake.stored(v.sku).quantity),
            }
        )  # type: ignore[union-attr]
    return out


def _engine(config: Any, fake: ShopifyFake, logs: list[str]) -> Engine:
    return Engine(config, env=ENV, log=logs.append, transport=fake.transport(), sleep=lambda s: None)


def test_a_1000_sku_push_with_5_percent_changed_uses_the_fewest_write_calls(tmp_path: Path) -> None:
    fake = ShopifyFake(access_token=TOKEN)
    fake.seed(900, variable=25, per_parent=4)
    rows = _rows(fake)
    assert len(rows) == 1000
    config, csv = _workspace(tmp_path, rows)
    logs: list[str] = []
    first = _engine(config, fake, logs).run("push", apply=True)
    assert first.exit_code == 0 and first.plan.change_count == 0
    changed = [r for r in rows if not r["group_key"]][::18][:50]
    for r in changed:  # 5%: new stock, price and title on 50 SKUs
        r.update(quantity=str(int(r["quantity"]) + 5), price="24.50", title=r["title"] + " (new)")
    csv.write_text(
        csv.read_text().splitlines()[0]
        + "\n"
        + "".join(
            ",".join(
                r[h] for h in ["sku", "group_key", "title", "description", "price", "currency", "quantity"]
            )
            + "\n"
            for r in rows
        )
    )
    db = open_catalog(tmp_path / "catalog.db")
    import_csv(db, csv)
    db.close()
    fake.requests.clear()
    report = _engine(config, fake, logs).run("push", apply=True)
    assert report.exit_code == 0, report.to_json()
    assert report.plan.change_count == 150 and report.channels["shop"].count("ok") == 150
    budget = math.ceil(len(changed) / 250)
    for mutation in ("inventorySetQuantities", "productVariantsBulkUpdate", "productUpdate"):
        calls = [r for r in fake.requests if mutation in str((r.json or {}).get("query"))]
        assert len(calls) <= budget, (mutation, len(calls))
    for r in changed:
        stored = fake.stored(r["sku"])
        assert stored is not None and (stored.quantity, stored.price, stored.title) == (
            int(r["quantity"]),
            "24.50",
            r["title"],
        )
    again = _engine(config, fake, logs).run("plan")
    assert again.plan.change_count == 0, "re-planning after the push finds nothing to do"


def test_a_sale_on_shopify_during_a_push_is_re_read_and_re_planned(tmp_path: Path) -> None:
    fake = ShopifyFake(access_token=TOKEN)
    skus = fake.seed(3, quantity=10)
    rows = _rows(fake)
    for r in rows:
        r["quantity"] = "12"
    config, csv = _workspace(tmp_path, rows)
    logs: list[str] = []
    assert _engine(config, fake, logs).run("push", apply=True).exit_code == 0  # Shopify: 12, base 12
    for r in rows:
        r["quantity"] = "15"  # the seller restocks 3 units
    csv.write_text(
        csv.read_text().splitlines()[0]
        + "\n"
        + "".join(
            ",".join(
                r[h] for h in ["sku", "group_key", "title", "description", "price", "currency", "quantity"]
            )
            + "\n"
            for r in rows
        )
    )
    db = open_catalog(tmp_path / "catalog.db")
    import_csv(db, csv)
    db.close()
    fake.sell_before_next_write(skus[1], 4)  # a shopper buys 4 between omnisync's read and write
    report = _engine(config, fake, logs).run("push", apply=True)
    assert report.exit_code == 0, report.to_json()
    assert any("re-reading and re-planning" in line for line in logs)
    stock = [fake.stored(s).quantity for s in skus]  # type: ignore[union-attr]
    assert stock == [15, 11, 15], "the sale was never overwritten"
    db = open_catalog(tmp_path / "catalog.db")
    catalog = {p.sku: p.total_stock for p in read_products(db)}
    db.close()
    assert catalog == {skus[0]: 15, skus[1]: 11, skus[2]: 15}
    assert fake.sold == {skus[1]: 4}
    assert _engine(config, fake, logs).run("plan").plan.change_count == 0


# -- spec conformance ------------------------------------------------------------------------------
def _exercise(version: str, sink: list[RecordedRequest]) -> None:
    shop = Shop(api_version=version, sink=sink, bulk_threshold=3)
    skus = shop.fake.seed(5, variable=1, per_parent=2)
    shop.adapter.check()
    shop.read()
    shop.read([skus[0], "NOPE"])
    shop.write(
        {
            skus[0]: {QUANTITY: 2, PRICE: usd("3.10"), TITLE: "T", DESCRIPTION: "D"},
            skus[-1]: {QUANTITY: 1, TITLE: "Group"},
        }
    )


@pytest.mark.spec
def test_every_2025_call_validates_as_is_against_the_saved_schema() -> None:
    spec = shopify_spec()
    sink: list[RecordedRequest] = []
    _exercise("2025-01", sink)
    graphql = [r for r in sink if r.path.endswith("graphql.json")]
    assert any("inventorySetQuantities" in json.loads(r.body)["query"] for r in graphql)
    assert [p for r in graphql for p in spec.request_violations(r)] == []
    assert [p for r in sink for p in shopify_violations(spec, r)] == []


@pytest.mark.spec
def test_2026_calls_validate_where_the_schema_covers_them() -> None:
    spec = shopify_spec()
    sink: list[RecordedRequest] = []
    _exercise("2026-04", sink)
    assert [p for r in sink for p in shopify_violations(spec, r)] == []


@pytest.mark.spec
@pytest.mark.xfail(strict=True, reason=SCHEMA_GAP)
def test_the_2026_inventory_call_validates_against_the_saved_schema() -> None:
    spec = shopify_spec()
    sink: list[RecordedRequest] = []
    _exercise("2026-04", sink)
    [call] = [r for r in sink if b"inventorySetQuantities" in r.body]
    assert spec.request_violations(call) == []
