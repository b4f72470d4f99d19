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
from tests.fakes.bigcommerce import (
    BigCommerceFake,
    bigcommerce_bad_requests,
    bigcommerce_spec,
    bigcommerce_violations,
)
from tests.fakes.ecwid import EcwidFake
from tests.fakes.medusa import MedusaFake
from tests.fakes.shopify import ShopifyFake, shopify_bad_requests, shopify_spec, shopify_violations
from tests.fakes.vendure import VendureFake
from tests.fakes.woocommerce import WooCommerceFake
from tests.spec_check import RecordedRequest, woocommerce_spec, woocommerce_violations

# Canary secrets: values that must never appear in a log line, an error or any output.
WOO_KEY = "ck_CANARYkey5f0e1d2c3b4a5968778695a4b3c2d1e0f"
WOO_SECRET = "cs_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a6958"
BC_TOKEN = "bcCANARYtoken7f3e9a1c5b2d4086e1f3a5c7b9d0e2f4"
VENDURE_KEY = "CANARYvlookup5f0e1d2c:CANARYvsecret9b8c7d6e5f40312f1e0d9c8b7a6958"  # lookupId:secret
VENDURE_PASSWORD = "CANARYvendurepass7f3e9a1c5b2d4086e1f3"
MEDUSA_KEY = "sk_CANARYmedusa5f0e1d2c3b4a5968778695a4b3c2d1e0f"
MEDUSA_PASSWORD = "CANARYmedusapass9b8c7d6e5f40312f1e0d"


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
        (
            RecordedRequest(
                "POST", f"{api}/products/batch", auth, b'{"update": [{"id": 12, "regular_price": 19.99}]}'
            ),
            "string",
        ),
        (
            RecordedRequest(
                "POST", f"{api}/products/batch", auth, b'{"update": [{"id": 12, "stock_qty": 3}]}'
            ),
            "stock_qty",
        ),
        (RecordedRequest("GET", f"{api}/products", (), b""), "Security"),
    ]


