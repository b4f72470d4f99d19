"""A fake Shopify store: the Admin GraphQL API at ``POST /admin/api/{version}/graphql.json``
(storefronts.md section 1), executed by graphql-core against a version-aware subset of the Admin
schema (field names and types as in schema 2025-01, plus the 2026 inventory changes).

What it implements, as Shopify documents it:

- auth: ``X-Shopify-Access-Token`` (a static Admin API token, or one issued by the
  client-credentials grant ``POST /admin/oauth/access_token``); a missing or wrong token is a 401
  ``{"errors": "[API] Invalid API key or access token ..."}``;
- GraphQL as Shopify runs it: parse and validation errors and variable coercion errors in a 200
  answer's ``errors``; every input array at most 250 items (``MAX_INPUT_SIZE_EXCEEDED``); a
  calculated requested cost (scalars 0, objects 1, connections ``2 + first x node``, mutations 10)
  of at most 1000 (``MAX_COST_EXCEEDED``); ``extensions.cost`` with ``throttleStatus`` on every
  answer, and a leaky cost bucket that answers ``THROTTLED`` when ``enforce_bucket`` is set
  (tests advance its ``clock``);
- connections with ``first``/``after`` cursors (``first`` 1..250 and required outside bulk
  queries), ``productVariants(query:)`` with ``sku:"..."``, ``product_id:`` and ``id:`` terms joined
  by ``OR``, ``sortKey: ID``; ``productVariantsCount``; ``location`` (no id: the primary
  location), ``locations``, ``node``/``nodes``, ``shop``;
- ``inventorySetQuantities``: ``name`` available/on_hand, documented reasons, rows validated
  (unknown item/location, not stocked, negative, duplicate pairs) and applied all or none;
  compare-and-set by version: ``compareQuantity``/``ignoreCompareQuantity`` before 2026-01,
  ``changeFromQuantity`` (overriding them) in 2026-01, ``changeFromQuantity`` on every row and no
  ``compareQuantity`` from 2026-04; the ``@idempotent(key:)`` directive from 2026-01 (a repeated key
  with the same input answers the first outcome; with other input ``IDEMPOTENCY_KEY_PARAMETER_
  MISMATCH``), mandatory from 2026-04; the answer's adjustment group lists the changes;
- ``productVariantsBulkUpdate`` (one product, ``allowPartialUpdates``), ``productUpdate``;
- bulk operations: ``bulkOperationRunQuery`` (one at a time before 2026-01), status moving
  CREATED -> RUNNING -> COMPLETED as it is polled, and the JSONL result served at a signed URL
  that needs no token (nested connections' nodes on their own lines with ``__parentId``).

Not documented by Shopify, so chosen here (and said so): an over-long input array is answered with
HTTP 200 and a GraphQL error; the error for a 2026-04 call without ``@idempotent`` or without
``changeFromQuantity`` on a row is a top-level GraphQL error; a call whose rows are all no-ops still
returns an (empty) adjustment group.
"""

from __future__ import annotations

import base64
import copy
import functools
import hmac
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from urllib.parse import parse_qsl

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    build_schema,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.execution import execute_sync
from graphql.execution.values import get_directive_values, get_variable_values
from graphql.language import visit
from graphql.language.visitor import REMOVE, Visitor

from .base import (
    FakeMarketplace,
    FakeRequest,
    FakeResponse,
    Faults,
    Sales,
    Stored,
    json_body,
)

GRAPHQL_PATH = re.compile(r"^/admin/api/(?P<version>[^/]+)/graphql\.json$")
VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")
PAGE_MAX = 250
INPUT_MAX = 250
MAX_COST = 1000
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def version_key(version: str) -> tuple[int, int]:
    m = VERSION.match(version)
    return (int(m.group(1)), int(m.group(2))) if m else (9999, 99)


def _era(version: str) -> str:
    """Which inventory API a version has: "compare" (< 2026-01), "both" (2026-01), "change"."""
    key = version_key(version)
    if key < (2026, 1):
        return "compare"
    if key < (2026, 4):
        return "both"
    return "change"


# -- the schema subset ------------------------------------------------------------------------------
_SDL = """
scalar Money
scalar Decimal
scalar HTML
scalar URL
scalar DateTime
scalar UnsignedInt64

interface Node { id: ID! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
enum CountPrecision { EXACT AT_LEAST }
type Count { count: Int! precision: CountPrecision! }

type Shop { name: String! myshopifyDomain: String! currencyCode: String! }

type Location implements Node { id: ID! name: String! isActive: Boolean! }
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type InventoryQuantity implements Node { id: ID! name: String! quantity: Int! }
type InventoryLevel implements Node {
  id: ID!
  location: Location!
  item: InventoryItem!
  quantities(names: [String!]!): [InventoryQuantity!]!
}
type InventoryLevelEdge { cursor: String! node: InventoryLevel! }
type InventoryLevelConnection { edges: [InventoryLevelEdge!]! nodes: [InventoryLevel!]! pageInfo: PageInfo! }
type InventoryItem implements Node {
  id: ID!
  sku: String
  tracked: Boolean!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!): InventoryLevel
  inventoryLevels(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): InventoryLevelConnection!
}

type Product implements Node {
  id: ID!
  title: String!
  handle: String!
  descriptionHtml: HTML!
  hasOnlyDefaultVariant: Boolean!
  variantsCount: Count
  variants(first: Int, after: String, last: Int, before: String, reverse: Boolean = false): ProductVariantConnection!
}
type ProductVariant implements Node {
  id: ID!
  sku: String
  title: String!
  displayName: String!
  price: Money!
  inventoryQuantity: Int
  product: Product!
  inventoryItem: InventoryItem!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }
enum ProductVariantSortKeys { FULL_TITLE ID INVENTORY_QUANTITY NAME POSITION RELEVANCE SKU TITLE }

enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { MUTATION QUERY }
enum BulkOperationUserErrorCode { OPERATION_IN_PROGRESS INVALID }
type BulkOperation implements Node {
  id: ID!
  status: BulkOperationStatus!
  errorCode: BulkOperationErrorCode
  type: BulkOperationType!
  query: String!
  objectCount: UnsignedInt64!
  rootObjectCount: UnsignedInt64!
  fileSize: UnsignedInt64
  url: URL
  partialDataUrl: URL
  createdAt: DateTime!
  completedAt: DateTime
}
type BulkOperationUserError { code: BulkOperationUserErrorCode field: [String!] message: String! }
type BulkOperationRunQueryPayload { bulkOperation: BulkOperation userErrors: [BulkOperationUserError!]! }

type Query {
  shop: Shop!
  location(id: ID): Location
  locations(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
            includeInactive: Boolean = false, includeLegacy: Boolean = false): LocationConnection!
  productVariants(first: Int, after: String, last: Int, before: String, reverse: Boolean = false,
                  sortKey: ProductVariantSortKeys = ID, query: String): ProductVariantConnection!
  productVariantsCount(query: String): Count
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  currentBulkOperation(type: BulkOperationType = QUERY): BulkOperation
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  %(quantity_fields)s
}
input InventorySetQuantitiesInput {
  reason: String!
  name: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
  %(input_fields)s
}
type InventoryChange {
  delta: Int!
  item: InventoryItem
  location: Location
  name: String!
  quantityAfterChange: Int
  ledgerDocumentUri: String
}
type InventoryAdjustmentGroup implements Node {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]): [InventoryChange!]!
}
enum InventorySetQuantitiesUserErrorCode {
  INVALID_INVENTORY_ITEM INVALID_LOCATION INVALID_QUANTITY_NEGATIVE INVALID_REASON
  INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE INVALID_NAME
  NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR NON_MUTABLE_INVENTORY_ITEM
  %(error_codes)s
}
type InventorySetQuantitiesUserError { code: InventorySetQuantitiesUserErrorCode field: [String!] message: String! }
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}

input InventoryItemInput { sku: String tracked: Boolean cost: Decimal }
input InventoryLevelInput { availableQuantity: Int! locationId: ID! }
input ProductVariantsBulkInput {
  id: ID
  price: Money
  compareAtPrice: Money
  barcode: String
  taxable: Boolean
  inventoryItem: InventoryItemInput
  inventoryQuantities: [InventoryLevelInput!]
}
enum ProductVariantsBulkUpdateUserErrorCode {
  INVALID_INPUT PRODUCT_DOES_NOT_EXIST PRODUCT_VARIANT_ID_MISSING PRODUCT_VARIANT_DOES_NOT_EXIST
  MUST_BE_FOR_THIS_PRODUCT NEGATIVE_PRICE_VALUE NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE
}
type ProductVariantsBulkUpdateUserError { code: ProductVariantsBulkUpdateUserErrorCode field: [String!] message: String! }
type ProductVariantsBulkUpdatePayload {
  product: Product
  productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}
input ProductUpdateInput { id: ID title: String descriptionHtml: String handle: String redirectNewHandle: Boolean }
type UserError { field: [String!] message: String! }
type ProductUpdatePayload { product: Product userErrors: [UserError!]! }

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productVariantsBulkUpdate(productId: ID!, variants: [ProductVariantsBulkInput!]!,
                            allowPartialUpdates: Boolean = false): ProductVariantsBulkUpdatePayload
  productUpdate(product: ProductUpdateInput): ProductUpdatePayload
  bulkOperationRunQuery(query: String!): BulkOperationRunQueryPayload
}
%(directives)s
"""

