"""One entry per HTTP channel type: how the contract suite builds its fake, config and secrets.

Adding a channel: one :class:`ChannelCase` in :data:`CASES` (``test_registry_has_a_case_for_every_
http_channel`` fails until it exists). Known gaps are data: test function name -> the reason the
vendor cannot pass it; the test then runs as ``xfail(strict=True)``, so a fixed gap shows up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.base import FakeMarketplace
from tests.fakes.bigcommerce import BigCommerceFake, bigcommerce_bad_requests, bigcommerce_spec, bigcommerce_violations
from tests.fakes.ecwid import EcwidFake
from tests.fakes.shopify import ShopifyFake, shopify_bad_requests, shopify_spec, shopify_violations
from tests.fakes.woocommerce import WooCommerceFake
from tests.spec_check import RecordedRequest, woocommerce_spec, woocommerce_violations

# Canary secrets: values that must never appear in a log line, an error or any output.
WOO_KEY = "ck_CANARYkey5f0e1d2c3b4a5968778695a4b3c2d1e0f"
WOO_SECRET = "cs_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a6958"
BC_TOKEN = "bcCANARYtoken7f3e9a1c5b2d4086e1f3a5c7b9d0e2f4"


@dataclass(frozen=True)
class ChannelCase:
    type: str
    make_fake: Callable[..., FakeMarketplace]  # (seed=, faults=, sales=) -> a fake holding the canaries
    config: Callable[[str], dict[str, Any]]  # base_url -> the raw [channels.NAME] table
    env: Mapping[str, str]  # environment with the canary secrets
    base_url: str  # the URL the MockTransport answers for
    secrets: tuple[str, ...]  # canary values never to be shown
    currency: str = "USD"
    variants: bool = False  # the fake seeds grouped products (variations) too
    auth_variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> config overrides
    wrong_secret_env: Mapping[str, str] = field(default_factory=dict)  # env with a wrong secret
    spec: Callable[[], Any] | None = None  # loads the vendor spec (skips/fails without it)
    violations: Callable[[Any, RecordedRequest], list[str]] | None = None
    bad_requests: Callable[[str], list[tuple[RecordedRequest, str]]] = lambda base: []
    known_gaps: Mapping[str, str] = field(default_factory=dict)


def _woo_bad_requests(base: str) -> list[tuple[RecordedRequest, str]]:
    auth = (("authorization", "Basic Y2tfeDpjc194"), ("content-type", "application/json"))
    api = f"{base}/wp-json/wc/v3"
    return [
        (RecordedRequest("GET", f"{api}/products?per_page=many&page=1", auth, b""), "per_page"),
        (RecordedRequest("GET", f"{api}/products?perpage=100", auth, b""), "perpage"),
        (RecordedRequest("GET", f"{api}/inventory/levels", auth, b""), "no such path"),
        (RecordedRequest("PUT", f"{api}/products/12", auth, b'{"stock_quantity": "12"}'), "integer"),
        (RecordedRequest("POST", f"{api}/products/batch", auth,
                         b'{"update": [{"id": 12, "regular_price": 19.99}]}'), "string"),
        (RecordedRequest("POST", f"{api}/products/batch", auth,
                         b'{"update": [{"id": 12, "stock_qty": 3}]}'), "stock_qty"),
        (RecordedRequest("GET", f"{api}/products", (), b""), "Security"),
    ]


CASES: dict[str, ChannelCase] = {
    "woocommerce": ChannelCase(
        type="woocommerce",
        make_fake=lambda **kw: WooCommerceFake(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, **kw),
        config=lambda base_url: {"name": "woo", "type": "woocommerce", "base_url": base_url,
                                 "consumer_key_env": "WOO_KEY", "consumer_secret_env": "WOO_SECRET"},
        env={"WOO_KEY": WOO_KEY, "WOO_SECRET": WOO_SECRET},
        base_url="https://woo.example.test",
        secrets=(WOO_KEY, WOO_SECRET),
        variants=True,
        auth_variants={
            "basic": {},
            "query": {"auth": "query"},
            "oauth1": {"auth": "oauth1", "base_url": "http://woo.example.test"},
        },
        wrong_secret_env={"WOO_SECRET": "cs_CANARYwrong00000000000000000000000000000"},
        spec=woocommerce_spec,
        violations=woocommerce_violations,
        bad_requests=_woo_bad_requests,
        known_gaps={
            "test_401_refreshes_the_token_once":
                "WooCommerce REST API keys never expire and have no refresh flow (storefronts.md "
                "2.1): a 401 means the key was revoked or is wrong, which a client can only report",
        },
    ),
    "bigcommerce": ChannelCase(
        type="bigcommerce",
        make_fake=lambda **kw: BigCommerceFake(access_token=BC_TOKEN, **kw),
        config=lambda base_url: {"name": "bc", "type": "bigcommerce", "base_url": base_url,
                                 "store_hash": "fakestore", "access_token_env": "BC_TOKEN", "currency": "USD"},
        env={"BC_TOKEN": BC_TOKEN},
        base_url="https://bc.example.test",
        secrets=(BC_TOKEN, BC_TOKEN),  # one secret (X-Auth-Token); the suite expects a pair
        variants=True,
        auth_variants={"x-auth-token": {}},
        wrong_secret_env={"BC_TOKEN": "bcCANARYwrong0000000000000000000000000000"},
        spec=bigcommerce_spec,
        violations=bigcommerce_violations,
        bad_requests=bigcommerce_bad_requests,
        known_gaps={
            "test_401_refreshes_the_token_once":
                "BigCommerce store API account tokens do not expire and have no refresh flow "
                "(storefronts.md 3.1): a 401 means the account was deleted or the token is wrong",
        },
    ),
    "ecwid": ChannelCase(
        type="ecwid",
        make_fake=lambda **kw: EcwidFake(token="secret_CANARYecwid7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a", store_id=4870020,
                                         **kw),
        config=lambda base_url: {"name": "ecwid", "type": "ecwid", "base_url": base_url, "store_id": 4870020,
                                 "token_env": "ECWID_TOKEN"},
        env={"ECWID_TOKEN": "secret_CANARYecwid7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a"},
        base_url="https://ecwid.example.test",
        # one secret only; the wrong token stands in as the second canary the suite expects
        secrets=("secret_CANARYecwid7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a", "secret_CANARYwrong00000000000000000000000000"),
        variants=True,
        auth_variants={"bearer": {}, "query": {"auth": "query"}},
        wrong_secret_env={"ECWID_TOKEN": "secret_CANARYwrong00000000000000000000000000"},
        known_gaps={
            "test_401_refreshes_the_token_once":
                "Ecwid access tokens do not expire and have no refresh flow (storefronts.md 4.1; "
                "docs.ecwid.com/develop-apps/app-settings): a 401 means the token is wrong or revoked",
            "test_every_recorded_request_conforms":
                "Ecwid publishes no OpenAPI or JSON spec (storefronts.md 5: Ecwid/ecwid-api-docs is "
                "Markdown only); tests/fakes/ecwid.py follows the documented shapes and notes any "
                "undocumented parameter, body key or endpoint, which tests/test_ecwid.py asserts never happens",
            "test_a_wrong_request_is_caught":
                "no Ecwid spec to catch a wrong request with (storefronts.md 5); the fake's "
                "documented-shape check is tested in tests/test_ecwid.py",
        },
    ),
    "shopify": ChannelCase(
        type="shopify",
        make_fake=lambda **kw: ShopifyFake(access_token="shpat_CANARYtoken5f0e1d2c3b4a5968778695a4b3c2d1",
                                           client_id="CANARYclientid0a1b2c3d4e5f60718293a4b5c6",
                                           client_secret="shpss_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a69", **kw),
        config=lambda base_url: {"name": "shop", "type": "shopify", "base_url": base_url,
                                 "access_token_env": "SHOPIFY_TOKEN"},
        env={"SHOPIFY_TOKEN": "shpat_CANARYtoken5f0e1d2c3b4a5968778695a4b3c2d1",
             "SHOPIFY_CLIENT_ID": "CANARYclientid0a1b2c3d4e5f60718293a4b5c6",
             "SHOPIFY_CLIENT_SECRET": "shpss_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a69"},
        base_url="https://omnisync-test.myshopify.com",
        secrets=("shpat_CANARYtoken5f0e1d2c3b4a5968778695a4b3c2d1", "shpss_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a69",
                 "CANARYclientid0a1b2c3d4e5f60718293a4b5c6"),
        variants=True,
        auth_variants={
            "token": {},
            "client_credentials": {"access_token_env": None, "client_id_env": "SHOPIFY_CLIENT_ID",
                                   "client_secret_env": "SHOPIFY_CLIENT_SECRET"},
            # a read flavour rather than an auth one: a full read as a bulk operation, whose result
            # is a GET of a signed URL made without the token (checked for conformance and leaks too)
            "token, bulk read": {"bulk_threshold": 1},
        },
        wrong_secret_env={"SHOPIFY_TOKEN": "shpat_CANARYwrong00000000000000000000000000",
                          "SHOPIFY_CLIENT_SECRET": "shpss_CANARYwrong0000000000000000000000000"},
        spec=shopify_spec,
        violations=shopify_violations,
        bad_requests=shopify_bad_requests,
        known_gaps={
            "test_401_refreshes_the_token_once":
                "this case uses a static Admin API token (shpat_, a custom app made in the admin), which "
                "never expires and has nothing to refresh it with; the client-credentials flavour "
                "refreshes once on a 401 (tests/test_shopify.py)",
            "test_the_fake_refuses_an_oversized_batch_like_the_vendor":
                "Shopify refuses an input array over 250 items inside the GraphQL answer "
                "(MAX_INPUT_SIZE_EXCEEDED; storefronts.md 1.2, 1.6), not with HTTP 400/413; the adapter "
                "raises it as a PermanentError naming the limit",
        },
    ),
}
