"""The Medusa fake behaves as a real Medusa v2 Admin API does (self-hosted.md section 2), and the
adapter copes with what the shared contract suite cannot ask of it: the e-mail/password login
renewed after a 401, the batch route that deletes unlisted variants, whole price sets, reserved
stock, and reads across pages (whose call count is a known gap of the contract case)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tests.fakes.medusa import MedusaFake

from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.errors import AuthError
from omnisync.models import (
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    Listing,
    WriteItem,
    WriteResult,
    frozen,
)
from omnisync.money import Money

KEY = "sk_CANARYmedusa9e4c2a7f1b8d3e6c0a5f"
URL = "https://medusa.example.test"


def channel(fake: MedusaFake, **config: Any) -> tuple[Any, dict[str, int]]:
    counters: dict[str, int] = {}
    ctx = ChannelContext(
        env={"MK": KEY, "ME": fake.email, "MP": fake.password},
        transport=fake.transport(),
        sleep=lambda s: None,
        counters=counters,
    )
    cls = load("medusa")
    raw = {"name": "shop", "type": "medusa", "base_url": URL, "api_key_env": "MK", **config}
    return cls.from_config(cls.Config.model_validate(raw), ctx), counters


def call(fake: MedusaFake, method: str, path: str, **kw: Any) -> httpx.Response:
    auth = httpx.BasicAuth(KEY, "")
    with httpx.Client(transport=fake.transport(), base_url=URL, auth=auth) as http:
        return http.request(method, path, **kw)


def write(ch: Any, values: dict[str, dict[str, Any]]) -> list[WriteResult]:
    items = [
        WriteItem(sku=s, values=frozen(v), listing=Listing(s, frozen(v)), key=s) for s, v in values.items()
    ]
    results: list[WriteResult] = ch.write(items)
    return results


def test_secret_key_as_basic_auth_and_the_hint_for_a_bearer_one() -> None:
    fake = MedusaFake(api_key=KEY)
    assert call(fake, "GET", "/admin/stores").status_code == 200
    with httpx.Client(transport=fake.transport(), base_url=URL) as http:
        hint = http.get("/admin/stores", headers={"Authorization": f"Bearer {KEY}"})
        assert hint.status_code == 401 and "HTTP Basic" in hint.json()["message"]
        assert http.get("/admin/stores").json() == {"message": "Unauthorized"}
        bad = http.post("/auth/user/emailpass", json={"email": fake.email, "password": "wrong"})
        assert bad.status_code == 401 and bad.json() == {
            "type": "unauthorized",
            "message": "Invalid email or password",
        }


def test_the_login_flavour_logs_in_again_once_when_its_token_expired() -> None:
    fake = MedusaFake(api_key=KEY)
    skus = fake.seed(2)
    ch, _ = channel(fake, api_key_env=None, email_env="ME", password_env="MP")
    assert {r.sku for r in ch.read()} == set(skus)
    fake.expire_token()
    assert {r.sku for r in ch.read()} == set(skus)
    assert len(fake.calls("POST", "/auth/user/emailpass")) == 2
    fake.revoke_credentials()
    fake.expire_token()
    with pytest.raises(AuthError, match="Invalid email or password"):
        list(ch.read())


def test_validation_is_strict_like_medusas_zod_schemas() -> None:
    fake = MedusaFake(api_key=KEY)
    fake.seed(1)
    v = fake.variant("MD-0001")
    assert v is not None
    bogus = call(fake, "GET", "/admin/product-variants", params={"sku": "MD-0001", "bogus": "1"})
    assert bogus.status_code == 400
    assert bogus.json() == {
        "type": "invalid_data",
        "message": "Invalid request: Unrecognized fields: 'bogus'",
    }
    key = call(
        fake,
        "POST",
        f"/admin/products/{v.product_id}/variants/batch",
        json={"update": [{"id": v.id, "bogus": 1}]},
    )
    assert key.status_code == 400 and "Unrecognized fields: 'bogus'" in key.json()["message"]
    text = call(
        fake,
        "POST",
        f"/admin/products/{v.product_id}/variants/batch",
        json={"update": [{"id": v.id, "prices": [{"currency_code": "usd", "amount": "19.99"}]}]},
    )
    assert text.status_code == 400 and "'update, 0, prices, 0, amount' is required" in text.json()["message"]
    missing = call(
        fake,
        "POST",
        "/admin/inventory-items/location-levels/batch",
        json={
            "update": [
                {
                    "inventory_item_id": "iitem_nope",
                    "location_id": fake.default_location,
                    "stocked_quantity": 1,
                }
            ]
        },
    )
    assert missing.status_code == 404
    assert missing.json()["message"] == f"Item iitem_nope is not stocked at location {fake.default_location}"
    assert call(fake, "GET", "/admin/nowhere").status_code == 404
    big = call(
        fake,
        "POST",
        "/admin/inventory-items/location-levels/batch",
        content=b'{"update": [' + b" " * (2 * 1024 * 1024) + b"]}",
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413


def test_a_variants_list_in_the_products_batch_deletes_the_variants_it_leaves_out() -> None:
    fake = MedusaFake(api_key=KEY)
    skus = fake.seed(0, variable=1, per_parent=2)
    first = fake.variant(skus[0])
    assert first is not None
    answer = call(
        fake,
        "POST",
        "/admin/products/batch",
        json={
            "update": [
                {"id": first.product_id, "description": "v2", "variants": [{"id": first.id, "title": "S"}]}
            ]
        },
    )
    assert answer.status_code == 200
    assert (
        fake.variant(skus[0]) is not None and fake.variant(skus[1]) is None
    )  # the danger, as Medusa does it


def test_the_adapter_never_sends_a_variants_list_and_keeps_other_prices() -> None:
    fake = MedusaFake(api_key=KEY, currencies="usd,eur")
    skus = fake.seed(1, variable=1, per_parent=2)
    ch, _ = channel(fake)
    list(ch.read())
    results = write(
        ch,
        {
            s: {QUANTITY: 4, PRICE: Money.parse("12.50", "USD"), TITLE: f"T {s}", DESCRIPTION: "New"}
            for s in skus
        },
    )
    assert all(r.ok for r in results), results
    assert all(fake.variant(s) is not None for s in skus)
    assert not any(
        "variants" in u for r in fake.calls("POST", "/admin/products/batch") for u in r.json["update"]
    )
    for s in skus:
        v = fake.variant(s)
        assert v is not None
        assert {p.currency_code: p.amount for p in v.prices} == {
            "usd": Decimal("12.50"),
            "eur": Decimal("19.99"),
        }
        assert fake.stored(s) is not None and fake.stored(s).quantity == 4  # type: ignore[union-attr]


def test_reserved_units_stay_promised_when_the_adapter_writes_stock() -> None:
    fake = MedusaFake(api_key=KEY)
    sku = fake.seed(1, quantity=10)[0]
    ch, _ = channel(fake)
    assert next(iter(ch.read())).values[QUANTITY] == 10
    assert fake.sell(sku, 3) == 3  # an order is placed: 3 units reserved, stocked unchanged
    [result] = write(ch, {sku: {QUANTITY: 5}})
    assert result.ok and result.applied[QUANTITY] == 5 - 3
    assert fake.level(sku, fake.default_location) == (5, 3)  # stocked = quantity + reserved as read


def test_every_listing_is_read_across_pages_with_its_values() -> None:
    fake = MedusaFake(api_key=KEY)
    skus = fake.seed(450, variable=2, per_parent=3, price="7.25")
    ch, counters = channel(fake)
    listed = {r.sku: r for r in ch.read()}
    assert set(listed) == set(skus)
    for sku in skus:
        stored = fake.stored(sku)
        assert stored is not None
        assert dict(listed[sku].values) == {
            QUANTITY: stored.quantity,
            PRICE: Money.parse(stored.price or "", "USD"),
            TITLE: stored.title,
            DESCRIPTION: stored.description,
        }
    assert listed[skus[0]].values[TITLE] == "Product 1" and listed[skus[-1]].values[TITLE] == "Size 3"
    pages = math.ceil(len(skus) / ch.capabilities.read_page_size)
    # a page of variants, then its products (100 ids a request); the store and its locations once
    assert counters["shop.reads"] <= 2 + pages * 3