_ERAS: dict[str, dict[str, str]] = {
    "compare": {
        "quantity_fields": "compareQuantity: Int",
        "input_fields": "ignoreCompareQuantity: Boolean = false",
        "error_codes": "",
        "directives": "",
    },
    "both": {
        "quantity_fields": "compareQuantity: Int\n  changeFromQuantity: Int",
        "input_fields": "ignoreCompareQuantity: Boolean = false",
        "error_codes": "CHANGE_FROM_QUANTITY_STALE IDEMPOTENCY_CONCURRENT_REQUEST "
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
        "directives": "directive @idempotent(key: String!) on FIELD",
    },
    "change": {
        "quantity_fields": "changeFromQuantity: Int",
        "input_fields": "",
        "error_codes": "CHANGE_FROM_QUANTITY_STALE IDEMPOTENCY_CONCURRENT_REQUEST "
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
        "directives": "directive @idempotent(key: String!) on FIELD",
    },
}


def _parse_money(value: Any) -> str:
    """Shopify's ``Money`` input: a decimal string (this fake refuses JSON numbers: a float price is
    the bug it exists to catch)."""
    if not isinstance(value, str):
        raise GraphQLError('Money must be a decimal string such as "19.99"')
    try:
        dec = Decimal(value.strip())
    except InvalidOperation:
        raise GraphQLError(f"{value!r} is not a decimal amount") from None
    if not dec.is_finite():
        raise GraphQLError(f"{value!r} is not a decimal amount")
    return value.strip()


@functools.lru_cache(maxsize=4)
def schema_for(era: str) -> GraphQLSchema:
    schema = build_schema(_SDL % _ERAS[era])
    money = schema.type_map["Money"]
    money.parse_value = _parse_money  # type: ignore[attr-defined]
    return schema


# -- the store ----------------------------------------------------------------------------------------
def gid(kind: str, num: int) -> str:
    return f"gid://shopify/{kind}/{num}"


def _num(value: Any, kind: str) -> int | None:
    m = re.fullmatch(rf"gid://shopify/{kind}/(\d+)", str(value))
    return int(m.group(1)) if m else None


@dataclass
class Loc:
    num: int
    name: str
    active: bool = True


@dataclass
class Level:
    available: int
    on_hand: int


@dataclass
class Item:
    num: int
    variant: int
    tracked: bool = True
    levels: dict[int, Level] = field(default_factory=dict)  # location num -> level


@dataclass
class Variant:
    num: int
    product: int
    sku: str
    price: str
    item: int
    title: str = "Default Title"


@dataclass
class Product:
    num: int
    title: str
    description: str
    variants: list[int] = field(default_factory=list)

    @property
    def handle(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or f"product-{self.num}"


@dataclass
class BulkOp:
    num: int
    query: str
    version: str
    host: str = ""  # scheme://host the run was asked on (where the result is served by default)
    status: str = "CREATED"
    polls: int = 0
    url: str | None = None
    object_count: int = 0
    root_count: int = 0
    error_code: str | None = None


@dataclass
class CostBucket:
    """Shopify's leaky bucket of cost points. Unless ``enforce`` is set it is full before every call
    (it still reports its status); enforced, it refills at ``restore_rate`` per second of ``clock``."""

    maximum: float = 2000.0
    restore_rate: float = 100.0
    enforce: bool = False
    clock: Callable[[], float] = time.monotonic
    available: float | None = None  # starts full
    stamp: float | None = None

    def __post_init__(self) -> None:
        if self.available is None:
            self.available = self.maximum

    def take(self, cost: int) -> bool:
        now = self.clock()
        available = self.maximum if self.available is None else self.available
        if not self.enforce:
            available = self.maximum
        elif self.stamp is not None:
            available = min(self.maximum, available + (now - self.stamp) * self.restore_rate)
        self.stamp = now
        self.available = available
        if cost > available:
            return False
        self.available = available - cost
        return True

    def status(self) -> dict[str, float]:
        available = self.maximum if self.available is None else self.available
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": available,
            "restoreRate": self.restore_rate,
        }


