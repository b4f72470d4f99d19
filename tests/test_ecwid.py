"""Ecwid adapter behaviour beyond the shared contract (tests/contract): config and auth, the
combination mapping, exact prices, selective reads, the asynchronous batch (tickets, polling,
read-back, pending), per-item outcomes, Ecwid's throttle, a whole push through the engine, and the
documented-shape check that stands in for the spec Ecwid does not publish."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from tests.fakes.base import Faults, Sales
from tests.fakes.ecwid import EcwidFake
from tests.fakes.server import FakeServer

from omnisync.catalog import import_csv, init_catalog, open_catalog
from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.channels.ecwid import EcwidChannel, EcwidConfig
from omnisync.config import load_config
from omnisync.engine import Engine
from omnisync.errors import AuthError, ConfigError, Kind, PermanentError
from omnisync.http import api_calls
from omnisync.models import (
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    Listing,
    RemoteListing,
    WriteItem,
    frozen,
)
from omnisync.money import Money

TOKEN = "secret_CANARYtest4f1e9d2c7b3a5e8f0d6c1b9a7e3f5d2c"
STORE = 1003
API = f"/api/v3/{STORE}"
BATCH = 500  # Ecwid's sub-requests per POST /batch


class Store:
    """An adapter wired to a fake store, with the sleeps it asked for and its log."""

    def __init__(
        self,
        *,
        fake: EcwidFake | None = None,
        env: dict[str, str] | None = None,
        transport: Any = "fake",
        sleep: Any = None,
        **cfg: Any,
    ) -> None:
        self.fake = fake or EcwidFake(token=TOKEN, store_id=STORE)
        self.sleeps: list[float] = []
        self.logs: list[str] = []
        self.counters: dict[str, int] = {}
        raw = {
            "name": "ecwid",
            "type": "ecwid",
            "base_url": "https://shop.test",
            "store_id": STORE,
            "token_env": "ECWID_TOKEN",
            **cfg,
        }
        self.cfg = EcwidConfig.model_validate(raw)
        self.ctx = ChannelContext(
            env=env if env is not None else {"ECWID_TOKEN": TOKEN},
            transport=self.fake.transport() if transport == "fake" else transport,
            log=self.logs.append,
            sleep=sleep or self.sleeps.append,
            counters=self.counters,
            verbose=True,
            config_dir=Path("."),
        )
        self.adapter = EcwidChannel(self.cfg, self.ctx)

    def read(self, skus: list[str] | None = None) -> dict[str, RemoteListing]:
        return {r.sku: r for r in self.adapter.read(skus=skus)}

    def item(
        self, sku: str, values: dict[str, Any], remote: RemoteListing | None = None, **kw: Any
    ) -> WriteItem:
        return WriteItem(
            sku=sku, values=frozen(values), listing=Listing(sku, frozen(values)), key="k", remote=remote, **kw
        )

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path.removeprefix(API)}" for r in self.fake.requests]

    def sub_requests(self) -> list[dict[str, Any]]:
        return [
            e
            for r in self.fake.requests
            if r.method == "POST" and r.path.endswith("/batch")
            for e in (r.json or [])
        ]


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


# -- config and auth -------------------------------------------------------------------------------
def test_the_registry_loads_the_adapter_and_its_config_model() -> None:
    cls = load("ecwid")
    assert cls is EcwidChannel and cls.Config is EcwidConfig


@pytest.mark.parametrize(
    "change, message",
    [
        ({"store_id": None}, "store_id"),
        ({"store_id": 0}, "greater than 0"),
        ({"token": "secret_inline"}, "Extra inputs are not permitted"),
        ({"currency": "XYZ"}, "ISO 4217"),
        ({"locations": {"1": ["warehouse"]}}, "stock_locations"),
        ({"auth": "oauth"}, "bearer"),
        ({"batch_wait_seconds": 0}, "greater than 0"),
    ],
)
def test_config_mistakes_are_refused(change: dict[str, Any], message: str) -> None:
    raw = {"name": "ecwid", "type": "ecwid", "store_id": STORE, "token_env": "T", **change}
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(pydantic.ValidationError, match=message):
        EcwidConfig.model_validate(raw)


def test_the_default_address_is_ecwids_api_with_the_store_id() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.copy_with(query=None)))
        return httpx.Response(200, json={"total": 0})

    cfg = EcwidConfig.model_validate(
        {"name": "ecwid", "type": "ecwid", "store_id": 4870020, "token_env": "T"}
    )
    ctx = ChannelContext(env={"T": TOKEN}, transport=httpx.MockTransport(record), sleep=lambda s: None)
    EcwidChannel(cfg, ctx).check()
    assert seen == ["https://app.ecwid.com/api/v3/4870020/products"]


def test_the_token_goes_in_a_bearer_header_by_default() -> None:
    store = Store(currency="USD")
    store.fake.seed(2)
    assert len(store.read()) == 2
    request = store.fake.requests[0]
    header_ok = request.headers.get("authorization") == f"Bearer {TOKEN}"
    assert header_ok and "token" not in request.query


def test_the_legacy_query_token_is_supported() -> None:
    store = Store(auth="query", currency="USD")
    store.fake.seed(2)
    assert len(store.read()) == 2
    request = store.fake.requests[0]
    query_ok = request.query.get("token") == [TOKEN]
    assert query_ok and "authorization" not in request.headers
    assert not any("token" in line for line in store.logs)


def test_a_missing_token_variable_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="ECWID_TOKEN"):
        Store(env={})


def test_a_revoked_token_is_an_auth_error_with_a_hint() -> None:
    store = Store(currency="USD")
    store.fake.revoke_credentials()
    with pytest.raises(AuthError, match="revoked") as err:
        store.read()
    assert err.value.status == 401 and len(store.fake.requests) == 1


def test_a_free_plan_store_gets_a_plan_hint() -> None:
    store = Store(currency="USD")
    store.fake.faults.fail_next(402, body={"errorMessage": "Please upgrade your account to access API"})
    with pytest.raises(PermanentError, match=r"upgrade your account.*free plan"):
        store.read()


# -- reading ---------------------------------------------------------------------------------------
def test_reads_pages_of_100_oldest_first_and_stops_at_the_total() -> None:
    store = Store()
    store.fake.seed(250)
    listed = store.read()
    assert len(listed) == 250
    assert store.calls() == ["GET /profile"] + ["GET /products"] * 3
    pages = [r for r in store.fake.requests if r.path.endswith("/products")]
    assert [p.query["offset"] for p in pages] == [["0"], ["100"], ["200"]]
    assert all(p.query["limit"] == ["100"] and p.query["sortBy"] == ["ADDED_TIME_ASC"] for p in pages)
    assert all("items(" in p.query["responseFields"][0] for p in pages)
    assert listed["EC-0001"].values[DESCRIPTION] == "<p>Description of product 1.</p>"


def test_an_empty_store_is_one_call() -> None:
    store = Store(currency="USD")
    assert store.read() == {} and store.calls() == ["GET /products"]


def test_the_currency_comes_from_the_profile_once_unless_configured() -> None:
    store = Store(fake=EcwidFake(token=TOKEN, store_id=STORE, currency="EUR"))
    sku = store.fake.seed(1)[0]
    assert store.read()[sku].values[PRICE] == Money.parse("19.99", "EUR")
    store.read()
    assert store.calls().count("GET /profile") == 1


def test_combinations_with_their_own_sku_are_listings() -> None:
    store = Store(currency="USD")
    store.fake.seed(1, variable=1, per_parent=3)
    parent, _ = store.fake.find("EC-P001") or (None, None)
    assert parent is not None
    parent.combinations[1].sku = None  # inherits the product's SKU: not a listing of its own
    parent.combinations[2].price = None  # inherits the product's price
    parent.combinations[2].quantity = None  # and draws on the product's stock
    parent.price = Decimal(30)
    listed = store.read()
    assert set(listed) == {"EC-0001", "EC-P001", "EC-P001-1", "EC-P001-3"}
    own, inheriting = listed["EC-P001-1"], listed["EC-P001-3"]
    assert own.values[TITLE] == "Variable 1" and own.values[PRICE] == usd("19.99")
    assert own.extra["combination_id"] == parent.combinations[0].id
    assert inheriting.values[PRICE] == usd("30.00") and QUANTITY not in inheriting.values
    # writing a quantity gives the combination a stock of its own
    [result] = store.adapter.write([store.item("EC-P001-3", {QUANTITY: 4}, inheriting)])
    assert result.ok and result.applied[QUANTITY] == 4
    assert parent.combinations[2].quantity == 4 and parent.quantity == 10


def test_unlimited_stock_reports_no_quantity_until_one_is_written() -> None:
    store = Store(currency="USD")
    sku = store.fake.seed(1)[0]
    product, _ = store.fake.find(sku) or (None, None)
    assert product is not None
    product.unlimited, product.quantity = True, None
    remote = store.read()[sku]
    assert QUANTITY not in remote.values
    [result] = store.adapter.write([store.item(sku, {QUANTITY: 5}, remote)])
    assert result.ok and result.applied[QUANTITY] == 5
    assert product.unlimited is False and product.quantity == 5


def test_prices_are_read_exactly_and_a_doubles_noise_is_rounded_away() -> None:
    store = Store(currency="USD")
    a, b, c = store.fake.seed(3)
    for sku, price in ((a, "19.990000000000002"), (b, "19.999"), (c, "1234567.89")):
        product, _ = store.fake.find(sku) or (None, None)
        assert product is not None
        product.price = Decimal(price)
    listed = store.read()
    assert listed[a].values[PRICE] == usd("19.99")
    assert PRICE not in listed[b].values
    assert any("19.999" in line and "unknown" in line for line in store.logs)
    assert listed[c].values[PRICE] == usd("1234567.89")


def test_selected_skus_cost_one_call_once_their_products_are_known() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(150, variable=2, per_parent=2)
    store.read()
    before = len(store.fake.requests)
    got = store.read([skus[0], skus[120], "EC-P002-2", "NO-SUCH-SKU"])
    assert set(got) == {skus[0], skus[120], "EC-P002-2"}
    # one ?productId= call for the known ones, one ?sku= lookup for the one never seen
    assert store.calls()[before:] == ["GET /products", "GET /products"]
    assert "productId" in store.fake.requests[before].query
    assert store.fake.requests[-1].query["sku"] == ["NO-SUCH-SKU"]


def test_a_few_unknown_skus_are_looked_up_one_by_one() -> None:
    store = Store(currency="USD")
    store.fake.seed(500, variable=1, per_parent=2)
    got = store.read(["EC-0007", "EC-P001-2"])
    assert set(got) == {"EC-0007", "EC-P001-2"}
    assert [r.query.get("sku") for r in store.fake.requests] == [["EC-0007"], ["EC-P001-2"]]


def test_many_unknown_skus_in_a_small_store_are_found_by_a_scan() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(150)
    wanted = skus[:40]
    assert set(store.read(wanted)) == set(wanted)
    assert len(store.fake.requests) == 1  # the first page held them all: no more pages, no lookups


# -- writing: the asynchronous batch ---------------------------------------------------------------
def test_a_batch_is_one_post_polled_until_complete_then_read_back() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(3)
    listed = store.read()
    results = store.adapter.write(
        [store.item(s, {QUANTITY: 7, PRICE: usd("12.50")}, listed[s]) for s in skus]
    )
    assert all(r.ok and dict(r.applied) == {QUANTITY: 7, PRICE: usd("12.50")} for r in results)
    assert store.calls()[1:] == ["POST /batch", "GET /batch", "GET /batch", "GET /products"]
    post = next(r for r in store.fake.requests if r.method == "POST")
    assert post.query["stopOnFirstFailure"] == ["false"]
    subs = store.sub_requests()
    assert [s["id"] for s in subs] == skus and all(s["method"] == "PUT" for s in subs)
    assert all(isinstance(s["body"], str) for s in subs), "Ecwid takes each sub-request body as a string"
    assert '"price":12.50' in subs[0]["body"], "money goes out as an exact JSON number"
    assert json.loads(subs[0]["body"])["unlimited"] is False
    assert store.sleeps[-2:] == [0.5, 1.0]  # waited on the client's clock between status requests
    read_back = store.fake.requests[-1]
    assert sorted(read_back.query["productId"][0].split(",")) == sorted(
        str(listed[s].extra["product_id"]) for s in skus
    )


def test_one_sku_is_one_plain_put() -> None:
    store = Store(currency="USD")
    sku = store.fake.seed(1)[0]
    remote = store.read()[sku]
    [result] = store.adapter.write([store.item(sku, {TITLE: "Mug", DESCRIPTION: "<p>Blue</p>"}, remote)])
    assert result.ok and dict(result.applied) == {TITLE: "Mug", DESCRIPTION: "<p>Blue</p>"}
    assert store.calls()[1:] == [f"PUT /products/{remote.extra['product_id']}", "GET /products"]
    assert store.fake.requests[1].json == {"name": "Mug", "description": "<p>Blue</p>"}


def test_applied_is_what_the_store_shows_after_the_write_not_what_was_sent() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(2)
    listed = store.read()
    store.fake.on_batch_complete = lambda: store.fake.sell(skus[0], 2)  # a shopper buys meanwhile
    results = store.adapter.write([store.item(s, {QUANTITY: 9}, listed[s]) for s in skus])
    assert results[0].ok and results[0].applied[QUANTITY] == 7
    assert results[1].applied[QUANTITY] == 9


def test_a_slow_batch_is_polled_with_growing_pauses() -> None:
    store = Store(fake=EcwidFake(token=TOKEN, store_id=STORE, batch_polls=4), currency="USD")
    skus = store.fake.seed(2)
    listed = store.read()
    results = store.adapter.write([store.item(s, {QUANTITY: 1}, listed[s]) for s in skus])
    assert all(r.ok for r in results)
    assert store.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert store.calls().count("GET /batch") == 5


def test_a_batch_not_finished_in_time_is_pending_and_poll_settles_it() -> None:
    store = Store(
        fake=EcwidFake(token=TOKEN, store_id=STORE, batch_polls=1000), currency="USD", batch_wait_seconds=3
    )
    skus = store.fake.seed(2)
    listed = store.read()
    results = store.adapter.write([store.item(s, {QUANTITY: 2, PRICE: usd("3.00")}, listed[s]) for s in skus])
    ticket = results[0].pending
    assert ticket and all(r.pending == ticket and not r.ok for r in results), "never success not seen"
    assert "batch_wait_seconds" in (results[0].error or "")
    assert sum(store.sleeps) == 3
    assert store.adapter.poll([ticket]) == []  # still running
    store.fake.tickets[ticket].done_after = 0
    settled = store.adapter.poll([ticket])
    assert [r.sku for r in settled] == skus
    assert all(r.ok and dict(r.applied) == {QUANTITY: 2, PRICE: usd("3.00")} for r in settled)


def test_another_runs_ticket_is_settled_from_the_sku_ids() -> None:
    first = Store(
        fake=EcwidFake(token=TOKEN, store_id=STORE, batch_polls=1000), currency="USD", batch_wait_seconds=1
    )
    skus = first.fake.seed(2)
    listed = first.read()
    ticket = first.adapter.write([first.item(s, {QUANTITY: 6}, listed[s]) for s in skus])[0].pending
    assert ticket
    first.fake.tickets[ticket].done_after = 0
    later = Store(fake=first.fake, currency="USD")
    settled = later.adapter.poll([ticket])
    assert [r.sku for r in settled] == skus
    assert all(r.ok and r.applied[QUANTITY] == 6 and r.applied[TITLE] for r in settled)


def test_a_status_request_that_keeps_failing_leaves_the_batch_pending() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(2)
    listed = store.read()
    store.fake.faults.fail_next(503, count=6, match=f"GET {API}/batch")
    results = store.adapter.write([store.item(s, {QUANTITY: 1}, listed[s]) for s in skus])
    assert all(r.pending and "gave up" in (r.error or "") for r in results)
    assert all(store.fake.stored(s).quantity == 1 for s in skus)  # type: ignore[union-attr]


# -- writing: per-item outcomes ---------------------------------------------------------------------
def test_a_title_or_description_for_a_combination_fails_that_field_only() -> None:
    store = Store(currency="USD")
    store.fake.seed(0, variable=1, per_parent=2)
    listed = store.read()
    results = store.adapter.write(
        [
            store.item("EC-P001-1", {TITLE: "New", QUANTITY: 2}, listed["EC-P001-1"]),
            store.item("EC-P001-2", {DESCRIPTION: "New"}, listed["EC-P001-2"]),
        ]
    )
    assert not results[0].ok and results[0].error_kind == Kind.PERMANENT.value
    assert "no name of its own" in (results[0].error or "") and dict(results[0].applied) == {QUANTITY: 2}
    assert not results[1].ok and "no description of its own" in (results[1].error or "")
    assert store.fake.stored("EC-P001-1").quantity == 2  # type: ignore[union-attr]
    ref = listed["EC-P001-1"].extra
    assert store.calls()[1:] == [
        f"PUT /products/{ref['product_id']}/combinations/{ref['combination_id']}",
        "GET /products",
    ]
    assert store.fake.requests[1].json == {"quantity": 2, "unlimited": False}


@pytest.mark.parametrize(
    "values, create, message",
    [
        ({QUANTITY: 1}, True, "does not create"),
        ({"quantity@warehouse": 1}, False, "one stock number"),
        ({PRICE: Money.parse("5.00", "EUR")}, False, "EUR"),
    ],
)
def test_what_ecwid_cannot_take_is_refused_per_item(
    values: dict[str, Any], create: bool, message: str
) -> None:
    store = Store(currency="USD")
    sku = store.fake.seed(1)[0]
    remote = store.read()[sku]
    [result] = store.adapter.write([store.item(sku, values, remote, create=create)])
    assert not result.ok and message in (result.error or "")
    assert store.fake.batch_sizes() == []


def test_a_product_deleted_since_the_read_is_not_found_and_the_rest_is_written() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(3)
    listed = store.read()
    store.fake.delete(skus[1])
    results = store.adapter.write([store.item(s, {QUANTITY: 1}, listed[s]) for s in skus])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_kind == Kind.NOT_FOUND.value and "not found" in (results[1].error or "")


def test_writes_without_a_prior_read_look_the_products_up() -> None:
    store = Store(currency="USD")
    store.fake.seed(2, variable=1, per_parent=1)
    results = store.adapter.write([store.item(s, {QUANTITY: 9}) for s in ["EC-0002", "EC-P001-1", "GHOST"]])
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].error_kind == Kind.NOT_FOUND.value


def test_ecwids_409_is_permanent_not_a_compare_and_set_conflict() -> None:
    store = Store(currency="USD")
    sku = store.fake.seed(1)[0]
    remote = store.read()[sku]
    store.fake.faults.fail_next(
        409,
        match="PUT",
        body={"errorMessage": "The product with such SKU already exists", "errorCode": "SKU_ALREADY_EXISTS"},
    )
    [result] = store.adapter.write([store.item(sku, {QUANTITY: 3}, remote)])
    assert not result.ok and result.error_kind == Kind.PERMANENT.value
    assert "SKU_ALREADY_EXISTS" in (result.error or "")


def test_an_update_ecwid_does_not_confirm_is_not_reported_applied() -> None:
    store = Store(currency="USD")
    sku = store.fake.seed(1)[0]
    remote = store.read()[sku]
    store.fake.faults.fail_next(200, match="PUT", body={"updateCount": 0})
    [result] = store.adapter.write([store.item(sku, {QUANTITY: 3}, remote)])
    assert not result.ok and "updateCount 0" in (result.error or "") and not result.applied


def test_a_token_without_the_write_scope_fails_the_channel_not_each_item() -> None:
    fake = EcwidFake(token=TOKEN, store_id=STORE, scopes=("read_catalog",))
    store = Store(fake=fake, currency="USD")
    skus = store.fake.seed(3)
    listed = store.read()
    with pytest.raises(AuthError, match="update_catalog") as err:
        store.adapter.write([store.item(s, {QUANTITY: 1}, listed[s]) for s in skus])
    assert err.value.status == 403
    with pytest.raises(AuthError, match="update_catalog"):
        store.adapter.write([store.item(skus[0], {QUANTITY: 1}, listed[skus[0]])])


def test_a_failed_first_request_raises_for_the_engine() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(2)
    listed = store.read()
    store.fake.faults.fail_next(400, match="POST")
    with pytest.raises(PermanentError, match="Scripted error 400"):
        store.adapter.write([store.item(s, {QUANTITY: 3}, listed[s]) for s in skus])


def test_a_failure_after_a_confirmed_batch_is_reported_per_item() -> None:
    store = Store(currency="USD")
    skus = store.fake.seed(501)
    listed = store.read()
    store.fake.faults.fail_next(503, count=6, match="PUT")  # the 501st SKU goes alone, as a plain PUT
    results = store.adapter.write([store.item(s, {QUANTITY: 3}, listed[s]) for s in skus])
    assert all(r.ok for r in results[:500])
    assert not results[500].ok and results[500].error_kind == Kind.RETRY.value
    assert "gave up after 6 attempts" in (results[500].error or "")
    assert store.fake.batch_sizes() == [500] + [1] * 6


# -- throttling ------------------------------------------------------------------------------------
def test_ecwids_per_minute_limit_is_waited_out_with_retry_after() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    fake = EcwidFake(token=TOKEN, store_id=STORE, rate_limit_per_minute=5, clock=lambda: now[0])
    store = Store(fake=fake, currency="USD", sleep=sleep)
    fake.seed(700)
    assert len(store.read()) == 700
    calls = api_calls(store.counters, "ecwid")
    assert calls["throttled"] == 1 and calls["reads"] == 8
    throttled = [r for r in fake.requests if r.fault is None][5]
    assert throttled.path.endswith("/products")
    assert now[0] >= 60, "the Retry-After the store sent was waited out"


# -- the documented API only -----------------------------------------------------------------------
@pytest.mark.spec
def test_every_request_uses_only_the_documented_api() -> None:
    """Ecwid publishes no spec (storefronts.md 5): the fake notes every parameter, body key and
    endpoint the docs do not list. A whole workload, both auth modes, leaves that list empty."""
    for auth in ("bearer", "query"):
        store = Store(auth=auth)
        skus = store.fake.seed(BATCH + 1, variable=2, per_parent=2)
        store.adapter.check()
        listed = store.read()
        store.read([skus[0], "EC-P002-1", "NO-SUCH-SKU"])
        store.adapter.write(
            [
                store.item(s, {QUANTITY: 3, PRICE: usd("12.34"), TITLE: "T", DESCRIPTION: "D"}, listed[s])
                for s in skus[:2]
            ]
        )
        store.adapter.write([store.item("EC-P001-1", {QUANTITY: 1, PRICE: usd("1.00")}, listed["EC-P001-1"])])
        store.adapter.write([store.item(s, {QUANTITY: 2}, listed[s]) for s in listed])
        assert store.fake.batch_sizes() == [2, 1, 500, 7], "a batch, a plain PUT and a full batch"
        assert store.fake.undocumented == []


@pytest.mark.spec
def test_the_documented_shape_check_catches_a_wrong_request() -> None:
    store = Store(currency="USD")
    sku = store.fake.seed(1)[0]
    pid = store.fake.find(sku)[0].id  # type: ignore[index]
    store.adapter.client.get("products", params={"perPage": 10})
    store.adapter.client.put(f"products/{pid}", json={"stock_quantity": 3})
    store.adapter.client.post(
        "batch", json=[{"id": "1", "path": f"/products/{pid}", "method": "PUT", "body": "{}", "headers": {}}]
    )
    assert len(store.fake.undocumented) == 3
    assert "perPage" in store.fake.undocumented[0] and "stock_quantity" in store.fake.undocumented[1]
    assert "headers" in store.fake.undocumented[2]


# -- a whole push ----------------------------------------------------------------------------------
def _catalog(tmp_path: Path, fake: EcwidFake, changed: dict[str, tuple[int, str]]) -> Path:
    rows = ["sku,title,description,price,currency,quantity"]
    for sku in fake.skus():
        stored = fake.stored(sku)
        assert stored is not None
        qty, price = changed.get(sku, (stored.quantity or 0, stored.price or ""))
        rows.append(f'{sku},{stored.title},"{stored.description}",{price},USD,{qty}')
    csv = tmp_path / "catalog.csv"
    csv.write_text("\n".join(rows) + "\n")
    init_catalog(tmp_path / "catalog.db")
    import_csv(open_catalog(tmp_path / "catalog.db"), csv)
    return tmp_path / "catalog.db"


def test_a_1000_sku_push_with_5_percent_changed_is_one_batch(tmp_path: Path) -> None:
    fake = EcwidFake(token=TOKEN, store_id=STORE)
    skus = fake.seed(1000)
    changed = {s: (7, "19.99") for s in skus[:25]}
    changed.update({s: (10, "24.50") for s in skus[500:525]})
    _catalog(tmp_path, fake, changed)
    (tmp_path / "channels.toml").write_text(
        'catalog = "catalog.db"\nstate = "state.db"\n\n[channels.shop]\ntype = "ecwid"\n'
        f'base_url = "https://shop.test"\nstore_id = {STORE}\ntoken_env = "ECWID_TOKEN"\ncurrency = "USD"\n'
    )
    env = {"ECWID_TOKEN": TOKEN}
    config = load_config(tmp_path / "channels.toml", env=env)
    logs: list[str] = []

    def engine() -> Engine:
        return Engine(config, env=env, log=logs.append, transport=fake.transport(), sleep=lambda s: None)

    report = engine().run("push", apply=True)
    assert report.exit_code == 0, report.to_json()
    assert report.plan.change_count == 50 and report.channels["shop"].count("ok") == 50
    limit = EcwidChannel.capabilities.max_write_batch
    writes = [r for r in fake.requests if r.method in ("POST", "PUT")]
    assert len(writes) <= math.ceil(len(changed) / limit) == 1
    assert fake.batch_sizes() == [50] and all(w.path == f"{API}/batch" for w in writes)
    assert fake.stored(skus[0]).quantity == 7 and fake.stored(skus[500]).price == "24.50"  # type: ignore[union-attr]
    # after the batch: its status until complete, then one read-back of the 50 products by id
    post = next(i for i, r in enumerate(fake.requests) if r.method == "POST")
    after = [(r.method, r.path.removeprefix(API), sorted(r.query)) for r in fake.requests[post + 1 :]]
    assert after == [("GET", "/batch", ["ticket"])] * 2 + [
        ("GET", "/products", ["productId", "responseFields"])
    ]
    # and nothing is left to do
    before = len(fake.requests)
    again = engine().run("plan")
    assert again.plan.change_count == 0
    assert all(r.method == "GET" for r in fake.requests[before:])


# -- served on 127.0.0.1 ---------------------------------------------------------------------------
def test_the_fake_serves_the_adapter_over_real_http() -> None:
    fake = EcwidFake(token=TOKEN, store_id=STORE, sales=Sales(rate=0.0), faults=Faults())
    skus = fake.seed(3)
    with FakeServer(fake) as server:
        store = Store(fake=fake, transport=None, base_url=server.url)
        listed = store.read()
        results = store.adapter.write([store.item(s, {QUANTITY: 4}, listed[s]) for s in skus])
        store.adapter.close()
    assert all(r.ok and r.applied[QUANTITY] == 4 for r in results)
    assert fake.batch_sizes() == [3]


def test_check_names_the_store_and_counts_products_in_one_call() -> None:
    store = Store()
    store.fake.seed(3, variable=1)
    assert store.adapter.check() == f"Ecwid store {STORE} at https://shop.test: 4 products"
    assert store.calls() == ["GET /products"]
