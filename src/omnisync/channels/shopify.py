"""``type = "shopify"``: a Shopify store through the Admin GraphQL API (storefronts.md section 1).

Config (``[channels.NAME]``)::

    shop = "my-store"                      # my-store.myshopify.com (or set base_url instead)
    access_token_env = "SHOPIFY_TOKEN"     # an Admin API access token (shpat_...) ...
    # client_id_env = "SHOPIFY_CLIENT_ID"  # ... or a Dev Dashboard app's client credentials
    # client_secret_env = "SHOPIFY_CLIENT_SECRET"
    # api_version = "2026-04"
    # locations = { "12345678" = ["warehouse"], "23456789" = ["store"] }
    # bulk_threshold = 10000               # catalogs with this many variants are read in bulk; 0: never

Every call is ``POST {base_url}/admin/api/{api_version}/graphql.json`` with the token in
``X-Shopify-Access-Token``. A client-credentials app gets its token from
``POST {base_url}/admin/oauth/access_token`` first, and again once on a 401 (those tokens expire).

Mapping. A SKU is one product variant (SKU -> variant -> its inventory item -> the inventory level
at a location). Shopify does not keep SKUs unique: a SKU found on several variants is listed without
values and every write to it is refused with an error naming the variants (omnisync never guesses).

* ``quantity`` is the ``available`` quantity at the shop's primary location (the ``location`` query
  without an id); with ``locations`` (remote location id -> catalog locations) each listed location
  is ``quantity@<id>`` and the others are left alone. A variant whose inventory is not tracked, or
  that is not stocked at a location, reports no quantity there, and a quantity write to it is
  refused with the fix (omnisync does not change those settings of the store).
* ``price`` is the variant's ``price`` (a decimal string both ways, in the shop's currency).
* ``title`` and ``description`` are the product's ``title`` and ``descriptionHtml``: Shopify keeps
  them per product, not per variant, so every variant of a product reports its product's values.
  **Title policy for products with several variants**: a product-level value is written only when
  every variant of that product is in the same write asking for the same value. A catalog whose
  SKUs of one group want different titles ("Tee S", "Tee M") would otherwise rename the product back
  and forth on every run; instead those writes are refused with an error naming the SKUs and the
  values, and the product is left alone until the catalog (or a per-channel override) gives the
  group one title. Single-variant products are written directly.

Reads page through ``productVariants`` with cursors (``first`` <= 250, ``sortKey: ID``). Shopify
refuses a query whose calculated cost exceeds 1000 points and charges every object per node, so a
page holds ``min(250, 998 // (3 + 2 x locations))`` variants (199 with one location); the
capabilities say so. A full read of a catalog with at least ``bulk_threshold`` variants runs a bulk
operation instead (``bulkOperationRunQuery``, polled through ``node(id:)`` with growing pauses held by
the client's pacer, then the JSONL result downloaded without the access token: the URL is signed).

Writes, per ``write()`` call, one request per kind of write and per limit:

* stock: ``inventorySetQuantities`` (``name: "available"``, ``reason: "correction"``), at most 250
  rows per call, always compare-and-set: ``compareQuantity`` before 2026-01, ``changeFromQuantity``
  with ``@idempotent(key:)`` from 2026-01 (both mandatory from 2026-04), chosen by ``api_version``.
  The compared value is the one the engine read, or the value this adapter itself confirmed since
  that read. A stale row is a ``conflict`` (the engine re-reads and re-plans; nothing is
  overwritten). Shopify applies one call's rows all or none, so when some rows are refused the
  others are sent again in a new call (with a new idempotency key: different variables). With an
  idempotency key a call is retried after a timeout and Shopify answers the first outcome; before
  2026-01 a call that may have been applied is not sent again (the journal reconciles it).
* prices: ``productVariantsBulkUpdate`` with ``allowPartialUpdates: true``, one per product, up to
  80 products aliased into one call (each mutation costs 10 of the 1000 points a call may use).
* titles and descriptions: ``productUpdate``, one per product, up to 80 aliased per call.

``applied`` holds what Shopify's answers confirm: ``quantityAfterChange`` of the adjustment group
(a row without a change and without an error held that quantity already), the variants' ``price``
and the products' ``title``/``descriptionHtml``; ``userErrors`` are reported per SKU.

Throttling: Shopify limits calculated query cost per second (a leaky bucket) and says so in every
answer's ``extensions.cost.throttleStatus``. The client's pacer holds the next call until the bucket
holds what the last call asked for; a ``THROTTLED`` answer (HTTP 200 with errors, or a 429) is
retried after exactly that wait.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from ..errors import (
    ChannelError,
    Kind,
    PermanentError,
    ResponseError,
    TransientError,
    error_for,
)
from ..http import (
    ApiClient,
    HeaderAuth,
    OAuth2ClientCredentialsAuth,
    OmnisyncAuth,
    RateLimitInfo,
    default_error_message,
    make_client,
    retry_after_header,
)
from ..models import (
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    RemoteListing,
    Value,
    WriteItem,
    WriteResult,
    field_kind,
    frozen,
    quantity_key,
)
from ..money import Money, MoneyError, is_currency
from .base import Capabilities, Channel, ChannelConfig, ChannelContext, HttpChannel, Route

DEFAULT_API_VERSION = "2026-04"
IDEMPOTENT_FROM = "2026-01"  # changeFromQuantity and @idempotent(key:) exist from this version
PAGE_MAX = 250  # `first` of a connection, and every input array (storefronts.md 1.2, 1.6)
INPUT_MAX = 250
MAX_QUERY_COST = 1000  # a single query's requested cost (storefronts.md 1.4)
MUTATION_COST = 10
# productVariantsBulkUpdate / productUpdate with their small selections (two lists of objects) cost
# 12 points each; 80 of them (960) keep a call under the 1000-point ceiling with a margin.
ALIASES_PER_CALL = (MAX_QUERY_COST - 40) // (MUTATION_COST + 2)
SKU_CHUNK = 50  # SKUs per `sku:` search query
DEFAULT_BULK_THRESHOLD = 10_000
QUANTITY_NAME = "available"
REASON = "correction"
BULK_POLL_FIRST = 1.0
BULK_POLL_MAX = 10.0

_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LOCATION_GID = re.compile(r"^gid://shopify/Location/(\d+)$")


def version_key(version: str) -> tuple[int, int]:
    """``"2026-04"`` -> (2026, 4); ``"unstable"`` sorts after every release."""
    m = _VERSION.match(version)
    if m is None:
        return (9999, 99)
    return int(m.group(1)), int(m.group(2))


def uses_idempotency(version: str) -> bool:
    """True from 2026-01: ``changeFromQuantity`` rows and an ``@idempotent`` key."""
    return version_key(version) >= version_key(IDEMPOTENT_FROM)


def variant_node_cost(locations: int) -> int:
    """Requested cost of one variant of a read page: the variant, its product, its inventory item,
    and per location an inventory level and its quantities list (one point per object)."""
    return 3 + 2 * max(1, locations)


def read_page_size(locations: int) -> int:
    """The most variants one page may hold under the 1000-point ceiling (2 for the connection)."""
    return max(1, min(PAGE_MAX, (MAX_QUERY_COST - 2) // variant_node_cost(locations)))


def location_gid(key: str) -> str:
    """A configured location id (``"123"`` or ``"gid://shopify/Location/123"``) as a gid."""
    return key if key.startswith("gid://") else f"gid://shopify/Location/{key}"


def numeric_id(gid: str) -> str:
    """``"gid://shopify/Product/12"`` -> ``"12"``."""
    return gid.rsplit("/", 1)[-1]


class ShopifyConfig(ChannelConfig):
    """``[channels.NAME]`` keys of a Shopify store."""

    type: Literal["shopify"] = "shopify"
    shop: str | None = None  # the store's myshopify name: "my-store" or "my-store.myshopify.com"
    access_token_env: str | None = Field(default=None, min_length=1)
    client_id_env: str | None = Field(default=None, min_length=1)
    client_secret_env: str | None = Field(default=None, min_length=1)
    api_version: str = DEFAULT_API_VERSION
    bulk_threshold: int = Field(default=DEFAULT_BULK_THRESHOLD, ge=0)  # 0: never read in bulk
    bulk_timeout_seconds: float = Field(default=1800.0, gt=0, le=86400)
    max_write_batch: int = Field(default=INPUT_MAX, ge=1, le=INPUT_MAX)

    @field_validator("shop")
    @classmethod
    def _shop_name(cls, v: str | None) -> str | None:
        if v is None:
            return v
        name = v.strip().lower()
        for prefix in ("https://", "http://"):
            name = name.removeprefix(prefix)
        name = name.rstrip("/")
        name = name.removesuffix(".myshopify.com")
        if not _SHOP.match(name):
            raise ValueError(f"{v!r} is not a shop name: use the part before .myshopify.com")
        return name

    @field_validator("api_version")
    @classmethod
    def _version(cls, v: str) -> str:
        if v != "unstable" and not _VERSION.match(v):
            raise ValueError(f'{v!r} is not a Shopify API version (YYYY-01, -04, -07 or -10, e.g. "2026-04")')
        return v

    @field_validator("locations")
    @classmethod
    def _location_ids(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for key in v or {}:
            if not (key.isdigit() or _LOCATION_GID.match(key)):
                raise ValueError(
                    f"location {key!r} is not a Shopify location id (the number in "
                    "Settings > Locations > the location's address bar)"
                )
        return v

    @model_validator(mode="after")
    def _auth_and_address(self) -> ShopifyConfig:
        if not self.shop and not self.base_url:
            raise ValueError("set shop (the name before .myshopify.com), or base_url")
        creds = self.client_id_env is not None or self.client_secret_env is not None
        if self.access_token_env and creds:
            raise ValueError("set access_token_env, or client_id_env and client_secret_env, not both")
        if not self.access_token_env and not (self.client_id_env and self.client_secret_env):
            raise ValueError(
                "set access_token_env (an Admin API access token), or client_id_env "
                "and client_secret_env (a Dev Dashboard app's client credentials)"
            )
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        return self

    @property
    def root_url(self) -> str:
        return (self.base_url or f"https://{self.shop}.myshopify.com").rstrip("/")


def capabilities(cfg: ShopifyConfig | None = None) -> Capabilities:
    locations = len(cfg.locations) if cfg is not None and cfg.locations else 1
    return Capabilities(
        fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
        read_page_size=read_page_size(locations),
        max_write_batch=cfg.max_write_batch if cfg is not None else INPUT_MAX,
        compare_and_set=True,  # compareQuantity / changeFromQuantity (storefronts.md 1.2b)
        async_writes=False,
        # `updated_at:>` filters exist, but nothing documents that a sale moves a variant's
        # updatedAt: an incremental read could miss sales, so every read is a full one.
        changed_since=False,
        create=False,
        multi_location=True,
        # @idempotent keys make retries exact, but nothing can be asked about a key afterwards
        idempotency_keys=False,
        # Shopify publishes cost points per second (100/200/1000/2000 by plan), not requests per
        # second: pacing follows extensions.cost.throttleStatus of every answer instead.
        rate_limit_per_second=None,
    )


CAPABILITIES = capabilities()


# -- GraphQL documents -----------------------------------------------------------------------------
def _variant_fields(locations: Sequence[str], *, literal: bool) -> str:
    """The selection of one variant; inventory levels aliased ``q0``, ``q1``... per location
    (``$l0``... variables, or literal ids for a bulk query, which takes no variables)."""
    levels = " ".join(
        f"q{i}: inventoryLevel(locationId: {json.dumps(loc) if literal else f'$l{i}'}) "
        f'{{ quantities(names: ["{QUANTITY_NAME}"]) {{ name quantity }} }}'
        for i, loc in enumerate(locations)
    )
    return (
        "id sku price product { id title descriptionHtml hasOnlyDefaultVariant } "
        f"inventoryItem {{ id tracked {levels} }}"
    )


def variants_query(n_locations: int) -> str:
    defs = "".join(f", $l{i}: ID!" for i in range(n_locations))
    fields = _variant_fields([""] * n_locations, literal=False)
    return (
        f"query OmnisyncVariants($first: Int!, $after: String, $query: String{defs}) {{\n"
        f"  productVariants(first: $first, after: $after, query: $query, sortKey: ID) {{\n"
        f"    pageInfo {{ hasNextPage endCursor }}\n"
        f"    nodes {{ {fields} }}\n  }}\n}}"
    )


def bulk_variants_query(locations: Sequence[str]) -> str:
    return "{ productVariants { edges { node { " + _variant_fields(locations, literal=True) + " } } } }"


SIBLINGS = """query OmnisyncSiblings($first: Int!, $after: String, $query: String!) {
  productVariants(first: $first, after: $after, query: $query, sortKey: ID) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku product { id } }
  }
}"""

CHECK = "query OmnisyncCheck { shop { name myshopifyDomain currencyCode } }"

BULK_RUN = """mutation OmnisyncBulkRead($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}"""

BULK_STATUS = """query OmnisyncBulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url partialDataUrl } }
}"""

BULK_CURRENT = "query OmnisyncBulkCurrent { currentBulkOperation { id status query } }"

_SET_SELECTION = (
    f'inventoryAdjustmentGroup {{ changes(quantityNames: ["{QUANTITY_NAME}"]) '
    "{ name delta quantityAfterChange item { id } location { id } } } "
    "userErrors { code field message }"
)


def set_quantities_mutation(version: str) -> str:
    """``inventorySetQuantities`` as the API version wants it: with an ``@idempotent`` key from
    2026-01 (Shopify answers a repeated key with the first outcome)."""
    if uses_idempotency(version):
        return (
            "mutation OmnisyncSetQuantities($input: InventorySetQuantitiesInput!, "
            "$idempotencyKey: String!) {\n"
            "  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {\n"
            f"    {_SET_SELECTION}\n  }}\n}}"
        )
    return (
        "mutation OmnisyncSetQuantities($input: InventorySetQuantitiesInput!) {\n"
        f"  inventorySetQuantities(input: $input) {{\n    {_SET_SELECTION}\n  }}\n}}"
    )


def prices_mutation(n: int) -> str:
    defs = ", ".join(f"$p{i}: ID!, $v{i}: [ProductVariantsBulkInput!]!" for i in range(n))
    body = "\n".join(
        f"  p{i}: productVariantsBulkUpdate(productId: $p{i}, variants: $v{i}, allowPartialUpdates: true) "
        "{ productVariants { id price } userErrors { code field message } }"
        for i in range(n)
    )
    return f"mutation OmnisyncPrices({defs}) {{\n{body}\n}}"


def products_mutation(n: int) -> str:
    defs = ", ".join(f"$u{i}: ProductUpdateInput!" for i in range(n))
    body = "\n".join(
        f"  u{i}: productUpdate(product: $u{i}) "
        "{ product { id title descriptionHtml } userErrors { field message } }"
        for i in range(n)
    )
    return f"mutation OmnisyncProducts({defs}) {{\n{body}\n}}"


def search_value(text: str) -> str:
    """A value quoted for Shopify's search syntax (``sku:"A-1"``)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- responses: errors and cost --------------------------------------------------------------------