class _Refused(Exception):
    """A call refused before execution (a top-level GraphQL error)."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {"code": code, **extensions}


class ShopifyFake(FakeMarketplace):
    vendor = "shopify"
    api_prefix = "/admin/api"
    batch_limit = INPUT_MAX
    page_size_max = PAGE_MAX
    oauth_refresh = True  # client-credentials apps get a new token after a 401

    def __init__(
        self,
        *,
        access_token: str = "shpat_fake00000000000000000000000000",
        client_id: str = "fake-client-id",
        client_secret: str = "shpss_fake0000000000000000",
        currency: str = "USD",
        shop_name: str = "Omnisync Test Shop",
        bucket: CostBucket | None = None,
        bulk_polls: int = 2,
        throttle_status: int = 200,
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
    ) -> None:
        self.access_token = access_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.currency = currency
        self.shop_name = shop_name
        self.bucket = bucket or CostBucket()
        self.bulk_polls = bulk_polls  # polls a bulk operation takes to complete
        self.throttle_status = throttle_status  # THROTTLED answers: 200 (body only) or 429
        self.storage_url: str | None = None  # where bulk results are served (default: the API host)
        self.locations: dict[int, Loc] = {}
        self.products: dict[int, Product] = {}
        self.variants: dict[int, Variant] = {}
        self.items: dict[int, Item] = {}
        self.primary = 0
        self.rejections: dict[str, str] = {}
        self.revoked = False
        self.static_expired = False
        self.issued: set[str] = set()
        self.idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self.bulk_ops: dict[int, BulkOp] = {}
        self.bulk_files: dict[int, bytes] = {}
        self.pending_sales: list[tuple[str, int]] = []
        self._next = 1000
        self._groups = 0
        super().__init__(seed=seed, faults=faults, sales=sales)
        self.primary = self.add_location("Shop location")

    def _id(self) -> int:
        self._next += 1
        return self._next

    # -- routes --
    def routes(self) -> None:
        r = self.router
        r.add("POST", "/admin/api/{version}/graphql.json", self.graphql)
        r.add("POST", "/admin/oauth/access_token", self.token)
        r.add("GET", "/shopify-bulk-results/{name}", self.bulk_result)

    # -- store API (vendor-neutral, used by the contract suite) --
    def add_location(self, name: str, *, active: bool = True) -> int:
        loc = Loc(self._id(), name, active)
        self.locations[loc.num] = loc
        return loc.num

    def add_product(
        self,
        title: str,
        skus: list[str],
        *,
        quantity: int = 10,
        price: str = "19.99",
        description: str = "",
        options: bool = False,
    ) -> Product:
        with self.lock:
            product = Product(self._id(), title, description)
            self.products[product.num] = product
            for n, sku in enumerate(skus, start=1):
                v = Variant(
                    self._id(),
                    product.num,
                    sku,
                    price,
                    0,
                    title=f"Option {n}" if options or len(skus) > 1 else "Default Title",
                )
                item = Item(self._id(), v.num, levels={self.primary: Level(quantity, quantity)})
                v.item = item.num
                self.variants[v.num] = v
                self.items[item.num] = item
                product.variants.append(v.num)
            return product

    def seed(
        self,
        n: int,
        *,
        variable: int = 0,
        per_parent: int = 3,
        quantity: int = 10,
        price: str = "19.99",
        prefix: str = "SH",
    ) -> list[str]:
        out: list[str] = []
        with self.lock:
            start = sum(1 for p in self.products.values() if len(p.variants) == 1)
            for k in range(start + 1, start + n + 1):
                sku = f"{prefix}-{k:04d}"
                self.add_product(
                    f"Product {k}",
                    [sku],
                    quantity=quantity,
                    price=price,
                    description=f"Description of product {k}.",
                )
                out.append(sku)
            for _ in range(variable):
                self._groups += 1
                g = self._groups
                skus = [f"{prefix}-V{g:03d}-{j}" for j in range(1, per_parent + 1)]
                self.add_product(
                    f"Group {g}", skus, quantity=quantity, price=price, description=f"Grouped product {g}."
                )
                out.extend(skus)
        return out

    def variant(self, sku: str) -> Variant | None:
        for v in self.variants.values():
            if v.sku == sku:
                return v
        return None

    def item_of(self, sku: str) -> Item:
        v = self.variant(sku)
        assert v is not None, sku
        return self.items[v.item]

    def skus(self) -> list[str]:
        return list(dict.fromkeys(v.sku for v in self.variants.values() if v.sku))

    def stored(self, sku: str) -> Stored | None:
        v = self.variant(sku)
        if v is None:
            return None
        item = self.items[v.item]
        level = item.levels.get(self.primary)
        product = self.products[v.product]
        return Stored(
            sku,
            level.available if level is not None and item.tracked else None,
            v.price,
            product.title,
            product.description,
        )

    def quantity(self, sku: str, location: int) -> int | None:
        level = self.item_of(sku).levels.get(location)
        return level.available if level is not None else None

    def stock_at(self, sku: str, location: int, quantity: int) -> None:
        self.item_of(sku).levels[location] = Level(quantity, quantity)

    def sell(self, sku: str, units: int, location: int | None = None) -> int:
        with self.lock:
            v = self.variant(sku)
            if v is None:
                return 0
            item = self.items[v.item]
            level = item.levels.get(location or self.primary)
            if level is None or not item.tracked:
                return 0
            sold = max(0, min(units, level.available))
            level.available -= sold
            level.on_hand -= sold
            if sold:
                self.sold[sku] = self.sold.get(sku, 0) + sold
            return sold

    def sell_before_next_write(self, sku: str, units: int) -> None:
        """A shopper buys ``units`` after the adapter read the stock and before its next stock write."""
        self.pending_sales.append((sku, units))

    def reject(self, sku: str, message: str = "This product cannot be edited.") -> None:
        self.rejections[sku] = message

    def revoke_credentials(self) -> None:
        self.revoked = True

    def expire_token(self) -> None:
        # issued (client-credentials) tokens expire; a static Admin API token has nothing to
        # refresh it with, so it simply stops working
        self.issued.clear()
        self.static_expired = True

    def batch_sizes(self) -> list[int]:
        out = []
        for r in self.requests:
            if r.method == "POST" and GRAPHQL_PATH.match(r.path) and isinstance(r.json, dict):
                n = _write_objects(r.json)
                if n is not None:
                    out.append(n)
        return out

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        items = [i for i in self.items.values() if self.primary in i.levels] or [Item(1, 1)]
        rows = [
            {
                "inventoryItemId": gid("InventoryItem", items[k % len(items)].num),
                "locationId": gid("Location", self.primary),
                "quantity": 1,
                "changeFromQuantity": None,
            }
            for k in range(n)
        ]
        query = (
            "mutation Set($input: InventorySetQuantitiesInput!, $key: String!) { "
            "inventorySetQuantities(input: $input) @idempotent(key: $key) { userErrors { code field message } } }"
        )
        return (
            "POST",
            "graphql.json",
            {
                "query": query,
                "variables": {
                    "input": {"name": "available", "reason": "correction", "quantities": rows},
                    "key": "oversized",
                },
            },
        )

    def error(self, status: int, code: str, message: str, **data: Any) -> FakeResponse:
        return FakeResponse(status, {"errors": message})

    def throttle_headers(self, retry_after: int) -> dict[str, str]:
        return {"Retry-After": str(retry_after)}

    # -- auth --
    def authenticate(self, req: FakeRequest) -> FakeResponse | None:
        if req.path == "/admin/oauth/access_token" or req.path.startswith("/shopify-bulk-results/"):
            return None
        if self.revoked:
            return self.error(401, "", INVALID_TOKEN)
        token = req.headers.get("x-shopify-access-token", "")
        static_ok = not self.static_expired and hmac.compare_digest(token, self.access_token)
        if not token or not (static_ok or token in self.issued):
            return self.error(401, "", INVALID_TOKEN)
        return None

    def token(self, req: FakeRequest) -> FakeResponse:
        form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return FakeResponse(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
            )
        if (
            self.revoked
            or not hmac.compare_digest(form.get("client_id", ""), self.client_id)
            or not hmac.compare_digest(form.get("client_secret", ""), self.client_secret)
        ):
            return FakeResponse(
                401, {"error": "invalid_client", "error_description": "Client authentication failed."}
            )
        token = f"shpat_issued{len(self.issued)}{self.rng.getrandbits(64):016x}"
        self.issued.add(token)
        return FakeResponse(
            200,
            {
                "access_token": token,
                "expires_in": 86399,
                "scope": "read_products,write_products,read_inventory,write_inventory",
            },
        )

    # -- GraphQL --
    def graphql(self, req: FakeRequest, version: str) -> FakeResponse:
        if not (VERSION.match(version) or version == "unstable"):
            return self.error(404, "", "Not Found")
        headers = {"X-Shopify-API-Version": version}
        body = json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return FakeResponse(400, {"errors": {"query": "Required parameter missing or invalid"}}, headers)
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return FakeResponse(400, {"errors": {"variables": "must be an object"}}, headers)
        schema = schema_for(_era(version))
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            return FakeResponse(200, {"errors": [exc.formatted]}, headers)
        problems = validate(schema, document)
        if problems:
            return FakeResponse(200, {"errors": [e.formatted for e in problems]}, headers)
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = body.get("operationName")
        op = next((o for o in ops if name is None or (o.name is not None and o.name.value == name)), None)
        if op is None:
            return FakeResponse(200, {"errors": [{"message": "No operation named " + str(name)}]}, headers)
        coerced = get_variable_values(schema, op.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return FakeResponse(200, {"errors": [e.formatted for e in coerced]}, headers)
        try:
            _check_input_sizes(document, coerced.coerced)
            cost = query_cost(schema, document, op, coerced.coerced, bulk=False)
            if cost > MAX_COST:
                raise _Refused(
                    f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_COST}).",
                    "MAX_COST_EXCEEDED",
                    cost=cost,
                    maxCost=MAX_COST,
                )
        except _Refused as exc:
            return FakeResponse(
                200, {"errors": [{"message": exc.message, "extensions": exc.extensions}]}, headers
            )
        if not self.bucket.take(cost):
            throttled = {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {
                            "code": "THROTTLED",
                            "documentation": "https://shopify.dev/api/usage/rate-limits",
                        },
                    }
                ],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": cost,
                        "actualQueryCost": None,
                        "throttleStatus": self.bucket.status(),
                    }
                },
            }
            return FakeResponse(self.throttle_status, throttled, headers)
        context: dict[str, Any] = {
            "version": version,
            "bulk": False,
            "listed": [],
            "host": f"{req.scheme}://{req.host}",
        }
        result = execute_sync(
            schema,
            document,
            root_value=self._root(),
            context_value=context,
            variable_values=variables,
            operation_name=name,
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        out["extensions"] = {
            "cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": cost,
                "throttleStatus": self.bucket.status(),
            }
        }
        if context["listed"]:
            self.list_items_hook(context["listed"])
        return FakeResponse(200, out, headers)

    # -- resolvers (dicts whose callables graphql-core calls with info and the arguments) --
    def _root(self) -> dict[str, Any]:
        return {
            "shop": lambda info: {
                "name": self.shop_name,
                "currencyCode": self.currency,
                "myshopifyDomain": "omnisync-test.myshopify.com",
            },
            "location": lambda info, id=None: self._location_view(
                self.primary if id is None else _num(id, "Location")
            ),
            "locations": self._locations,
            "productVariants": self._product_variants,
            "productVariantsCount": self._variants_count,
            "node": lambda info, id: self._node(id, info),
            "nodes": lambda info, ids: [self._node(i, info) for i in ids],
            "currentBulkOperation": lambda info, type="QUERY": self._bulk_view(
                max(self.bulk_ops) if self.bulk_ops else None, info
            ),
            "inventorySetQuantities": self._set_quantities,
            "productVariantsBulkUpdate": self._variants_bulk_update,
            "productUpdate": self._product_update,
            "bulkOperationRunQuery": self._bulk_run,
        }

    def _node(self, ident: Any, info: Any) -> dict[str, Any] | None:
        text = str(ident)
        kind = text.split("/")[-2] if text.count("/") >= 4 else ""
        num = _num(text, kind) if kind else None
        if num is None:
            return None
        if kind == "Location":
            return self._location_view(num)
        if kind == "Product" and num in self.products:
            return self._product_view(self.products[num])
        if kind == "ProductVariant" and num in self.variants:
            return self._variant_view(self.variants[num])
        if kind == "InventoryItem" and num in self.items:
            return self._item_view(self.items[num])
        if kind == "BulkOperation":
            return self._bulk_view(num, info, poll=True)
        return None

    def _location_view(self, num: int | None) -> dict[str, Any] | None:
        loc = self.locations.get(num or 0)
        if loc is None:
            return None
        return {
            "__typename": "Location",
            "id": gid("Location", loc.num),
            "name": loc.name,
            "isActive": loc.active,
        }

    def _product_view(self, p: Product) -> dict[str, Any]:
        only_default = len(p.variants) == 1 and self.variants[p.variants[0]].title == "Default Title"
        return {
            "__typename": "Product",
            "id": gid("Product", p.num),
            "title": p.title,
            "handle": p.handle,
            "descriptionHtml": p.description,
            "hasOnlyDefaultVariant": only_default,
            "variantsCount": {"count": len(p.variants), "precision": "EXACT"},
            "variants": lambda info, **kw: self._connection(
                [self.variants[v] for v in p.variants], info, kw, self._variant_view
            ),
        }

    def _variant_view(self, v: Variant) -> dict[str, Any]:
        product = self.products[v.product]
        item = self.items[v.item]
        total = sum(level.available for level in item.levels.values()) if item.tracked else None
        return {
            "__typename": "ProductVariant",
            "id": gid("ProductVariant", v.num),
            "sku": v.sku or None,
            "title": v.title,
            "displayName": f"{product.title} - {v.title}",
            "price": v.price,
            "inventoryQuantity": total,
            "product": lambda info: self._product_view(product),
            "inventoryItem": lambda info: self._item_view(item),
        }

    def _item_view(self, item: Item) -> dict[str, Any]:
        def level(info: Any, locationId: Any) -> dict[str, Any] | None:
            num = _num(locationId, "Location")
            if num is None or num not in item.levels:
                return None
            return self._level_view(item, num)

        return {
            "__typename": "InventoryItem",
            "id": gid("InventoryItem", item.num),
            "sku": self.variants[item.variant].sku or None,
            "tracked": item.tracked,
            "variant": lambda info: self._variant_view(self.variants[item.variant]),
            "inventoryLevel": level,
            "inventoryLevels": lambda info, **kw: self._connection(
                sorted(item.levels), info, kw, lambda n: self._level_view(item, n)
            ),
        }

    def _level_view(self, item: Item, loc: int) -> dict[str, Any]:
        lv = item.levels[loc]

        def quantities(info: Any, names: list[str]) -> list[dict[str, Any]]:
            values = {
                "available": lv.available,
                "on_hand": lv.on_hand,
                "committed": 0,
                "incoming": 0,
                "reserved": 0,
                "damaged": 0,
                "safety_stock": 0,
                "quality_control": 0,
            }
            return [
                {
                    "__typename": "InventoryQuantity",
                    "name": n,
                    "quantity": values[n],
                    "id": f"gid://shopify/InventoryQuantity/{item.num}-{loc}-{n}",
                }
                for n in names
                if n in values
            ]

        return {
            "__typename": "InventoryLevel",
            "id": f"gid://shopify/InventoryLevel/{item.num}?inventory_item_id={item.num}&location_id={loc}",
            "location": lambda info: self._location_view(loc),
            "item": lambda info: self._item_view(item),
            "quantities": quantities,
        }

    def _connection(
        self, items: list[Any], info: Any, args: dict[str, Any], view: Callable[[Any], Any]
    ) -> dict[str, Any]:
        bulk = bool(info.context.get("bulk"))
        first, last, after = args.get("first"), args.get("last"), args.get("after")
        if not bulk:
            if first is None and last is None:
                raise GraphQLError(
                    "you must provide one of first or last", extensions={"code": "BAD_USER_INPUT"}
                )
            for name, value in (("first", first), ("last", last)):
                if value is not None and not 0 <= value <= PAGE_MAX:
                    raise GraphQLError(
                        f"{name} must be between 0 and {PAGE_MAX}", extensions={"code": "BAD_USER_INPUT"}
                    )
        if args.get("reverse"):
            items = list(reversed(items))
        start = 0
        if after is not None:
            try:
                start = int(base64.b64decode(str(after)).decode().split(":", 1)[1]) + 1
            except (ValueError, IndexError, UnicodeDecodeError):
                raise GraphQLError(
                    f"Invalid cursor {after!r}", extensions={"code": "BAD_USER_INPUT"}
                ) from None
        end = len(items) if bulk or first is None else start + first
        chunk = items[start:end]
        cursors = [base64.b64encode(f"cursor:{start + k}".encode()).decode() for k in range(len(chunk))]
        nodes = [view(x) for x in chunk]
        return {
            "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes)],
            "nodes": nodes,
            "pageInfo": {
                "hasNextPage": end < len(items),
                "hasPreviousPage": start > 0,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }

    def _locations(self, info: Any, **kw: Any) -> dict[str, Any]:
        locs = [n for n, loc in sorted(self.locations.items()) if loc.active or kw.get("includeInactive")]
        return self._connection(locs, info, kw, self._location_view)

    def _matching(self, query: str | None) -> list[Variant]:
        variants = sorted(self.variants.values(), key=lambda v: v.num)
        if query is None or not query.strip():
            return variants
        terms = _search_terms(query)
        out = []
        for v in variants:
            for name, value in terms:
                if (
                    (name == "sku" and v.sku == value)
                    or (name == "product_id" and str(v.product) == value)
                    or (name == "id" and str(v.num) == value)
                ):
                    out.append(v)
                    break
        return out

    def _product_variants(self, info: Any, **kw: Any) -> dict[str, Any]:
        variants = self._matching(kw.get("query"))
        key = {"SKU": lambda v: (v.sku, v.num), "TITLE": lambda v: (v.title, v.num)}.get(
            kw.get("sortKey") or "ID", lambda v: (v.num,)
        )
        variants.sort(key=key)
        conn = self._connection(variants, info, kw, self._variant_view)
        if not info.context.get("bulk"):
            info.context["listed"].extend(n["sku"] for n in conn["nodes"] if n["sku"])
        return conn

    def _variants_count(self, info: Any, query: str | None = None) -> dict[str, Any]:
        n = len(self._matching(query))
        return {"count": min(n, 10_000), "precision": "AT_LEAST" if n > 10_000 else "EXACT"}

    # -- inventorySetQuantities --
    def _set_quantities(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        version = info.context["version"]
        era = _era(version)
        key = None
        if era != "compare":
            directive = info.schema.get_directive("idempotent")
            values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
            key = values.get("key") if values else None
            if key is None and era == "change":
                raise GraphQLError(
                    "The @idempotent directive is required for inventorySetQuantities "
                    f"in API version {version}.",
                    extensions={"code": "BAD_REQUEST"},
                )
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        if key is not None and key in self.idempotency:
            seen, payload = self.idempotency[key]
            if seen != fingerprint:
                return {
                    "inventoryAdjustmentGroup": None,
                    "userErrors": [
                        _user_error(
                            "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                            None,
                            "The idempotency key was already used with different parameters.",
                        )
                    ],
                }
            return payload  # the first outcome, not applied again
        while self.pending_sales:
            sku, units = self.pending_sales.pop(0)
            self.sell(sku, units)
        payload = self._apply_quantities(input, era)
        if key is not None:
            self.idempotency[key] = (fingerprint, payload)
        return payload

    def _apply_quantities(self, data: dict[str, Any], era: str) -> dict[str, Any]:
        errors: list[dict[str, Any]] = []
        name = data["name"]
        if name not in ("available", "on_hand"):
            errors.append(
                _user_error(
                    "INVALID_NAME",
                    ["input", "name"],
                    "The quantity name must be either 'available' or 'on_hand'.",
                )
            )
        if data["reason"] not in REASONS:
            errors.append(_user_error("INVALID_REASON", ["input", "reason"], "The reason is invalid."))
        rows = data["quantities"]
        if era == "change":
            missing = [k for k, r in enumerate(rows) if "changeFromQuantity" not in r]
            if missing:
                raise GraphQLError(
                    "changeFromQuantity must be provided for every quantity (send null to "
                    f"skip the check); missing at quantities {missing[:5]}",
                    extensions={"code": "BAD_USER_INPUT"},
                )
        seen: set[tuple[int, int]] = set()
        plan: list[tuple[Item, int, int]] = []
        for k, row in enumerate(rows):
            path = ["input", "quantities", str(k)]
            item_num = _num(row["inventoryItemId"], "InventoryItem")
            loc_num = _num(row["locationId"], "Location")
            item = self.items.get(item_num or 0)
            if item is None:
                errors.append(
                    _user_error(
                        "INVALID_INVENTORY_ITEM",
                        path + ["inventoryItemId"],
                        "The specified inventory item could not be found.",
                    )
                )
                continue
            if loc_num not in self.locations:
                errors.append(
                    _user_error(
                        "INVALID_LOCATION",
                        path + ["locationId"],
                        "The specified location could not be found.",
                    )
                )
                continue
            if (item.num, loc_num) in seen:
                errors.append(
                    _user_error(
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                        path,
                        "The combination of inventoryItemId and locationId must be unique.",
                    )
                )
                continue
            seen.add((item.num, loc_num))
            level = item.levels.get(loc_num)
            if level is None:
                errors.append(
                    _user_error(
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                        path + ["locationId"],
                        "The specified inventory item is not stocked at the location.",
                    )
                )
                continue
            quantity = row["quantity"]
            if quantity < 0:
                errors.append(
                    _user_error(
                        "INVALID_QUANTITY_NEGATIVE", path + ["quantity"], "The quantity can't be negative."
                    )
                )
                continue
            if quantity > 1_000_000_000:
                errors.append(
                    _user_error(
                        "INVALID_QUANTITY_TOO_HIGH",
                        path + ["quantity"],
                        "The quantity can't be higher than 1,000,000,000.",
                    )
                )
                continue
            sku = self.variants[item.variant].sku
            if sku in self.rejections:
                errors.append(
                    _user_error(
                        "NON_MUTABLE_INVENTORY_ITEM", path + ["inventoryItemId"], self.rejections.pop(sku)
                    )
                )
                continue
            current = level.available if name == "available" else level.on_hand
            stale = _stale(row, data, current, era)
            if stale is not None:
                errors.append(_user_error(stale[0], path + [stale[1]], stale[2]))
                continue
            plan.append((item, loc_num, quantity))
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}  # all or none
        changes: list[dict[str, Any]] = []
        for item, loc_num, quantity in plan:
            level = item.levels[loc_num]
            delta = quantity - (level.available if name == "available" else level.on_hand)
            if delta == 0:
                continue
            level.available += delta
            level.on_hand += delta
            for qname in ("available", "on_hand"):
                changes.append(
                    {
                        "name": qname,
                        "delta": delta,
                        "ledgerDocumentUri": None,
                        "quantityAfterChange": level.available if qname == "available" else level.on_hand,
                        "item": self._item_view(item),
                        "location": self._location_view(loc_num),
                    }
                )

        def select(
            info: Any, inventoryItemIds: Any = None, locationIds: Any = None, quantityNames: Any = None
        ) -> list[dict[str, Any]]:
            return [
                c
                for c in changes
                if (quantityNames is None or c["name"] in quantityNames)
                and (inventoryItemIds is None or c["item"]["id"] in inventoryItemIds)
                and (locationIds is None or c["location"]["id"] in locationIds)
            ]

        group = {
            "__typename": "InventoryAdjustmentGroup",
            "id": gid("InventoryAdjustmentGroup", self._id()),
            "createdAt": "2026-11-25T00:00:00Z",
            "reason": data["reason"],
            "referenceDocumentUri": data.get("referenceDocumentUri"),
            "changes": select,
        }
        return {"inventoryAdjustmentGroup": group, "userErrors": []}

    # -- productVariantsBulkUpdate --
    def _variants_bulk_update(
        self,
        info: Any,
        productId: Any,
        variants: list[dict[str, Any]],
        allowPartialUpdates: bool = False,
        **kw: Any,
    ) -> dict[str, Any]:
        product = self.products.get(_num(productId, "Product") or 0)
        if product is None:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [
                    _user_error("PRODUCT_DOES_NOT_EXIST", ["productId"], "Product does not exist")
                ],
            }
        errors: list[dict[str, Any]] = []
        valid: list[tuple[Variant, dict[str, Any]]] = []
        for k, data in enumerate(variants):
            path = ["variants", str(k)]
            if data.get("id") is None:
                errors.append(
                    _user_error(
                        "PRODUCT_VARIANT_ID_MISSING",
                        path + ["id"],
                        "Product variant is missing ID attribute.",
                    )
                )
                continue
            v = self.variants.get(_num(data["id"], "ProductVariant") or 0)
            if v is None:
                errors.append(
                    _user_error(
                        "PRODUCT_VARIANT_DOES_NOT_EXIST", path + ["id"], "Product variant does not exist"
                    )
                )
                continue
            if v.product != product.num:
                errors.append(
                    _user_error(
                        "MUST_BE_FOR_THIS_PRODUCT",
                        path + ["id"],
                        "Product variant does not belong to the product",
                    )
                )
                continue
            if data.get("inventoryQuantities") is not None:
                errors.append(
                    _user_error(
                        "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE",
                        path + ["inventoryQuantities"],
                        "Inventory quantities can only be provided during create.",
                    )
                )
                continue
            price = data.get("price")
            if price is not None and Decimal(price) < 0:
                errors.append(
                    _user_error(
                        "NEGATIVE_PRICE_VALUE", path + ["price"], "Negative price value is not allowed"
                    )
                )
                continue
            if v.sku in self.rejections:
                errors.append(_user_error("INVALID_INPUT", path, self.rejections.pop(v.sku)))
                continue
            valid.append((v, data))
        if errors and not allowPartialUpdates:
            return {"product": self._product_view(product), "productVariants": None, "userErrors": errors}
        for v, data in valid:
            if data.get("price") is not None:
                v.price = data["price"]
            inv = data.get("inventoryItem") or {}
            if inv.get("tracked") is not None:
                self.items[v.item].tracked = bool(inv["tracked"])
            if inv.get("sku") is not None:
                v.sku = inv["sku"]
        return {
            "product": self._product_view(product),
            "productVariants": [self._variant_view(v) for v, _ in valid],
            "userErrors": errors,
        }

    # -- productUpdate --
    def _product_update(self, info: Any, product: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        data = product or {}
        p = self.products.get(_num(data.get("id"), "Product") or 0)
        if p is None:
            return {"product": None, "userErrors": [{"field": ["id"], "message": "Product does not exist"}]}
        if "title" in data and not (data["title"] or "").strip():
            return {"product": None, "userErrors": [{"field": ["title"], "message": "Title can't be blank"}]}
        for vnum in p.variants:
            sku = self.variants[vnum].sku
            if sku in self.rejections:
                return {
                    "product": None,
                    "userErrors": [{"field": ["id"], "message": self.rejections.pop(sku)}],
                }
        if data.get("title") is not None:
            p.title = data["title"]
        if data.get("descriptionHtml") is not None:
            p.description = data["descriptionHtml"]
        return {"product": self._product_view(p), "userErrors": []}

    # -- bulk operations --
    def _bulk_run(self, info: Any, query: str) -> dict[str, Any]:
        version = info.context["version"]
        running = [op for op in self.bulk_ops.values() if op.status in ("CREATED", "RUNNING")]
        if running and _era(version) == "compare":
            return {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "code": "OPERATION_IN_PROGRESS",
                        "field": None,
                        "message": f"A bulk query operation for this app and shop is already in progress: "
                        f"{gid('BulkOperation', running[0].num)}.",
                    }
                ],
            }
        schema = schema_for(_era(version))
        try:
            problems = [e.message for e in validate(schema, parse(query))]
        except GraphQLError as exc:
            problems = [exc.message]
        if problems:
            return {
                "bulkOperation": None,
                "userErrors": [{"code": "INVALID", "field": ["query"], "message": "; ".join(problems)}],
            }
        op = BulkOp(self._id(), query, version, host=info.context["host"])
        self.bulk_ops[op.num] = op
        return {"bulkOperation": self._bulk_view(op.num, info), "userErrors": []}

    def _bulk_view(self, num: int | None, info: Any, poll: bool = False) -> dict[str, Any] | None:
        op = self.bulk_ops.get(num or 0)
        if op is None:
            return None
        if poll and op.status in ("CREATED", "RUNNING"):
            op.polls += 1
            if op.polls >= self.bulk_polls:
                self._complete(op)
            else:
                op.status = "RUNNING"
        done = op.status == "COMPLETED"
        return {
            "__typename": "BulkOperation",
            "id": gid("BulkOperation", op.num),
            "status": op.status,
            "errorCode": op.error_code,
            "type": "QUERY",
            "query": op.query,
            "objectCount": str(op.object_count),
            "rootObjectCount": str(op.root_count),
            "fileSize": str(len(self.bulk_files.get(op.num, b""))) if done else None,
            "url": op.url if done else None,
            "partialDataUrl": None,
            "createdAt": "2026-11-25T00:00:00Z",
            "completedAt": "2026-11-25T00:00:05Z" if done else None,
        }

    def _complete(self, op: BulkOp) -> None:
        schema = schema_for(_era(op.version))
        result = execute_sync(
            schema,
            parse(op.query),
            root_value=self._root(),
            context_value={"version": op.version, "bulk": True, "listed": [], "host": ""},
        )
        if result.errors:
            op.status, op.error_code, op.url = "FAILED", "INTERNAL_SERVER_ERROR", None
            return
        lines: list[dict[str, Any]] = []
        roots = 0
        for value in (result.data or {}).values():
            for node in _connection_nodes(value):
                roots += 1
                _emit(node, None, lines)
        op.status, op.object_count, op.root_count = "COMPLETED", len(lines), roots
        if not lines:
            op.url = None
            return
        self.bulk_files[op.num] = b"".join(json.dumps(x).encode() + b"\n" for x in lines)
        host = self.storage_url or op.host
        op.url = (
            f"{host}/shopify-bulk-results/{op.num}.jsonl?X-Goog-Signature=fake{self.rng.getrandbits(32):08x}"
        )

    def bulk_result(self, req: FakeRequest, name: str) -> FakeResponse:
        m = re.fullmatch(r"(\d+)\.jsonl", name)
        data = self.bulk_files.get(int(m.group(1))) if m else None
        if data is None or "X-Goog-Signature" not in req.params:
            return FakeResponse(
                403, b"<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"}
            )
        return FakeResponse(200, data, {"Content-Type": "application/jsonl"})


# -- helpers ----------------------------------------------------------------------------------------
def _variable(value: Any) -> str | None:
    """The name of a ``$variable`` argument value, else None."""
    return str(value.name.value) if getattr(value, "kind", None) == "variable" else None


def _user_error(code: str, path: list[str] | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": path, "message": message}


def _stale(row: dict[str, Any], data: dict[str, Any], current: int, era: str) -> tuple[str, str, str] | None:
    """The compare-and-set check of one row: (code, field, message) when it fails."""
    if era != "compare" and "changeFromQuantity" in row:
        expected = row["changeFromQuantity"]
        if expected is not None and expected != current:
            return (
                "CHANGE_FROM_QUANTITY_STALE",
                "changeFromQuantity",
                "The changeFromQuantity no longer matches the persisted quantity.",
            )
        return None
    if data.get("ignoreCompareQuantity"):
        return None
    expected = row.get("compareQuantity")
    if expected is None:
        return (
            "COMPARE_QUANTITY_REQUIRED",
            "compareQuantity",
            "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
        )
    if expected != current:
        return (
            "COMPARE_QUANTITY_STALE",
            "compareQuantity",
            "The compareQuantity argument no longer matches the persisted quantity.",
        )
    return None


_TERM = re.compile(r"""(\w+):("(?:[^"\\]|\\.)*"|'[^']*'|[^\s()]+)""")


