"""A fake BigCommerce store: REST v3 Catalog and Inventory APIs (storefronts.md section 3).

What it implements, as BigCommerce documents it (``shared/specs/bigcommerce/*.v3.yml`` and the
facts file):

- every route lives under ``/stores/{store_hash}/v3``; a wrong store hash is a 404;
- auth: the ``X-Auth-Token`` header; a missing, wrong or revoked token is a 401 with BigCommerce's
  error body ``{status, title, type, errors}``;
- the store-wide quota: ``quota`` requests per ``window_ms`` (150 per 30 s, the Standard plan), every
  answer carrying ``X-Rate-Limit-Time-Window-Ms``, ``X-Rate-Limit-Time-Reset-Ms``,
  ``X-Rate-Limit-Requests-Quota`` and ``X-Rate-Limit-Requests-Left``; past the quota a 429 that says
  how long to wait in ``X-Rate-Limit-Time-Reset-Ms``. The window follows the fake's ``clock``;
- products: every product has variants; a simple product has one *base* variant (no option values,
  the product's SKU, ``base_variant_id`` set) and is tracked by product; a product with options has
  one variant per combination (``base_variant_id`` null) and is tracked by variant. A variant price
  of ``null`` inherits the product price. ``inventory_level`` is the default location's stock;
- ``GET /catalog/products``: ``page``/``limit`` (default 50, at most 250: 413 above), filters ``sku``,
  ``sku:in``, ``id:in``, ``include=variants``, ``include_fields``; ``meta.pagination``;
- ``GET /catalog/variants``: ``id``, ``sku``, ``product_id:in``, ``page``/``limit``;
- ``PUT /catalog/products``: a batch of at most 10 (413 "The maximum items allowed in the array is
  10."); a batch where some products fail answers 207 with the products it saved in ``data`` and the
  failures in ``errors``; a batch where none was saved answers 422 (409 for a duplicate name);
- ``PUT /catalog/variants``: a batch of at most 50 (413 above); any bad variant refuses the whole
  batch with a 422 naming it, nothing saved;
- ``PUT /inventory/adjustments/absolute``: at most 2000 items (413 above, worded like the catalog's
  413: the facts give no other wording), each with ``location_id`` and exactly one of ``sku``,
  ``variant_id``, ``product_id``; any bad item refuses the whole request with a 422
  ``application/problem+json`` whose title names the item
  (``[Item with variant_id 106 is tracked by product, please update stock by product id]``);
  otherwise 200 ``{transaction_id}``. Processing is asynchronous at BigCommerce: ``inventory_lag``
  makes an accepted adjustment visible only after that many further requests (0: at once);
- ``GET /inventory/items`` (``sku:in``, ``variant_id:in``, ``product_id:in``, ``location_id:in``,
  ``page``/``limit`` at most 1000) and ``GET /inventory/locations`` (``is_default``,
  ``location_id:in``): tracked items only, one entry per location with ``total_inventory_onhand``
  and ``available_to_sell`` (on hand minus safety stock).

A shopper's purchase (:meth:`sell`, and the simulated sales after each catalog page) takes units out
of the default location, as the storefront does.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .base import FakeMarketplace, FakeRequest, FakeResponse, Faults, Sales, Stored, json_body

ERROR_TYPE = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
MAX_STOCK = 2_147_483_647
PRODUCT_BATCH = 10
VARIANT_BATCH = 50
ADJUSTMENT_BATCH = 2000
INVENTORY_PAGE_MAX = 1000


@dataclass
class BCVariant:
    id: int
    product_id: int
    sku: str
    price: Decimal | None = None  # None: inherits the product's price
    option_values: list[dict[str, Any]] = field(default_factory=list)
    stock: dict[int, int] = field(default_factory=dict)  # location id -> units on hand
    safety_stock: int = 0


@dataclass
class BCProduct:
    id: int
    name: str
    sku: str
    description: str
    price: Decimal
    inventory_tracking: str  # none | product | variant
    variants: list[int] = field(default_factory=list)
    base_variant_id: int | None = None
    date_modified: float = 0.0


class BigCommerceFake(FakeMarketplace):
    vendor = "bigcommerce"
    api_prefix = "/stores/{store_hash}/v3"
    batch_limit = ADJUSTMENT_BATCH  # the largest write batch: inventory adjustments
    page_size_max = 250
    oauth_refresh = False

    def __init__(
        self,
        *,
        access_token: str = "bcfaketoken0000000000000000000000",
        store_hash: str = "fakestore",
        locations: Sequence[int] | str = (1,),
        default_location: int | str | None = None,
        quota: int | str = 150,
        window_ms: int | str = 30_000,
        inventory_lag: int | str = 0,
        clock: Callable[[], float] = time.monotonic,
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
    ) -> None:
        self.access_token = access_token
        self.store_hash = store_hash
        # server mode passes options as strings ("--option locations=1,2")
        if isinstance(locations, str):
            locations = [int(x) for x in locations.split(",") if x.strip()]
        self.locations: dict[int, dict[str, Any]] = {}
        for n, loc in enumerate(locations):
            self.locations[int(loc)] = {
                "id": int(loc),
                "code": f"LOC-{loc}",
                "label": f"Location {loc}",
                "enabled": True,
                "order": n,
            }
        first = next(iter(self.locations))
        self.default_location = int(default_location) if default_location is not None else first
        self.quota = int(quota)
        self.window_ms = int(window_ms)
        self.inventory_lag = int(inventory_lag)
        self.clock = clock
        self.products: dict[int, BCProduct] = {}
        self.variants: dict[int, BCVariant] = {}
        self._by_sku: dict[str, int] = {}  # lower-case SKU -> variant id (SKUs are case-insensitive)
        self.rejections: dict[str, str] = {}
        self.revoked = False
        self.adjustments: list[dict[str, Any]] = []  # accepted absolute adjustments, in order
        self._queued: list[list[Any]] = []  # [requests left, [(variant id, location, quantity)]]
        self._window_start: float | None = None
        self._used = 0
        self._next_product = 100
        self._next_variant = 500
        self._seeded = 0
        self._seeded_complex = 0
        super().__init__(seed=seed, faults=faults, sales=sales)

    @property
    def root(self) -> str:
        return f"/stores/{self.store_hash}/v3"

    # -- routes --
    def routes(self) -> None:
        r = self.router
        root = "/stores/{store_hash}/v3"
        r.add("GET", f"{root}/catalog/products", self.list_products)
        r.add("PUT", f"{root}/catalog/products", self.update_products)
        r.add("GET", f"{root}/catalog/variants", self.list_variants)
        r.add("PUT", f"{root}/catalog/variants", self.update_variants)
        r.add("PUT", f"{root}/inventory/adjustments/absolute", self.adjust_absolute)
        r.add("GET", f"{root}/inventory/items", self.list_inventory)
        r.add("GET", f"{root}/inventory/locations", self.list_locations)

    # -- store API (vendor-neutral, used by the contract suite) --
    def seed(
        self,
        n: int,
        *,
        variable: int = 0,
        per_parent: int = 3,
        quantity: int = 10,
        price: str = "19.99",
        prefix: str = "BC",
    ) -> list[str]:
        out: list[str] = []
        with self.lock:
            for _ in range(n):
                self._seeded += 1
                k = self._seeded
                product = self._new_product(
                    f"Product {k}",
                    f"{prefix}-{k:04d}",
                    f"<p>Description of product {k}.</p>",
                    Decimal(price),
                    "product",
                )
                base = self._new_variant(product, product.sku, quantity)
                product.base_variant_id = base.id
                out.append(product.sku)
            for _ in range(variable):
                self._seeded_complex += 1
                v = self._seeded_complex
                product = self._new_product(
                    f"Variable {v}", f"{prefix}-V{v:03d}", f"Variable product {v}.", Decimal(price), "variant"
                )
                for j in range(1, per_parent + 1):
                    variant = self._new_variant(product, f"{prefix}-V{v:03d}-{j}", quantity)
                    variant.option_values = [
                        {"id": 1000 + j, "label": f"Size {j}", "option_id": 77, "option_display_name": "Size"}
                    ]
                    out.append(variant.sku)
        return out

    def _new_product(self, name: str, sku: str, description: str, price: Decimal, tracking: str) -> BCProduct:
        product = BCProduct(
            self._next_product, name, sku, description, price, tracking, date_modified=self.clock()
        )
        self._next_product += 1
        self.products[product.id] = product
        return product

    def _new_variant(self, product: BCProduct, sku: str, quantity: int) -> BCVariant:
        variant = BCVariant(
            self._next_variant,
            product.id,
            sku,
            stock={loc: (quantity if loc == self.default_location else 0) for loc in self.locations},
        )
        self._next_variant += 1
        self.variants[variant.id] = variant
        self._by_sku[sku.lower()] = variant.id
        product.variants.append(variant.id)
        return variant

    def listing_variants(self) -> list[BCVariant]:
        """The variants that are sellable SKUs: base variants of simple products, and every
        variant of a product with options."""
        out = []
        for product in self.products.values():
            for vid in product.variants:
                v = self.variants[vid]
                if product.base_variant_id is None or v.id == product.base_variant_id:
                    out.append(v)
        return out

    def variant_by_sku(self, sku: str) -> BCVariant | None:
        vid = self._by_sku.get(sku.lower())
        return self.variants.get(vid) if vid is not None else None

    def skus(self) -> list[str]:
        return [v.sku for v in self.listing_variants() if v.sku]

    def stored(self, sku: str) -> Stored | None:
        v = self.variant_by_sku(sku)
        if v is None:
            return None
        product = self.products[v.product_id]
        quantity = v.stock.get(self.default_location, 0) if product.inventory_tracking != "none" else None
        price = v.price if v.price is not None else product.price
        return Stored(v.sku, quantity, str(price), product.name, product.description)

    def stock(self, sku: str, location: int) -> int:
        v = self.variant_by_sku(sku)
        assert v is not None, sku
        return v.stock.get(location, 0)

    def set_stock(self, sku: str, location: int, units: int) -> None:
        v = self.variant_by_sku(sku)
        assert v is not None, sku
        v.stock[location] = units

    def set_tracking(self, sku: str, mode: str) -> None:
        v = self.variant_by_sku(sku)
        assert v is not None, sku
        self.products[v.product_id].inventory_tracking = mode

    def sell(self, sku: str, units: int) -> int:
        with self.lock:
            v = self.variant_by_sku(sku)
            if v is None or self.products[v.product_id].inventory_tracking == "none":
                return 0
            have = v.stock.get(self.default_location, 0)
            sold = max(0, min(units, have))
            v.stock[self.default_location] = have - sold
            if sold:
                self.sold[v.sku] = self.sold.get(v.sku, 0) + sold
            return sold

    def reject(self, sku: str, message: str = "This product cannot be edited.") -> None:
        """Every write of ``sku`` fails for that item (until :meth:`allow`), the rest succeeds."""
        self.rejections[sku.lower()] = message

    def allow(self, sku: str) -> None:
        self.rejections.pop(sku.lower(), None)

    def delete(self, sku: str) -> None:
        v = self.variant_by_sku(sku)
        if v is None:
            return
        product = self.products[v.product_id]
        gone = (
            list(product.variants)
            if product.base_variant_id == v.id or len(product.variants) == 1
            else [v.id]
        )
        for vid in gone:
            self._by_sku.pop(self.variants.pop(vid).sku.lower(), None)
            product.variants.remove(vid)
        if not product.variants:
            del self.products[product.id]

    def spend_quota(self, n: int) -> None:
        """Another app on the store makes ``n`` requests in the current window."""
        now = self.clock()
        if self._window_start is None or now - self._window_start >= self.window_ms / 1000:
            self._window_start, self._used = now, 0
        self._used = min(self.quota, self._used + n)

    def revoke_credentials(self) -> None:
        self.revoked = True

    def expire_token(self) -> None:
        # Store API account tokens do not expire and have no refresh flow: the closest event is the
        # account being deleted, which a client can only report.
        self.revoked = True

    WRITE_PATHS = ("/catalog/products", "/catalog/variants", "/inventory/adjustments/absolute")

    def write_requests(self) -> list[Any]:
        return [r for r in self.requests if r.method == "PUT" and r.path.endswith(self.WRITE_PATHS)]

    def batch_sizes(self) -> list[int]:
        out = []
        for r in self.write_requests():
            body = r.json
            if isinstance(body, dict):
                body = body.get("items")
            out.append(len(body) if isinstance(body, list) else 0)
        return out

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        ids = [p.id for p in self.products.values() if p.inventory_tracking == "product"] or [1]
        return (
            "PUT",
            "inventory/adjustments/absolute",
            {
                "reason": "oversized",
                "items": [
                    {"location_id": self.default_location, "product_id": ids[k % len(ids)], "quantity": 1}
                    for k in range(n)
                ],
            },
        )

    # -- protocol --
    def error(self, status: int, code: str, message: str, **data: Any) -> FakeResponse:
        """BigCommerce's error body (``code`` is the base fake's WordPress-style code: not sent)."""
        errors = data.get("errors") if isinstance(data.get("errors"), dict) else {}
        return FakeResponse(
            status, {"status": status, "title": message, "type": ERROR_TYPE, "errors": errors}
        )

    def problem(self, status: int, title: str, errors: dict[str, Any] | None = None) -> FakeResponse:
        """An ``application/problem+json`` answer (the Inventory API's 422s)."""
        return FakeResponse(
            status,
            {"status": status, "title": title, "type": ERROR_TYPE, "errors": errors or {}},
            {"Content-Type": "application/problem+json"},
        )

    def throttle_headers(self, retry_after: int) -> dict[str, str]:
        return {
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(int(retry_after * 1000)),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": "0",
        }

    def authenticate(self, req: FakeRequest) -> FakeResponse | None:
        token = req.headers.get("x-auth-token", "")
        if self.revoked or not token or token != self.access_token:
            return self.error(
                401, "", "You are not authorized to access this resource. Check your X-Auth-Token."
            )
        return None

    def _quota(self) -> tuple[bool, dict[str, str]]:
        """Count one request against the store's quota: (allowed, rate-limit headers)."""
        now = self.clock()
        window = self.window_ms / 1000
        if self._window_start is None or now - self._window_start >= window:
            self._window_start = now
            self._used = 0
        reset_ms = max(0, int((self._window_start + window - now) * 1000))
        allowed = self._used < self.quota
        if allowed:
            self._used += 1
        headers = {
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Requests-Left": str(self.quota - self._used),
        }
        return allowed, headers

    def _route(self, req: FakeRequest) -> FakeResponse:
        self._settle_queue()
        allowed, headers = self._quota()
        if not allowed:
            response = self.error(
                429, "", "Too many requests: the store's API quota for this window is used up."
            )
        elif not req.path.startswith(self.root + "/"):
            response = self.error(404, "", "The requested resource was not found.")
        else:
            response = super()._route(req)
        for k, v in headers.items():
            response.headers.setdefault(k, v)
        return response

    def _settle_queue(self) -> None:
        for entry in self._queued:
            entry[0] -= 1
        due = [e for e in self._queued if e[0] < 0]
        self._queued = [e for e in self._queued if e[0] >= 0]
        for _, changes in due:
            self._apply_stock(changes)

    def _apply_stock(self, changes: Iterable[tuple[int, int, int]]) -> None:
        for vid, loc, qty in changes:
            v = self.variants.get(vid)
            if v is not None:
                v.stock[loc] = qty
                self.products[v.product_id].date_modified = self.clock()

    # -- parameters --
    def _int_list(self, req: FakeRequest, name: str) -> list[int] | FakeResponse | None:
        raw = req.param(name)
        if raw is None:
            return None
        try:
            return [int(x) for x in raw.split(",") if x.strip()]
        except ValueError:
            return self.error(422, "", f"The filter {name} must be a comma-separated list of integers.")

    def _paging(self, req: FakeRequest, default: int, maximum: int) -> tuple[int, int] | FakeResponse:
        try:
            page = int(req.param("page", "1") or "1")
            limit = int(req.param("limit", str(default)) or str(default))
        except ValueError:
            return self.error(422, "", "page and limit must be integers.")
        if limit > maximum:
            return self.error(413, "", f"The request payload is too large. The maximum limit is {maximum}.")
        if page < 1 or limit < 1:
            return self.error(422, "", "page and limit must be positive.")
        return page, limit

    def _collection(
        self,
        req: FakeRequest,
        rows: list[Any],
        page: int,
        limit: int,
        render: Callable[[Any], dict[str, Any]],
    ) -> tuple[list[Any], FakeResponse]:
        total = len(rows)
        pages = max(1, math.ceil(total / limit)) if total else 0
        chunk = rows[(page - 1) * limit : page * limit]
        links: dict[str, str] = {"current": f"?page={page}&limit={limit}"}
        if page > 1:
            links["previous"] = f"?page={page - 1}&limit={limit}"
        if page < pages:
            links["next"] = f"?page={page + 1}&limit={limit}"
        meta = {
            "pagination": {
                "total": total,
                "count": len(chunk),
                "per_page": limit,
                "current_page": page,
                "total_pages": pages,
                "links": links,
            }
        }
        return chunk, FakeResponse(200, {"data": [render(x) for x in chunk], "meta": meta})

    # -- rendering --
    def _render_variant(self, v: BCVariant) -> dict[str, Any]:
        product = self.products[v.product_id]
        price = v.price if v.price is not None else product.price
        return {
            "id": v.id,
            "product_id": v.product_id,
            "sku": v.sku,
            "sku_id": None if v.id == product.base_variant_id else v.id + 9000,
            "price": v.price,
            "calculated_price": price,
            "sale_price": None,
            "retail_price": None,
            "inventory_level": v.stock.get(self.default_location, 0),
            "inventory_warning_level": 0,
            "purchasing_disabled": False,
            "option_values": [dict(o) for o in v.option_values],
        }

    def _inventory_level(self, product: BCProduct) -> int:
        if product.inventory_tracking == "none":
            return 0
        if product.inventory_tracking == "product":
            vid = product.base_variant_id or (product.variants[0] if product.variants else None)
            return self.variants[vid].stock.get(self.default_location, 0) if vid in self.variants else 0
        return sum(self.variants[v].stock.get(self.default_location, 0) for v in product.variants)

    def _render_product(self, product: BCProduct, fields: set[str] | None, variants: bool) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": product.id,
            "name": product.name,
            "type": "physical",
            "sku": product.sku,
            "description": product.description,
            "weight": 1,
            "price": product.price,
            "sale_price": 0,
            "retail_price": 0,
            "cost_price": 0,
            "calculated_price": product.price,
            "inventory_level": self._inventory_level(product),
            "inventory_warning_level": 0,
            "inventory_tracking": product.inventory_tracking,
            "is_visible": True,
            "base_variant_id": product.base_variant_id,
            "date_modified": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(product.date_modified)),
        }
        if fields is not None:
            d = {k: v for k, v in d.items() if k == "id" or k in fields}
        if variants:
            d["variants"] = [self._render_variant(self.variants[v]) for v in product.variants]
        return d

    # -- catalog handlers --
    def list_products(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        paging = self._paging(req, 50, self.page_size_max)
        if isinstance(paging, FakeResponse):
            return paging
        page, limit = paging
        p = req.params
        rows = sorted(self.products.values(), key=lambda x: x.id)
        ids = self._int_list(req, "id:in")
        if isinstance(ids, FakeResponse):
            return ids
        if ids is not None:
            rows = [x for x in rows if x.id in set(ids)]
        if "sku" in p:
            rows = [x for x in rows if x.sku.lower() == p["sku"].lower()]
        if "sku:in" in p:
            wanted = {s.strip().lower() for s in p["sku:in"].split(",")}
            rows = [x for x in rows if x.sku.lower() in wanted]
        include = {s.strip() for s in p.get("include", "").split(",") if s.strip()}
        fields = {s.strip() for s in p["include_fields"].split(",")} if p.get("include_fields") else None
        chunk, response = self._collection(
            req, rows, page, limit, lambda x: self._render_product(x, fields, "variants" in include)
        )
        self.list_items_hook(
            (self.variants[v].sku for x in chunk for v in x.variants if x.base_variant_id in (None, v)),
            lookup=ids is not None or "sku" in p or "sku:in" in p,
        )
        return response

    def list_variants(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        paging = self._paging(req, 50, self.page_size_max)
        if isinstance(paging, FakeResponse):
            return paging
        page, limit = paging
        p = req.params
        rows = sorted(self.variants.values(), key=lambda x: x.id)
        if "id" in p:
            rows = [v for v in rows if str(v.id) == p["id"]]
        if "sku" in p:
            rows = [v for v in rows if v.sku.lower() == p["sku"].lower()]
        pids = self._int_list(req, "product_id:in")
        if isinstance(pids, FakeResponse):
            return pids
        if pids is not None:
            rows = [v for v in rows if v.product_id in set(pids)]
        _, response = self._collection(req, rows, page, limit, self._render_variant)
        return response

    def _batch(self, req: FakeRequest, limit: int) -> list[Any] | FakeResponse:
        data = json_body(req)
        if not isinstance(data, list):
            return self.error(422, "", "The request body must be a JSON array of objects.")
        if len(data) > limit:
            return self.error(
                413,
                "",
                f"The request payload is too large. The maximum items allowed in the array is {limit}.",
            )
        return data

    @staticmethod
    def _number(value: Any) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            return None
        dec = Decimal(value)
        return dec if dec.is_finite() and dec >= 0 else None

    def update_products(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        data = self._batch(req, PRODUCT_BATCH)
        if isinstance(data, FakeResponse):
            return data
        saved: list[BCProduct] = []
        errors: dict[str, str] = {}
        conflict = False
        for n, entry in enumerate(data):
            pid = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(pid, int) or isinstance(pid, bool):
                errors[str(n)] = "id is required and must be an integer"
                continue
            product = self.products.get(pid)
            if product is None:
                errors[str(pid)] = f"Product {pid} does not exist."
                continue
            problem = self._product_problem(product, entry)
            if problem is not None:
                errors[str(pid)] = problem[1]
                conflict = conflict or problem[0] == 409
                continue
            if "name" in entry:
                product.name = entry["name"]
            if "description" in entry:
                product.description = entry["description"]
            if "price" in entry:
                product.price = Decimal(entry["price"])
            product.date_modified = self.clock()
            saved.append(product)
        rendered = [self._render_product(p, None, False) for p in saved]
        if not errors:
            return FakeResponse(200, {"data": rendered, "meta": {}})
        title = "; ".join(f"{k}: {v}" for k, v in errors.items())
        if not saved:
            return self.error(409 if conflict else 422, "", title, errors=errors)
        return FakeResponse(
            207,
            {
                "data": rendered,
                "errors": {
                    "status": 422,
                    "title": "Some products could not be updated.",
                    "type": ERROR_TYPE,
                    "errors": errors,
                },
                "meta": {},
            },
        )

    def _product_problem(self, product: BCProduct, entry: dict[str, Any]) -> tuple[int, str] | None:
        if product.sku.lower() in self.rejections:
            return 422, self.rejections[product.sku.lower()]
        if "price" in entry and self._number(entry["price"]) is None:
            return 422, "price must be a number greater than or equal to 0."
        if "name" in entry:
            name = entry["name"]
            if not isinstance(name, str) or not 1 <= len(name) <= 250:
                return 422, "name must be a string of 1 to 250 characters."
            if any(o.id != product.id and o.name.lower() == name.lower() for o in self.products.values()):
                return 409, f"The product name {name!r} is a duplicate of another product's name."
        if "description" in entry and not isinstance(entry["description"], str):
            return 422, "description must be a string."
        unknown = set(entry) - {"id", "name", "description", "price"}
        if unknown:
            return 422, f"this fake does not simulate the fields {sorted(unknown)}"
        return None

    def update_variants(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        data = self._batch(req, VARIANT_BATCH)
        if isinstance(data, FakeResponse):
            return data
        errors: dict[str, str] = {}
        todo: list[tuple[BCVariant, dict[str, Any]]] = []
        for n, entry in enumerate(data):
            vid = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(vid, int) or isinstance(vid, bool):
                errors[f"{n}.id"] = "id is required and must be an integer"
                continue
            v = self.variants.get(vid)
            if v is None:
                errors[f"{n}.id"] = f"Variant {vid} does not exist."
                continue
            if v.sku.lower() in self.rejections:
                errors[f"{n}"] = f"Variant {vid}: {self.rejections[v.sku.lower()]}"
                continue
            if "price" in entry and entry["price"] is not None and self._number(entry["price"]) is None:
                errors[f"{n}.price"] = "price must be a number greater than or equal to 0."
                continue
            unknown = set(entry) - {"id", "price"}
            if unknown:
                errors[f"{n}"] = f"this fake does not simulate the fields {sorted(unknown)}"
                continue
            todo.append((v, entry))
        if errors:  # nothing is saved
            return self.error(
                422,
                "",
                "JSON data is missing or invalid: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                errors=errors,
            )
        for v, entry in todo:
            if "price" in entry:
                v.price = None if entry["price"] is None else Decimal(entry["price"])
            self.products[v.product_id].date_modified = self.clock()
        return FakeResponse(200, {"data": [self._render_variant(v) for v, _ in todo], "meta": {}})

    # -- inventory handlers --
    def adjust_absolute(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        data = json_body(req)
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return self.problem(422, "Payload contains invalid fields", {"items": "items is required"})
        if len(items) > ADJUSTMENT_BATCH:
            return self.error(
                413,
                "",
                "The request payload is too large. The maximum items allowed in the "
                f"array is {ADJUSTMENT_BATCH}.",
            )
        problems: list[str] = []
        changes: list[tuple[int, int, int]] = []
        for n, item in enumerate(items):
            found = self._adjustment(n, item)
            if isinstance(found, str):
                problems.append(found)
            else:
                changes.append(found)
        if problems:  # the whole request is refused, nothing applied
            return self.problem(422, " ".join(problems[:20]))
        transaction = str(uuid.UUID(int=self.rng.getrandbits(128)))
        self.adjustments.append(
            {"transaction_id": transaction, "reason": data.get("reason"), "items": [dict(i) for i in items]}
        )
        if self.inventory_lag > 0:
            self._queued.append([self.inventory_lag, changes])
        else:
            self._apply_stock(changes)
        return FakeResponse(200, {"transaction_id": transaction})

    def _adjustment(self, n: int, item: Any) -> tuple[int, int, int] | str:
        if not isinstance(item, dict):
            return f"[items.{n} must be an object]"
        keys = [k for k in ("sku", "variant_id", "product_id") if k in item]
        loc, qty = item.get("location_id"), item.get("quantity")
        if len(keys) != 1:
            return f"[items.{n} needs exactly one of sku, variant_id, product_id]"
        key = keys[0]
        ident = f"{key} {item[key]}"
        if not isinstance(loc, int) or isinstance(loc, bool) or loc not in self.locations:
            return f"[Item with {ident}: location {loc} does not exist]"
        if not isinstance(qty, int) or isinstance(qty, bool) or not 0 <= qty <= MAX_STOCK:
            return f"[Item with {ident}: quantity must be an integer from 0 to {MAX_STOCK}]"
        variant: BCVariant | None = None
        product: BCProduct | None = None
        if key == "product_id":
            product = self.products.get(item[key]) if isinstance(item[key], int) else None
            if product is not None:
                vid = product.base_variant_id or (product.variants[0] if product.variants else None)
                variant = self.variants.get(vid) if vid is not None else None
        elif key == "variant_id":
            variant = self.variants.get(item[key]) if isinstance(item[key], int) else None
        else:
            variant = self.variant_by_sku(str(item[key]))
        if variant is None:
            return f"[Item with {ident} does not exist]"
        product = self.products[variant.product_id]
        if product.inventory_tracking == "none":
            return f"[Item with {ident} does not track inventory]"
        if key == "variant_id" and product.inventory_tracking == "product":
            return f"[Item with {ident} is tracked by product, please update stock by product id]"
        if key == "product_id" and product.inventory_tracking == "variant":
            return f"[Item with {ident} is tracked by variant, please update stock by variant id]"
        if variant.sku.lower() in self.rejections:
            return f"[Item with {ident}: {self.rejections[variant.sku.lower()]}]"
        return variant.id, loc, qty

    def _inventory_rows(self) -> list[BCVariant]:
        rows = []
        for v in sorted(self.variants.values(), key=lambda x: x.id):
            product = self.products[v.product_id]
            if product.inventory_tracking == "none":
                continue
            if product.inventory_tracking == "product" and v.id != product.base_variant_id:
                continue
            rows.append(v)
        return rows

    def list_inventory(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        paging = self._paging(req, 50, INVENTORY_PAGE_MAX)
        if isinstance(paging, FakeResponse):
            return paging
        page, limit = paging
        rows = self._inventory_rows()
        p = req.params
        if "sku:in" in p:
            wanted = {s.strip().lower() for s in p["sku:in"].split(",")}
            rows = [v for v in rows if v.sku.lower() in wanted]
        for name, attr in (("variant_id:in", "id"), ("product_id:in", "product_id")):
            ids = self._int_list(req, name)
            if isinstance(ids, FakeResponse):
                return ids
            if ids is not None:
                rows = [v for v in rows if getattr(v, attr) in set(ids)]
        locs = self._int_list(req, "location_id:in")
        if isinstance(locs, FakeResponse):
            return locs
        shown = [loc for loc in self.locations if locs is None or loc in locs]

        def render(v: BCVariant) -> dict[str, Any]:
            product = self.products[v.product_id]
            return {
                "identity": {
                    "sku": v.sku,
                    "variant_id": v.id,
                    "product_id": v.product_id,
                    "sku_id": None if v.id == product.base_variant_id else v.id + 9000,
                },
                "locations": [
                    {
                        "location_id": loc,
                        "location_code": self.locations[loc]["code"],
                        "location_name": self.locations[loc]["label"],
                        "available_to_sell": max(0, v.stock.get(loc, 0) - v.safety_stock),
                        "total_inventory_onhand": v.stock.get(loc, 0),
                        "location_enabled": self.locations[loc]["enabled"],
                        "settings": {
                            "safety_stock": v.safety_stock,
                            "is_in_stock": True,
                            "warning_level": 0,
                            "bin_picking_number": "",
                        },
                    }
                    for loc in shown
                ],
            }

        _, response = self._collection(req, rows, page, limit, render)
        return response

    def list_locations(self, req: FakeRequest, store_hash: str) -> FakeResponse:
        paging = self._paging(req, 50, 250)
        if isinstance(paging, FakeResponse):
            return paging
        page, limit = paging
        rows = list(self.locations.values())
        p = req.params
        if "is_default" in p:
            want = p["is_default"].lower() == "true"
            rows = [loc for loc in rows if (loc["id"] == self.default_location) == want]
        ids = self._int_list(req, "location_id:in")
        if isinstance(ids, FakeResponse):
            return ids
        if ids is not None:
            rows = [loc for loc in rows if loc["id"] in ids]
        _, response = self._collection(
            req,
            rows,
            page,
            limit,
            lambda loc: {
                "id": loc["id"],
                "code": loc["code"],
                "label": loc["label"],
                "enabled": loc["enabled"],
                "type_id": "PHYSICAL",
                "managed_by_external_source": False,
            },
        )
        return response


# -- spec conformance ------------------------------------------------------------------------------
SPEC_FILES = (
    "products_catalog.v3.yml",
    "product-variants_catalog.v3.yml",
    "inventory.v3.yml",
    "locations.v3.yml",
)
_ROOT = re.compile(r"^/stores/[^/]+/v3(/.*)$")


class BigCommerceSpecs:
    """BigCommerce's four OpenAPI documents; a request is checked against the one declaring its path.

    One known defect of the vendor's document is corrected in memory, never in the file:
    ``product_Put_Collection`` marks ``id`` read-only although ``PUT /catalog/products`` requires it
    in every item ("product ``id`` is required for batch updates", the same operation's description),
    so openapi-core would refuse every valid batch update.
    """

    def __init__(self, specs: Sequence[Any]) -> None:
        self.specs = list(specs)

    @classmethod
    def load(cls) -> BigCommerceSpecs:
        from tests.spec_check import OpenAPISpec, require_specs

        return _cached_specs(tuple(str(require_specs("bigcommerce", f)) for f in SPEC_FILES), OpenAPISpec)

    def violations(self, rec: Any) -> list[str]:
        """What is wrong with one recorded request (a :class:`tests.spec_check.RecordedRequest`)."""
        m = _ROOT.match(rec.path)
        if m is None:
            return [f"{rec}: not a /stores/{{store_hash}}/v3 request"]
        rel = m.group(1)
        headers = {k: v for k, v in rec.headers if k != "host"}
        for spec in self.specs:
            if spec.template(rel) is not None and spec.operation(rec.method, rel) is not None:
                return list(
                    spec.violations(rec.method, rel, rec.query, headers, rec.body or None, rec.content_type)
                )
        return [f"{rec.method} {rel}: no such operation in the BigCommerce specs"]


_SPEC_CACHE: dict[tuple[str, ...], BigCommerceSpecs] = {}


def _cached_specs(paths: tuple[str, ...], openapi: Any) -> BigCommerceSpecs:
    if paths not in _SPEC_CACHE:
        import yaml

        loaded = []
        for path in paths:
            with open(path, encoding="utf-8") as fh:
                doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            put = doc.get("components", {}).get("schemas", {}).get("product_Put_Collection")
            if put is not None:
                for part in put.get("items", {}).get("allOf", []):
                    part.get("properties", {}).get("id", {}).pop("readOnly", None)
            loaded.append(openapi(doc))
        _SPEC_CACHE[paths] = BigCommerceSpecs(loaded)
    return _SPEC_CACHE[paths]


def bigcommerce_spec() -> BigCommerceSpecs:
    return BigCommerceSpecs.load()


def bigcommerce_violations(specs: BigCommerceSpecs, rec: Any) -> list[str]:
    return specs.violations(rec)


def bigcommerce_bad_requests(base: str) -> list[tuple[Any, str]]:
    """Deliberately wrong requests and a word each violation report must contain."""
    from tests.spec_check import RecordedRequest

    auth = (("x-auth-token", "t0ken"), ("accept", "application/json"), ("content-type", "application/json"))
    api = f"{base}/stores/fakestore/v3"
    return [
        (RecordedRequest("GET", f"{api}/catalog/products?limit=500", auth, b""), "limit"),
        (RecordedRequest("GET", f"{api}/catalog/products?skus=A-1", auth, b""), "skus"),
        (RecordedRequest("PUT", f"{api}/catalog/products", auth, b'[{"id": 12, "price": "19.99"}]'), "price"),
        (RecordedRequest("PUT", f"{api}/catalog/variants", auth, b'[{"id": 12, "price": -1}]'), "minimum"),
        (
            RecordedRequest(
                "PUT",
                f"{api}/inventory/adjustments/absolute",
                auth,
                b'{"items": [{"sku": "A-1", "quantity": 1}]}',
            ),
            "not valid under any",
        ),
        (
            RecordedRequest(
                "PUT",
                f"{api}/inventory/adjustments/absolute",
                auth,
                b'{"items": [{"location_id": 1, "product_id": 12, "variant_id": 13, "quantity": 1}]}',
            ),
            "valid under each",
        ),
        (RecordedRequest("GET", f"{api}/inventory/items?variant_id:in=1,2", auth, b""), "variant_id:in"),
        (RecordedRequest("GET", f"{api}/catalog/stock", auth, b""), "no such operation"),
        (
            RecordedRequest("GET", f"{api}/catalog/products", (("accept", "application/json"),), b""),
            "security",
        ),
    ]