_CODE_KINDS: dict[str, Kind] = {
    "THROTTLED": Kind.RATE_LIMITED,
    "ACCESS_DENIED": Kind.AUTH,  # a scope is missing: the message names it
    "INTERNAL_SERVER_ERROR": Kind.RETRY,
}


def _json(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


def _error_codes(errors: Any) -> list[str]:
    out = []
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict) and isinstance(e.get("extensions"), dict):
            code = e["extensions"].get("code")
            if isinstance(code, str):
                out.append(code)
    return out


def graphql_errors(response: httpx.Response) -> tuple[Kind, str] | None:
    """Top-level ``errors`` of a GraphQL answer (HTTP 200): the kind and Shopify's messages."""
    body = _json(response)
    if not isinstance(body, dict) or not body.get("errors"):
        return None
    errors = body["errors"]
    if isinstance(errors, str):
        return Kind.PERMANENT, errors
    codes = _error_codes(errors)
    kind = Kind.PERMANENT
    for code in codes:
        if code in _CODE_KINDS:
            kind = _CODE_KINDS[code]
            break
    parts = []
    for e in errors if isinstance(errors, list) else [errors]:
        message = e.get("message") if isinstance(e, dict) else str(e)
        tag = (e.get("extensions") or {}).get("code") if isinstance(e, dict) else None
        text = " ".join(str(message or "error").split())
        parts.append(f"{text} [{tag}]" if isinstance(tag, str) and tag not in text else text)
    return kind, "; ".join(parts[:5])