def _search_terms(query: str) -> list[tuple[str, str]]:
    """``sku:"A" OR product_id:12`` -> [("sku", "A"), ("product_id", "12")] (terms are OR'ed)."""
    out = []
    for name, raw in _TERM.findall(query):
        if raw.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif raw.startswith("'"):
            value = raw[1:-1]
        else:
            value = raw
        out.append((name, value))
    return out


def _check_input_sizes(document: Any, variables: dict[str, Any]) -> None:
    def walk(value: Any, where: str) -> None:
        if isinstance(value, list):
            if len(value) > INPUT_MAX:
                raise _Refused(
                    f"The input array size of {len(value)} is greater than the maximum allowed "
                    f"of {INPUT_MAX}.",
                    "MAX_INPUT_SIZE_EXCEEDED",
                    path=where,
                )
            for x in value:
                walk(x, where)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")

    for name, value in variables.items():
        walk(value, name)
    too_long: list[int] = []

    class Lists(Visitor):
        def enter_list_value(self, node: ListValueNode, *_: Any) -> None:
            if len(node.values) > INPUT_MAX:
                too_long.append(len(node.values))

    visit(document, Lists())
    if too_long:
        raise _Refused(
            f"The input array size of {too_long[0]} is greater than the maximum allowed of {INPUT_MAX}.",
            "MAX_INPUT_SIZE_EXCEEDED",
        )


