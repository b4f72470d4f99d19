"""A fake WooCommerce store: REST API ``/wp-json/wc/v3`` (storefronts.md section 2).

What it implements, as WooCommerce documents or its source shows:

- auth: over HTTPS (or ``assume_https``, a store behind a TLS proxy) HTTP Basic with the consumer key
  and secret, or ``consumer_key``/``consumer_secret`` query parameters; over plain HTTP one-legged
  OAuth 1.0a in the query string, checked like ``WC_REST_Authentication::check_oauth_signature``
  (HMAC-SHA1/SHA256, secret + "&", timestamp within 15 minutes, nonces used once). Errors:
  ``woocommerce_rest_authentication_error`` / ``woocommerce_rest_cannot_view`` with 401;
- ``GET /products`` and ``GET /products/{id}/variations``: ``page``/``per_page`` (1..100, else
  ``rest_invalid_param``), a page past the end is ``rest_post_invalid_page_number``, ``X-WP-Total``,
  ``X-WP-TotalPages`` and ``Link`` headers, filters ``sku`` (comma list, exact), ``type``,
  ``status``, ``orderby``/``order`` (default: date, desc), ``context`` (``view`` wraps descriptions
  in paragraphs like ``wpautop``; ``edit`` gives the raw text) and ``_fields``; variations are not
  listed by ``/products``;
- ``PUT /products/{id}``, ``PUT /products/{pid}/variations/{id}`` and the batch endpoints
  ``POST /products/batch`` and ``POST /products/{pid}/variations/batch``: at most 100 objects across
  create+update+delete (413 ``woocommerce_rest_request_entity_too_large`` above), items processed one
  by one, a failed item reported in the 200 answer as ``{"id", "error": {code, message, data}}``, the
  batch's query parameters (``context``) applied to every item;
- stock: ``stock_quantity`` only counts with ``manage_stock: true``; turning ``manage_stock`` off
  clears it; prices are decimal strings stored as sent (stricter than WooCommerce: a JSON number for
  a price or a non-integer quantity is refused per item with ``rest_invalid_param``);
- ``GET /data/currencies/current``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

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

API = "/wp-json/wc/v3"
CURRENCY_NAMES = {
    "USD": ("United States (US) dollar", "&#36;"),
    "EUR": ("Euro", "&euro;"),
    "GBP": ("Pound sterling", "&pound;"),
    "JPY": ("Japanese yen", "&yen;"),
}


def rawurlencode(text: str) -> str:
    """PHP's rawurlencode (RFC 3986: everything but ALPHA DIGIT - _ . ~ encoded)."""
    return quote(text, safe="-_.~")


def wpautop(text: str) -> str:
    """A small stand-in for WordPress's wpautop: paragraphs in <p>, single newlines as <br />."""
    if not text.strip():
        return ""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(f"<p>{p.replace(chr(10), '<br />' + chr(10))}</p>\n" for p in paras)


@dataclass
class WooItem:
    id: int
    type: str  # simple | variable | variation | grouped | external
    sku: str = ""
    name: str = ""
    description: str = ""
    regular_price: str = ""
    sale_price: str = ""
    manage_stock: bool | str = True
    stock_quantity: int | None = None
    status: str = "publish"
    parent_id: int = 0
    variations: list[int] = field(default_factory=list)
    modified: float = 0.0