def error_message(response: httpx.Response) -> str | None:
    """Shopify's error bodies: ``{"errors": "..."}`` (REST-style, e.g. a 401) or a GraphQL list."""
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("errors"), str):
        return " ".join(body["errors"].split())
    found = graphql_errors(response)
    if found is not None:
        return found[1]
    return default_error_message(response)


def cost_limit(response: httpx.Response, now: datetime) -> RateLimitInfo:
    """The pacer's view of Shopify's cost bucket: wait until it holds what this call asked for.

    A ``Retry-After`` header wins; otherwise ``extensions.cost``: after a ``THROTTLED`` answer (or
    when the bucket holds less than the last call's requested cost) the wait is
    ``(requested - currentlyAvailable + 1) / restoreRate`` seconds.
    """
    info = retry_after_header(response, now)
    if info.retry_after is not None:
        return info
    body = _json(response)
    cost = (body.get("extensions") or {}).get("cost") if isinstance(body, dict) else None
    if not isinstance(cost, dict):
        return info
    status = cost.get("throttleStatus")
    if not isinstance(status, dict):
        return info
    try:
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
        requested = float(cost.get("requestedQueryCost") or 0)
    except (KeyError, TypeError, ValueError):
        return info
    if rate <= 0:
        return info
    throttled = "THROTTLED" in _error_codes(body.get("errors") if isinstance(body, dict) else None)
    need = requested - available
    if throttled or need > 0:
        # one point of slack: the bucket refills continuously and a wait cut to the exact point
        # count could be a hair short of it
        return RateLimitInfo(retry_after=max(need + 1.0, 1.0) / rate)
    return info


# -- the adapter -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Shop:
    name: str
    currency: str
    stock: tuple[tuple[str, str], ...]  # (field key, location gid) in alias order


@dataclass(frozen=True)
class _Ref:
    """Where a SKU lives in the shop."""

    variant_id: str
    product_id: str
    item_id: str
    tracked: bool
    single: bool  # the product has only its default variant
    stocked: frozenset[str] = frozenset()  # stock field keys with an inventory level
    duplicates: tuple[str, ...] = ()  # variant ids, when several variants carry the SKU


@dataclass(frozen=True)
class _Row:
    index: int  # of the item in the batch
    key: str  # stock field key
    item_id: str
    location_id: str
    quantity: int
    compare: int
    write_key: str  # the item's journalled key


@dataclass
class _Outcome:
    item: WriteItem
    applied: dict[str, Value] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (message, kind)

    def fail(self, message: str, kind: Kind | str) -> None:
        self.errors.append((message, kind.value if isinstance(kind, Kind) else kind))

    def result(self) -> WriteResult:
        if not self.errors:
            return WriteResult.success(self.item.sku, self.applied)
        kinds = {k for _, k in self.errors}
        for k in (Kind.CONFLICT, Kind.RATE_LIMITED, Kind.RETRY, Kind.AUTH, Kind.NOT_FOUND):
            if k.value in kinds:
                kind = k.value
                break
        else:
            kind = Kind.PERMANENT.value
        return WriteResult(
            self.item.sku,
            False,
            frozen(self.applied),
            error="; ".join(m for m, _ in self.errors),
            error_kind=kind,
        )


