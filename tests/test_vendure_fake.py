"""The Vendure fake behaves as a real Vendure 3 Admin API does (self-hosted.md section 1), and the
adapter copes with what the shared contract suite cannot ask of it: credentials refused inside an
HTTP 200, all-or-nothing mutations, allocated stock, several stock locations, duplicate SKUs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.fakes.vendure import VendureFake

from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.errors import AuthError
from omnisync.models import PRICE, QUANTITY, Listing, WriteItem, WriteResult, frozen
from omnisync.money import Money

KEY = "CANARYlookup7c1e:CANARYsecret4b8d2f6a9e3c7b1d5f"
PASSWORD = "CANARYadminpass2d9f4b7e1c"
URL = "https://vendure.example.test"


def channel(fake: VendureFake, **config: Any) -> tuple[Any, dict[str, int]]:
    counters: dict[str, int] = {}
    ctx = ChannelContext(
        env={"VK": KEY, "VU": "superadmin", "VP": PASSWORD},
        transport=fake.transport(),
        sleep=lambda s: None,
        counters=counters,
    )
    cls = load("vendure")
    raw = {"name": "shop", "type": "vendure", "base_url": URL, "api_key_env": "VK", **config}
    return cls.from_config(cls.Config.model_validate(raw), ctx), counters


def gql(
    fake: VendureFake,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    with httpx.Client(transport=fake.transport(), base_url=URL) as http:
        return http.post(
            "/admin-api",
            json={"query": query, "variables": variables or {}},
            headers={"vendure-api-key": KEY} if headers is None else headers,
        )


def write(ch: Any, values: dict[str, dict[str, Any]]) -> list[WriteResult]:
    items = [
        WriteItem(sku=s, values=frozen(v), listing=Listing(s, frozen(v)), key=s) for s, v in values.items()
    ]
    results: list[WriteResult] = ch.write(items)
    return results


UPDATE = "mutation U($i: [UpdateProductVariantInput!]!) { updateProductVariants(input: $i) { id price } }"


def test_refused_credentials_are_forbidden_inside_a_200_and_not_retried() -> None:
    fake = VendureFake(api_key=KEY)
    fake.seed(2)
    raw = gql(fake, "{ activeChannel { code } }", headers={"vendure-api-key": "other:key"})
    assert raw.status_code == 200
    assert raw.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN" and raw.json()["data"] is None
    fake.revoke_credentials()
    ch, _ = channel(fake)
    before = len(fake.requests)
    with pytest.raises(AuthError) as err:
        list(ch.read())
    assert len(fake.requests) - before == 1  # one request: an auth error is never retried
    assert err.value.status is None and "not currently authorized" in str(err.value)


def test_login_returns_the_session_token_in_a_header_and_a_wrong_password_in_data() -> None:
    fake = VendureFake(api_key=KEY, password=PASSWORD)
    login = "mutation L($u: String!, $p: String!) { login(username: $u, password: $p) { __typename ... on ErrorResult { errorCode } } }"
    bad = gql(fake, login, {"u": "superadmin", "p": "wrong"}, headers={})
    assert bad.status_code == 200 and "errors" not in bad.json()
    assert bad.json()["data"]["login"] == {
        "__typename": "InvalidCredentialsError",
        "errorCode": "INVALID_CREDENTIALS_ERROR",
    }
    good = gql(fake, login, {"u": "superadmin", "p": PASSWORD}, headers={})
    token = good.headers["vendure-auth-token"]
    assert len(token) == 64 and good.json()["data"]["login"]["__typename"] == "CurrentUser"
    assert gql(fake, "{ activeChannel { code } }", headers={"Authorization": f"Bearer {token}"}).json()[
        "data"
    ]
    fake.expire_token()  # the session ended: the same token is refused now
    assert (
        gql(fake, "{ activeChannel { code } }", headers={"Authorization": f"Bearer {token}"}).json()[
            "errors"
        ][0]["extensions"]["code"]
        == "FORBIDDEN"
    )


def test_money_is_an_integer_a_float_is_rounded_and_a_string_refused() -> None:
    fake = VendureFake(api_key=KEY)
    sku = fake.seed(1)[0]
    vid = str(fake.variant(sku).id)  # type: ignore[union-attr]
    assert (
        gql(fake, UPDATE, {"i": [{"id": vid, "price": 9.99}]}).json()["data"]["updateProductVariants"][0][
            "price"
        ]
        == 10
    )
    assert fake.stored(sku).price == "0.10"  # type: ignore[union-attr]
    refused = gql(fake, UPDATE, {"i": [{"id": vid, "price": "19.99"}]})
    assert (
        refused.status_code == 200 and refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    )
    assert fake.stored(sku).price == "0.10"  # type: ignore[union-attr]


def test_a_mutation_is_all_or_nothing_and_a_bad_document_is_a_400() -> None:
    fake = VendureFake(api_key=KEY)
    skus = fake.seed(2)
    ids = [str(fake.variant(s).id) for s in skus]  # type: ignore[union-attr]
    answer = gql(fake, UPDATE, {"i": [{"id": ids[0], "price": 100}, {"id": "9999", "price": 200}]}).json()
    assert answer["data"] is None and answer["errors"][0]["extensions"]["code"] == "ENTITY_NOT_FOUND"
    assert answer["errors"][0]["message"] == 'No ProductVariant with the id "9999" could be found'
    assert fake.stored(skus[0]).price == "19.99"  # type: ignore[union-attr]
    invalid = gql(fake, "{ productVariants { items { nope } } }")
    assert (
        invalid.status_code == 400
        and invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    )
    too_many = gql(fake, "{ productVariants(options: { take: 5000 }) { totalItems } }").json()
    assert too_many["errors"][0]["message"] == "Cannot take more than 1000 results from a list query"


def test_allocated_units_stay_promised_when_the_adapter_writes_stock() -> None:
    fake = VendureFake(api_key=KEY)
    sku = fake.seed(1, quantity=10)[0]
    ch, counters = channel(fake)
    assert next(iter(ch.read())).values[QUANTITY] == 10
    assert fake.sell(sku, 3) == 3  # an order is paid: 3 units allocated, stockOnHand unchanged
    assert fake.level(sku, fake.default_location) == (10, 3)
    [result] = write(ch, {sku: {QUANTITY: 5, PRICE: Money.parse("12.34", "USD")}})
    assert result.ok and result.applied[QUANTITY] == 5 - 3  # what the answer says can be sold now
    assert fake.level(sku, fake.default_location) == (5, 3)  # stockOnHand = quantity + allocated as read
    assert counters["shop.writes"] == len(fake.batch_sizes()) == 1
    assert counters["shop.reads"] == counters["shop"] - 1  # queries are reads, mutations writes


def test_each_configured_stock_location_is_its_own_quantity() -> None:
    fake = VendureFake(api_key=KEY, locations="Warehouse,Shop floor")
    sku = fake.seed(1, quantity=4)[0]
    ch, _ = channel(fake, locations={"1": ["warehouse"], "2": ["store"]})
    values = next(iter(ch.read())).values
    assert values["quantity@1"] == 4 and values["quantity@2"] == 0 and QUANTITY not in values
    [result] = write(ch, {sku: {"quantity@2": 6}})
    assert result.ok and fake.level(sku, 2) == (6, 0) and fake.level(sku, 1) == (4, 0)


def test_a_sku_on_two_variants_is_refused_and_neither_is_written() -> None:
    fake = VendureFake(api_key=KEY)
    sku, other = fake.seed(2)
    fake.add_variant(fake.variant(sku).product_id, sku, "Copy", price="42.00")  # type: ignore[union-attr]
    ch, _ = channel(fake)
    results = write(ch, {sku: {QUANTITY: 1}, other: {QUANTITY: 2}})
    assert [r.ok for r in results] == [False, True]
    assert "used by 2 variants" in (results[0].error or "")
    assert all(v.levels[1].on_hand == 10 for v in fake.variants_of(sku))  # neither copy written