class WooCommerceFake(FakeMarketplace):
    vendor = "woocommerce"
    api_prefix = API
    batch_limit = 100
    page_size_max = 100
    oauth_refresh = False

    def __init__(
        self,
        *,
        consumer_key: str = "ck_fake0000000000000000000000000000000000",
        consumer_secret: str = "cs_fake0000000000000000000000000000000000",
        currency: str = "USD",
        assume_https: bool = False,
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
        clock: Any = time.time,
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.currency = currency
        self.assume_https = assume_https
        self.clock = clock
        self.items: dict[int, WooItem] = {}
        self.rejections: dict[str, str] = {}
        self.revoked = False
        self.nonces: dict[str, float] = {}
        self._next_id = 100
        super().__init__(seed=seed, faults=faults, sales=sales)

    # -- routes --
    def routes(self) -> None:
        r = self.router
        r.add("GET", f"{API}/products", self.list_products)
        r.add("POST", f"{API}/products/batch", self.batch_products)
        r.add("GET", f"{API}/products/{{id:int}}", self.get_product)
        r.add("PUT", f"{API}/products/{{id:int}}", self.put_product)
        r.add("GET", f"{API}/products/{{pid:int}}/variations", self.list_variations)
        r.add("POST", f"{API}/products/{{pid:int}}/variations/batch", self.batch_variations)
        r.add("GET", f"{API}/products/{{pid:int}}/variations/{{id:int}}", self.get_variation)
        r.add("PUT", f"{API}/products/{{pid:int}}/variations/{{id:int}}", self.put_variation)
        r.add("GET", f"{API}/data/currencies/current", self.current_currency)

    # -- store API (vendor-neutral, used by the contract suite) --
    def _new(self, **kw: Any) -> WooItem:
        item = WooItem(id=self._next_id, modified=self.clock(), **kw)
        self._next_id += 1
        self.items[item.id] = item
        return item

    def seed(
        self,
        n: int,
        *,
        variable: int = 0,
        per_parent: int = 3,
        quantity: int = 10,
        price: str = "19.99",
        prefix: str = "WC",
    ) -> list[str]:
        out: list[str] = []
        with self.lock:
            start = sum(1 for i in self.items.values() if i.type == "simple")
            for k in range(start + 1, start + n + 1):
                item = self._new(
                    type="simple",
                    sku=f"{prefix}-{k:04d}",
                    name=f"Product {k}",
                    description=f"Description of product {k}.",
                    regular_price=price,
                    manage_stock=True,
                    stock_quantity=quantity,
                )
                out.append(item.sku)
            for v in range(1, variable + 1):
                parent = self._new(
                    type="variable",
                    sku="",
                    name=f"Variable {v}",
                    description=f"Variable product {v}.",
                    manage_stock=False,
                )
                for j in range(1, per_parent + 1):
                    child = self._new(
                        type="variation",
                        sku=f"{prefix}-V{v:03d}-{j}",
                        parent_id=parent.id,
                        description=f"Variant {j} of {v}.",
                        regular_price=price,
                        manage_stock=True,
                        stock_quantity=quantity,
                    )
                    parent.variations.append(child.id)
                    out.append(child.sku)
        return out

    def by_sku(self, sku: str) -> WooItem | None:
        for item in self.items.values():
            if item.sku == sku and item.status != "trash":
                return item
        return None

    def skus(self) -> list[str]:
        return [
            i.sku
            for i in self.items.values()
            if i.sku and i.type not in ("variable", "grouped") and i.status != "trash"
        ]

    def stored(self, sku: str) -> Stored | None:
        item = self.by_sku(sku)
        if item is None:
            return None
        title = item.name
        if item.type == "variation":
            parent = self.items.get(item.parent_id)
            title = parent.name if parent else ""
        return Stored(
            sku,
            item.stock_quantity if item.manage_stock is True else None,
            item.regular_price or None,
            title,
            item.description,
        )

    def sell(self, sku: str, units: int) -> int:
        with self.lock:
            item = self.by_sku(sku)
            if item is None or item.manage_stock is not True or item.stock_quantity is None:
                return 0
            sold = max(0, min(units, item.stock_quantity))
            item.stock_quantity -= sold
            item.modified = self.clock()
            if sold:
                self.sold[sku] = self.sold.get(sku, 0) + sold
            return sold

    def reject(self, sku: str, message: str = "Sorry, you are not allowed to edit this resource.") -> None:
        self.rejections[sku] = message

    def delete(self, sku: str) -> None:
        item = self.by_sku(sku)
        if item is not None:
            del self.items[item.id]
            parent = self.items.get(item.parent_id)
            if parent is not None and item.id in parent.variations:
                parent.variations.remove(item.id)

    def batch_sizes(self) -> list[int]:
        out = []
        for r in self.requests:
            if r.method == "POST" and r.path.endswith("/batch") and isinstance(r.json, dict):
                out.append(
                    sum(
                        len(v)
                        for k, v in r.json.items()
                        if k in ("create", "update", "delete") and isinstance(v, list)
                    )
                )
        return out

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        ids = [i.id for i in self.items.values() if i.type == "simple"] or [1]
        return (
            "POST",
            "products/batch",
            {"update": [{"id": ids[k % len(ids)], "stock_quantity": 1} for k in range(n)]},
        )

    def revoke_credentials(self) -> None:
        self.revoked = True

    def expire_token(self) -> None:
        # WooCommerce API keys do not expire and have no refresh flow: the closest event is the
        # key being revoked, which a client can only report.
        self.revoked = True

    # -- auth --
    def authenticate(self, req: FakeRequest) -> FakeResponse | None:
        params = req.params
        https = req.scheme == "https" or self.assume_https
        if self.revoked:
            return self.error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if https:
            creds = basic_credentials(req)
            if creds is None and "consumer_key" in params:
                creds = (params.get("consumer_key", ""), params.get("consumer_secret", ""))
            if creds is not None:
                key, secret = creds
                if not hmac.compare_digest(key, self.consumer_key):
                    return self.error(
                        401, "woocommerce_rest_authentication_error", "Consumer key is invalid."
                    )
                if not hmac.compare_digest(secret, self.consumer_secret):
                    return self.error(
                        401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
                    )
                return None
        if "oauth_consumer_key" in params:
            return self._oauth(req, https)
        return self.error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")

    def _oauth(self, req: FakeRequest, https: bool) -> FakeResponse | None:
        def fail(message: str) -> FakeResponse:
            return self.error(401, "woocommerce_rest_authentication_error", message)

        params = dict(req.query)  # PHP: the last value of a repeated key wins
        for name in (
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        ):
            if not params.get(name):
                return fail(f"Missing OAuth parameter {name}")
        if not hmac.compare_digest(params["oauth_consumer_key"], self.consumer_key):
            return fail("Consumer key is invalid.")
        # check_oauth_signature, step by step
        base_request_uri = rawurlencode(f"{'https' if https else 'http'}://{req.host}{req.path}")
        consumer_signature = unquote(params.pop("oauth_signature").replace(" ", "+"))
        ordered = sorted(params.items(), key=lambda kv: kv[0].encode())  # uksort strcmp
        normalized = [(rawurlencode(k), rawurlencode(v)) for k, v in ordered]
        query_string = "%26".join(rawurlencode(f"{k}={v}") for k, v in normalized)
        string_to_sign = f"{req.method}&{base_request_uri}&{query_string}"
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            return fail("Invalid signature - signature method is invalid.")
        algo = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
        secret = self.consumer_secret + "&"
        signature = base64.b64encode(
            hmac.new(secret.encode(), string_to_sign.encode(), algo).digest()
        ).decode()
        if not hmac.compare_digest(signature, consumer_signature):
            return fail("Invalid signature - provided signature does not match.")
        # check_oauth_timestamp_and_nonce
        try:
            ts = int(params["oauth_timestamp"])
        except ValueError:
            return fail("Invalid timestamp.")
        now = self.clock()
        if abs(now - ts) > 15 * 60:
            return fail("Invalid timestamp.")
        self.nonces = {n: t for n, t in self.nonces.items() if t > now - 15 * 60}
        nonce = params["oauth_nonce"]
        if nonce in self.nonces:
            return fail("Invalid nonce - nonce has already been used.")
        self.nonces[nonce] = ts
        return None

    # -- rendering --
    def _render(self, item: WooItem, context: str, fields: list[str] | None) -> dict[str, Any]:
        managed = item.manage_stock is True
        qty = item.stock_quantity if managed else None
        if managed:
            stock_status = "instock" if (qty or 0) > 0 else "outofstock"
        else:
            stock_status = "instock"
        description = item.description if context == "edit" else wpautop(item.description)
        d: dict[str, Any] = {
            "id": item.id,
            "date_modified_gmt": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(item.modified)),
            "description": description,
            "sku": item.sku,
            "price": item.sale_price or item.regular_price,
            "regular_price": item.regular_price,
            "sale_price": item.sale_price,
            "on_sale": bool(item.sale_price),
            "status": item.status,
            "manage_stock": item.manage_stock,
            "stock_quantity": qty,
            "stock_status": stock_status,
        }
        if item.type != "variation":
            d.update(
                name=item.name,
                type=item.type,
                parent_id=item.parent_id,
                variations=list(item.variations),
                short_description="",
            )
        if fields:
            d = {k: v for k, v in d.items() if k in fields}
        return d

    # -- parameters --
    def _int_param(
        self, req: FakeRequest, name: str, default: int, lo: int, hi: int | None
    ) -> int | FakeResponse:
        raw = req.param(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            return self.error(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {name}",
                params={name: f"{name} is not of type integer."},
            )
        if value < lo or (hi is not None and value > hi):
            bound = f"between {lo} (inclusive) and {hi} (inclusive)" if hi is not None else f"at least {lo}"
            return self.error(
                400,
                "rest_invalid_param",
                f"Invalid parameter(s): {name}",
                params={name: f"{name} must be {bound}"},
            )
        return value

    def _context(self, req: FakeRequest) -> str | FakeResponse:
        context = req.param("context", "view") or "view"
        if context not in ("view", "edit", "embed"):
            return self.error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): context",
                params={"context": "context is not one of view, embed, and edit."},
            )
        return context

    def _collection(self, req: FakeRequest, items: list[WooItem]) -> FakeResponse:
        per_page = self._int_param(req, "per_page", 10, 1, 100)
        if isinstance(per_page, FakeResponse):
            return per_page
        page = self._int_param(req, "page", 1, 1, None)
        if isinstance(page, FakeResponse):
            return page
        context = self._context(req)
        if isinstance(context, FakeResponse):
            return context
        p = req.params
        if "sku" in p:
            wanted = {s.strip() for s in p["sku"].split(",")}
            items = [i for i in items if i.sku in wanted]
        if "type" in p:
            items = [i for i in items if i.type == p["type"]]
        status = p.get("status", "any")
        items = [i for i in items if i.status != "trash" and (status == "any" or i.status == status)]
        orderby = p.get("orderby", "date")
        key = {
            "id": lambda i: i.id,
            "title": lambda i: i.name.lower(),
            "date": lambda i: i.id,
            "modified": lambda i: i.modified,
        }.get(orderby)
        if key is None:
            return self.error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): orderby",
                params={"orderby": "orderby is not one of date, id, title, modified."},
            )
        items = sorted(items, key=key, reverse=p.get("order", "desc") == "desc")
        total = len(items)
        pages = math.ceil(total / per_page)
        if page > pages and total > 0:
            return self.error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        chunk = items[(page - 1) * per_page : page * per_page]
        fields = [f.strip() for f in p["_fields"].split(",")] if p.get("_fields") else None
        body = [self._render(i, context, fields) for i in chunk]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = []
        base = f"{req.scheme}://{req.host}{req.path}"
        if page > 1:
            links.append(f'<{base}?page={page - 1}&per_page={per_page}>; rel="prev"')
        if page < pages:
            links.append(f'<{base}?page={page + 1}&per_page={per_page}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        self.list_items_hook((i.sku for i in chunk if i.sku), lookup="sku" in p)
        return FakeResponse(200, body, headers)

    # -- handlers --
    def list_products(self, req: FakeRequest) -> FakeResponse:
        return self._collection(req, [i for i in self.items.values() if i.type != "variation"])

    def list_variations(self, req: FakeRequest, pid: int) -> FakeResponse:
        parent = self.items.get(pid)
        if parent is None or parent.type == "variation":
            return self.error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return self._collection(req, [self.items[v] for v in parent.variations if v in self.items])

    def current_currency(self, req: FakeRequest) -> FakeResponse:
        name, symbol = CURRENCY_NAMES.get(self.currency, (self.currency, self.currency))
        return FakeResponse(200, {"code": self.currency, "name": name, "symbol": symbol})

    def _product(self, pid: int) -> WooItem | None:
        item = self.items.get(pid)
        return item if item is not None and item.type != "variation" and item.status != "trash" else None

    def _variation(self, pid: int, vid: int) -> WooItem | None:
        item = self.items.get(vid)
        return item if item is not None and item.type == "variation" and item.parent_id == pid else None

    def get_product(self, req: FakeRequest, id: int) -> FakeResponse:
        item = self._product(id)
        context = self._context(req)
        if isinstance(context, FakeResponse):
            return context
        if item is None:
            return self.error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return FakeResponse(200, self._render(item, context, None))

    def get_variation(self, req: FakeRequest, pid: int, id: int) -> FakeResponse:
        item = self._variation(pid, id)
        context = self._context(req)
        if isinstance(context, FakeResponse):
            return context
        if item is None:
            return self.error(404, "woocommerce_rest_product_variation_invalid_id", "Invalid ID.")
        return FakeResponse(200, self._render(item, context, None))

    def put_product(self, req: FakeRequest, id: int) -> FakeResponse:
        return self._put(req, self._product(id))

    def put_variation(self, req: FakeRequest, pid: int, id: int) -> FakeResponse:
        return self._put(req, self._variation(pid, id))

    def _put(self, req: FakeRequest, item: WooItem | None) -> FakeResponse:
        data = json_body(req)
        context = self._context(req)
        if isinstance(context, FakeResponse):
            return context
        if item is None:
            return self.error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        if not isinstance(data, dict):
            return self.error(400, "rest_invalid_json", "Invalid JSON body passed.")
        err = self._update(item, data)
        if err is not None:
            return self.error(err[0], err[1], err[2], **err[3])
        return FakeResponse(200, self._render(item, context, None))

    def batch_products(self, req: FakeRequest) -> FakeResponse:
        return self._batch(req, lambda i: self._product(i))

    def batch_variations(self, req: FakeRequest, pid: int) -> FakeResponse:
        parent = self._product(pid)
        if parent is None:
            return self.error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return self._batch(req, lambda i: self._variation(pid, i))

    def _batch(self, req: FakeRequest, find: Any) -> FakeResponse:
        data = json_body(req)
        if not isinstance(data, dict):
            return self.error(400, "rest_invalid_json", "Invalid JSON body passed.")
        context = self._context(req)
        if isinstance(context, FakeResponse):
            return context
        groups = {k: data[k] for k in ("create", "update", "delete") if data.get(k)}
        total = sum(len(v) if isinstance(v, list) else 1 for v in groups.values())
        if total > self.batch_limit:
            return self.error(
                413,
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {self.batch_limit} items for this request.",
            )
        out: dict[str, list[Any]] = {}
        for action, entries in groups.items():
            results: list[Any] = []
            for entry in entries if isinstance(entries, list) else [entries]:
                results.append(self._batch_one(action, entry, find, context))
            out[action] = results
        return FakeResponse(200, out)

    def _batch_one(self, action: str, entry: Any, find: Any, context: str) -> Any:
        def failed(ident: Any, status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
            return {
                "id": ident,
                "error": {"code": code, "message": message, "data": {"status": status, **extra}},
            }

        if action != "update":
            return failed(
                entry.get("id", 0) if isinstance(entry, dict) else entry,
                400,
                "fake_not_simulated",
                f"{action} is not simulated by this fake.",
            )
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), int)
            or isinstance(entry.get("id"), bool)
        ):
            return failed(
                entry.get("id", 0) if isinstance(entry, dict) else 0,
                400,
                "woocommerce_rest_product_invalid_id",
                "Invalid ID.",
            )
        item = find(entry["id"])
        if item is None:
            return failed(entry["id"], 400, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        err = self._update(item, {k: v for k, v in entry.items() if k != "id"})
        if err is not None:
            return failed(item.id, err[0], err[1], err[2], **err[3])
        return self._render(item, context, None)

    def _update(self, item: WooItem, data: dict[str, Any]) -> tuple[int, str, str, dict[str, Any]] | None:
        bad: dict[str, str] = {}
        for key in ("name", "description", "regular_price", "sale_price", "sku"):
            if key in data and not isinstance(data[key], str):
                bad[key] = f"{key} is not of type string."
        for key in ("regular_price", "sale_price"):
            v = data.get(key)
            if isinstance(v, str) and v.strip():
                try:
                    dec = Decimal(v.strip())
                    if not dec.is_finite() or dec < 0:
                        raise InvalidOperation
                except InvalidOperation:
                    bad[key] = f"{key} is not a valid price."
        if (
            "stock_quantity" in data
            and data["stock_quantity"] is not None
            and (not isinstance(data["stock_quantity"], int) or isinstance(data["stock_quantity"], bool))
        ):
            bad["stock_quantity"] = "stock_quantity is not of type integer."
        if (
            "manage_stock" in data
            and not isinstance(data["manage_stock"], bool)
            and not (item.type == "variation" and data["manage_stock"] == "parent")
        ):
            bad["manage_stock"] = "manage_stock is not of type boolean."
        if bad:
            return (
                400,
                "rest_invalid_param",
                "Invalid parameter(s): " + ", ".join(sorted(bad)),
                {"params": bad},
            )
        if item.sku in self.rejections:
            return 403, "woocommerce_rest_cannot_edit", self.rejections.pop(item.sku), {}
        if data.get("sku"):
            other = self.by_sku(data["sku"])
            if other is not None and other.id != item.id:
                return 400, "product_invalid_sku", "Invalid or duplicated SKU.", {"resource_id": other.id}
        if "name" in data and item.type != "variation":
            item.name = data["name"]
        if "description" in data:
            item.description = data["description"]
        if "regular_price" in data:
            item.regular_price = data["regular_price"].strip()  # wc_format_decimal keeps the digits
        if "sale_price" in data:
            item.sale_price = data["sale_price"].strip()
        if "sku" in data:
            item.sku = data["sku"]
        if "manage_stock" in data:
            item.manage_stock = data["manage_stock"]
            if item.manage_stock is not True:
                item.stock_quantity = None  # WooCommerce clears the quantity
        if "stock_quantity" in data and item.manage_stock is True and data["stock_quantity"] is not None:
            item.stock_quantity = int(data["stock_quantity"])
        item.modified = self.clock()
        return None