def query_cost(
    schema: GraphQLSchema,
    document: Any,
    op: OperationDefinitionNode,
    variables: dict[str, Any],
    *,
    bulk: bool,
) -> int:
    """Shopify's requested cost: scalars and enums 0, objects (and lists of them) 1, connections
    ``2 + first x (1 + the node's selection)``, each mutation field 10 plus its selection."""
    fragments = {
        d.name.value: d
        for d in document.definitions
        if hasattr(d, "type_condition") and not isinstance(d, OperationDefinitionNode)
    }

    def arg(node: FieldNode, name: str) -> Any:
        for a in node.arguments or ():
            if a.name.value == name:
                v = a.value
                var = _variable(v)
                if var is not None:
                    return variables.get(var)
                if v.kind == "int_value":
                    return int(cast(Any, v).value)
        return None

    def selection(parent: Any, sel: SelectionSetNode | None) -> int:
        if sel is None:
            return 0
        total = 0
        for s in sel.selections:
            if isinstance(s, FieldNode):
                name = s.name.value
                if name.startswith("__") or not hasattr(parent, "fields") or name not in parent.fields:
                    continue
                total += field_cost(parent.fields[name], s)
            elif isinstance(s, InlineFragmentNode):
                target = schema.get_type(s.type_condition.name.value) if s.type_condition else parent
                total += selection(target, s.selection_set)
            elif isinstance(s, FragmentSpreadNode) and s.name.value in fragments:
                frag = fragments[s.name.value]
                total += selection(schema.get_type(frag.type_condition.name.value), frag.selection_set)
        return total

    def field_cost(definition: Any, node: FieldNode) -> int:
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection") and isinstance(named, GraphQLObjectType):
            size = 0 if bulk else (arg(node, "first") or arg(node, "last") or 0)  # bulk: no limits
            node_type = named.fields["nodes"].type
            per = 0
            for s in node.selection_set.selections if node.selection_set else ():
                if isinstance(s, FieldNode) and s.name.value == "nodes":
                    per = max(per, 1 + selection(get_named_type(node_type), s.selection_set))
                elif isinstance(s, FieldNode) and s.name.value == "edges":
                    for e in s.selection_set.selections if s.selection_set else ():
                        if isinstance(e, FieldNode) and e.name.value == "node":
                            per = max(per, 1 + selection(get_named_type(node_type), e.selection_set))
            return 2 + int(size) * per
        return 1 + selection(named, node.selection_set)

    root = schema.mutation_type if op.operation == OperationType.MUTATION else schema.query_type
    if op.operation != OperationType.MUTATION:
        return selection(root, op.selection_set)
    total = 0
    for s in op.selection_set.selections:
        if isinstance(s, FieldNode) and root is not None and s.name.value in root.fields:
            payload = get_named_type(root.fields[s.name.value].type)
            total += 10 + selection(payload, s.selection_set)
    return total