class _Run:
    """One write() call: outcomes per item, and whether anything was applied yet."""

    def __init__(self, batch: Sequence[WriteItem]) -> None:
        self.outcomes = [_Outcome(item) for item in batch]
        self.applied_any = False
        self.failure: ChannelError | None = None

    def guard(self, indices: Iterable[int], exc: ChannelError) -> None:
        """A call failed as a whole: raise it if nothing was applied yet (the engine then knows the
        whole batch failed), else report it on the items it carried."""
        if not self.applied_any:
            raise exc
        self.failure = exc
        for i in set(indices):
            self.outcomes[i].fail(str(exc), exc.kind)

    def skipped(self, indices: Iterable[int]) -> bool:
        if self.failure is None:
            return False
        for i in set(indices):
            self.outcomes[i].fail(f"not sent: {self.failure}", self.failure.kind)
        return True


_INVENTORY_KINDS: dict[str, Kind] = {
    "COMPARE_QUANTITY_STALE": Kind.CONFLICT,
    "CHANGE_FROM_QUANTITY_STALE": Kind.CONFLICT,
    "IDEMPOTENCY_CONCURRENT_REQUEST": Kind.RETRY,
    "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": Kind.RETRY,
    "INVALID_INVENTORY_ITEM": Kind.NOT_FOUND,
}
_VARIANT_KINDS: dict[str, Kind] = {
    "PRODUCT_DOES_NOT_EXIST": Kind.NOT_FOUND,
    "PRODUCT_VARIANT_DOES_NOT_EXIST": Kind.NOT_FOUND,
}


