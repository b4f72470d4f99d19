"""WooCommerce adapter quirks beyond the shared contract (tests/contract): auth modes, the
variation mapping, currency, batch splitting and per-item outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest
from tests.fakes.woocommerce import WooCommerceFake

from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.channels.woocommerce import WooCommerceChannel, WooCommerceConfig
from omnisync.errors import AuthError, ConfigError, Kind, PermanentError, ResponseError
from omnisync.models import DESCRIPTION, PRICE, QUANTITY, TITLE, Listing, RemoteListing, WriteItem, frozen
from omnisync.money import Money

KEY, SECRET = "ck_test_0123456789abcdef", "cs_test_fedcba9876543210"


class Shop:
    def __init__(
        self, base_url: str = "https://shop.test", *, fake: WooCommerceFake | None = None, **cfg: Any
    ) -> None:
        self.fake = fake or WooCommerceFake(consumer_key=KEY, consumer_secret=SECRET)
        self.logs: list[str] = []
        self.ctx = ChannelContext(
            env={"WC_KEY": KEY, "WC_SECRET": SECRET},
            transport=self.fake.transport(),
            log=self.logs.append,
            sleep=lambda s: None,
            config_dir=Path("."),
        )
        self.cfg = WooCommerceConfig.model_validate(
            {
                "name": "woo",
                "type": "woocommerce",
                "base_url": base_url,
                "consumer_key_env": "WC_KEY",
                "consumer_secret_env": "WC_SECRET",
                **cfg,
            }
        )
        self.adapter = WooCommerceChannel(self.cfg, self.ctx)

    def read(self, skus: list[str] | None = None) -> dict[str, RemoteListing]:
        return {r.sku: r for r in self.adapter.read(skus=skus)}

    def item(
        self, sku: str, values: dict[str, Any], remote: RemoteListing | None = None, **kw: Any
    ) -> WriteItem:
        return WriteItem(
            sku=sku, values=frozen(values), listing=Listing(sku, frozen(values)), key="k", remote=remote, **kw
        )

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path.split('/wc/v3')[1]}" for r in self.fake.requests]


def usd(amount: str) -> Money:
    return Money.parse(amount, "USD")


# -- config and auth -------------------------------------------------------------------------------
def test_the_registry_loads_the_adapter_and_its_config_model() -> None:
    cls = load("woocommerce")
    assert cls is WooCommerceChannel and cls.Config is WooCommerceConfig


@pytest.mark.parametrize(
    "change, message",
    [
        ({"base_url": None}, "base_url is required"),
        ({"batch_limit": 101}, "less than or equal to 100"),
        ({"currency": "XYZ"}, "ISO 4217"),
        ({"consumer_key": "ck_inline"}, "Extra inputs are not permitted"),
        ({"auth": "jwt"}, "auto"),
    ],
)
def test_config_mistakes_are_refused(change: dict[str, Any], message: str) -> None:
    raw = {
        "name": "woo",
        "type": "woocommerce",
        "base_url": "https://s.test",
        "consumer_key_env": "K",
        "consumer_secret_env": "S",
        **change,
    }
    with pytest.raises(pydantic.ValidationError, match=message):
        WooCommerceConfig.model_validate(raw)


def test_https_uses_basic_auth() -> None:
    shop = Shop("https://shop.test")
    shop.fake.seed(2)
    assert len(shop.read()) == 2
    assert shop.fake.requests[0].headers["authorization"].startswith("Basic ")
    assert not any("oauth_signature" in r.query or "consumer_secret" in r.query for r in shop.fake.requests)


def test_plain_http_uses_oauth1_checked_like_woocommerce() -> None:
    shop = Shop("http://shop.test")
    shop.fake.seed(2, variable=1, per_parent=2)
    assert len(shop.read()) == 4
    assert all("oauth_signature" in r.query and "authorization" not in r.headers for r in shop.fake.requests)
    nonces = [r.query["oauth_nonce"][0] for r in shop.fake.requests]
    assert len(set(nonces)) == len(nonces)


def test_plain_http_with_a_wrong_secret_fails_the_signature() -> None:
    fake = WooCommerceFake(consumer_key=KEY, consumer_secret="cs_other")
    shop = Shop("http://shop.test", fake=fake)
    with pytest.raises(AuthError, match="signature does not match"):
        shop.read()


def test_basic_auth_over_plain_http_is_ignored_by_woocommerce() -> None:
    shop = Shop("http://shop.test", auth="basic")
    with pytest.raises(AuthError, match="cannot list resources"):
        shop.read()
    behind_proxy = Shop(
        "http://shop.test",
        auth="basic",
        fake=WooCommerceFake(consumer_key=KEY, consumer_secret=SECRET, assume_https=True),
    )
    behind_proxy.fake.seed(1)
    assert len(behind_proxy.read()) == 1


def test_query_string_auth_for_servers_that_drop_the_authorization_header() -> None:
    shop = Shop("https://shop.test", auth="query")
    shop.fake.seed(1)
    shop.read()
    assert shop.fake.requests[0].query["consumer_key"] == [KEY]


def test_missing_secret_env_is_a_config_error_naming_the_key() -> None:
    fake = WooCommerceFake()
    ctx = ChannelContext(env={}, transport=fake.transport())
    cfg = WooCommerceConfig(
        name="woo",
        type="woocommerce",
        base_url="https://s.test",
        consumer_key_env="WC_KEY",
        consumer_secret_env="WC_SECRET",
    )
    with pytest.raises(ConfigError, match="WC_KEY"):
        WooCommerceChannel(cfg, ctx)


# -- reading ---------------------------------------------------------------------------------------
def test_reads_raw_descriptions_and_stops_at_the_last_page() -> None:
    shop = Shop()
    shop.fake.seed(100)
    listed = shop.read()
    assert len(listed) == 100
    assert shop.calls() == ["GET /data/currencies/current", "GET /products"]
    assert all(r.query["context"] == ["edit"] for r in shop.fake.requests[1:])
    assert listed["WC-0001"].values[DESCRIPTION] == "Description of product 1."


def test_an_empty_store_is_one_call() -> None:
    shop = Shop(currency="USD")
    assert shop.read() == {} and shop.calls() == ["GET /products"]


def test_variations_are_listings_with_their_parents_name() -> None:
    shop = Shop()
    shop.fake.seed(1, variable=1, per_parent=2)
    listed = shop.read()
    assert set(listed) == {"WC-0001", "WC-V001-1", "WC-V001-2"}  # the variable parent is not a listing
    v = listed["WC-V001-1"]
    assert v.values[TITLE] == "Variable 1" and v.extra["parent_id"] is not None


def test_a_product_without_managed_stock_reports_no_quantity() -> None:
    shop = Shop()
    sku = shop.fake.seed(1)[0]
    item = shop.fake.by_sku(sku)
    assert item is not None
    item.manage_stock, item.stock_quantity = False, None
    remote = shop.read()[sku]
    assert QUANTITY not in remote.values
    [result] = shop.adapter.write([shop.item(sku, {QUANTITY: 4}, remote)])
    assert result.ok and result.applied[QUANTITY] == 4
    assert item.manage_stock is True and item.stock_quantity == 4


def test_a_price_the_currency_cannot_hold_is_reported_unknown() -> None:
    shop = Shop()
    sku = shop.fake.seed(1)[0]
    shop.fake.by_sku(sku).regular_price = "19.999"  # type: ignore[union-attr]
    remote = shop.read()[sku]
    assert PRICE not in remote.values
    assert any("19.999" in line for line in shop.logs)


def test_selected_skus_cost_few_calls_once_ids_are_known() -> None:
    shop = Shop()
    skus = shop.fake.seed(5, variable=2, per_parent=2)
    shop.read()
    before = len(shop.fake.requests)
    got = shop.read([skus[0], "WC-V002-1"])
    assert set(got) == {skus[0], "WC-V002-1"}
    assert len(shop.fake.requests) - before == 2  # one variations lookup, one product lookup


def test_selected_variation_skus_are_found_without_a_prior_read() -> None:
    shop = Shop(currency="USD")
    shop.fake.seed(3, variable=2, per_parent=2)
    assert set(shop.read(["WC-V002-2", "NOPE"])) == {"WC-V002-2"}


def test_the_store_currency_is_asked_once_unless_configured() -> None:
    shop = Shop()
    shop.fake.currency = "EUR"
    sku = shop.fake.seed(1)[0]
    assert shop.read()[sku].values[PRICE] == Money.parse("19.99", "EUR")
    shop.read()
    assert shop.calls().count("GET /data/currencies/current") == 1
    configured = Shop(currency="USD")
    configured.fake.seed(1)
    configured.read()
    assert "GET /data/currencies/current" not in configured.calls()


# -- writing ---------------------------------------------------------------------------------------
def test_a_title_for_a_variation_fails_that_field_only() -> None:
    shop = Shop()
    shop.fake.seed(0, variable=1, per_parent=1)
    remote = shop.read()["WC-V001-1"]
    [result] = shop.adapter.write([shop.item("WC-V001-1", {TITLE: "New", QUANTITY: 2}, remote)])
    assert not result.ok and result.error_kind == Kind.PERMANENT.value
    assert "parent product" in (result.error or "") and dict(result.applied) == {QUANTITY: 2}
    assert shop.fake.stored("WC-V001-1").quantity == 2  # type: ignore[union-attr]


def test_a_price_in_another_currency_is_refused_per_item() -> None:
    shop = Shop()
    skus = shop.fake.seed(2)
    listed = shop.read()
    results = shop.adapter.write(
        [
            shop.item(skus[0], {PRICE: Money.parse("5.00", "EUR")}, listed[skus[0]]),
            shop.item(skus[1], {PRICE: usd("5.00")}, listed[skus[1]]),
        ]
    )
    assert not results[0].ok and "EUR" in (results[0].error or "") and results[1].ok


def test_a_product_deleted_since_the_read_is_not_found_and_the_rest_is_written() -> None:
    shop = Shop()
    skus = shop.fake.seed(3)
    listed = shop.read()
    shop.fake.delete(skus[1])
    results = shop.adapter.write([shop.item(s, {QUANTITY: 1}, listed[s]) for s in skus])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_kind == Kind.NOT_FOUND.value and "Invalid ID" in (results[1].error or "")


def test_writes_without_a_prior_read_look_the_ids_up() -> None:
    shop = Shop()
    skus = shop.fake.seed(2, variable=1, per_parent=1)
    results = shop.adapter.write([shop.item(s, {QUANTITY: 9}) for s in [*skus, "GHOST"]])
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].error_kind == Kind.NOT_FOUND.value


@pytest.mark.parametrize(
    "values, create, message",
    [
        ({QUANTITY: 1}, True, "does not create"),
        ({"quantity@warehouse": 1}, False, "one stock pool"),
    ],
)
def test_what_woocommerce_cannot_do_is_refused_per_item(
    values: dict[str, Any], create: bool, message: str
) -> None:
    shop = Shop()
    sku = shop.fake.seed(1)[0]
    remote = shop.read()[sku]
    [result] = shop.adapter.write([shop.item(sku, values, remote, create=create)])
    assert not result.ok and message in (result.error or "")


def test_simple_products_and_each_parents_variations_go_in_separate_batches() -> None:
    shop = Shop(batch_limit=2)
    skus = shop.fake.seed(3, variable=2, per_parent=2)
    listed = shop.read()
    assert shop.adapter.capabilities.max_write_batch == 2
    results = shop.adapter.write([shop.item(s, {QUANTITY: 0}, listed[s]) for s in skus])
    assert all(r.ok for r in results)
    posts = [c for c in shop.calls() if c.startswith("POST")]
    parents = [listed[f"WC-V00{n}-1"].extra["parent_id"] for n in (1, 2)]
    assert posts == [
        "POST /products/batch",
        "POST /products/batch",
        *(f"POST /products/{p}/variations/batch" for p in parents),
    ]
    assert shop.fake.batch_sizes() == [2, 1, 2, 2]


def test_a_failed_request_after_a_confirmed_one_is_reported_per_item() -> None:
    shop = Shop()
    skus = shop.fake.seed(1, variable=1, per_parent=1)
    listed = shop.read()
    shop.fake.faults.fail_next(400, match="/variations/batch")
    results = shop.adapter.write([shop.item(s, {QUANTITY: 3}, listed[s]) for s in skus])
    assert results[0].ok and not results[1].ok and results[1].error_kind == Kind.PERMANENT.value


def test_a_failed_first_request_raises_for_the_engine() -> None:
    shop = Shop()
    skus = shop.fake.seed(2)
    listed = shop.read()
    shop.fake.faults.fail_next(400, match="/products/batch")
    with pytest.raises(PermanentError):
        shop.adapter.write([shop.item(s, {QUANTITY: 3}, listed[s]) for s in skus])


def test_a_modsecurity_501_is_permanent_and_not_retried() -> None:
    shop = Shop()
    shop.fake.seed(1)
    shop.fake.faults.fail_next(501, body={"code": "blocked", "message": "Method not implemented"})
    with pytest.raises(PermanentError, match="Method not implemented"):
        shop.read()
    assert len(shop.fake.requests) == 1


def test_check_names_the_store_and_counts_products() -> None:
    shop = Shop()
    shop.fake.seed(3, variable=1)
    assert shop.adapter.check() == "WooCommerce at https://shop.test: 4 products"
    assert shop.calls() == ["GET /products"]


def test_a_host_that_ignores_the_page_parameter_is_not_read_forever() -> None:
    shop = Shop(currency="USD")
    shop.fake.seed(150)
    original = shop.fake._collection

    def first_page_only(req: Any, items: Any) -> Any:
        req.query = [(k, v) for k, v in req.query if k != "page"]
        response = original(req, items)
        response.headers.pop("X-WP-TotalPages", None)
        return response

    shop.fake._collection = first_page_only  # type: ignore[method-assign]
    with pytest.raises(ResponseError, match="repeats earlier pages"):
        shop.read()