CASES: dict[str, ChannelCase] = {
    "woocommerce": ChannelCase(
        type="woocommerce",
        make_fake=lambda **kw: WooCommerceFake(consumer_key=WOO_KEY, consumer_secret=WOO_SECRET, **kw),
        config=lambda base_url: {
            "name": "woo",
            "type": "woocommerce",
            "base_url": base_url,
            "consumer_key_env": "WOO_KEY",
            "consumer_secret_env": "WOO_SECRET",
        },
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
            "test_401_refreshes_the_token_once": "WooCommerce REST API keys never expire and have no refresh flow (storefronts.md "
            "2.1): a 401 means the key was revoked or is wrong, which a client can only report",
        },
    ),
    "bigcommerce": ChannelCase(
        type="bigcommerce",
        make_fake=lambda **kw: BigCommerceFake(access_token=BC_TOKEN, **kw),
        config=lambda base_url: {
            "name": "bc",
            "type": "bigcommerce",
            "base_url": base_url,
            "store_hash": "fakestore",
            "access_token_env": "BC_TOKEN",
            "currency": "USD",
        },
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
            "test_401_refreshes_the_token_once": "BigCommerce store API account tokens do not expire and have no refresh flow "
            "(storefronts.md 3.1): a 401 means the account was deleted or the token is wrong",
        },
    ),
    "ecwid": ChannelCase(
        type="ecwid",
        make_fake=lambda **kw: EcwidFake(
            token="secret_CANARYecwid7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a", store_id=4870020, **kw
        ),
        config=lambda base_url: {
            "name": "ecwid",
            "type": "ecwid",
            "base_url": base_url,
            "store_id": 4870020,
            "token_env": "ECWID_TOKEN",
        },
        env={"ECWID_TOKEN": "secret_CANARYecwid7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a"},
        base_url="https://ecwid.example.test",
        # one secret only; the wrong token stands in as the second canary the suite expects
        secrets=(
            "secret_CANARYecwid7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a",
            "secret_CANARYwrong00000000000000000000000000",
        ),
        variants=True,
        auth_variants={"bearer": {}, "query": {"auth": "query"}},
        wrong_secret_env={"ECWID_TOKEN": "secret_CANARYwrong00000000000000000000000000"},
        known_gaps={
            "test_401_refreshes_the_token_once": "Ecwid access tokens do not expire and have no refresh flow (storefronts.md 4.1; "
            "docs.ecwid.com/develop-apps/app-settings): a 401 means the token is wrong or revoked",
            "test_every_recorded_request_conforms": "Ecwid publishes no OpenAPI or JSON spec (storefronts.md 5: Ecwid/ecwid-api-docs is "
            "Markdown only); tests/fakes/ecwid.py follows the documented shapes and notes any "
            "undocumented parameter, body key or endpoint, which tests/test_ecwid.py asserts never happens",
            "test_a_wrong_request_is_caught": "no Ecwid spec to catch a wrong request with (storefronts.md 5); the fake's "
            "documented-shape check is tested in tests/test_ecwid.py",
        },
    ),
    "shopify": ChannelCase(
        type="shopify",
        make_fake=lambda **kw: ShopifyFake(
            access_token="shpat_CANARYtoken5f0e1d2c3b4a5968778695a4b3c2d1",
            client_id="CANARYclientid0a1b2c3d4e5f60718293a4b5c6",
            client_secret="shpss_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a69",
            **kw,
        ),
        config=lambda base_url: {
            "name": "shop",
            "type": "shopify",
            "base_url": base_url,
            "access_token_env": "SHOPIFY_TOKEN",
        },
        env={
            "SHOPIFY_TOKEN": "shpat_CANARYtoken5f0e1d2c3b4a5968778695a4b3c2d1",
            "SHOPIFY_CLIENT_ID": "CANARYclientid0a1b2c3d4e5f60718293a4b5c6",
            "SHOPIFY_CLIENT_SECRET": "shpss_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a69",
        },
        base_url="https://omnisync-test.myshopify.com",
        secrets=(
            "shpat_CANARYtoken5f0e1d2c3b4a5968778695a4b3c2d1",
            "shpss_CANARYsecret9b8c7d6e5f40312f1e0d9c8b7a69",
            "CANARYclientid0a1b2c3d4e5f60718293a4b5c6",
        ),
        variants=True,
        auth_variants={
            "token": {},
            "client_credentials": {
                "access_token_env": None,
                "client_id_env": "SHOPIFY_CLIENT_ID",
                "client_secret_env": "SHOPIFY_CLIENT_SECRET",
            },
            # a read flavour rather than an auth one: a full read as a bulk operation, whose result
            # is a GET of a signed URL made without the token (checked for conformance and leaks too)
            "token, bulk read": {"bulk_threshold": 1},
        },
        wrong_secret_env={
            "SHOPIFY_TOKEN": "shpat_CANARYwrong00000000000000000000000000",
            "SHOPIFY_CLIENT_SECRET": "shpss_CANARYwrong0000000000000000000000000",
        },
        spec=shopify_spec,
        violations=shopify_violations,
        bad_requests=shopify_bad_requests,
        known_gaps={
            "test_401_refreshes_the_token_once": "this case uses a static Admin API token (shpat_, a custom app made in the admin), which "
            "never expires and has nothing to refresh it with; the client-credentials flavour "
            "refreshes once on a 401 (tests/test_shopify.py)",
            "test_the_fake_refuses_an_oversized_batch_like_the_vendor": "Shopify refuses an input array over 250 items inside the GraphQL answer "
            "(MAX_INPUT_SIZE_EXCEEDED; storefronts.md 1.2, 1.6), not with HTTP 400/413; the adapter "
            "raises it as a PermanentError naming the limit",
        },
    ),
    "vendure": ChannelCase(
        type="vendure",
        make_fake=lambda **kw: VendureFake(
            api_key=VENDURE_KEY, username="superadmin", password=VENDURE_PASSWORD, **kw
        ),
        config=lambda base_url: {
            "name": "vendure",
            "type": "vendure",
            "base_url": base_url,
            "api_key_env": "VENDURE_API_KEY",
        },
        env={
            "VENDURE_API_KEY": VENDURE_KEY,
            "VENDURE_USER": "superadmin",
            "VENDURE_PASSWORD": VENDURE_PASSWORD,
        },
        base_url="https://vendure.example.test",
        secrets=(VENDURE_KEY, VENDURE_PASSWORD),
        variants=True,
        auth_variants={
            "api-key": {},
            "login": {
                "api_key_env": None,
                "username_env": "VENDURE_USER",
                "password_env": "VENDURE_PASSWORD",
            },
        },
        wrong_secret_env={
            "VENDURE_API_KEY": "CANARYwrong0a1b:CANARYwrongsecret4c7e1a9d3f6b2e8c5a0d",
            "VENDURE_PASSWORD": "CANARYwrongpass6e2b9d4f1a8c3e7b",
        },
        known_gaps={
            "test_401_is_an_auth_error_and_not_retried": "Vendure answers refused credentials with HTTP 200 and a GraphQL error FORBIDDEN "
            "(self-hosted.md 1, error shapes), never a 401: the adapter raises an AuthError without an "
            "HTTP status; that it is one request, not retried, is asserted in tests/test_vendure_fake.py",
            "test_401_refreshes_the_token_once": "this case uses an API key (Vendure >= 3.6), which has no refresh flow; a bearer session "
            "from `login` has none either (a new login is a new session), and the adapter reports an "
            "ended session as an AuthError rather than logging in again",
            "test_the_fake_refuses_an_oversized_batch_like_the_vendor": "Vendure sets no limit on the inputs of one mutation (self-hosted.md 1: an `in` list of "
            "2,001 SKUs worked; only `take` is capped, at 1000); the adapter caps its own batches at "
            "max_write_batch (at most 1000)",
            "test_every_recorded_request_conforms": "Vendure publishes no static schema file: each server generates its Admin API schema from "
            "its config and plugins, and none is in ../shared/specs (specs/README.md lists none). The "
            "adapter's GraphQL documents are validated by a real Vendure 3.7.3 in tests/e2e (a document "
            "the schema refuses is HTTP 400 GRAPHQL_VALIDATION_FAILED there), and tests/fakes/vendure.py "
            "validates every request against a subset of Vendure 3.7's Admin schema",
            "test_a_wrong_request_is_caught": "no Vendure schema in ../shared/specs to catch a wrong request with (see "
            "test_every_recorded_request_conforms); tests/test_vendure_fake.py shows the fake refuses "
            "a document or variable Vendure's schema would refuse",
        },
    ),
    "medusa": ChannelCase(
        type="medusa",
        make_fake=lambda **kw: MedusaFake(
            api_key=MEDUSA_KEY, email="admin@omnisync.test", password=MEDUSA_PASSWORD, **kw
        ),
        config=lambda base_url: {
            "name": "medusa",
            "type": "medusa",
            "base_url": base_url,
            "api_key_env": "MEDUSA_API_KEY",
        },
        env={
            "MEDUSA_API_KEY": MEDUSA_KEY,
            "MEDUSA_EMAIL": "admin@omnisync.test",
            "MEDUSA_PASSWORD": MEDUSA_PASSWORD,
        },
        base_url="https://medusa.example.test",
        secrets=(MEDUSA_KEY, MEDUSA_PASSWORD),
        variants=True,
        auth_variants={
            "secret-key": {},
            "jwt": {"api_key_env": None, "email_env": "MEDUSA_EMAIL", "password_env": "MEDUSA_PASSWORD"},
        },
        wrong_secret_env={
            "MEDUSA_API_KEY": "sk_CANARYwrong7d3f9a1b5c2e8d4f6a0b9c7e5d3f1a",
            "MEDUSA_PASSWORD": "CANARYwrongpass3a9f5c1e7b2d8a4f",
        },
        known_gaps={
            "test_reads_every_listing_across_pages": "Medusa's variant list cannot carry a product's variants (a real Medusa 2.21.2 silently "
            "leaves `product.variants.id` out), so the adapter reads each page's products (title, "
            "description, variant count) with GET /admin/products, 100 ids a request: up to 3 reads "
            "per page of 200 variants, over the suite's budget of pages + 4; the values read across "
            "pages are checked in tests/test_medusa_fake.py",
            "test_401_refreshes_the_token_once": "this case uses a secret API key (sk_), which does not expire and has no refresh flow "
            "(self-hosted.md 2: a key is revoked, not renewed); the e-mail/password flavour logs in "
            "again once after a 401, asserted in tests/test_medusa_fake.py",
            "test_the_fake_refuses_an_oversized_batch_like_the_vendor": "Medusa has no item limit on its batch routes: it limits their body to 2 MB "
            "(DEFAULT_BATCH_ENDPOINTS_SIZE_LIMIT, a 413 in bytes, with no item count to name) and does "
            "not cap `limit` (self-hosted.md 2, pitfall 11); the adapter caps its own batches at "
            "max_write_batch (at most 1000)",
            "test_every_recorded_request_conforms": "Medusa publishes an OpenAPI file of its Admin API (docs.medusajs.com/api/admin, "
            '"Download Full Reference"), but it is not in ../shared/specs (specs/README.md lists none '
            "for Medusa), so there is nothing to load here. The adapter's requests are answered by a "
            "real Medusa 2.21.2 in tests/e2e, whose route validators refuse unknown query parameters "
            "and body keys; tests/fakes/medusa.py runs those checks (strict parameters and batch-body "
            "keys, JSON-number amounts) on every request",
            "test_a_wrong_request_is_caught": "no Medusa spec in ../shared/specs to catch a wrong request with (see "
            "test_every_recorded_request_conforms); tests/test_medusa_fake.py shows the fake refuses "
            "an unknown parameter, body key or a string amount as Medusa's validators do",
        },
    ),
}