def _connection_nodes(value: Any) -> list[Any]:
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("edges"), list):
        return [e.get("node") for e in value["edges"] if isinstance(e, dict)]
    if isinstance(value.get("nodes"), list):
        return list(value["nodes"])
    return []


def _is_connection(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and set(value) <= {"edges", "nodes", "pageInfo"}
        and (isinstance(value.get("edges"), list) or isinstance(value.get("nodes"), list))
    )


def _emit(node: Any, parent: str | None, out: list[dict[str, Any]]) -> None:
    """A bulk result line per node; nodes of nested connections follow on their own lines."""
    nested: list[Any] = []

    def strip(value: Any) -> Any:
        if _is_connection(value):
            nested.append(value)
            return _DROP
        if isinstance(value, dict):
            return {k: s for k, v in value.items() if (s := strip(v)) is not _DROP}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    line = strip(node)
    if parent is not None:
        line["__parentId"] = parent
    out.append(line)
    for conn in nested:
        for child in _connection_nodes(conn):
            _emit(child, node.get("id") if isinstance(node, dict) else None, out)


_DROP = object()

_WRITE_FIELDS = {"inventorySetQuantities", "productVariantsBulkUpdate", "productUpdate"}


@functools.lru_cache(maxsize=256)
def _mutation_fields(query: str) -> tuple[tuple[str, tuple[tuple[str, str | None], ...]], ...]:
    """(field name, ((argument, variable name or None), ...)) of each root field of a mutation."""
    try:
        document = parse(query)
    except GraphQLError:
        return ()
    out = []
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode) and d.operation == OperationType.MUTATION:
            for s in d.selection_set.selections:
                if isinstance(s, FieldNode):
                    args = tuple((a.name.value, _variable(a.value)) for a in s.arguments or ())
                    out.append((s.name.value, args))
    return tuple(out)