class ShopifyChannel(HttpChannel[ShopifyConfig, _Ref]):
    """The Shopify adapter. See the module docstring for the mapping and the write policy."""

    Config = ShopifyConfig
    capabilities = CAPABILITIES

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        super().__init__(cfg, ctx)
        self.version = self.cfg.api_version
        self._download: ApiClient | None = None
        self._shop: _Shop | None = None
        self._read_levels: dict[tuple[str, str], int] = {}  # (item, location) -> quantity read
        self._own_levels: dict[tuple[str, str], int] = {}  # confirmed by this adapter since

    def make_auth(self) -> OmnisyncAuth:
        """An Admin API access token, or a Dev Dashboard app's client-credentials grant
        (``POST /admin/oauth/access_token``; these tokens expire: a 401 gets a new one once)."""
        if self.cfg.access_token_env:
            return HeaderAuth("X-Shopify-Access-Token", self.secret("access_token_env"))
        return OAuth2ClientCredentialsAuth(
            token_url=f"{self.cfg.root_url}/admin/oauth/access_token",
            client_id=self.secret("client_id_env"),
            client_secret=self.secret("client_secret_env"),
            client_auth="body",
            header="X-Shopify-Access-Token",
            prefix="",
        )

    def client_options(self) -> dict[str, Any]:
        return {
            "default_base_url": self.cfg.root_url,
            "base_path": f"/admin/api/{self.cfg.api_version}",
            "rate_limit_headers": cost_limit,
            "error_message": error_message,
            "body_errors": graphql_errors,
        }

    @classmethod
    def capabilities_for(cls, cfg: ChannelConfig) -> Capabilities:
        """A page holds fewer variants when more locations are read; ``max_write_batch`` may be
        lowered in the config."""
        return capabilities(cfg if isinstance(cfg, ShopifyConfig) else None)

    # -- transport -------------------------------------------------------------------------------
    def _gql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, reads: bool, idempotent: bool = True
    ) -> dict[str, Any]:
        """One GraphQL call: its ``data``. Top-level errors were raised by the client already
        (``graphql_errors``), THROTTLED ones after being retried."""
        response = self.client.post(
            "graphql.json",
            json={"query": query, "variables": dict(variables or {})},
            idempotent=idempotent,
            count_as="reads" if reads else "writes",
        )
        body = self.client.json(response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise ResponseError(
                "Shopify's answer has no data", channel=self.name, status=response.status_code
            )
        return data

    def _redact(self, text: object) -> str:
        return self.client.redactor(text)

    def shop(self) -> _Shop:
        """The shop's currency and the locations omnisync reads (asked once)."""
        if self._shop is None:
            configured = list(self.cfg.locations or {})
            parts = ["shop { name currencyCode }"]
            variables: dict[str, Any] = {}
            if configured:
                parts.append("nodes(ids: $locations) { ... on Location { id } }")
                variables["locations"] = [location_gid(k) for k in configured]
            else:
                parts.append("location { id }")
            defs = "($locations: [ID!]!)" if configured else ""
            data = self._gql(f"query OmnisyncShop{defs} {{ {' '.join(parts)} }}", variables, reads=True)
            shop = data.get("shop") or {}
            currency = shop.get("currencyCode")
            if not isinstance(currency, str) or not is_currency(currency):
                raise ResponseError(
                    f"Shopify reported currency {currency!r}, not an ISO 4217 code", channel=self.name
                )
            if self.cfg.currency is not None and self.cfg.currency != currency:
                raise PermanentError(
                    f"the shop sells in {currency} but the channel config says "
                    f"currency = {self.cfg.currency!r}",
                    channel=self.name,
                )
            if configured:
                found = {n.get("id") for n in data.get("nodes") or [] if isinstance(n, dict)}
                missing = [k for k in configured if location_gid(k) not in found]
                if missing:
                    raise PermanentError(
                        f"channels.{self.name}.locations: Shopify has no location {', '.join(missing)} "
                        "visible to this app (ids are in Settings > Locations, in the address bar)",
                        channel=self.name,
                    )
                stock = tuple((quantity_key(k), location_gid(k)) for k in configured)
            else:
                loc = (data.get("location") or {}).get("id")
                if not isinstance(loc, str):
                    raise ResponseError("Shopify did not name the shop's primary location", channel=self.name)
                stock = ((QUANTITY, loc),)
            self._shop = _Shop(str(shop.get("name") or ""), currency, stock)
        return self._shop

    # -- reading ---------------------------------------------------------------------------------
    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """Every variant with a SKU (``skus``: only those); ``since`` is ignored (see
        ``capabilities``). Buffered per call, so a SKU on two variants is seen as one duplicate."""
        shop = self.shop()
        if skus is not None:
            wanted = sorted({s for s in skus if s})
            nodes: Iterable[dict[str, Any]] = self._nodes_for(wanted, shop)
            keep: set[str] | None = set(wanted)
        else:
            nodes = self._all_nodes(shop)
            keep = None
        by_sku: dict[str, list[dict[str, Any]]] = {}
        seen: set[str] = set()
        for node in nodes:
            vid = node.get("id")
            sku = node.get("sku")
            if not isinstance(vid, str) or vid in seen or not isinstance(sku, str) or not sku:
                continue
            seen.add(vid)
            if keep is not None and sku not in keep:
                continue
            by_sku.setdefault(sku, []).append(node)
        for sku in sorted(by_sku):
            yield self._listing(sku, by_sku[sku], shop)

    def _all_nodes(self, shop: _Shop) -> Iterator[dict[str, Any]]:
        if self.cfg.bulk_threshold:
            data = self._gql("query OmnisyncCount { productVariantsCount { count precision } }", reads=True)
            count = data.get("productVariantsCount") or {}
            n = count.get("count")
            if isinstance(n, int) and (n >= self.cfg.bulk_threshold or count.get("precision") == "AT_LEAST"):
                nodes = self._bulk_nodes(shop)
                if nodes is not None:
                    return nodes
        return self._pages(None, shop)

    def _nodes_for(self, skus: Sequence[str], shop: _Shop) -> Iterator[dict[str, Any]]:
        for start in range(0, len(skus), SKU_CHUNK):
            chunk = skus[start : start + SKU_CHUNK]
            yield from self._pages(" OR ".join(f"sku:{search_value(s)}" for s in chunk), shop)

    def _pages(self, search: str | None, shop: _Shop) -> Iterator[dict[str, Any]]:
        locations = [loc for _, loc in shop.stock]
        query = variants_query(len(locations))
        variables: dict[str, Any] = {
            "first": self.capabilities.read_page_size,
            "after": None,
            "query": search,
        }
        variables.update({f"l{i}": loc for i, loc in enumerate(locations)})
        while True:
            data = self._gql(query, variables, reads=True)
            conn = data.get("productVariants")
            if not isinstance(conn, dict) or not isinstance(conn.get("nodes"), list):
                raise ResponseError("Shopify's answer has no productVariants", channel=self.name)
            for node in conn["nodes"]:
                if isinstance(node, dict):
                    yield node
            info = conn.get("pageInfo") or {}
            cursor = info.get("endCursor")
            if not info.get("hasNextPage") or not isinstance(cursor, str) or cursor == variables["after"]:
                return
            variables["after"] = cursor

    def _listing(self, sku: str, nodes: list[dict[str, Any]], shop: _Shop) -> RemoteListing:
        if len(nodes) > 1:
            ids = tuple(str(n.get("id")) for n in nodes)
            self.ctx.log(
                f"{self.name}: SKU {sku} is on {len(ids)} variants ({', '.join(ids)}); "
                "it will not be written until the SKU is unique in Shopify"
            )
            first = self._decode(nodes[0], shop)[0]
            self._refs[sku] = _Ref(
                first.variant_id,
                first.product_id,
                first.item_id,
                first.tracked,
                first.single,
                first.stocked,
                duplicates=ids,
            )
            return RemoteListing(sku, frozen({}), remote_id=ids[0], extra=frozen({"duplicates": ids}))
        ref, values = self._decode(nodes[0], shop)
        self._refs[sku] = ref
        return RemoteListing(
            sku,
            frozen(values),
            remote_id=ref.variant_id,
            extra=frozen(
                {
                    "variant_id": ref.variant_id,
                    "product_id": ref.product_id,
                    "inventory_item_id": ref.item_id,
                    "single": ref.single,
                }
            ),
        )

    def _decode(self, node: Mapping[str, Any], shop: _Shop) -> tuple[_Ref, dict[str, Value]]:
        product = node.get("product") or {}
        item = node.get("inventoryItem") or {}
        if (
            not isinstance(product, dict)
            or not isinstance(item, dict)
            or not isinstance(product.get("id"), str)
            or not isinstance(item.get("id"), str)
        ):
            raise ResponseError(
                f"Shopify sent variant {node.get('id')!r} without its product or inventory item",
                channel=self.name,
            )
        values: dict[str, Value] = {}
        tracked = item.get("tracked") is True
        stocked: set[str] = set()
        for i, (key, loc) in enumerate(shop.stock):
            level = item.get(f"q{i}")
            if not isinstance(level, dict):
                continue
            stocked.add(key)
            qty = next(
                (
                    q.get("quantity")
                    for q in level.get("quantities") or []
                    if isinstance(q, dict) and q.get("name") == QUANTITY_NAME
                ),
                None,
            )
            if isinstance(qty, Decimal) and qty == qty.to_integral_value():
                qty = int(qty)
            if tracked and isinstance(qty, int) and not isinstance(qty, bool):
                values[key] = qty
                self._read_levels[(item["id"], loc)] = qty
                self._own_levels.pop((item["id"], loc), None)
        raw = node.get("price")
        if isinstance(raw, (str, Decimal, int)) and not isinstance(raw, bool):
            try:
                values[PRICE] = Money.parse(str(raw).strip(), shop.currency)
            except MoneyError as exc:
                self.ctx.log(
                    f"{self.name}: {node.get('sku')}: price {raw!r} is not an amount in "
                    f"{shop.currency} ({exc}); treated as unknown"
                )
        if isinstance(product.get("title"), str):
            values[TITLE] = product["title"]
        if isinstance(product.get("descriptionHtml"), str):
            values[DESCRIPTION] = product["descriptionHtml"]
        ref = _Ref(
            str(node.get("id")),
            product["id"],
            item["id"],
            tracked,
            product.get("hasOnlyDefaultVariant") is True,
            frozenset(stocked),
        )
        return ref, values

    # -- bulk reads ------------------------------------------------------------------------------
    def _downloader(self) -> ApiClient:
        """A client without credentials for the signed result URL (the token never leaves Shopify)."""
        if self._download is None:
            self._download = make_client(
                self.cfg,
                self.ctx,
                capabilities=self.capabilities,
                auth=None,
                default_base_url=self.cfg.root_url,
            )
        return self._download

    def _bulk_nodes(self, shop: _Shop) -> Iterator[dict[str, Any]] | None:
        """Every variant through a bulk operation, or None when one cannot be started (then the
        caller reads page by page)."""
        query = bulk_variants_query([loc for _, loc in shop.stock])
        data = self._gql(BULK_RUN, {"query": query}, reads=True)
        payload = data.get("bulkOperationRunQuery") or {}
        op = payload.get("bulkOperation") if isinstance(payload, dict) else None
        errors = payload.get("userErrors") if isinstance(payload, dict) else None
        if errors or not isinstance(op, dict) or not isinstance(op.get("id"), str):
            codes = {e.get("code") for e in errors or [] if isinstance(e, dict)}
            current = None
            if "OPERATION_IN_PROGRESS" in codes:
                current = self._gql(BULK_CURRENT, reads=True).get("currentBulkOperation")
            if (
                isinstance(current, dict)
                and current.get("query") == query
                and isinstance(current.get("id"), str)
            ):
                op = current  # our own earlier request (a retried call, or a run killed meanwhile)
            else:
                message = "; ".join(str(e.get("message")) for e in errors or [] if isinstance(e, dict))
                self.ctx.log(
                    f"{self.name}: bulk read not started ({self._redact(message) or 'no operation'}); "
                    "reading page by page"
                )
                return None
        op_id = str(op["id"])
        pause, waited = BULK_POLL_FIRST, 0.0
        while True:
            node = self._gql(BULK_STATUS, {"id": op_id}, reads=True).get("node") or {}
            status = node.get("status")
            if status == "COMPLETED":
                break
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                code = node.get("errorCode")
                kind = Kind.RETRY if code in ("INTERNAL_SERVER_ERROR", "TIMEOUT") else Kind.PERMANENT
                raise error_for(
                    kind,
                    f"the bulk read {op_id} ended {status} ({code or 'no error code'})",
                    channel=self.name,
                )
            if waited >= self.cfg.bulk_timeout_seconds:
                raise TransientError(
                    f"the bulk read {op_id} is still {status} after {waited:.0f}s; the next run tries again",
                    channel=self.name,
                )
            self.client.pacer.observe(RateLimitInfo(retry_after=pause))  # the next poll waits
            waited += pause
            pause = min(pause * 2, BULK_POLL_MAX)
        url = node.get("url")
        if not isinstance(url, str) or not url:
            return iter(())  # nothing matched: Shopify writes no file
        response = self._downloader().get(url)
        return self._jsonl(response.content)

    def _jsonl(self, content: bytes) -> Iterator[dict[str, Any]]:
        for n, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                raise ResponseError(f"line {n} of the bulk result is not JSON", channel=self.name) from None
            if isinstance(obj, dict) and "__parentId" not in obj:
                yield obj

    # -- writing ---------------------------------------------------------------------------------
    # Each write() call sends one request per kind of write, so a call holds at most
    # ``max_write_batch`` inventory rows (one per SKU and location) and at most 80 products' prices
    # and 80 products' titles or descriptions (the aliases one call may carry): a push of 251 price
    # changes takes ceil(251 / 80) = 4 calls, not 250 + 1 SKUs' worth (3 + 1 + 1).
    write_routes: ClassVar[Mapping[str, Route]] = {
        QUANTITY: ("stock", "field"),
        PRICE: ("price", "product"),
        TITLE: ("content", "product"),
        DESCRIPTION: ("content", "product"),
    }

    def request_capacity(self) -> dict[str, int]:
        limit = self.capabilities.max_write_batch
        aliases = min(limit, ALIASES_PER_CALL)
        return {"stock": limit, "price": aliases, "content": aliases, "other": limit}

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        """Stock, then prices, then titles and descriptions; one result per item, in order."""
        shop = self.shop()
        self._resolve(batch)
        run = _Run(batch)
        rows: list[_Row] = []
        prices: dict[str, list[tuple[int, str, Money]]] = {}  # product -> (index, variant, price)
        content: dict[str, list[tuple[int, dict[str, str]]]] = {}  # product -> (index, fields)
        locations = dict(shop.stock)
        seen: set[str] = set()
        for index, item in enumerate(batch):
            out = run.outcomes[index]
            ref = self._refs.get(item.sku)
            if item.create:
                out.fail(
                    "this adapter does not create Shopify products; create it in Shopify", Kind.PERMANENT
                )
                continue
            if item.sku in seen:
                out.fail("the SKU is twice in one batch", Kind.PERMANENT)
                continue
            seen.add(item.sku)
            if ref is None:
                out.fail("no Shopify variant has this SKU", Kind.NOT_FOUND)
                continue
            if ref.duplicates:
                out.fail(
                    f"the SKU is on {len(ref.duplicates)} Shopify variants ({', '.join(ref.duplicates)});"
                    " Shopify does not keep SKUs unique, omnisync will not guess which one to write: "
                    "make it unique in Shopify",
                    Kind.PERMANENT,
                )
                continue
            fields: dict[str, str] = {}
            for key, value in item.values.items():
                kind = field_kind(key)
                if kind == QUANTITY:
                    row = self._row(index, item, ref, key, value, locations, out)
                    if row is not None:
                        rows.append(row)
                elif key == PRICE:
                    if not isinstance(value, Money):
                        out.fail(f"price must be money, not {value!r}", Kind.PERMANENT)
                    elif value.currency != shop.currency:
                        out.fail(
                            f"price is in {value.currency} but the shop sells in {shop.currency}",
                            Kind.PERMANENT,
                        )
                    else:
                        prices.setdefault(ref.product_id, []).append((index, ref.variant_id, value))
                elif key in (TITLE, DESCRIPTION) and isinstance(value, str):
                    fields[key] = value
                else:
                    out.fail(f"Shopify has no field {key!r}", Kind.PERMANENT)
            if fields:
                content.setdefault(ref.product_id, []).append((index, fields))
        content = self._shared_fields(batch, content, run)

        self._write_stock(rows, run)
        self._write_prices(prices, shop, run)
        self._write_content(content, batch, run)
        return [o.result() for o in run.outcomes]

    def _row(
        self,
        index: int,
        item: WriteItem,
        ref: _Ref,
        key: str,
        value: Value,
        locations: Mapping[str, str],
        out: _Outcome,
    ) -> _Row | None:
        loc = locations.get(key)
        if loc is None:
            where = ", ".join(locations)
            out.fail(
                f"{key} is not a stock field of this channel (it has {where}); check "
                f"channels.{self.name}.locations",
                Kind.PERMANENT,
            )
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            out.fail(f"{key} must be a whole number of units, not {value!r}", Kind.PERMANENT)
            return None
        if not ref.tracked:
            out.fail(
                "Shopify does not track inventory for this variant ('Track quantity' is off), so "
                "a quantity would not limit sales: turn tracking on in Shopify, or stop syncing "
                "quantity for this channel",
                Kind.PERMANENT,
            )
            return None
        if key not in ref.stocked:
            out.fail(
                f"the variant is not stocked at location {numeric_id(loc)}: stock it there in "
                "Shopify, or remove the location from this channel's locations",
                Kind.PERMANENT,
            )
            return None
        compare = item.expected.get(key)
        if compare is None and item.remote is not None:
            compare = item.remote.values.get(key)
        level = (ref.item_id, loc)
        if level in self._own_levels and compare == self._read_levels.get(level):
            compare = self._own_levels[level]  # this adapter moved it since that read
        if not isinstance(compare, int) or isinstance(compare, bool):
            out.fail(
                f"{key}: no quantity was read for this SKU, and omnisync writes Shopify stock only "
                "with compare-and-set",
                Kind.PERMANENT,
            )
            return None
        return _Row(index, key, ref.item_id, loc, value, compare, item.key)

    # stock ---------------------------------------------------------------------------------------
    def _write_stock(self, rows: Sequence[_Row], run: _Run) -> None:
        idempotent = uses_idempotency(self.version)
        mutation = set_quantities_mutation(self.version)
        for start in range(0, len(rows), INPUT_MAX):
            pending = list(rows[start : start + INPUT_MAX])
            while pending:
                if run.skipped(r.index for r in pending):
                    break
                variables: dict[str, Any] = {"input": self._set_input(pending)}
                if idempotent:
                    variables["idempotencyKey"] = str(
                        uuid.uuid5(
                            uuid.NAMESPACE_URL,
                            "omnisync:" + ",".join(f"{r.write_key}@{r.location_id}" for r in pending),
                        )
                    )
                try:
                    # with a key, a repeat is answered with the first outcome: safe to send again;
                    # without one, a call that may have been applied is left to the journal
                    data = self._gql(mutation, variables, reads=False, idempotent=idempotent)
                except ChannelError as exc:
                    run.guard((r.index for r in pending), exc)
                    break
                pending = self._stock_outcome(pending, data.get("inventorySetQuantities"), run)

    def _set_input(self, rows: Sequence[_Row]) -> dict[str, Any]:
        quantities: list[dict[str, Any]] = []
        for r in rows:
            q: dict[str, Any] = {
                "inventoryItemId": r.item_id,
                "locationId": r.location_id,
                "quantity": r.quantity,
            }
            if uses_idempotency(self.version):
                q["changeFromQuantity"] = r.compare
            else:
                q["compareQuantity"] = r.compare
            quantities.append(q)
        return {"name": QUANTITY_NAME, "reason": REASON, "quantities": quantities}

    def _stock_outcome(self, rows: list[_Row], payload: Any, run: _Run) -> list[_Row]:
        """Record each row's outcome; return the rows to send again (refused along with others)."""
        if not isinstance(payload, dict):
            raise ResponseError("Shopify's answer has no inventorySetQuantities payload", channel=self.name)
        by_row: dict[int, list[dict[str, Any]]] = {}
        general: list[dict[str, Any]] = []
        for e in payload.get("userErrors") or []:
            if not isinstance(e, dict):
                continue
            path = e.get("field") or []
            if (
                len(path) >= 3
                and path[:2] == ["input", "quantities"]
                and str(path[2]).isdigit()
                and int(path[2]) < len(rows)
            ):
                by_row.setdefault(int(path[2]), []).append(e)
            else:
                general.append(e)
        group = payload.get("inventoryAdjustmentGroup")
        changes: dict[tuple[Any, Any], Any] = {}  # (item id, location id) -> change
        if isinstance(group, dict):
            for c in group.get("changes") or []:
                if isinstance(c, dict) and c.get("name") == QUANTITY_NAME:
                    key = ((c.get("item") or {}).get("id"), (c.get("location") or {}).get("id"))
                    changes[key] = c
        for k, errs in by_row.items():
            self._row_failed(rows[k], errs, run)
        if general:
            text = "; ".join(self._user_error(e) for e in general)
            kinds = [_INVENTORY_KINDS.get(str(e.get("code")), Kind.PERMANENT) for e in general]
            for k, r in enumerate(rows):
                if k not in by_row:
                    run.outcomes[r.index].fail(text, kinds[0])
            return []
        rest = [r for k, r in enumerate(rows) if k not in by_row]
        if by_row and group is None:
            return rest  # Shopify applies a call's rows all or none: send the others again
        for r in rest:
            change = changes.get((r.item_id, r.location_id))
            after = change.get("quantityAfterChange") if isinstance(change, dict) else None
            if change is not None and after is None and isinstance(change.get("delta"), int):
                after = r.compare + change["delta"]
            # no change and no error: the level held that quantity already (the set was a no-op)
            confirmed = after if isinstance(after, int) else (r.quantity if change is None else None)
            if not isinstance(confirmed, int):
                run.outcomes[r.index].fail(f"{r.key}: Shopify did not confirm the quantity", Kind.PERMANENT)
                continue
            run.outcomes[r.index].applied[r.key] = confirmed
            self._own_levels[(r.item_id, r.location_id)] = confirmed
            run.applied_any = True
        return []

    def _row_failed(self, r: _Row, errors: list[dict[str, Any]], run: _Run) -> None:
        codes = [str(e.get("code")) for e in errors]
        kind = next((_INVENTORY_KINDS[c] for c in codes if c in _INVENTORY_KINDS), Kind.PERMANENT)
        if kind is Kind.CONFLICT:
            message = (
                f"{r.key} changed on Shopify since it was read (expected {r.compare}): "
                "re-read and re-planned, not overwritten"
            )
        else:
            message = f"{r.key}: " + "; ".join(self._user_error(e) for e in errors)
        run.outcomes[r.index].fail(message, kind)

    def _user_error(self, e: Mapping[str, Any]) -> str:
        message = " ".join(str(e.get("message") or "refused").split())
        code = e.get("code")
        return self._redact(f"{message} [{code}]" if isinstance(code, str) and code else message)

    # prices --------------------------------------------------------------------------------------
    def _write_prices(
        self, prices: Mapping[str, list[tuple[int, str, Money]]], shop: _Shop, run: _Run
    ) -> None:
        aliases: list[tuple[str, list[tuple[int, str, Money]]]] = []
        for product_id, entries in prices.items():
            for start in range(0, len(entries), INPUT_MAX):
                aliases.append((product_id, entries[start : start + INPUT_MAX]))
        for start in range(0, len(aliases), ALIASES_PER_CALL):
            chunk = aliases[start : start + ALIASES_PER_CALL]
            indices = [i for _, entries in chunk for i, _, _ in entries]
            if run.skipped(indices):
                continue
            variables: dict[str, Any] = {}
            for n, (product_id, entries) in enumerate(chunk):
                variables[f"p{n}"] = product_id
                variables[f"v{n}"] = [{"id": vid, "price": price.to_str()} for _, vid, price in entries]
            try:
                data = self._gql(prices_mutation(len(chunk)), variables, reads=False, idempotent=True)
            except ChannelError as exc:
                run.guard(indices, exc)
                continue
            for n, (_product_id, entries) in enumerate(chunk):
                self._price_outcome(entries, data.get(f"p{n}"), shop, run)

    def _price_outcome(
        self, entries: list[tuple[int, str, Money]], payload: Any, shop: _Shop, run: _Run
    ) -> None:
        if not isinstance(payload, dict):
            for i, _, _ in entries:
                run.outcomes[i].fail("Shopify did not answer for this product's prices", Kind.PERMANENT)
            return
        failed: dict[int, list[dict[str, Any]]] = {}
        general: list[dict[str, Any]] = []
        for e in payload.get("userErrors") or []:
            if not isinstance(e, dict):
                continue
            path = e.get("field") or []
            if (
                len(path) >= 2
                and path[0] == "variants"
                and str(path[1]).isdigit()
                and int(path[1]) < len(entries)
            ):
                failed.setdefault(int(path[1]), []).append(e)
            else:
                general.append(e)
        confirmed = {
            v.get("id"): v.get("price") for v in payload.get("productVariants") or [] if isinstance(v, dict)
        }
        for k, (i, vid, _price) in enumerate(entries):
            errs = failed.get(k, []) + general
            if errs:
                kind = next(
                    (
                        _VARIANT_KINDS[str(e.get("code"))]
                        for e in errs
                        if str(e.get("code")) in _VARIANT_KINDS
                    ),
                    Kind.PERMANENT,
                )
                run.outcomes[i].fail("price: " + "; ".join(self._user_error(e) for e in errs), kind)
                continue
            raw = confirmed.get(vid)
            try:
                run.outcomes[i].applied[PRICE] = Money.parse(str(raw).strip(), shop.currency)
                run.applied_any = True
            except MoneyError:
                run.outcomes[i].fail(f"price: Shopify did not confirm the price ({raw!r})", Kind.PERMANENT)

    # titles and descriptions ---------------------------------------------------------------------
    def _shared_fields(
        self, batch: Sequence[WriteItem], content: dict[str, list[tuple[int, dict[str, str]]]], run: _Run
    ) -> dict[str, list[tuple[int, dict[str, str]]]]:
        """Apply the title policy: a product-level field of a product with several variants is
        written only when every variant of the product asks for the same value in this write."""
        multi = [pid for pid, entries in content.items() if not self._refs[batch[entries[0][0]].sku].single]
        siblings = self._siblings(multi) if multi else {}
        out: dict[str, list[tuple[int, dict[str, str]]]] = {}
        for pid, entries in content.items():
            if pid not in siblings:
                values: dict[str, set[str]] = {}
                for _, fields in entries:
                    for f, v in fields.items():
                        values.setdefault(f, set()).add(v)
                if all(len(v) == 1 for v in values.values()):
                    out[pid] = entries
                    continue
            kept: list[tuple[int, dict[str, str]]] = [(i, dict(fields)) for i, fields in entries]
            variants = siblings.get(pid, {})
            for f in (TITLE, DESCRIPTION):
                asking = [(i, fields[f]) for i, fields in kept if f in fields]
                if not asking:
                    continue
                wanted = {v for _, v in asking}
                in_batch = {self._refs[batch[i].sku].variant_id for i, _ in asking}
                others = [sku or "(no SKU)" for vid, sku in sorted(variants.items()) if vid not in in_batch]
                what = "title" if f == TITLE else "description"
                if len(wanted) > 1:
                    detail = ", ".join(f"{batch[i].sku}: {v[:40]!r}" for i, v in asking)
                    reason = f"its variants ask for different values ({detail})"
                elif others:
                    reason = (
                        f"its other variants ({', '.join(others[:10])}) are not asking for the same "
                        f"{what} in this run"
                    )
                else:
                    continue
                for i, fields in kept:
                    if f in fields:
                        del fields[f]
                        run.outcomes[i].fail(
                            f"{what}: a Shopify product has one {what} for all its variants, and {reason}; "
                            f"give every SKU of the product the same {what} in the catalog (or a channel "
                            "override), or stop syncing it for this channel",
                            Kind.PERMANENT,
                        )
            kept = [(i, fields) for i, fields in kept if fields]
            if kept:
                out[pid] = kept
        return out

    def _siblings(self, product_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """product -> {variant id: sku} for every variant of those products."""
        out: dict[str, dict[str, str]] = {pid: {} for pid in product_ids}
        for start in range(0, len(product_ids), SKU_CHUNK):
            chunk = product_ids[start : start + SKU_CHUNK]
            variables: dict[str, Any] = {
                "first": PAGE_MAX,
                "after": None,
                "query": " OR ".join(f"product_id:{numeric_id(p)}" for p in chunk),
            }
            while True:
                conn = self._gql(SIBLINGS, variables, reads=True).get("productVariants") or {}
                for node in conn.get("nodes") or []:
                    pid = ((node.get("product") or {}).get("id")) if isinstance(node, dict) else None
                    if pid in out and isinstance(node.get("id"), str):
                        out[pid][node["id"]] = node.get("sku") or ""
                info = conn.get("pageInfo") or {}
                if not info.get("hasNextPage") or info.get("endCursor") in (None, variables["after"]):
                    break
                variables["after"] = info["endCursor"]
        return out

    def _write_content(
        self, content: Mapping[str, list[tuple[int, dict[str, str]]]], batch: Sequence[WriteItem], run: _Run
    ) -> None:
        products = list(content.items())
        for start in range(0, len(products), ALIASES_PER_CALL):
            chunk = products[start : start + ALIASES_PER_CALL]
            indices = [i for _, entries in chunk for i, _ in entries]
            if run.skipped(indices):
                continue
            variables: dict[str, Any] = {}
            for n, (pid, entries) in enumerate(chunk):
                update: dict[str, Any] = {"id": pid}
                for _, fields in entries:
                    if TITLE in fields:
                        update["title"] = fields[TITLE]
                    if DESCRIPTION in fields:
                        update["descriptionHtml"] = fields[DESCRIPTION]
                variables[f"u{n}"] = update
            try:
                data = self._gql(products_mutation(len(chunk)), variables, reads=False, idempotent=True)
            except ChannelError as exc:
                run.guard(indices, exc)
                continue
            for n, (_pid, entries) in enumerate(chunk):
                payload = data.get(f"u{n}")
                errors = payload.get("userErrors") if isinstance(payload, dict) else None
                product = payload.get("product") if isinstance(payload, dict) else None
                for i, fields in entries:
                    if errors or not isinstance(product, dict):
                        text = "; ".join(self._user_error(e) for e in errors or [] if isinstance(e, dict))
                        kind = Kind.NOT_FOUND if "does not exist" in text.lower() else Kind.PERMANENT
                        run.outcomes[i].fail(f"product: {text or 'Shopify did not answer'}", kind)
                        continue
                    for f, source in ((TITLE, "title"), (DESCRIPTION, "descriptionHtml")):
                        if f in fields and isinstance(product.get(source), str):
                            run.outcomes[i].applied[f] = product[source]
                            run.applied_any = True

    # -- the rest of the protocol ----------------------------------------------------------------
    def check(self) -> str:
        """One cheap authenticated query: the shop's name, domain and currency."""
        shop = self._gql(CHECK, reads=True).get("shop") or {}
        return (
            f"Shopify shop {shop.get('name')!r} ({shop.get('myshopifyDomain')}), Admin API "
            f"{self.version}, sells in {shop.get('currencyCode')}"
        )

    def close(self) -> None:
        super().close()
        if self._download is not None:
            self._download.close()


_: type[Channel] = ShopifyChannel
