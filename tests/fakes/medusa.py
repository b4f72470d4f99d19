"""A fake Medusa v2 server: the Admin REST API under ``/admin`` and the e-mail/password login under
``/auth`` (self-hosted.md section 2; shapes and messages as Medusa 2.21's route validators, error
handler and modules answer them, the ones marked "checked" also seen from a real Medusa 2.21.2).

What it implements:

- auth: ``POST /auth/user/emailpass`` ``{"email", "password"}`` answers ``{"token"}`` (a JWT) or
  401 ``{"type": "unauthorized", "message": "Invalid email or password"}``; admin routes take
  ``Authorization: Bearer <jwt>`` or a secret API key as HTTP Basic (``base64("sk_...:")``, or the
  raw ``sk_...`` key); a missing, wrong, expired or revoked credential is 401
  ``{"message": "Unauthorized"}``, and a secret key sent as a Bearer token gets Medusa's hint;
- errors as Medusa's error handler writes them: ``{"type", "message"}`` with 400 ``invalid_data``,
  401 ``unauthorized``, 404 ``not_found``; a path no route serves is Express's HTML 404
  (``<pre>Cannot GET /admin/...</pre>``, checked);
- request validation as Medusa's zod validators run it: query parameters of
  ``GET /admin/product-variants`` and the bodies of the batch routes are *strict* (an unknown key
  is 400 ``Invalid request: Unrecognized fields: 'x'``, checked; nested price and stock-level
  objects drop unknown keys, as their schemas are not strict, checked), amounts and quantities
  must be JSON numbers (a string amount is 400 ``Invalid request: Field 'update, 0, prices, 0,
  amount' is required``, checked), quantities at least 0 (``Value for field 'update, 0,
  stocked_quantity' too small, expected at least: '0'``, checked); ``limit``/``offset`` must be
  integers; ``GET /admin/products`` ignores parameters it does not know (its schema is a
  transform, which Medusa does not make strict);
- ``fields`` on every read, as Medusa's query config takes it: a list replaces the route's
  default fields, ``+f``/``-f`` add to or remove from them, ``*relation`` or ``relation.*`` selects
  a relation's own columns, ``relation.field`` one of them; ``id`` is always included;
- ``GET /admin/stores``, ``GET /admin/stock-locations``;
- ``GET /admin/product-variants``: ``sku`` and ``id`` (repeated: exact, case-sensitive),
  ``manage_inventory``, ``q``, ``order`` (``id``, ``-id``, ``sku``, ``created_at`` ...),
  ``limit`` (not capped) / ``offset``, ``{variants, count, offset, limit}``; variants carry
  ``*prices`` (a price set: ``id``, ``currency_code``, ``amount`` in major units, ``min_quantity``,
  ``max_quantity``, ``rules``), ``product``, and ``inventory_items`` (the link, with
  ``required_quantity`` and ``inventory.location_levels``: ``stocked_quantity``,
  ``reserved_quantity``, ``available_quantity``);
  a variant's ``product`` never carries ``variants``: a real Medusa 2.21.2 silently leaves
  ``product.variants.id`` (or ``*product.variants``) out of the variant list's answer;
- ``GET /admin/products`` with ``id`` filters, ``fields``, ``limit``/``offset``;
- ``POST /admin/products/batch`` ``{"update": [...]}``: title, description, status, handle,
  subtitle; all-or-nothing (an unknown product is 404 ``Unable to update the products with ids:
  prod_x``, checked). **With a
  ``variants`` list an update replaces the product's variants: each listed variant is updated, and
  every variant the list leaves out is deleted** (self-hosted.md pitfall 7), as Medusa does;
  ``options`` is refused as Medusa 2.16+ refuses it;
- ``POST /admin/products/{id}/variants/batch`` ``{"update": [...]}``: all-or-nothing; an unknown
  variant is 400 ``Cannot update non-existing variants with ids: ...``; ``prices`` replaces the
  variant's whole price set with the list sent (a listed price ``id`` keeps that row, a price
  without one is a new row, a price left out is gone); a SKU another variant has is 400
  (Medusa enforces unique SKUs);
- ``POST /admin/inventory-items/location-levels/batch`` ``{"create", "update", "delete"}``:
  all-or-nothing; ``stocked_quantity`` is absolute; updating a level that does not exist is 404
  ``Item iitem_... is not stocked at location sloc_...`` (several joined by ``, ``; checked); the
  answer's ``available_quantity`` of an updated level is the value from before the update (stale,
  as the real server answers, self-hosted.md pitfall 9, checked);
- the batch routes' 2 MB body limit (``DEFAULT_BATCH_ENDPOINTS_SIZE_LIMIT``): a larger body is 413
  ``{"message": "request entity too large", "type": "unknown_error"}``. Medusa has no limit on the
  number of items of a batch; :attr:`MedusaFake.batch_limit` is the adapter's own ceiling, for the
  contract suite's consistency checks;
- stock lives on inventory items (one per variant, same SKU, ``required_quantity`` 1) and their
  location levels; a shopper's order (:meth:`sell`, and the simulated sales) *reserves* units at
  the first stock location (Medusa reserves at order placement and lowers ``stocked_quantity`` only
  at fulfilment), so what can still be sold is ``stocked_quantity - reserved_quantity``.

Chosen here, not verified against a real server: creating a level that exists is 400
``Inventory level with inventory_item_id: ..., location_id: ..., already exists.``; an unknown
``fields`` entry is left out of the answer; ``create``/``delete`` in the product and variant batch
bodies are not implemented (501 naming it); a rejected SKU (:meth:`reject`) fails the whole call
touching it with 400 ``invalid_data`` and the given message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from .base import (
    FakeMarketplace,
    FakeRequest,
    FakeResponse,
    Faults,
    Sales,
    Stored,
    basic_credentials,
    json_body,
)

BODY_LIMIT = 2 * 1024 * 1024  # DEFAULT_BATCH_ENDPOINTS_SIZE_LIMIT = "2mb"
ITEM_CEILING = 1000  # no vendor limit: the adapter's own MAX_BATCH (see the module docstring)
PAGE_CEILING = 5000  # `limit` is not capped; 5000 was checked against a real server
LOGIN_PATH = "/auth/user/emailpass"

DEFAULT_VARIANT_FIELDS = [
    "id",
    "title",
    "sku",
    "thumbnail",
    "barcode",
    "ean",
    "upc",
    "allow_backorder",
    "manage_inventory",
    "hs_code",
    "origin_country",
    "mid_code",
    "material",
    "weight",
    "length",
    "height",
    "width",
    "metadata",
    "variant_rank",
    "product_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "*product",
    "*prices",
    "*options",
    "prices.price_rules.value",
    "prices.price_rules.attribute",
]
DEFAULT_PRODUCT_FIELDS = [
    "id",
    "title",
    "subtitle",
    "status",
    "external_id",
    "description",
    "handle",
    "is_giftcard",
    "discountable",
    "thumbnail",
    "collection_id",
    "type_id",
    "weight",
    "length",
    "height",
    "width",
    "hs_code",
    "origin_country",
    "mid_code",
    "material",
    "created_at",
    "updated_at",
    "deleted_at",
    "metadata",
    "*variants",
    "*options",
]
DEFAULT_LOCATION_FIELDS = ["id", "name", "metadata", "created_at", "updated_at", "address_id"]
DEFAULT_STORE_FIELDS = [
    "id",
    "name",
    "supported_currencies.*",
    "default_sales_channel_id",
    "default_region_id",
    "default_location_id",
    "metadata",
    "created_at",
    "updated_at",
]
RELATIONS = frozenset(
    {
        "product",
        "prices",
        "options",
        "inventory_items",
        "inventory",
        "location_levels",
        "variants",
        "price_rules",
        "supported_currencies",
    }
)

# what the zod schemas accept (query parameters of the variant list; keys of the batch bodies)
VARIANT_QUERY = frozenset(
    {
        "fields",
        "offset",
        "limit",
        "order",
        "with_deleted",
        "q",
        "id",
        "manage_inventory",
        "allow_backorder",
        "sku",
        "ean",
        "upc",
        "barcode",
        "created_at",
        "updated_at",
        "deleted_at",
        "$and",
        "$or",
    }
)
BATCH_KEYS = frozenset({"create", "update", "delete"})
LEVEL_BATCH_KEYS = frozenset({"create", "update", "delete", "force"})
VARIANT_UPDATE_KEYS = frozenset(
    {
        "id",
        "title",
        "prices",
        "sku",
        "ean",
        "upc",
        "barcode",
        "hs_code",
        "mid_code",
        "thumbnail",
        "allow_backorder",
        "manage_inventory",
        "variant_rank",
        "weight",
        "length",
        "height",
        "width",
        "origin_country",
        "material",
        "metadata",
        "options",
    }
)
PRODUCT_UPDATE_KEYS = frozenset(
    {
        "id",
        "title",
        "discountable",
        "is_giftcard",
        "options",
        "option_ids",
        "variants",
        "status",
        "subtitle",
        "description",
        "images",
        "thumbnail",
        "handle",
        "type_id",
        "external_id",
        "collection_id",
        "categories",
        "tags",
        "sales_channels",
        "shipping_profile_id",
        "weight",
        "length",
        "height",
        "width",
        "hs_code",
        "mid_code",
        "origin_country",
        "material",
        "metadata",
    }
)
PRICE_KEYS = ("id", "currency_code", "amount", "min_quantity", "max_quantity", "rules")
LEVEL_KEYS = ("inventory_item_id", "location_id", "stocked_quantity", "incoming_quantity")
STATUSES = frozenset({"draft", "proposed", "published", "rejected"})


@dataclass
class MPrice:
    id: str
    currency_code: str
    amount: Decimal
    min_quantity: int | None = None
    max_quantity: int | None = None
    rules: dict[str, str] = field(default_factory=dict)


@dataclass
class MLevel:
    id: str
    inventory_item_id: str
    location_id: str
    stocked: int
    reserved: int = 0
    incoming: int = 0
    created: str = ""
    updated: str = ""


@dataclass
class MItem:
    id: str
    sku: str
    levels: dict[str, MLevel] = field(default_factory=dict)  # location id -> level


@dataclass
class MVariant:
    id: str
    product_id: str
    sku: str
    title: str
    prices: list[MPrice] = field(default_factory=list)
    items: list[tuple[str, str, int]] = field(default_factory=list)  # (link id, inventory item id, required)
    manage_inventory: bool = True
    allow_backorder: bool = False
    rank: int = 0
    created: str = ""
    updated: str = ""


@dataclass
class MProduct:
    id: str
    title: str
    handle: str
    description: str | None
    status: str = "published"
    subtitle: str | None = None
    variants: list[str] = field(default_factory=list)
    created: str = ""
    updated: str = ""


class _Invalid(Exception):
    """A request Medusa refuses as a whole: (status, type, message)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class MedusaFake(FakeMarketplace):
    vendor = "medusa"
    api_prefix = "/admin"
    batch_limit = ITEM_CEILING
    page_size_max = PAGE_CEILING
    oauth_refresh = False  # JWTs are not refreshed: a client logs in again (secret keys never expire)

    def __init__(
        self,
        *,
        api_key: str = "sk_fake00000000000000000000000000000000000000000000000000000000",
        email: str = "admin@omnisync.test",
        password: str = "supersecret",
        currencies: Iterable[str] | str = ("usd",),
        locations: Iterable[str] | str = ("Main warehouse",),
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
    ) -> None:
        self.api_key = api_key
        self.email = email
        self.password = password
        self.jwt_secret = b"fake-medusa-jwt-secret"
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._n = 0
        codes = currencies.split(",") if isinstance(currencies, str) else list(currencies)
        self.currencies = [c.strip().lower() for c in codes if c.strip()] or ["usd"]
        self.store_id = self._ulid("store")
        self.sales_channel_id = self._ulid("sc")
        self.stock_locations: dict[str, str] = {}  # id -> name, in creation order
        names = locations.split(",") if isinstance(locations, str) else list(locations)
        for name in names or ["Main warehouse"]:
            self.add_location(name.strip())
        self.products: dict[str, MProduct] = {}
        self.variants: dict[str, MVariant] = {}
        self.items: dict[str, MItem] = {}
        self.tokens: set[str] = set()
        self.revoked = False
        self.key_expired = False
        self.rejections: dict[str, str] = {}
        self._singles = 0
        self._groups = 0
        super().__init__(seed=seed, faults=faults, sales=sales)

    # -- helpers --
    def _ulid(self, prefix: str) -> str:
        """A Medusa-style id: prefix + 26-character ULID, increasing in creation order."""
        self._n += 1
        return f"{prefix}_01JFAKE{self._n:019d}"

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @property
    def default_location(self) -> str:
        return next(iter(self.stock_locations))

    def routes(self) -> None:
        r = self.router
        r.add("POST", LOGIN_PATH, self.login)
        r.add("GET", "/admin/stores", self.list_stores)
        r.add("GET", "/admin/stock-locations", self.list_locations)
        r.add("GET", "/admin/product-variants", self.list_variants)
        r.add("GET", "/admin/products", self.list_products)
        r.add("POST", "/admin/products/batch", self.batch_products)
        r.add("POST", "/admin/products/{product_id}/variants/batch", self.batch_variants)
        r.add("POST", "/admin/inventory-items/location-levels/batch", self.batch_levels)

    # -- store API (vendor-neutral, used by the contract suite) --
    def add_location(self, name: str) -> str:
        loc = self._ulid("sloc")
        self.stock_locations[loc] = name
        return loc

    def add_product(
        self,
        title: str,
        variants: Sequence[tuple[str, str]],
        *,
        description: str | None = "",
        price: str = "19.99",
        quantity: int = 10,
    ) -> MProduct:
        """A published product with ``variants`` as (sku, variant title), each managing inventory
        with ``quantity`` stocked at the first stock location and ``price`` in every currency."""
        with self.lock:
            now = self._now()
            product = MProduct(
                self._ulid("prod"),
                title,
                title.lower().replace(" ", "-"),
                description,
                created=now,
                updated=now,
            )
            self.products[product.id] = product
            for sku, vtitle in variants:
                self.add_variant(product.id, sku, vtitle, price=price, quantity=quantity)
            return product

    def add_variant(
        self,
        product_id: str,
        sku: str,
        title: str,
        *,
        price: str = "19.99",
        quantity: int = 10,
        manage_inventory: bool = True,
    ) -> MVariant:
        now = self._now()
        product = self.products[product_id]
        v = MVariant(
            self._ulid("variant"),
            product_id,
            sku,
            title,
            manage_inventory=manage_inventory,
            rank=len(product.variants),
            created=now,
            updated=now,
        )
        v.prices = [MPrice(self._ulid("price"), c, Decimal(price)) for c in self.currencies]
        if manage_inventory:
            item = MItem(self._ulid("iitem"), sku)
            loc = self.default_location
            item.levels[loc] = MLevel(self._ulid("ilev"), item.id, loc, quantity, created=now, updated=now)
            self.items[item.id] = item
            v.items = [(self._ulid("pvitem"), item.id, 1)]
        self.variants[v.id] = v
        product.variants.append(v.id)
        return v

    def seed(
        self,
        n: int,
        *,
        variable: int = 0,
        per_parent: int = 3,
        quantity: int = 10,
        price: str = "19.99",
        prefix: str = "MD",
    ) -> list[str]:
        out: list[str] = []
        with self.lock:
            for _ in range(n):
                self._singles += 1
                k = self._singles
                sku = f"{prefix}-{k:04d}"
                self.add_product(
                    f"Product {k}",
                    [(sku, "Default")],
                    description=f"Description of product {k}.",
                    price=price,
                    quantity=quantity,
                )
                out.append(sku)
            for _ in range(variable):
                self._groups += 1
                g = self._groups
                skus = [(f"{prefix}-V{g:03d}-{j}", f"Size {j}") for j in range(1, per_parent + 1)]
                self.add_product(
                    f"Group {g}", skus, description=f"Grouped product {g}.", price=price, quantity=quantity
                )
                out.extend(s for s, _ in skus)
        return out

    def variant(self, sku: str) -> MVariant | None:
        for v in self.variants.values():
            if v.sku == sku:
                return v
        return None

    def item_of(self, sku: str) -> MItem | None:
        v = self.variant(sku)
        return self.items.get(v.items[0][1]) if v is not None and v.items else None

    def skus(self) -> list[str]:
        return [v.sku for v in self.variants.values() if v.sku]

    def stored(self, sku: str) -> Stored | None:
        v = self.variant(sku)
        if v is None:
            return None
        product = self.products[v.product_id]
        item = self.item_of(sku)
        level = item.levels.get(self.default_location) if item is not None else None
        quantity = (level.stocked - level.reserved if level is not None else 0) if item is not None else None
        price = next(
            (
                p.amount
                for p in v.prices
                if p.currency_code == self.currencies[0]
                and not p.rules
                and p.min_quantity is None
                and p.max_quantity is None
            ),
            None,
        )
        title = product.title if len(product.variants) == 1 else v.title
        return Stored(
            sku,
            quantity,
            str(price.quantize(Decimal("0.01"))) if price is not None else None,
            title,
            product.description or "",
        )

    def level(self, sku: str, location: str) -> tuple[int, int] | None:
        """(stocked_quantity, reserved_quantity) of ``sku`` at ``location``; None without a level."""
        item = self.item_of(sku)
        lv = item.levels.get(location) if item is not None else None
        return (lv.stocked, lv.reserved) if lv is not None else None

    def set_level(self, sku: str, location: str, stocked: int, reserved: int = 0) -> None:
        item = self.item_of(sku)
        assert item is not None, sku
        now = self._now()
        item.levels[location] = MLevel(
            self._ulid("ilev"), item.id, location, stocked, reserved, created=now, updated=now
        )

    def sell(self, sku: str, units: int, location: str | None = None) -> int:
        """An order is placed: ``units`` are reserved (never more than can be sold)."""
        with self.lock:
            item = self.item_of(sku)
            lv = item.levels.get(location or self.default_location) if item is not None else None
            if lv is None:
                return 0
            sold = max(0, min(units, lv.stocked - lv.reserved))
            lv.reserved += sold
            if sold:
                self.sold[sku] = self.sold.get(sku, 0) + sold
            return sold

    def delete(self, sku: str) -> None:
        v = self.variant(sku)
        if v is not None:
            self._delete_variant(v)

    def _delete_variant(self, v: MVariant) -> None:
        del self.variants[v.id]
        self.products[v.product_id].variants.remove(v.id)

    def reject(self, sku: str, message: str = "This product cannot be edited.") -> None:
        """Every write call that touches ``sku`` (its variant, product or inventory item) fails as a
        whole with 400 and ``message`` (until :meth:`allow`)."""
        self.rejections[sku] = message

    def allow(self, sku: str) -> None:
        self.rejections.pop(sku, None)

    def revoke_credentials(self) -> None:
        """The admin user and the secret API key are gone: logins and every credential fail."""
        self.revoked = True

    def expire_token(self) -> None:
        """Issued JWTs expire and the secret key is revoked; logging in again still works."""
        self.tokens.clear()
        self.key_expired = True

    WRITE_PATHS = ("/admin/products/batch", "/variants/batch", "/admin/inventory-items/location-levels/batch")

    def write_requests(self) -> list[Any]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(self.WRITE_PATHS)]

    def batch_sizes(self) -> list[int]:
        out = []
        for r in self.write_requests():
            body = r.json if isinstance(r.json, dict) else {}
            out.append(
                sum(len(body[k]) for k in ("create", "update", "delete") if isinstance(body.get(k), list))
            )
        return out

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        levels = [lv for item in self.items.values() for lv in item.levels.values()] or [
            MLevel("ilev_x", "iitem_x", self.default_location, 0)
        ]
        return (
            "POST",
            "admin/inventory-items/location-levels/batch",
            {
                "update": [
                    {
                        "inventory_item_id": levels[k % len(levels)].inventory_item_id,
                        "location_id": levels[k % len(levels)].location_id,
                        "stocked_quantity": 1,
                    }
                    for k in range(n)
                ]
            },
        )

    # -- protocol --
    def error(self, status: int, code: str, message: str, **data: Any) -> FakeResponse:
        """Medusa's error body ``{"type", "message"}`` (``code`` is the base fake's: not sent)."""
        kinds = {
            400: "invalid_data",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            409: "conflict",
        }
        return FakeResponse(status, {"type": kinds.get(status, "unknown_error"), "message": message})

    def _host_error(self, status: int, req: FakeRequest) -> FakeResponse:
        """The careless proxy echoes the request's headers *before* its URL here: Medusa reads carry
        a long ``fields`` list, and a client cuts a long error message short, so with the URL first
        the echoed credentials (what the secret checks look for, redacted) would never be seen."""
        if self.faults.leak_request_in_errors:
            echo = f"upstream failed with headers {json.dumps(req.headers)} for {req.url}"
            return FakeResponse(status, {"code": "proxy_error", "message": echo})
        return super()._host_error(status, req)

    def authenticate(self, req: FakeRequest) -> FakeResponse | None:
        if req.path.startswith("/auth/") or not req.path.startswith("/admin"):
            return None
        auth = req.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token:
            if not self.revoked and token in self.tokens:
                return None
            if token.startswith("sk_"):
                return FakeResponse(
                    401,
                    {
                        "message": (
                            "A secret API key was passed as a Bearer token. Secret API keys must be sent using HTTP "
                            "Basic authentication instead (Authorization: Basic <secret-api-key>)."
                        )
                    },
                )
        elif scheme.lower() == "basic" and token:
            key = token if token.startswith("sk_") else (basic_credentials(req) or ("", ""))[0]
            key = key.removesuffix(":")
            if not self.revoked and not self.key_expired and hmac.compare_digest(key, self.api_key):
                return None
        return FakeResponse(401, {"message": "Unauthorized"})

    def _route(self, req: FakeRequest) -> FakeResponse:
        found = self.router.match(req.method, req.path)
        if found is None or found == "method":  # Express's own 404
            body = (
                f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
                f"</head>\n<body>\n<pre>Cannot {req.method} {req.path}</pre>\n</body>\n</html>\n"
            )
            return FakeResponse(404, body.encode(), {"Content-Type": "text/html; charset=utf-8"})
        if req.method == "POST" and req.path.endswith("/batch") and len(req.body) > BODY_LIMIT:
            return FakeResponse(413, {"message": "request entity too large", "type": "unknown_error"})
        try:
            return super()._route(req)
        except _Invalid as exc:
            return FakeResponse(exc.status, {"type": exc.kind, "message": exc.message})

    # -- auth --
    def login(self, req: FakeRequest) -> FakeResponse:
        body = json_body(req)
        email = body.get("email") if isinstance(body, dict) else None
        password = body.get("password") if isinstance(body, dict) else None
        if (
            self.revoked
            or not isinstance(email, str)
            or not isinstance(password, str)
            or not (hmac.compare_digest(email, self.email) and hmac.compare_digest(password, self.password))
        ):
            return FakeResponse(401, {"type": "unauthorized", "message": "Invalid email or password"})
        token = self._jwt()
        self.tokens.add(token)
        return FakeResponse(200, {"token": token})

    def _jwt(self) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        iat = int(self._clock.timestamp()) + len(self.tokens) + self.rng.randrange(1 << 20)
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = b64(
            json.dumps(
                {
                    "actor_id": "user_01JFAKEADMIN",
                    "actor_type": "user",
                    "auth_identity_id": "authid_01JFAKEADMIN",
                    "app_metadata": {"user_id": "user_01JFAKEADMIN"},
                    "iat": iat,
                    "exp": iat + 86400,
                }
            ).encode()
        )
        signature = b64(hmac.new(self.jwt_secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    # -- rendering --
    def _price_view(self, v: MVariant, p: MPrice) -> dict[str, Any]:
        return {
            "id": p.id,
            "currency_code": p.currency_code,
            "amount": p.amount,
            "min_quantity": p.min_quantity,
            "max_quantity": p.max_quantity,
            "rules": dict(p.rules),
            "price_rules": [{"attribute": k, "value": val} for k, val in p.rules.items()],
            "variant_id": v.id,
            "created_at": v.created,
            "updated_at": v.updated,
            "deleted_at": None,
        }

    def _level_view(self, lv: MLevel, available: int | None = None) -> dict[str, Any]:
        return {
            "id": lv.id,
            "inventory_item_id": lv.inventory_item_id,
            "location_id": lv.location_id,
            "stocked_quantity": lv.stocked,
            "reserved_quantity": lv.reserved,
            "incoming_quantity": lv.incoming,
            "available_quantity": lv.stocked - lv.reserved if available is None else available,
            "metadata": None,
            "created_at": lv.created,
            "updated_at": lv.updated,
            "deleted_at": None,
        }

    def _product_view(self, p: MProduct, *, variants: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": p.id,
            "title": p.title,
            "subtitle": p.subtitle,
            "status": p.status,
            "external_id": None,
            "description": p.description,
            "handle": p.handle,
            "is_giftcard": False,
            "discountable": True,
            "thumbnail": None,
            "collection_id": None,
            "type_id": None,
            "weight": None,
            "length": None,
            "height": None,
            "width": None,
            "hs_code": None,
            "origin_country": None,
            "mid_code": None,
            "material": None,
            "created_at": p.created,
            "updated_at": p.updated,
            "deleted_at": None,
            "metadata": None,
            "options": [],
        }
        if variants:
            out["variants"] = [self._variant_view(self.variants[i], product=False) for i in p.variants]
        return out

    def _variant_view(self, v: MVariant, *, product: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": v.id,
            "title": v.title,
            "sku": v.sku,
            "thumbnail": None,
            "barcode": None,
            "ean": None,
            "upc": None,
            "allow_backorder": v.allow_backorder,
            "manage_inventory": v.manage_inventory,
            "hs_code": None,
            "origin_country": None,
            "mid_code": None,
            "material": None,
            "weight": None,
            "length": None,
            "height": None,
            "width": None,
            "metadata": None,
            "variant_rank": v.rank,
            "product_id": v.product_id,
            "created_at": v.created,
            "updated_at": v.updated,
            "deleted_at": None,
            "prices": [self._price_view(v, p) for p in v.prices],
            "options": [{"id": f"optval_{v.id}", "value": v.title, "option_id": f"opt_{v.product_id}"}],
            "inventory_items": [],
        }
        available = 0
        for link, iid, required in v.items:
            item = self.items.get(iid)
            if item is None:
                continue
            levels = [self._level_view(lv) for loc, lv in item.levels.items() if loc in self.stock_locations]
            available += sum(lv["available_quantity"] for lv in levels) // max(1, required)
            out["inventory_items"].append(
                {
                    "id": link,
                    "variant_id": v.id,
                    "inventory_item_id": iid,
                    "required_quantity": required,
                    "inventory": {
                        "id": iid,
                        "sku": item.sku,
                        "title": v.title,
                        "requires_shipping": True,
                        "location_levels": levels,
                    },
                }
            )
        out["inventory_quantity"] = available if v.manage_inventory else None
        if product:  # without its `variants`: Medusa's variant list leaves `product.variants.*` out
            out["product"] = self._product_view(self.products[v.product_id], variants=False)
        return out

    # -- reads --
    def _page(self, req: FakeRequest, default_limit: int) -> tuple[int, int]:
        out = []
        for name, default in (("offset", 0), ("limit", default_limit)):
            raw = req.param(name)
            if raw is None or raw == "":
                out.append(default)
                continue
            try:
                out.append(int(raw))
            except ValueError:
                raise _Invalid(
                    400,
                    "invalid_data",
                    f"Invalid request: Expected type: 'number' for field '{name}', got: '{raw}'",
                ) from None
        return out[0], out[1]

    def _strict_query(self, req: FakeRequest, allowed: frozenset[str]) -> None:
        unknown = sorted({k.split("[", 1)[0] for k, _ in req.query} - allowed)
        if unknown:
            raise _Invalid(
                400, "invalid_data", f"Invalid request: Unrecognized fields: '{', '.join(unknown)}'"
            )

    def _values(self, req: FakeRequest, name: str) -> list[str]:
        return [v for k, v in req.query if k in (name, f"{name}[]")]

    def list_stores(self, req: FakeRequest) -> FakeResponse:
        offset, limit = self._page(req, 50)
        store = {
            "id": self.store_id,
            "name": "Medusa Store",
            "default_sales_channel_id": self.sales_channel_id,
            "default_region_id": None,
            "default_location_id": None,
            "metadata": None,
            "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z",
            "supported_currencies": [
                {
                    "id": f"stocur_{i}",
                    "currency_code": c,
                    "is_default": i == 0,
                    "is_tax_inclusive": False,
                    "store_id": self.store_id,
                    "created_at": "2026-01-01T00:00:00.000Z",
                    "updated_at": "2026-01-01T00:00:00.000Z",
                    "deleted_at": None,
                }
                for i, c in enumerate(self.currencies)
            ],
        }
        rows = [project(store, fields_of(req, DEFAULT_STORE_FIELDS))]
        return FakeResponse(
            200,
            {"stores": rows[offset : offset + limit], "count": len(rows), "offset": offset, "limit": limit},
        )

    def list_locations(self, req: FakeRequest) -> FakeResponse:
        offset, limit = self._page(req, 20)
        fields = fields_of(req, DEFAULT_LOCATION_FIELDS)
        rows = [
            project(
                {
                    "id": loc,
                    "name": name,
                    "metadata": None,
                    "address_id": None,
                    "created_at": "2026-01-01T00:00:00.000Z",
                    "updated_at": "2026-01-01T00:00:00.000Z",
                },
                fields,
            )
            for loc, name in self.stock_locations.items()
        ]
        return FakeResponse(
            200,
            {
                "stock_locations": rows[offset : offset + limit],
                "count": len(rows),
                "offset": offset,
                "limit": limit,
            },
        )

    def list_variants(self, req: FakeRequest) -> FakeResponse:
        self._strict_query(req, VARIANT_QUERY)
        offset, limit = self._page(req, 50)
        skus = self._values(req, "sku")
        ids = self._values(req, "id")
        rows = list(self.variants.values())
        if skus:
            rows = [v for v in rows if v.sku in skus]
        if ids:
            rows = [v for v in rows if v.id in ids]
        manage = req.param("manage_inventory")
        if manage in ("true", "false"):
            rows = [v for v in rows if v.manage_inventory == (manage == "true")]
        q = (req.param("q") or "").lower()
        if q:
            rows = [v for v in rows if q in v.sku.lower() or q in v.title.lower()]
        rows = _ordered(
            rows,
            req.param("order"),
            {
                "id": lambda v: v.id,
                "sku": lambda v: v.sku,
                "title": lambda v: v.title,
                "created_at": lambda v: v.created,
                "updated_at": lambda v: v.updated,
                "variant_rank": lambda v: v.rank,
            },
        )
        fields = fields_of(req, DEFAULT_VARIANT_FIELDS)
        page = rows[offset : offset + limit]
        out = [project(self._variant_view(v), fields) for v in page]
        self.list_items_hook([v.sku for v in page], lookup=bool(skus or ids))
        return FakeResponse(200, {"variants": out, "count": len(rows), "offset": offset, "limit": limit})

    def list_products(self, req: FakeRequest) -> FakeResponse:
        offset, limit = self._page(req, 50)
        ids = self._values(req, "id")
        rows = [p for p in self.products.values() if not ids or p.id in ids]
        rows = _ordered(
            rows,
            req.param("order"),
            {
                "id": lambda p: p.id,
                "title": lambda p: p.title,
                "created_at": lambda p: p.created,
                "updated_at": lambda p: p.updated,
            },
        )
        fields = fields_of(req, DEFAULT_PRODUCT_FIELDS)
        out = [project(self._product_view(p), fields) for p in rows[offset : offset + limit]]
        return FakeResponse(200, {"products": out, "count": len(rows), "offset": offset, "limit": limit})

    # -- writes --
    def _rejected(self, skus: Iterable[str]) -> None:
        for sku in skus:
            if sku in self.rejections:
                raise _Invalid(400, "invalid_data", self.rejections[sku])

    def _batch_body(self, req: FakeRequest, keys: frozenset[str]) -> dict[str, Any]:
        body = json_body(req)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise _Invalid(
                400,
                "invalid_data",
                f"Invalid request: Expected type: 'object' for field '', got: '{type(body).__name__}'",
            )
        unknown = sorted(set(body) - keys)
        if unknown:
            raise _Invalid(
                400, "invalid_data", f"Invalid request: Unrecognized fields: '{', '.join(unknown)}'"
            )
        for key in keys - {"force"}:
            if key in body and not isinstance(body[key], list):
                raise _Invalid(
                    400,
                    "invalid_data",
                    f"Invalid request: Expected type: 'array' for field '{key}', got: '{body[key]}'",
                )
        return body

    def batch_products(self, req: FakeRequest) -> FakeResponse:
        body = self._batch_body(req, BATCH_KEYS)
        if body.get("create") or body.get("delete"):
            return FakeResponse(
                501,
                {
                    "type": "unknown_error",
                    "message": "this fake implements only `update` in POST /admin/products/batch",
                },
            )
        updates = body.get("update") or []
        for n, u in enumerate(updates):
            _object(u, f"update, {n}")
            _strict(u, PRODUCT_UPDATE_KEYS)
            if "options" in u:
                raise _Invalid(
                    400,
                    "invalid_data",
                    "Invalid request: The 'options' property was removed in "
                    "version 2.16.0. Please remove it from your request payload.",
                )
            _string(u, "id", f"update, {n}", required=True)
            for key in ("title", "handle"):
                _string(u, key, f"update, {n}")
            for key in ("description", "subtitle"):
                _string(u, key, f"update, {n}", nullable=True)
            if "status" in u and u["status"] not in STATUSES:
                raise _Invalid(
                    400,
                    "invalid_data",
                    f"Invalid request: Expected: '{', '.join(sorted(STATUSES))}' "
                    f"for field 'update, {n}, status', but got: '{u['status']}'",
                )
            if "variants" in u:
                if not isinstance(u["variants"], list):
                    raise _Invalid(
                        400,
                        "invalid_data",
                        f"Invalid request: Expected type: 'array' for field "
                        f"'update, {n}, variants', got: '{u['variants']}'",
                    )
                for m, vu in enumerate(u["variants"]):
                    self._check_variant_update(vu, f"update, {n}, variants, {m}", id_required=False)
        missing = [u["id"] for u in updates if u["id"] not in self.products]
        if missing:
            raise _Invalid(404, "not_found", f"Unable to update the products with ids: {', '.join(missing)}")
        for u in updates:
            product = self.products[u["id"]]
            self._rejected(self.variants[i].sku for i in product.variants)
            listed = [vu for vu in u.get("variants") or [] if vu.get("id")]
            self._check_variants_exist([vu["id"] for vu in listed])
            self._check_skus(listed)
        now = self._now()
        for u in updates:
            product = self.products[u["id"]]
            for key in ("title", "handle", "description", "subtitle", "status"):
                if key in u:
                    setattr(product, key, u[key])
            if "variants" in u:  # Medusa's upsert: the list *is* the product's variants now
                keep = set()
                for vu in u["variants"]:
                    if vu.get("id"):
                        self._apply_variant_update(self.variants[vu["id"]], vu)
                        keep.add(vu["id"])
                    else:
                        made = self.add_variant(
                            product.id,
                            vu.get("sku") or "",
                            vu.get("title") or "",
                            quantity=0,
                            manage_inventory=bool(vu.get("manage_inventory", True)),
                        )
                        if vu.get("prices"):
                            made.prices = self._price_set(made, vu["prices"])
                        keep.add(made.id)
                for vid in [i for i in product.variants if i not in keep]:
                    self._delete_variant(self.variants[vid])
            product.updated = now
        return FakeResponse(
            200,
            {
                "created": [],
                "updated": [self._product_view(self.products[u["id"]]) for u in updates],
                "deleted": {"ids": [], "object": "product", "deleted": True},
            },
        )

    def batch_variants(self, req: FakeRequest, product_id: str) -> FakeResponse:
        body = self._batch_body(req, BATCH_KEYS)
        if body.get("create") or body.get("delete"):
            return FakeResponse(
                501,
                {
                    "type": "unknown_error",
                    "message": "this fake implements only `update` in "
                    "POST /admin/products/{id}/variants/batch",
                },
            )
        updates = body.get("update") or []
        for n, vu in enumerate(updates):
            self._check_variant_update(vu, f"update, {n}", id_required=True)
        self._check_variants_exist([vu["id"] for vu in updates])
        self._rejected(self.variants[vu["id"]].sku for vu in updates)
        self._check_skus(updates)
        for vu in updates:  # each keeps its own product, whatever the path says (as Medusa does)
            self._apply_variant_update(self.variants[vu["id"]], vu)
        return FakeResponse(
            200,
            {
                "created": [],
                "updated": [self._variant_view(self.variants[vu["id"]]) for vu in updates],
                "deleted": {"ids": [], "object": "variant", "deleted": True},
            },
        )

    def _check_variant_update(self, vu: Any, where: str, *, id_required: bool) -> None:
        _object(vu, where)
        _strict(vu, VARIANT_UPDATE_KEYS)
        _string(vu, "id", where, required=id_required)
        _string(vu, "title", where)
        _string(vu, "sku", where, nullable=True)
        if "prices" in vu:
            if not isinstance(vu["prices"], list):
                raise _Invalid(
                    400,
                    "invalid_data",
                    f"Invalid request: Expected type: 'array' for field '{where}, prices', got: '{vu['prices']}'",
                )
            for m, p in enumerate(vu["prices"]):
                _object(p, f"{where}, prices, {m}")
                _number(p, "amount", f"{where}, prices, {m}")
                _string(p, "currency_code", f"{where}, prices, {m}")
                _string(p, "id", f"{where}, prices, {m}")

    def _check_variants_exist(self, ids: Sequence[str]) -> None:
        missing = [i for i in ids if i not in self.variants]
        if missing:
            raise _Invalid(
                400, "invalid_data", f"Cannot update non-existing variants with ids: {', '.join(missing)}"
            )

    def _check_skus(self, updates: Sequence[Mapping[str, Any]]) -> None:
        for vu in updates:
            sku = vu.get("sku")
            if sku and any(v.sku == sku and v.id != vu.get("id") for v in self.variants.values()):
                raise _Invalid(400, "invalid_data", f"Product variant with sku: {sku}, already exists.")

    def _apply_variant_update(self, v: MVariant, vu: Mapping[str, Any]) -> None:
        if "title" in vu:
            v.title = vu["title"]
        if vu.get("sku") is not None:
            v.sku = vu["sku"]
        for key, attr in (("manage_inventory", "manage_inventory"), ("allow_backorder", "allow_backorder")):
            if key in vu:
                setattr(v, attr, vu[key] in (True, "true"))
        if "variant_rank" in vu:
            v.rank = int(vu["variant_rank"])
        if "prices" in vu:
            v.prices = self._price_set(v, vu["prices"])
        v.updated = self._now()

    def _price_set(self, v: MVariant, prices: Sequence[Mapping[str, Any]]) -> list[MPrice]:
        """The variant's new price set: exactly the list sent (ids kept where given)."""
        current = {p.id: p for p in v.prices}
        out = []
        for entry in prices:
            old = current.get(str(entry.get("id"))) if entry.get("id") else None
            code = str(entry.get("currency_code") or (old.currency_code if old else "")).lower()
            amount = (
                Decimal(entry["amount"])
                if entry.get("amount") is not None
                else (old.amount if old else Decimal(0))
            )
            out.append(
                MPrice(
                    old.id if old else self._ulid("price"),
                    code,
                    amount,
                    entry.get("min_quantity", old.min_quantity if old else None),
                    entry.get("max_quantity", old.max_quantity if old else None),
                    dict(entry.get("rules") or (old.rules if old else {})),
                )
            )
        return out

    def batch_levels(self, req: FakeRequest) -> FakeResponse:
        body = self._batch_body(req, LEVEL_BATCH_KEYS)
        rows: dict[str, list[dict[str, Any]]] = {}
        for op in ("create", "update"):
            rows[op] = []
            for n, entry in enumerate(body.get(op) or []):
                where = f"{op}, {n}"
                _object(entry, where)
                _string(entry, "inventory_item_id", where, required=True)
                _string(entry, "location_id", where, required=True)
                for key in ("stocked_quantity", "incoming_quantity"):
                    _number(entry, key, where, minimum=0)
                rows[op].append({k: entry[k] for k in LEVEL_KEYS if k in entry})  # other keys are stripped
        deletes = body.get("delete") or []
        for n, lid in enumerate(deletes):
            if not isinstance(lid, str):
                raise _Invalid(
                    400,
                    "invalid_data",
                    f"Invalid request: Expected type: 'string' for field 'delete, {n}', got: '{lid}'",
                )
        for entry in rows["create"]:
            item = self.items.get(entry["inventory_item_id"])
            if item is None:
                raise _Invalid(
                    404, "not_found", f'InventoryItem with id "{entry["inventory_item_id"]}" not found'
                )
            if entry["location_id"] not in self.stock_locations:
                raise _Invalid(404, "not_found", f'StockLocation with id "{entry["location_id"]}" not found')
            if entry["location_id"] in item.levels:
                raise _Invalid(
                    400,
                    "invalid_data",
                    f"Inventory level with inventory_item_id: {item.id}, "
                    f"location_id: {entry['location_id']}, already exists.",
                )
        missing = [
            e
            for e in rows["update"]
            if e["inventory_item_id"] not in self.items
            or e["location_id"] not in self.items[e["inventory_item_id"]].levels
        ]
        if missing:
            raise _Invalid(
                404,
                "not_found",
                ", ".join(
                    f"Item {e['inventory_item_id']} is not stocked at location {e['location_id']}"
                    for e in missing
                ),
            )
        touched = [self.items[e["inventory_item_id"]].sku for op in ("create", "update") for e in rows[op]]
        self._rejected(touched)
        now = self._now()
        created, updated = [], []
        for entry in rows["create"]:
            item = self.items[entry["inventory_item_id"]]
            lv = MLevel(
                self._ulid("ilev"),
                item.id,
                entry["location_id"],
                _count(entry.get("stocked_quantity")),
                incoming=_count(entry.get("incoming_quantity")),
                created=now,
                updated=now,
            )
            item.levels[lv.location_id] = lv
            created.append(self._level_view(lv))
        for entry in rows["update"]:
            lv = self.items[entry["inventory_item_id"]].levels[entry["location_id"]]
            stale = lv.stocked - lv.reserved
            if "stocked_quantity" in entry:
                lv.stocked = _count(entry["stocked_quantity"])
            if "incoming_quantity" in entry:
                lv.incoming = _count(entry["incoming_quantity"])
            lv.updated = now
            updated.append(self._level_view(lv, available=stale))
        for lid in deletes:
            for item in self.items.values():
                for loc, lv in list(item.levels.items()):
                    if lv.id == lid:
                        del item.levels[loc]
        return FakeResponse(200, {"created": created, "updated": updated, "deleted": deletes})


# -- validation helpers (the zod checks the routes run) ----------------------------------------------
def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise _Invalid(
            400,
            "invalid_data",
            f"Invalid request: Expected type: 'object' for field '{where}', got: '{value}'",
        )


def _strict(value: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _Invalid(400, "invalid_data", f"Invalid request: Unrecognized fields: '{', '.join(unknown)}'")


def _string(
    value: Mapping[str, Any], key: str, where: str, *, required: bool = False, nullable: bool = False
) -> None:
    if key not in value or (value[key] is None and nullable):
        if required:
            raise _Invalid(400, "invalid_data", f"Invalid request: Field '{where}, {key}' is required")
        return
    if not isinstance(value[key], str):
        raise _Invalid(
            400,
            "invalid_data",
            f"Invalid request: Expected type: 'string' for field '{where}, {key}', got: '{value[key]}'",
        )


def _number(value: Mapping[str, Any], key: str, where: str, *, minimum: int | None = None) -> None:
    if key not in value or value[key] is None:
        return
    got = value[key]
    if isinstance(got, bool) or not isinstance(got, (int, Decimal, float)):
        # what Medusa 2.21's zod formatter says of a string amount or quantity (checked)
        raise _Invalid(400, "invalid_data", f"Invalid request: Field '{where}, {key}' is required")
    if minimum is not None and got < minimum:
        raise _Invalid(
            400,
            "invalid_data",
            f"Invalid request: Value for field '{where}, {key}' too small, expected at least: '{minimum}'",
        )


def _count(value: Any) -> int:
    return int(value) if value is not None else 0


def _ordered(rows: list[Any], order: str | None, keys: Mapping[str, Any]) -> list[Any]:
    if not order:
        return rows
    name = order.lstrip("-")
    key = keys.get(name)
    if key is None:
        return rows
    return sorted(rows, key=key, reverse=order.startswith("-"))


# -- `fields` ----------------------------------------------------------------------------------------------
def fields_of(req: FakeRequest, defaults: Sequence[str]) -> list[str]:
    """The fields a read selects: ``fields`` replaces the defaults unless every entry is ``+``/``-``."""
    raw = req.param("fields")
    if raw is None:
        return list(defaults)
    tokens = [t.strip() for t in raw.split(",") if t.strip()]
    plain = [t for t in tokens if not t.startswith(("+", "-"))]
    out = [] if plain else list(defaults)
    out += plain + [t[1:] for t in tokens if t.startswith("+")]
    removed = {t[1:] for t in tokens if t.startswith("-")}
    return [f for f in out if f not in removed]


def _tree(fields: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for f in fields:
        star = f.startswith("*") or f.endswith(".*")
        path = f.strip("*").rstrip(".").split(".")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        leaf = node.setdefault(path[-1], {})
        if star:
            leaf["*"] = {}
    return tree


def project(obj: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """``obj`` reduced to the selected ``fields`` (Medusa's field selection)."""
    return _project(obj, _tree(fields))


def _project(obj: Mapping[str, Any], tree: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": obj["id"]} if "id" in obj else {}
    if "*" in tree:
        out.update({k: v for k, v in obj.items() if k not in RELATIONS})
    for key, sub in tree.items():
        if key == "*" or key not in obj:
            continue
        value = obj[key]
        if key in RELATIONS:
            inner = sub or {"*": {}}
            if isinstance(value, list):
                out[key] = [_project(x, inner) for x in value]
            elif isinstance(value, dict):
                out[key] = _project(value, inner)
            else:
                out[key] = value
        else:
            out[key] = value
    return out