def _write_objects(body: dict[str, Any]) -> int | None:
    """Objects a write call carries (rows, variants, products), or None for a call that writes no
    listing (a query, a bulk operation)."""
    query = body.get("query")
    if not isinstance(query, str):
        return None
    variables = body.get("variables") or {}
    total, writes = 0, False
    for name, args in _mutation_fields(query):
        if name not in _WRITE_FIELDS:
            continue
        writes = True
        values = {a: variables.get(v) if v else None for a, v in args}
        if name == "inventorySetQuantities":
            data = values.get("input") or {}
            total += len(data.get("quantities") or []) if isinstance(data, dict) else 0
        elif name == "productVariantsBulkUpdate":
            total += len(values.get("variants") or [])
        else:
            total += 1
    return total if writes else None


# -- spec conformance (used by tests/contract/cases.py) ---------------------------------------------
SCHEMA = ("shopify", "admin_schema_2025-01.json.gz")
SCHEMA_GAP = (
    "the saved Admin schema is 2025-01 (shared/specs/shopify): changeFromQuantity and the "
    "@idempotent(key:) directive arrived in 2026-01 (mandatory from 2026-04, storefronts.md 1.2b), so "
    "a 2026+ inventory call cannot validate against it; those two are checked by shape and the rest "
    "of the call against the schema"
)
IDEMPOTENT_MUTATIONS = frozenset(
    {
        "inventorySetQuantities",
        "inventoryAdjustQuantities",
        "inventoryMoveQuantities",
        "inventorySetOnHandQuantities",
        "refundCreate",
    }
)


def shopify_spec() -> Any:
    from tests.spec_check import GraphQLSchema, require_specs

    return GraphQLSchema.load(require_specs(*SCHEMA))


def shopify_violations(spec: Any, rec: Any) -> list[str]:
    """What is wrong with one recorded request: a GraphQL call (validated against schema 2025-01,
    with the 2026 inventory additions checked by shape: :data:`SCHEMA_GAP`), the client-credentials
    token request, or the download of a bulk result."""
    headers = rec.header_map
    if rec.method == "GET":
        if "/admin/" in rec.path:
            return [f"{rec}: the Admin GraphQL API takes POST"]
        if "x-shopify-access-token" in headers:
            return [f"{rec}: the bulk result URL is signed; the access token must not be sent there"]
        return []  # the signed bulk-result URL (outside the Admin API)
    if rec.path.endswith("/admin/oauth/access_token"):
        form = dict(parse_qsl(rec.body.decode("utf-8", "replace")))
        out = []
        if "x-www-form-urlencoded" not in rec.content_type:
            out.append(f"{rec}: the token request is a form post")
        if (
            form.get("grant_type") != "client_credentials"
            or not form.get("client_id")
            or not form.get("client_secret")
        ):
            out.append(f"{rec}: needs grant_type=client_credentials, client_id and client_secret")
        return out
    m = GRAPHQL_PATH.match(rec.path)
    if m is None:
        return [f"{rec}: no such path: Admin GraphQL calls go to /admin/api/{{version}}/graphql.json"]
    version = m.group("version")
    out = []
    if rec.method != "POST":
        out.append(f"{rec}: the Admin GraphQL API takes POST")
    if not headers.get("x-shopify-access-token"):
        out.append(f"{rec}: no X-Shopify-Access-Token header")
    try:
        body = rec.json()
    except ValueError:
        return out + [f"{rec}: the body is not JSON"]
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return out + [f"{rec}: a GraphQL request body needs a 'query' string"]
    query = body["query"]
    variables = copy.deepcopy(body.get("variables") or {})
    sizes = _oversized(variables)
    if sizes:
        out.append(f"{rec}: an input array of {sizes[0]} items, more than the {INPUT_MAX} Shopify accepts")
    try:
        document = parse(query)
    except GraphQLError as exc:
        return out + [f"{rec}: syntax: {exc.message}"]
    if version_key(version) >= (2026, 1):
        shape, query = _overlay_2026(document, variables, version)
        out.extend(f"{rec}: {p}" for p in shape)
    out.extend(f"{rec}: {v}" for v in spec.violations(query, variables, body.get("operationName")))
    for inner in _bulk_queries(document, body.get("variables") or {}):
        out.extend(f"{rec}: bulk query: {v}" for v in spec.violations(inner))
    return out


