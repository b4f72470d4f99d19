"""A fake Ecwid store: REST API v3 under ``/api/v3/{storeId}`` (storefronts.md section 4).

No machine-readable spec of the Ecwid API exists (storefronts.md section 5); this fake follows the
documented shapes in storefronts.md and the Markdown docs it cites
(``Ecwid/ecwid-api-docs``: ``_products.md``, ``_combinations.md``, ``_batch_api.md``,
``_errors.md``, ``_store_profile.md``). What it implements:

- auth: ``Authorization: Bearer <token>`` or the legacy ``?token=`` query parameter. A missing,
  wrong, revoked or expired token answers **401** (the docs name no status for a bad token; 401 is
  what the contract expects of it), a token without the scope a request needs answers **403**
  (storefronts.md 4.4), a request for another store's id **403**. Ecwid tokens have no refresh
  flow, so :meth:`expire_token` is the same as :meth:`revoke_credentials`;
- errors: the HTTP status plus an optional JSON body ``{"errorMessage", "errorCode"}``; batch
  creation errors use ``{"error_message"}``; a write whose ``Content-Type`` is not JSON is 415;
- rate limit (off unless ``rate_limit_per_minute`` is set): a sliding minute per token, beyond it
  **429** with ``Retry-After`` (storefronts.md 4.3);
- ``GET /products``: ``offset``/``limit`` (1..100, default 100; a larger ``limit`` is a 400, which
  is stricter than Ecwid, documented only as "maximum 100"), ``{total, count, offset, limit,
  items}``, filters ``sku`` (exact, product *or combination* SKU, other filters then ignored),
  ``productId`` (comma list, other filters ignored), ``enabled``, ``inStock``, ``updatedFrom``,
  ``sortBy`` (``ADDED_TIME_ASC`` ...) and ``responseFields`` (``items(id,sku,combinations(id))``
  trims the answer); every product carries its ``combinations``;
- ``GET/PUT /products/{id}``, ``PUT /products/{id}/inventory`` (``quantityDelta``),
  ``GET /products/{id}/combinations``, ``GET/PUT /products/{id}/combinations/{cid}`` and
  ``PUT .../combinations/{cid}/inventory``: updates answer ``{"updateCount": 1}`` and change only
  the fields sent; ``quantity`` is absolute, ``unlimited: true`` stops tracking (the quantity is
  then omitted); prices and quantities must be JSON numbers (400 otherwise); a combination omits
  ``sku``, ``quantity`` and ``price`` it inherits from its product; a SKU used twice is 409
  ``SKU_ALREADY_EXISTS``;
- ``POST /batch?stopOnFirstFailure=``: an array of ``{id?, path, method, body}`` with ``body`` the
  sub-request's JSON as a *string*, at most 500 entries (400 ``error_message`` beyond), answered
  with ``{"ticket"}``. The requests run in order when the batch is accepted (a 4xx sub-request stops
  the rest unless ``stopOnFirstFailure=false``); ``GET /batch?ticket=`` reports ``QUEUED`` /
  ``IN_PROGRESS`` for the first ``batch_polls`` polls of a ticket, then ``COMPLETED`` with one
  ``{id, status, http_status_code, http_status_line, http_body}`` per sub-request
  (``escaped_http_body`` with ``escapedJson=true``);
- ``GET /profile`` (``formatsAndUnits.currency`` and the store's name).

Requests that use a parameter, body key or endpoint the docs do not list are still answered (Ecwid
ignores what it does not know) but noted in :attr:`EcwidFake.undocumented`, so a test can assert
that an adapter speaks only the documented API.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from .base import (
    FakeMarketplace,
    FakeRequest,
    FakeResponse,
    Faults,
    Sales,
    Stored,
    json_body,
    parse_url,
)

BATCH_LIMIT = 500
PAGE_MAX = 100

# Query parameters the docs list per endpoint (``token`` and ``responseFields`` go everywhere).
COMMON_PARAMS = frozenset({"token", "responseFields"})
SEARCH_PARAMS = (
    frozenset(
        {
            "keyword",
            "priceFrom",
            "priceTo",
            "category",
            "withSubcategories",
            "sortBy",
            "offset",
            "limit",
            "createdFrom",
            "createdTo",
            "updatedFrom",
            "updatedTo",
            "enabled",
            "inStock",
            "sku",
            "productId",
            "baseUrl",
            "cleanUrls",
            "lang",
        }
    )
    | COMMON_PARAMS
)
PRODUCT_PARAMS = frozenset({"baseUrl", "cleanUrls", "lang"}) | COMMON_PARAMS
UPDATE_PARAMS = frozenset({"checkLowStockNotification"}) | COMMON_PARAMS
BATCH_POST_PARAMS = frozenset({"stopOnFirstFailure"}) | COMMON_PARAMS
BATCH_GET_PARAMS = frozenset({"ticket", "escapedJson"}) | COMMON_PARAMS
SORTS = (
    "RELEVANCE",
    "ADDED_TIME_DESC",
    "ADDED_TIME_ASC",
    "NAME_ASC",
    "NAME_DESC",
    "PRICE_ASC",
    "PRICE_DESC",
    "UPDATED_TIME_ASC",
    "UPDATED_TIME_DESC",
)

# Body keys of PUT /products/{id} and PUT .../combinations/{cid} (Ecwid-docs "Update a product",
# "Update product combination"); "All fields are optional".
PRODUCT_BODY = frozenset(
    {
        "sku",
        "name",
        "nameTranslated",
        "quantity",
        "unlimited",
        "price",
        "wholesalePrices",
        "compareToPrice",
        "isShippingRequired",
        "weight",
        "productClassId",
        "enabled",
        "options",
        "warningLimit",
        "fixedShippingRateOnly",
        "fixedShippingRate",
        "description",
        "descriptionTranslated",
        "categoryIds",
        "seoTitle",
        "seoDescription",
        "defaultCategoryId",
        "attributes",
        "relatedProducts",
        "galleryImages",
        "dimensions",
        "showOnFrontpage",
    }
)
COMBINATION_BODY = frozenset(
    {"options", "sku", "quantity", "unlimited", "price", "wholesalePrices", "weight", "warningLimit"}
)
BATCH_ENTRY = frozenset({"id", "path", "method", "body"})
BATCH_METHODS = ("GET", "POST", "PUT", "DELETE")

# Which scope each kind of request needs (storefronts.md 4.1).
READ_SCOPE = "read_catalog"
WRITE_SCOPE = "update_catalog"
PROFILE_SCOPE = "read_store_profile"
ALL_SCOPES = (READ_SCOPE, WRITE_SCOPE, "create_catalog", PROFILE_SCOPE)


@dataclass
class EcwidCombination:
    id: int
    number: int
    options: list[dict[str, str]]
    sku: str | None = None  # None: inherits the product's SKU
    quantity: int | None = None  # None: inherits the product's quantity
    unlimited: bool = False
    price: Decimal | None = None  # None: inherits the product's price


@dataclass
class EcwidProduct:
    id: int
    sku: str
    name: str
    description: str = ""
    price: Decimal = Decimal(0)
    quantity: int | None = 0  # None with unlimited stock
    unlimited: bool = False
    enabled: bool = True
    created: float = 0.0
    updated: float = 0.0
    options: list[dict[str, Any]] = field(default_factory=list)
    combinations: list[EcwidCombination] = field(default_factory=list)


@dataclass
class Ticket:
    responses: list[dict[str, Any]]
    done_after: int  # polls answered QUEUED/IN_PROGRESS before COMPLETED
    polls: int = 0


class _Invalid(Exception):
    """A request body Ecwid would refuse with 400."""


def _status_line(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def parse_fields(spec: str) -> dict[str, Any]:
    """``"total,items(id,sku,combinations(id))"`` -> ``{"total": None, "items": {"id": None, ...}}``."""
    out: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [out]
    name = ""
    for ch in spec + ",":
        if ch == "(":
            sub: dict[str, Any] = {}
            stack[-1][name.strip()] = sub
            stack.append(sub)
            name = ""
        elif ch in ",)":
            if name.strip():
                stack[-1][name.strip()] = None
            name = ""
            if ch == ")" and len(stack) > 1:
                stack.pop()
        else:
            name += ch
    return out


def trim(value: Any, spec: dict[str, Any] | None) -> Any:
    """Keep only the fields ``spec`` names (recursively; lists element-wise)."""
    if spec is None:
        return value
    if isinstance(value, list):
        return [trim(v, spec) for v in value]
    if isinstance(value, dict):
        return {k: trim(value[k], spec[k]) for k in spec if k in value}
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


class EcwidFake(FakeMarketplace):
    vendor = "ecwid"
    api_prefix = "/api/v3"
    batch_limit = BATCH_LIMIT
    page_size_max = PAGE_MAX
    oauth_refresh = False

    def __init__(
        self,
        *,
        token: str = "secret_fake0000000000000000000000000000",
        store_id: int | str = 1003,
        currency: str = "USD",
        store_name: str = "Fake Ecwid store",
        scopes: tuple[str, ...] = ALL_SCOPES,
        batch_polls: int | str = 1,
        rate_limit_per_minute: int | str | None = None,
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
        clock: Any = time.time,
    ) -> None:
        self.token = token
        self.store_id = int(store_id)
        self.api = f"/api/v3/{self.store_id}"
        self.currency = currency
        self.store_name = store_name
        self.scopes = frozenset(scopes) | {PROFILE_SCOPE}  # "requested in all cases" (Ecwid access scopes)
        self.batch_polls = int(batch_polls)
        self.rate_limit_per_minute = int(rate_limit_per_minute) if rate_limit_per_minute else None
        self.clock = clock
        self.products: dict[int, EcwidProduct] = {}
        self.tickets: dict[str, Ticket] = {}
        self.rejections: dict[str, str] = {}
        self.revoked = False
        self.undocumented: list[str] = []
        # called once when a batch is first reported COMPLETED (tests: a shopper buys meanwhile)
        self.on_batch_complete: Callable[[], object] | None = None
        self._recent: deque[float] = deque()
        self._next_product = 100_000_001
        self._next_combination = 200_000_001
        super().__init__(seed=seed, faults=faults, sales=sales)

    # -- routes --------------------------------------------------------------------------------
    def routes(self) -> None:
        r, a = self.router, self.api
        r.add("GET", f"{a}/products", self.search_products)
        r.add("GET", f"{a}/products/{{id:int}}", self.get_product)
        r.add("PUT", f"{a}/products/{{id:int}}", self.put_product)
        r.add("PUT", f"{a}/products/{{id:int}}/inventory", self.adjust_product)
        r.add("GET", f"{a}/products/{{id:int}}/combinations", self.list_combinations)
        r.add("GET", f"{a}/products/{{id:int}}/combinations/{{cid:int}}", self.get_combination)
        r.add("PUT", f"{a}/products/{{id:int}}/combinations/{{cid:int}}", self.put_combination)
        r.add("PUT", f"{a}/products/{{id:int}}/combinations/{{cid:int}}/inventory", self.adjust_combination)
        r.add("POST", f"{a}/batch", self.create_batch)
        r.add("GET", f"{a}/batch", self.batch_status)
        r.add("GET", f"{a}/profile", self.profile)

    # -- vendor conventions ----------------------------------------------------------------------
    def error(self, status: int, code: str, message: str, **data: Any) -> FakeResponse:
        body: dict[str, Any] = {"errorMessage": message}
        if code:
            body["errorCode"] = code
        return FakeResponse(status, body)

    def authenticate(self, req: FakeRequest) -> FakeResponse | None:
        """The gate before routing: token, store id, scope, JSON content type, rate limit."""
        given = req.param("token")
        header = req.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        if self.revoked or given != self.token:
            return self.error(401, "", "Invalid token" if given else "Access token is missing")
        if not req.path.startswith(self.api + "/") and req.path != self.api:
            return self.error(403, "", "The access token is not valid for this store")
        if self.rate_limit_per_minute is not None:
            now = self.clock()
            while self._recent and self._recent[0] <= now - 60:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit_per_minute:
                wait = max(1, int(self._recent[0] + 60 - now + 0.999))
                return FakeResponse(429, {"errorMessage": "Too many requests"}, self.throttle_headers(wait))
            self._recent.append(now)
        denied = self._scope_denied(req.method, req.path)
        if denied is not None:
            return denied
        if req.method in ("POST", "PUT"):
            ctype = req.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype not in ("application/json", "text/json"):
                return self.error(415, "", "Unsupported content-type: expected application/json or text/json")
        return None

    def _scope_denied(self, method: str, path: str) -> FakeResponse | None:
        rel = path[len(self.api) :]
        if rel.startswith("/profile"):
            need = PROFILE_SCOPE
        elif method == "GET" and not rel.startswith("/batch"):
            need = READ_SCOPE
        elif method in ("PUT", "POST") and rel.startswith("/products"):
            need = WRITE_SCOPE
        else:
            return None
        if need not in self.scopes:
            return self.error(403, "", f"The access token does not have the scope '{need}'")
        return None

    def _note_query(self, req: FakeRequest, allowed: frozenset[str]) -> None:
        for name, _ in req.query:
            if name not in allowed:
                self.undocumented.append(f"{req.method} {req.path}: query parameter {name!r}")

    def _note_body(self, where: str, keys: Any, allowed: frozenset[str]) -> None:
        for key in keys:
            if key not in allowed:
                self.undocumented.append(f"{where}: body key {key!r}")

    # -- store API (vendor-neutral, used by the contract suite) ---------------------------------
    def _new_product(self, **kw: Any) -> EcwidProduct:
        now = self.clock()
        product = EcwidProduct(id=self._next_product, created=now, updated=now, **kw)
        self._next_product += 1
        self.products[product.id] = product
        return product

    def seed(
        self,
        n: int,
        *,
        variable: int = 0,
        per_parent: int = 3,
        quantity: int = 10,
        price: str = "19.99",
        prefix: str = "EC",
    ) -> list[str]:
        out: list[str] = []
        with self.lock:
            start = sum(1 for p in self.products.values() if not p.combinations)
            for k in range(start + 1, start + n + 1):
                p = self._new_product(
                    sku=f"{prefix}-{k:04d}",
                    name=f"Product {k}",
                    description=f"<p>Description of product {k}.</p>",
                    price=Decimal(price),
                    quantity=quantity,
                )
                out.append(p.sku)
            first = sum(1 for p in self.products.values() if p.combinations) + 1
            for v in range(first, first + variable):
                sizes = [f"Size {j}" for j in range(1, per_parent + 1)]
                parent = self._new_product(
                    sku=f"{prefix}-P{v:03d}",
                    name=f"Variable {v}",
                    description=f"<p>Variable product {v}.</p>",
                    price=Decimal(price),
                    quantity=quantity,
                    options=[
                        {
                            "type": "SELECT",
                            "name": "Size",
                            "required": True,
                            "defaultChoice": 0,
                            "choices": [
                                {"text": s, "priceModifier": 0, "priceModifierType": "ABSOLUTE"}
                                for s in sizes
                            ],
                        }
                    ],
                )
                out.append(parent.sku)
                for j, size in enumerate(sizes, start=1):
                    combo = EcwidCombination(
                        id=self._next_combination,
                        number=j,
                        options=[{"name": "Size", "value": size}],
                        sku=f"{prefix}-P{v:03d}-{j}",
                        quantity=quantity,
                        price=Decimal(price),
                    )
                    self._next_combination += 1
                    parent.combinations.append(combo)
                    out.append(combo.sku or "")
        return out

    def find(self, sku: str) -> tuple[EcwidProduct, EcwidCombination | None] | None:
        """The product (and combination) whose own SKU is ``sku``."""
        for p in self.products.values():
            if p.sku == sku:
                return p, None
            for c in p.combinations:
                if c.sku == sku:
                    return p, c
        return None

    def skus(self) -> list[str]:
        out: list[str] = []
        for p in self.products.values():
            if p.sku:
                out.append(p.sku)
            out.extend(c.sku for c in p.combinations if c.sku)
        return out

    def stored(self, sku: str) -> Stored | None:
        found = self.find(sku)
        if found is None:
            return None
        p, c = found
        if c is None:
            qty = None if p.unlimited else p.quantity
            return Stored(sku, qty, str(p.price), p.name, p.description)
        qty = None if c.unlimited else c.quantity
        price = c.price if c.price is not None else p.price
        return Stored(sku, qty, str(price), p.name, p.description)

    def sell(self, sku: str, units: int) -> int:
        with self.lock:
            found = self.find(sku)
            if found is None:
                return 0
            p, c = found
            holder: Any = p if c is None or (c.quantity is None and not c.unlimited) else c
            if holder.unlimited or holder.quantity is None:
                return 0
            sold: int = max(0, min(units, holder.quantity))
            holder.quantity -= sold
            p.updated = self.clock()
            if sold:
                self.sold[sku] = self.sold.get(sku, 0) + sold
            return sold

    def reject(self, sku: str, message: str = "This product cannot be edited.") -> None:
        self.rejections[sku] = message

    def delete(self, sku: str) -> None:
        found = self.find(sku)
        if found is None:
            return
        p, c = found
        if c is None:
            del self.products[p.id]
        else:
            p.combinations.remove(c)

    def revoke_credentials(self) -> None:
        self.revoked = True

    def expire_token(self) -> None:
        """Ecwid tokens have no refresh flow: an expired token is a revoked one."""
        self.revoked = True

    def batch_sizes(self) -> list[int]:
        """Sub-requests per ``POST /batch``; a direct ``PUT`` carries one object."""
        out: list[int] = []
        for r in self.requests:
            if r.method == "POST" and r.path == f"{self.api}/batch":
                out.append(len(r.json) if isinstance(r.json, list) else 0)
            elif r.method == "PUT" and r.path.startswith(f"{self.api}/products/"):
                out.append(1)
        return out

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        ids = list(self.products) or [1]
        return (
            "POST",
            "batch",
            [
                {
                    "id": str(k),
                    "path": f"/products/{ids[k % len(ids)]}",
                    "method": "PUT",
                    "body": json.dumps({"quantity": 1}),
                }
                for k in range(n)
            ],
        )

    # -- rendering -------------------------------------------------------------------------------
    def _render_combination(self, p: EcwidProduct, c: EcwidCombination) -> dict[str, Any]:
        d: dict[str, Any] = {"id": c.id, "combinationNumber": c.number, "options": c.options}
        if c.sku is not None:
            d["sku"] = c.sku
        if c.quantity is not None and not c.unlimited:
            d["quantity"] = c.quantity
        d["unlimited"] = c.unlimited
        if c.price is not None:
            d["price"] = c.price
        d["warningLimit"] = 0
        return d

    def _render(self, p: EcwidProduct) -> dict[str, Any]:
        in_stock = (
            p.unlimited
            or (p.quantity or 0) > 0
            or any(c.unlimited or (c.quantity or 0) > 0 for c in p.combinations)
        )
        d: dict[str, Any] = {"id": p.id, "sku": p.sku}
        if not p.unlimited and p.quantity is not None:
            d["quantity"] = p.quantity
        d.update(
            {
                "unlimited": p.unlimited,
                "inStock": in_stock,
                "name": p.name,
                "price": p.price,
                "priceInProductList": p.price,
                "enabled": p.enabled,
                "url": f"https://store{self.store_id}.example/#!/p/{p.id}",
                "created": time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(p.created)),
                "updated": time.strftime("%Y-%m-%d %H:%M:%S +0000", time.gmtime(p.updated)),
                "createTimestamp": int(p.created),
                "updateTimestamp": int(p.updated),
                "options": p.options,
                "description": p.description,
                "defaultCombinationId": p.combinations[0].id if p.combinations else 0,
                "combinations": [self._render_combination(p, c) for c in p.combinations],
            }
        )
        return d

    def _answer(self, req: FakeRequest, body: Any, status: int = 200) -> FakeResponse:
        fields = req.param("responseFields")
        if fields:
            body = trim(body, parse_fields(fields))
        return FakeResponse(status, body)

    # -- parameters --------------------------------------------------------------------------------
    def _number_param(self, req: FakeRequest, name: str, default: int, lo: int, hi: int | None) -> int:
        raw = req.param(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _Invalid(
                f"Wrong numeric parameter '{name}' value: not a number or a number out of range"
            ) from None
        if value < lo or (hi is not None and value > hi):
            raise _Invalid(
                f"Wrong numeric parameter '{name}' value: not a number or a number out of range"
                + (f" (maximum {hi})" if hi is not None else "")
            )
        return value

    @staticmethod
    def _bool_param(req: FakeRequest, name: str) -> bool | None:
        raw = req.param(name)
        if raw is None:
            return None
        low = raw.lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        raise _Invalid(
            f"Wrong parameter '{name}' value: expected one of 'true', 'false', 'yes', 'no', "
            "'on', 'off', '1', '0'"
        )

    # -- handlers ----------------------------------------------------------------------------------
    def search_products(self, req: FakeRequest) -> FakeResponse:
        self._note_query(req, SEARCH_PARAMS)
        try:
            offset = self._number_param(req, "offset", 0, 0, None)
            limit = self._number_param(req, "limit", PAGE_MAX, 1, PAGE_MAX)
            enabled = self._bool_param(req, "enabled")
            in_stock = self._bool_param(req, "inStock")
            updated_from = self._number_param(req, "updatedFrom", 0, 0, None)
        except _Invalid as exc:
            return self.error(400, "", str(exc))
        p = req.params
        items = list(self.products.values())
        if "productId" in p:
            try:
                wanted = [int(x) for x in p["productId"].split(",") if x.strip()]
            except ValueError:
                return self.error(400, "", "Wrong numeric parameter 'productId' value")
            items = [self.products[i] for i in wanted if i in self.products]
        elif "sku" in p:
            sku = p["sku"]
            items = [x for x in items if x.sku == sku or any(c.sku == sku for c in x.combinations)]
        else:
            if enabled is not None:
                items = [x for x in items if x.enabled == enabled]
            if in_stock is not None:
                items = [x for x in items if (x.unlimited or (x.quantity or 0) > 0) == in_stock]
            if updated_from:
                items = [x for x in items if x.updated >= updated_from]
            sort = p.get("sortBy", "RELEVANCE")
            if sort not in SORTS:
                return self.error(
                    400, "", f"Wrong parameter 'sortBy' value: expected one of {', '.join(SORTS)}"
                )
            keys: dict[str, Any] = {
                "RELEVANCE": lambda x: x.id,
                "ADDED_TIME_ASC": lambda x: (x.created, x.id),
                "ADDED_TIME_DESC": lambda x: (-x.created, -x.id),
                "NAME_ASC": lambda x: x.name.lower(),
                "NAME_DESC": lambda x: x.name.lower(),
                "PRICE_ASC": lambda x: x.price,
                "PRICE_DESC": lambda x: x.price,
                "UPDATED_TIME_ASC": lambda x: (x.updated, x.id),
                "UPDATED_TIME_DESC": lambda x: (-x.updated, -x.id),
            }
            items = sorted(items, key=keys[sort], reverse=sort in ("NAME_DESC", "PRICE_DESC"))
        page = items[offset : offset + limit]
        body = {
            "total": len(items),
            "count": len(page),
            "offset": offset,
            "limit": limit,
            "items": [self._render(x) for x in page],
        }
        response = self._answer(req, body)
        self.list_items_hook(
            [s for x in page for s in [x.sku, *(c.sku for c in x.combinations)] if s],
            lookup="sku" in p or "productId" in p,
        )
        return response

    def get_product(self, req: FakeRequest, id: int) -> FakeResponse:
        self._note_query(req, PRODUCT_PARAMS)
        product = self.products.get(id)
        if product is None:
            return self.error(404, "", f"Product #{id} not found")
        return self._answer(req, self._render(product))

    def list_combinations(self, req: FakeRequest, id: int) -> FakeResponse:
        self._note_query(req, COMMON_PARAMS)
        product = self.products.get(id)
        if product is None:
            return self.error(404, "", f"Product #{id} not found")
        return self._answer(req, [self._render_combination(product, c) for c in product.combinations])

    def _combination(self, id: int, cid: int) -> tuple[EcwidProduct, EcwidCombination] | None:
        product = self.products.get(id)
        if product is None:
            return None
        for c in product.combinations:
            if c.id == cid:
                return product, c
        return None

    def get_combination(self, req: FakeRequest, id: int, cid: int) -> FakeResponse:
        self._note_query(req, COMMON_PARAMS)
        found = self._combination(id, cid)
        if found is None:
            return self.error(404, "", "Not found")
        return self._answer(req, self._render_combination(*found))

    def _update_body(self, req: FakeRequest, allowed: frozenset[str]) -> dict[str, Any] | FakeResponse:
        self._note_query(req, UPDATE_PARAMS)
        data = json_body(req)
        if not isinstance(data, dict):
            return self.error(400, "", "Request body is not a JSON object")
        self._note_body(f"{req.method} {req.path}", data, allowed)
        return data

    @staticmethod
    def _check_types(data: dict[str, Any]) -> str | None:
        for key in ("price", "compareToPrice", "weight"):
            if key in data and not (_is_number(data[key]) and data[key] >= 0):
                return f"Wrong numeric parameter '{key}' value: not a number or a number out of range"
        if "quantity" in data and not (
            isinstance(data["quantity"], int) and not isinstance(data["quantity"], bool)
        ):
            return "Wrong numeric parameter 'quantity' value: not an integer"
        for key in ("unlimited", "enabled"):
            if key in data and not isinstance(data[key], bool):
                return f"Wrong parameter '{key}' value: expected a boolean"
        for key in ("name", "description", "sku"):
            if key in data and not isinstance(data[key], str):
                return f"Wrong parameter '{key}' value: expected a string"
        return None

    def _sku_taken(self, sku: str, product: EcwidProduct, combo: EcwidCombination | None) -> bool:
        found = self.find(sku)
        return found is not None and (found[0] is not product or found[1] is not combo)

    def put_product(self, req: FakeRequest, id: int) -> FakeResponse:
        data = self._update_body(req, PRODUCT_BODY)
        if isinstance(data, FakeResponse):
            return data
        product = self.products.get(id)
        if product is None:
            return self.error(404, "", f"Product #{id} not found")
        problem = self._check_types(data)
        if problem:
            return self.error(400, "", problem)
        if product.sku in self.rejections:
            return self.error(400, "", self.rejections.pop(product.sku))
        if data.get("sku") and self._sku_taken(data["sku"], product, None):
            return self.error(409, "SKU_ALREADY_EXISTS", "The product with such SKU already exists")
        if "name" in data:
            product.name = data["name"]
        if "description" in data:
            product.description = data["description"]
        if "price" in data:
            product.price = Decimal(data["price"])
        if data.get("sku"):
            product.sku = data["sku"]
        if "enabled" in data:
            product.enabled = data["enabled"]
        if data.get("unlimited") is True:
            product.unlimited, product.quantity = True, None
        elif data.get("unlimited") is False:
            product.unlimited = False
            if product.quantity is None:
                product.quantity = 0
        if "quantity" in data and not product.unlimited:
            product.quantity = int(data["quantity"])
        product.updated = self.clock()
        return FakeResponse(200, {"updateCount": 1})

    def put_combination(self, req: FakeRequest, id: int, cid: int) -> FakeResponse:
        data = self._update_body(req, COMBINATION_BODY)
        if isinstance(data, FakeResponse):
            return data
        found = self._combination(id, cid)
        if found is None:
            return self.error(404, "", "Not found")
        product, combo = found
        problem = self._check_types(data)
        if problem:
            return self.error(400, "", problem)
        if combo.sku is not None and combo.sku in self.rejections:
            return self.error(400, "", self.rejections.pop(combo.sku))
        if data.get("sku") and self._sku_taken(data["sku"], product, combo):
            return self.error(
                409, "SKU_ALREADY_EXISTS", "The specified sku or options variation already exists"
            )
        if "price" in data:
            combo.price = Decimal(data["price"])
        if data.get("sku"):
            combo.sku = data["sku"]
        if data.get("unlimited") is True:
            combo.unlimited, combo.quantity = True, None
        elif data.get("unlimited") is False:
            combo.unlimited = False
        if "quantity" in data and not combo.unlimited:
            combo.quantity = int(data["quantity"])
        product.updated = self.clock()
        return FakeResponse(200, {"updateCount": 1})

    def _adjust(self, req: FakeRequest, holder: Any, owner: EcwidProduct) -> FakeResponse:
        data = self._update_body(req, frozenset({"quantityDelta"}))
        if isinstance(data, FakeResponse):
            return data
        delta = data.get("quantityDelta")
        if not isinstance(delta, int) or isinstance(delta, bool):
            return self.error(400, "", "Wrong numeric parameter 'quantityDelta' value")
        body: dict[str, Any] = {"updateCount": 1}
        if not holder.unlimited:
            holder.quantity = (holder.quantity or 0) + delta
            if holder.quantity < 0:
                body["warning"] = "The stock became negative"
        owner.updated = self.clock()
        return FakeResponse(200, body)

    def adjust_product(self, req: FakeRequest, id: int) -> FakeResponse:
        product = self.products.get(id)
        if product is None:
            return self.error(404, "", f"Product #{id} not found")
        return self._adjust(req, product, product)

    def adjust_combination(self, req: FakeRequest, id: int, cid: int) -> FakeResponse:
        found = self._combination(id, cid)
        if found is None:
            return self.error(404, "", "Not found")
        return self._adjust(req, found[1], found[0])

    def profile(self, req: FakeRequest) -> FakeResponse:
        self._note_query(req, COMMON_PARAMS)
        return self._answer(
            req,
            {
                "generalInfo": {
                    "storeId": self.store_id,
                    "storeUrl": f"https://store{self.store_id}.example",
                },
                "account": {"accountName": "Fake Seller"},
                "settings": {"storeName": self.store_name, "closed": False},
                "formatsAndUnits": {
                    "currency": self.currency,
                    "currencyPrefix": "$",
                    "currencySuffix": "",
                    "currencyDecimalSeparator": ".",
                    "currencyGroupSeparator": ",",
                },
            },
        )

    # -- batch ---------------------------------------------------------------------------------------
    @staticmethod
    def _batch_error(message: str) -> FakeResponse:
        return FakeResponse(400, {"error_message": message})

    def create_batch(self, req: FakeRequest) -> FakeResponse:
        self._note_query(req, BATCH_POST_PARAMS)
        data = json_body(req)
        if not isinstance(data, list):
            return self._batch_error(
                "Can't create batch. Batch request body is invalid. Path $ contains bad value"
            )
        if len(data) > self.batch_limit:
            return self._batch_error(
                f"Can't create batch. Batch request body is invalid. The batch has "
                f"{len(data)} requests; the maximum is {self.batch_limit}"
            )
        stop = req.param("stopOnFirstFailure", "true")
        if stop not in ("true", "false"):
            return self.error(400, "", "Wrong parameter 'stopOnFirstFailure' value: expected true or false")
        for n, entry in enumerate(data):
            bad = None
            if not isinstance(entry, dict):
                bad = f"$[{n}]"
            elif not isinstance(entry.get("path"), str) or not entry["path"].startswith("/"):
                bad = f"$[{n}].path"
            elif entry.get("method") not in BATCH_METHODS:
                bad = f"$[{n}].method"
            elif "body" in entry and not isinstance(entry["body"], str):
                bad = f"$[{n}].body"
            elif "id" in entry and not isinstance(entry["id"], str):
                bad = f"$[{n}].id"
            if bad:
                return self._batch_error(
                    f"Can't create batch. Batch request body is invalid. Path {bad} contains bad value"
                )
            self._note_body(f"POST {req.path} $[{n}]", entry, BATCH_ENTRY)
        responses: list[dict[str, Any]] = []
        failed = False
        for entry in data:
            ident = entry.get("id", "")
            if failed and stop == "true":
                responses.append({"id": ident, "status": "NOT_EXECUTED"})
                continue
            result = self._sub_request(req, entry)
            ok = result.status == 200
            failed = failed or not ok
            responses.append(
                {
                    "id": ident,
                    "status": "COMPLETED" if ok else "FAILED",
                    "http_status_code": result.status,
                    "http_status_line": _status_line(result.status),
                    "http_body": result.body,
                }
            )
        ticket = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.tickets[ticket] = Ticket(responses, self.batch_polls)
        return FakeResponse(200, {"ticket": ticket})

    def _sub_request(self, outer: FakeRequest, entry: dict[str, Any]) -> FakeResponse:
        path, query = parse_url(entry["path"])
        body = entry.get("body") or ""
        if body:
            try:
                json.loads(body)
            except ValueError:
                return self.error(400, "", "Request body is not valid JSON")
        sub = FakeRequest(
            method=entry["method"],
            path=self.api + path,
            query=query,
            headers={"content-type": "application/json"},
            body=body.encode(),
            scheme=outer.scheme,
            host=outer.host,
        )
        denied = self._scope_denied(sub.method, sub.path)
        if denied is not None:
            return denied
        found = self.router.match(sub.method, sub.path)
        if found is None or isinstance(found, str):
            return self.error(404 if found is None else 405, "", "Not found")
        handler, params = found
        response: FakeResponse = handler(sub, **params)
        return response

    def batch_status(self, req: FakeRequest) -> FakeResponse:
        self._note_query(req, BATCH_GET_PARAMS)
        ticket = self.tickets.get(req.param("ticket") or "")
        if ticket is None:
            return self.error(404, "", "Batch request with this ticket is not found")
        escaped = req.param("escapedJson", "false") == "true"
        ticket.polls += 1
        total = len(ticket.responses)
        if ticket.polls <= ticket.done_after:
            done = total * (ticket.polls - 1) // (ticket.done_after + 1)
            status = "QUEUED" if done == 0 else "IN_PROGRESS"
        else:
            done, status = total, "COMPLETED"
            if ticket.polls == ticket.done_after + 1 and self.on_batch_complete is not None:
                self.on_batch_complete()
        shown = []
        for r in ticket.responses[:done]:
            r = dict(r)
            if escaped and "http_body" in r:
                r["escaped_http_body"] = json.dumps(r.pop("http_body"), default=_plain)
            shown.append(r)
        return FakeResponse(
            200, {"status": status, "total_requests": total, "completed_requests": done, "responses": shown}
        )


def _plain(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return float(obj)
    raise TypeError(type(obj).__name__)