def _bulk_queries(document: Any, variables: dict[str, Any]) -> list[str]:
    """The query strings handed to ``bulkOperationRunQuery`` (they are validated too)."""
    out: list[str] = []
    for d in document.definitions:
        if not isinstance(d, OperationDefinitionNode):
            continue
        for s in d.selection_set.selections:
            if isinstance(s, FieldNode) and s.name.value == "bulkOperationRunQuery":
                for a in s.arguments or ():
                    if a.name.value != "query":
                        continue
                    name = _variable(a.value)
                    value = variables.get(name) if name is not None else getattr(a.value, "value", None)
                    if isinstance(value, str):
                        out.append(value)
    return out


def _oversized(value: Any) -> list[int]:
    if isinstance(value, list):
        return ([len(value)] if len(value) > INPUT_MAX else []) + [n for v in value for n in _oversized(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _oversized(v)]
    return []


def _overlay_2026(document: Any, variables: dict[str, Any], version: str) -> tuple[list[str], str]:
    """Check the 2026 additions by their documented shape and take them out, so that the rest of the
    call can be validated against the 2025-01 schema. Returns (problems, the reduced query)."""
    from graphql import print_ast

    problems: list[str] = []
    mandatory = version_key(version) >= (2026, 4)
    var_types: dict[str, str] = {}
    for d in document.definitions:
        if isinstance(d, OperationDefinitionNode):
            for vd in d.variable_definitions or ():
                var_types[vd.variable.name.value] = get_named_type_name(vd.type)
            for s in d.selection_set.selections:
                if not isinstance(s, FieldNode):
                    continue
                keyed = [x for x in s.directives or () if x.name.value == "idempotent"]
                if s.name.value in IDEMPOTENT_MUTATIONS and mandatory and not keyed:
                    problems.append(f"{s.name.value} needs @idempotent(key:) from 2026-04")
                for x in keyed:
                    if s.name.value not in IDEMPOTENT_MUTATIONS:
                        problems.append(f"@idempotent is not accepted on {s.name.value}")
                    key = next((a.value for a in x.arguments or () if a.name.value == "key"), None)
                    name = _variable(key) if key is not None else None
                    value = variables.get(name) if name is not None else getattr(key, "value", None)
                    if not isinstance(value, str) or not value.strip():
                        problems.append("@idempotent needs a non-empty key")

    class Strip(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            return REMOVE if node.name.value == "idempotent" else None

        def enter_variable_definition(self, node: Any, *_: Any) -> Any:
            # the key variable only feeds the directive
            name = node.variable.name.value
            used = [x for x in _directive_vars(document) if x == name]
            return REMOVE if used and not _used_elsewhere(document, name) else None

    reduced = visit(document, Strip())
    for name in [n for n in _directive_vars(document) if not _used_elsewhere(document, n)]:
        variables.pop(name, None)
    for name, type_name in var_types.items():
        if type_name != "InventorySetQuantitiesInput" or not isinstance(variables.get(name), dict):
            continue
        data = variables[name]
        if mandatory and "ignoreCompareQuantity" in data:
            problems.append("ignoreCompareQuantity was removed in 2026-04")
        for k, row in enumerate(data.get("quantities") or []):
            if not isinstance(row, dict):
                continue
            if "changeFromQuantity" in row:
                v = row.pop("changeFromQuantity")
                if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                    problems.append(f"quantities[{k}].changeFromQuantity must be an Int or null")
            elif mandatory:
                problems.append(
                    f"quantities[{k}] needs changeFromQuantity from 2026-04 (null skips the check)"
                )
            if mandatory and "compareQuantity" in row:
                problems.append(f"quantities[{k}].compareQuantity was removed in 2026-04")
    return problems, print_ast(reduced)


def get_named_type_name(node: Any) -> str:
    while hasattr(node, "type"):
        node = node.type
    return str(node.name.value)


def _directive_vars(document: Any) -> list[str]:
    names: list[str] = []

    class Find(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            if node.name.value == "idempotent":
                for a in node.arguments or ():
                    name = _variable(a.value)
                    if name is not None:
                        names.append(name)

    visit(document, Find())
    return names


def _used_elsewhere(document: Any, name: str) -> bool:
    """Whether variable ``name`` is used outside @idempotent directives."""
    found: list[bool] = []

    class Find(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            return False if node.name.value == "idempotent" else None  # do not descend

        def enter_variable(self, node: Any, _key: Any, parent: Any, *_: Any) -> None:
            if node.name.value == name and not (hasattr(parent, "variable") and parent.variable is node):
                found.append(True)

    visit(document, Find())
    return bool(found)


def shopify_bad_requests(base: str) -> list[tuple[Any, str]]:
    """Deliberately wrong requests, and a word the violation must contain."""
    from tests.spec_check import RecordedRequest

    auth = (("x-shopify-access-token", "shpat_x"), ("content-type", "application/json"))
    api = f"{base}/admin/api/2026-04/graphql.json"
    old = f"{base}/admin/api/2025-01/graphql.json"

    def call(url: str, query: str, variables: Any = None, headers: Iterable[tuple[str, str]] = auth) -> Any:
        return RecordedRequest(
            "POST", url, tuple(headers), json.dumps({"query": query, "variables": variables or {}}).encode()
        )

    row = {
        "inventoryItemId": "gid://shopify/InventoryItem/1",
        "locationId": "gid://shopify/Location/1",
        "quantity": 5,
        "changeFromQuantity": 4,
    }
    set_2026 = (
        "mutation S($input: InventorySetQuantitiesInput!, $k: String!) { inventorySetQuantities"
        "(input: $input) @idempotent(key: $k) { userErrors { code field message } } }"
    )
    set_plain = (
        "mutation S($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) "
        "{ userErrors { code field message } } }"
    )
    good_input = {"name": "available", "reason": "correction", "quantities": [row]}
    return [
        (call(api, "{ shop { nam } }"), "nam"),
        (
            call(
                api, set_2026, {"input": {**good_input, "quantities": [{**row, "quantity": "5x"}]}, "k": "a"}
            ),
            "Int cannot represent",
        ),
        (call(api, set_plain, {"input": good_input}), "@idempotent"),
        (
            call(
                api,
                set_2026,
                {
                    "input": {
                        **good_input,
                        "quantities": [{k: v for k, v in row.items() if k != "changeFromQuantity"}],
                    },
                    "k": "a",
                },
            ),
            "changeFromQuantity",
        ),
        (call(api, set_2026, {"input": {**good_input, "quantities": [row] * 251}, "k": "a"}), "250"),
        (call(old, set_2026, {"input": good_input, "k": "a"}), "Unknown directive"),
        (
            call(
                api,
                "mutation B($q: String!) { bulkOperationRunQuery(query: $q) { userErrors { message } } }",
                {"q": "{ productVariants { edges { node { skew } } } }"},
            ),
            "bulk query",
        ),
        (
            call(api, "{ shop { name } }", headers=[("content-type", "application/json")]),
            "X-Shopify-Access-Token",
        ),
        (RecordedRequest("GET", f"{base}/admin/api/2026-04/products.json", auth, b""), "POST"),
        (
            RecordedRequest(
                "GET",
                "https://storage.example.test/shopify-bulk-results/1.jsonl?X-Goog-Signature=x",
                auth,
                b"",
            ),
            "access token",
        ),
    ]
