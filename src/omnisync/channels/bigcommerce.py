"""BigCommerce: the REST v3 Catalog and Inventory APIs of a hosted store (storefronts.md section 3).

Config (``[channels.NAME]`` with ``type = "bigcommerce"``)::

    store_hash = "abc123xyz"              # from the API path: https://api.bigcommerce.com/stores/abc123xyz/v3
    access_token_env = "BC_ACCESS_TOKEN"  # name of the env var holding the store API account's token
    currency = "USD"                      # the store's default currency (prices are read and written in it)
    # locations = { "1" = ["warehouse"], "2" = ["shop"] }  # location id -> catalog locations
    # default_location_id = 1             # the store's default location (docs use 1; --check verifies)
    # adjustment_reason = "omnisync"      # shown in the store's inventory history
    # base_url = "https://api.bigcommerce.com"   # tests point it at a fake

Mapping. A SKU is a product without options (its *base variant*: title, description and price are
the product's) or one variant of a product with options (price is the variant's, or the product's
when the variant inherits it; title and description are the product's and are not written through
a variant, since every variant of the product shares them). Prices are JSON numbers at BigCommerce:
omnisync reads them as ``Decimal`` and writes the exact decimal digits, never a float.

Stock goes through the Inventory API only (``PUT /inventory/adjustments/absolute``), by
``product_id`` for products tracked by product and ``variant_id`` for products tracked by variant; a
product whose inventory tracking is off reports no quantity and refuses stock writes with the reason.
Without ``locations`` the quantity is the default location's (``quantity``: read from the catalog's
``inventory_level``, which is the default location's stock, and written to ``default_location_id``,
which ``omnisync channels --check`` verifies is the store's default); with ``locations`` each listed
location is ``quantity@<location id>`` (read from ``GET /inventory/items``,
``total_inventory_onhand``) and other locations are left alone.

Writes: product fields in ``PUT /catalog/products`` batches of 10, variant prices in
``PUT /catalog/variants`` batches of 50, stock in absolute adjustments of up to 2000 items, so a
push makes no more write calls per kind than its changes need. Each SKU's ``applied`` values are the
vendor's: product and variant fields from the batch answers (a 207 multi-status answer reports the
products it could not save per SKU), stock from a read-back of the adjusted items after the
adjustments were accepted. BigCommerce processes adjustments asynchronously: a SKU whose new stock
is not visible yet is reported *pending* with the adjustment's transaction id, and the next run
reconciles it from what the store shows. A refused batch (422/409) is narrowed down: the inventory
API names the refused item, catalog batches are split in halves, so only the SKUs the store refuses
fail. BigCommerce has no compare-and-set and no idempotency keys; absolute values make a re-sent
write harmless.

The store's quota (requests per 30-second window, per store, shared with every app) paces the
client: it starts at the Standard plan's 150 per 30 s and follows the store's own
``X-Rate-Limit-Requests-Quota`` / ``X-Rate-Limit-Time-Window-Ms``, spreads what
``X-Rate-Limit-Requests-Left`` allows over ``X-Rate-Limit-Time-Reset-Ms``, and a 429 waits for
``X-Rate-Limit-Time-Reset-Ms``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from ..errors import ChannelError, Kind, PermanentError, ResponseError
from ..http import HeaderAuth, RateLimitInfo, bigcommerce_rate_limit
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
    field_location,
    frozen,
    quantity_key,
)
from ..money import Money, MoneyError, exponent, is_currency
from .base import Capabilities, Channel, ChannelConfig, ChannelContext, HttpChannel, json_int

API_HOST = "https://api.bigcommerce.com"
PAGE_SIZE = 250  # GET /catalog/products limit maximum (products spec LimitParam)
INVENTORY_PAGE = 1000  # GET /inventory/items: "Limit of 1000 items for payload length"
PRODUCT_BATCH = 10  # PUT /catalog/products (413 above)
VARIANT_BATCH = 50  # PUT /catalog/variants ("subject to change"; 413 above)
ADJUSTMENT_BATCH = 2000  # PUT /inventory/adjustments/absolute items per request
MAX_STOCK = 2_147_483_647  # the Inventory API refuses more per item per location
SKU_CHUNK = 250  # SKUs per sku:in filter (one page of products)
FILTER_CHARS = 2000  # and at most this many characters in one filter value (URL length)
SINGLE_LOOKUPS = 10  # variant SKUs looked up one by one before a full scan is cheaper
STANDARD_QUOTA = 150 / 30  # requests per second: Standard and Plus plans (150 per 30 s window)

CAPABILITIES = Capabilities(
    fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
    read_page_size=PAGE_SIZE,
    # the most SKUs one write() carries: the largest vendor batch (stock adjustments); product and
    # variant fields are split into the smaller catalog batches inside write()
    max_write_batch=ADJUSTMENT_BATCH,
    compare_and_set=False,  # no ETags, no expected quantity (storefronts.md 3.4)
    async_writes=False,  # adjustments are asynchronous, but confirmed by a read-back (or pending)
    # `date_modified:min` exists, but nothing documents that an order's stock change moves a
    # product's date_modified: an incremental read could miss sales, so every read is a full one.
    changed_since=False,
    create=False,
    multi_location=True,
    idempotency_keys=False,
    rate_limit_per_second=STANDARD_QUOTA,
)

# BigCommerce's quirks on top of the shared table (storefronts.md 3.4): a 409 is a duplicate name
# or SKU, not a compare-and-set conflict; 507 means a plan limit was reached.
ERROR_OVERRIDES: dict[int, Kind] = {409: Kind.PERMANENT, 507: Kind.PERMANENT}

_IDENTITY_IN_TEXT = re.compile(r"\b(product_id|variant_id)\s*[:=]?\s*(\d+)")


class BigCommerceConfig(ChannelConfig):
    """``[channels.NAME]`` keys of a BigCommerce store."""

    type: Literal["bigcommerce"] = "bigcommerce"
    store_hash: str = Field(min_length=1, max_length=64)
    access_token_env: str = Field(min_length=1)
    default_location_id: int = Field(default=1, ge=1)
    adjustment_reason: str = Field(default="omnisync", min_length=1, max_length=255)

    @field_validator("store_hash")
    @classmethod
    def _hash(cls, v: str) -> str:
        if not v.isascii() or not v.isalnum():
            raise ValueError(
                "store_hash is the letters and digits after /stores/ in the API path "
                "(https://api.bigcommerce.com/stores/<store_hash>/v3)"
            )
        return v

    @field_validator("locations")
    @classmethod
    def _location_ids(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v:
            bad = [k for k in v if not (k.isascii() and k.isdigit() and int(k) > 0)]
            if bad:
                raise ValueError(
                    f"BigCommerce location ids are positive integers, not {', '.join(map(repr, bad))} "
                    "(Settings > Locations, or GET /v3/inventory/locations)"
                )
        return v

    @model_validator(mode="after")
    def _currency(self) -> BigCommerceConfig:
        if self.currency is None:
            raise ValueError(
                'currency is required: the store\'s default currency, e.g. "USD" '
                "(Settings > Currencies); BigCommerce prices are read and written in it"
            )
        if not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        return self


@dataclass(frozen=True)
class _Ref:
    """Where a SKU lives in the store."""

    product_id: int
    variant_id: int | None  # the base variant for a product without options
    simple: bool  # the SKU is the product itself (title, description and price on the product)
    tracking: str  # none | product | variant


@dataclass(eq=False)
class _Entry:
    """One SKU's part of one kind of write."""

    index: int
    sku: str
    ref: _Ref
    objects: list[dict[str, Any]]  # the batch objects (catalog) or adjustment items (inventory)
    keys: dict[str, Any] = field(default_factory=dict)  # field key -> value sent
    done: bool = False  # its outcome is known (applied, refused, or accepted for stock)


@dataclass
class _Outcome:
    applied: dict[str, Value] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (message, kind)
    pending: str | None = None


class _Stop(Exception):
    """A whole request failed after part of this write() was applied: report the rest per SKU."""

    def __init__(self, error: ChannelError) -> None:
        self.error = error


class BigCommerceChannel(HttpChannel[BigCommerceConfig, _Ref]):
    """The BigCommerce adapter. See the module docstring for the mapping."""

    Config = BigCommerceConfig
    capabilities = CAPABILITIES
    default_base_url = API_HOST
    error_overrides = ERROR_OVERRIDES

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        super().__init__(cfg, ctx)
        self._locations_checked = False
        # field key -> location id, for multi-location configs
        locations = self.cfg.locations
        self._stock_keys: dict[str, int] = {quantity_key(k): int(k) for k in locations} if locations else {}

    def make_auth(self) -> HeaderAuth:
        return HeaderAuth("X-Auth-Token", self.secret("access_token_env"))

    def client_options(self) -> dict[str, Any]:
        return {"base_path": f"/stores/{self.cfg.store_hash}/v3", "rate_limit_headers": self._rate_limit}

    def _rate_limit(self, response: httpx.Response, now: datetime) -> RateLimitInfo:
        """BigCommerce's four quota headers: the window's quota sets the pacer's rate (a Pro store
        allows 450 per 30 s), what is left in the window spreads the rest of it."""
        info = bigcommerce_rate_limit(response, now)
        quota = _number(response.headers.get("x-rate-limit-requests-quota"))
        window_ms = _number(response.headers.get("x-rate-limit-time-window-ms"))
        client = self._client
        if client is not None and quota and window_ms and quota > 0 and window_ms > 0:
            rate = quota / (window_ms / 1000)
            pacer = client.pacer
            if pacer.rate != rate:
                pacer.rate = rate
                pacer.capacity = max(1.0, rate)
        return info

    @property
    def multi_location(self) -> bool:
        return bool(self._stock_keys)

    # -- small requests ------------------------------------------------------------------------
    def _get(self, path: str, params: Sequence[tuple[str, str]]) -> tuple[dict[str, Any], httpx.Response]:
        data, response = self.client.get_json(path, params=list(params))
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise ResponseError(f"GET {path}: expected an object with a 'data' list", channel=self.name)
        return data, response

    def _pages(self, path: str, params: Sequence[tuple[str, str]], limit: int) -> Iterator[dict[str, Any]]:
        """Every object of a collection, page by page (``meta.pagination.total_pages``)."""
        page = 1
        while True:
            body, _ = self._get(path, [*params, ("page", str(page)), ("limit", str(limit))])
            rows = body["data"]
            for row in rows:
                if not isinstance(row, dict):
                    raise ResponseError(f"GET {path}: expected a list of objects", channel=self.name)
                yield row
            pagination = (
                (body.get("meta") or {}).get("pagination") if isinstance(body.get("meta"), dict) else None
            )
            total_pages = json_int(pagination.get("total_pages")) if isinstance(pagination, dict) else None
            if total_pages is not None:
                if page >= total_pages:
                    return
            elif len(rows) < limit:
                return
            if not rows:
                return
            page += 1

    def _locations(self) -> list[dict[str, Any]]:
        return list(self._pages("inventory/locations", [], PAGE_SIZE))

    def default_location(self) -> int:
        """The location plain ``quantity`` is written to: the store's default location, where the
        storefront's stock (and the catalog's ``inventory_level``) lives. Not asked on every run
        (a lookup before each write would cost a call); ``check()`` verifies it."""
        return self.cfg.default_location_id

    def _verify_default_location(self) -> None:
        body, _ = self._get("inventory/locations", [("is_default", "true")])
        ids = [json_int(loc.get("id")) for loc in body["data"] if isinstance(loc, dict)]
        found = [i for i in ids if i is not None]
        if found and self.cfg.default_location_id not in found:
            raise PermanentError(
                f"the store's default location is {found[0]}, not default_location_id = "
                f"{self.cfg.default_location_id}; set default_location_id = {found[0]} in "
                "channels.toml",
                channel=self.name,
            )

    def _check_locations(self) -> None:
        """With ``locations``: every configured location id exists in the store."""
        if self._locations_checked or not self.multi_location:
            return
        have = {
            json_int(loc.get("id")): str(loc.get("label") or loc.get("code") or "")
            for loc in self._locations()
        }
        unknown = [str(i) for i in self._stock_keys.values() if i not in have]
        if unknown:
            listed = ", ".join(f"{k} ({v})" for k, v in have.items() if k is not None) or "none"
            raise PermanentError(
                f"locations names location id(s) {', '.join(unknown)}, which this store does "
                f"not have (it has: {listed})",
                channel=self.name,
            )
        self._locations_checked = True

    # -- reading ---------------------------------------------------------------------------------
    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """Every SKU (``skus``: only those that exist among them). ``since`` is ignored: see
        ``CAPABILITIES.changed_since``."""
        self._check_locations()
        if skus is None:
            yield from self._read_all()
        else:
            yield from self._read_some({s for s in skus if s})

    def _products(self, *filters: tuple[str, str]) -> Iterator[dict[str, Any]]:
        return self._pages("catalog/products", [*filters, ("include", "variants")], PAGE_SIZE)

    def _read_all(self) -> Iterator[RemoteListing]:
        stock = self._inventory(None) if self.multi_location else None
        seen: set[int] = set()
        found: set[str] = set()
        for product in self._products():
            pid = json_int(product.get("id"))
            if pid is None or pid in seen:
                continue
            seen.add(pid)
            for listing in self._listings(product, stock):
                if listing.sku not in found:
                    found.add(listing.sku)
                    yield listing

    def _read_some(self, wanted: set[str]) -> Iterator[RemoteListing]:
        got: dict[str, RemoteListing] = {}

        def take(products: Iterable[dict[str, Any]], among: set[str]) -> None:
            for product in products:
                for listing in self._listings(product, None):
                    if listing.sku in among and listing.sku not in got:
                        got[listing.sku] = listing

        # 1. SKUs an earlier read placed: their products by id
        known = sorted({self._refs[s].product_id for s in wanted if s in self._refs})
        for chunk in _chunks(known, 100):
            take(self._products(("id:in", ",".join(map(str, chunk)))), wanted)
        # 2. products by main SKU (simple products, and products whose own SKU was asked for)
        rest = sorted(s for s in wanted - set(got) if "," not in s)
        for chunk in _filter_chunks(rest):
            take(self._products(("sku:in", ",".join(chunk))), wanted)
        # 3. variant SKUs: one lookup each, or one full scan when that is cheaper
        missing = wanted - set(got)
        if missing and len(missing) <= SINGLE_LOOKUPS:
            pids: set[int] = set()
            for sku in sorted(missing):
                for variant in self._pages("catalog/variants", [("sku", sku)], PAGE_SIZE):
                    pid = json_int(variant.get("product_id"))
                    if pid is not None:
                        pids.add(pid)
            for chunk in _chunks(sorted(pids), 100):
                take(self._products(("id:in", ",".join(map(str, chunk)))), missing)
        elif missing:
            for product in self._products():
                take([product], missing)
                if not missing - set(got):
                    break
        listings = [got[s] for s in sorted(got)]
        if self.multi_location and listings:
            stock = self._inventory([self._refs[r.sku] for r in listings], [r.sku for r in listings])
            listings = [self._with_stock(r, stock) for r in listings]
        yield from listings

    def _listings(
        self, product: dict[str, Any], stock: Mapping[int, dict[int, int]] | None
    ) -> Iterator[RemoteListing]:
        """The SKUs of one product (with ``include=variants``)."""
        pid = json_int(product.get("id"))
        if pid is None:
            return
        tracking = str(product.get("inventory_tracking") or "none")
        variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
        name = product.get("name")
        description = product.get("description")
        product_price = self._money(product.get("price"), str(product.get("sku") or pid))
        common: dict[str, Value] = {}
        if isinstance(name, str):
            common[TITLE] = name
        if isinstance(description, str):
            common[DESCRIPTION] = description
        if not any(v.get("option_values") for v in variants):
            sku = product.get("sku")
            if not isinstance(sku, str) or not sku:
                return
            base_id = json_int(product.get("base_variant_id"))
            if base_id is None and len(variants) == 1:
                base_id = json_int(variants[0].get("id"))
            base = next((v for v in variants if json_int(v.get("id")) == base_id), None)
            ref = _Ref(pid, base_id, True, tracking)
            values = dict(common)
            if product_price is not None:
                values[PRICE] = product_price
            level = (
                product.get("inventory_level")
                if tracking == "product"
                else (base.get("inventory_level") if tracking == "variant" and base is not None else None)
            )
            yield self._listing(sku, ref, values, level, stock)
            return
        for v in variants:
            sku = v.get("sku")
            vid = json_int(v.get("id"))
            if not isinstance(sku, str) or not sku or vid is None or not v.get("option_values"):
                continue
            ref = _Ref(pid, vid, False, tracking)
            values = dict(common)
            price = self._money(v.get("price"), sku) if v.get("price") is not None else product_price
            if price is not None:
                values[PRICE] = price
            level = v.get("inventory_level") if tracking == "variant" else None
            yield self._listing(sku, ref, values, level, stock)

    def _listing(
        self,
        sku: str,
        ref: _Ref,
        values: dict[str, Value],
        level: Any,
        stock: Mapping[int, dict[int, int]] | None,
    ) -> RemoteListing:
        self._refs[sku] = ref
        if not self.multi_location:
            qty = json_int(level)
            if qty is not None and ref.tracking != "none":
                values[QUANTITY] = qty
        extra = {
            "product_id": ref.product_id,
            "variant_id": ref.variant_id,
            "simple": ref.simple,
            "tracking": ref.tracking,
        }
        listing = RemoteListing(
            sku=sku,
            values=frozen(values),
            remote_id=str(ref.variant_id if ref.variant_id is not None else ref.product_id),
            extra=frozen(extra),
        )
        if stock is not None:
            listing = self._with_stock(listing, stock)
        return listing

    def _with_stock(self, listing: RemoteListing, stock: Mapping[int, dict[int, int]]) -> RemoteListing:
        ref = self._refs[listing.sku]
        if ref.tracking == "none" or (ref.tracking == "product" and not ref.simple):
            return listing
        at = _stock_of(stock, ref)
        if not at:
            return listing
        values = dict(listing.values)
        for key, loc in self._stock_keys.items():
            if loc in at:
                values[key] = at[loc]
        return dataclasses.replace(listing, values=frozen(values))

    def _inventory(
        self, refs: Sequence[_Ref] | None, skus: Sequence[str] = (), location: int | None = None
    ) -> dict[int, dict[int, int]]:
        """On-hand stock per location: variant id (or -product id) -> {location id: units}.
        ``refs``/``skus`` None: every item of the store."""
        params: list[list[tuple[str, str]]] = []
        loc = [("location_id:in", str(location))] if location is not None else []
        if refs is None:
            params.append(loc)
        else:
            plain = [s for s in skus if "," not in s]
            for chunk in _filter_chunks(sorted(set(plain))):
                params.append([("sku:in", ",".join(chunk)), *loc])
            for sku, ref in zip(skus, refs):
                if "," in sku:  # cannot be named in sku:in: by its id (one id per request)
                    ident = (
                        ("variant_id:in", str(ref.variant_id))
                        if ref.variant_id is not None
                        else ("product_id:in", str(ref.product_id))
                    )
                    params.append([ident, *loc])
        out: dict[int, dict[int, int]] = {}
        for p in params:
            for item in self._pages("inventory/items", p, INVENTORY_PAGE):
                identity = item.get("identity")
                if not isinstance(identity, dict):
                    continue
                vid = json_int(identity.get("variant_id"))
                pid = json_int(identity.get("product_id"))
                key = vid if vid is not None else (-pid if pid is not None else None)
                if key is None:
                    continue
                levels = out.setdefault(key, {})
                for at in item.get("locations") or []:
                    if isinstance(at, dict):
                        lid, onhand = (
                            json_int(at.get("location_id")),
                            json_int(at.get("total_inventory_onhand")),
                        )
                        if lid is not None and onhand is not None:
                            levels[lid] = onhand
        return out

    def _money(self, raw: Any, sku: str) -> Money | None:
        """A BigCommerce price (a JSON number, read as Decimal) as exact Money. BigCommerce stores
        doubles: binary noise past the currency's digits (19.990000000000002) is dropped; anything
        more is treated as unknown, with a log line."""
        if raw is None or isinstance(raw, bool) or not isinstance(raw, (int, Decimal, str)):
            return None
        try:
            return Money.parse(raw if not isinstance(raw, str) else raw.strip(), self.currency())
        except MoneyError as exc:
            try:
                dec = Decimal(str(raw))
                exact = dec.quantize(Decimal(1).scaleb(-exponent(self.currency())))
                if dec.is_finite() and abs(dec - exact) < Decimal("1e-9"):
                    return Money.parse(exact, self.currency())
            except (InvalidOperation, MoneyError):
                pass
            self.ctx.log(
                f"{self.name}: {sku}: price {raw!r} is not an amount in {self.currency()} ({exc}); "
                "treated as unknown"
            )
            return None

    # -- writing ---------------------------------------------------------------------------------
    def ref_of(self, item: WriteItem) -> _Ref | None:
        remote = item.remote
        if remote is not None and remote.extra:
            pid = json_int(remote.extra.get("product_id"))
            tracking = remote.extra.get("tracking")
            if pid is not None and isinstance(tracking, str):
                return _Ref(
                    pid, json_int(remote.extra.get("variant_id")), bool(remote.extra.get("simple")), tracking
                )
        return self._refs.get(item.sku)

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        """Absolute writes; one result per item, in order. See the module docstring.

        A request that fails as a whole (auth, the store unreachable after retries) raises its
        :class:`ChannelError` when nothing of this call was applied yet; after a part succeeded, the
        rest is reported per SKU with the error's kind, so no confirmed result is lost.
        """
        self._check_locations()
        outcomes = [_Outcome() for _ in batch]
        self._resolve(batch)
        products: list[_Entry] = []
        variants: list[_Entry] = []
        stock: list[_Entry] = []
        for index, item in enumerate(batch):
            out = outcomes[index]
            if item.create:
                out.errors.append(
                    (
                        "this adapter does not create BigCommerce products; create it in the store",
                        Kind.PERMANENT.value,
                    )
                )
                continue
            ref = self.ref_of(item)
            if ref is None:
                out.errors.append(("no product or variant has this SKU", Kind.NOT_FOUND.value))
                continue
            self._plan(index, item, ref, out, products, variants, stock)

        state = {"applied": False}
        accepted: list[tuple[_Entry, str]] = []
        try:
            self._send_catalog("catalog/products", products, PRODUCT_BATCH, outcomes, state)
            self._send_catalog("catalog/variants", variants, VARIANT_BATCH, outcomes, state)
            self._send_stock(stock, outcomes, state, accepted)
        except _Stop as stop:
            for e in (*products, *variants, *stock):
                if not e.done:
                    outcomes[e.index].errors.append((f"not sent: {stop.error}", stop.error.kind.value))
        if accepted:
            self._confirm_stock(accepted, outcomes)
        results = []
        for item, out in zip(batch, outcomes):
            if out.errors:
                kind = next((k for _, k in out.errors if k != Kind.PERMANENT.value), Kind.PERMANENT.value)
                results.append(
                    WriteResult(
                        item.sku,
                        False,
                        frozen(out.applied),
                        error="; ".join(m for m, _ in out.errors),
                        error_kind=kind,
                    )
                )
            elif out.pending is not None:
                results.append(WriteResult(item.sku, False, frozen(out.applied), pending=out.pending))
            else:
                results.append(WriteResult.success(item.sku, out.applied))
        return results

    def _plan(
        self,
        index: int,
        item: WriteItem,
        ref: _Ref,
        out: _Outcome,
        products: list[_Entry],
        variants: list[_Entry],
        stock: list[_Entry],
    ) -> None:
        """Sort one item's fields into the three kinds of write (problems go to ``out``)."""
        product: dict[str, Any] = {}
        variant: dict[str, Any] = {}
        adjustments: list[dict[str, Any]] = []
        sent_product: dict[str, Any] = {}
        sent_variant: dict[str, Any] = {}
        sent_stock: dict[str, Any] = {}

        def problem(text: str) -> None:
            out.errors.append((text, Kind.PERMANENT.value))

        for key, value in item.values.items():
            kind = field_kind(key)
            if kind == QUANTITY:
                if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_STOCK:
                    problem(f"{key} must be an integer from 0 to {MAX_STOCK}, not {value!r}")
                    continue
                if ref.tracking == "none":
                    problem(
                        "inventory tracking is off for this product in BigCommerce, so it has no stock to "
                        "set; turn on inventory tracking (by product or by variant) in the control panel"
                    )
                    continue
                if ref.tracking == "product" and not ref.simple:
                    problem(
                        "this product tracks one stock for all its variants, not per variant SKU; set its "
                        "inventory tracking to 'by variant' in the control panel"
                    )
                    continue
                location = self._location_of(key, problem)
                if location is None:
                    continue
                ident: dict[str, Any] = (
                    {"product_id": ref.product_id}
                    if ref.tracking == "product"
                    else {"variant_id": ref.variant_id}
                )
                if ident.get("variant_id", 0) is None:
                    problem("the store did not say this SKU's variant id; re-read it")
                    continue
                adjustments.append({"location_id": location, **ident, "quantity": value})
                sent_stock[key] = value
            elif kind == PRICE:
                if not isinstance(value, Money):
                    problem(f"price must be money, not {value!r}")
                elif value.currency != self.currency():
                    problem(f"price is in {value.currency} but this store's currency is {self.currency()}")
                elif ref.simple:
                    product["price"] = value.amount
                    sent_product[key] = value
                elif ref.variant_id is not None:
                    variant["price"] = value.amount
                    sent_variant[key] = value
            elif kind in (TITLE, DESCRIPTION) and key == kind:
                if not isinstance(value, str):
                    problem(f"{key} must be text, not {value!r}")
                elif not ref.simple:
                    problem(
                        f"a BigCommerce variant has no {key} of its own (it shows its product's, shared by "
                        f"every variant of product {ref.product_id}); change it there or stop syncing "
                        f"'{key}' for this channel"
                    )
                elif key == TITLE and not 1 <= len(value) <= 250:
                    problem(f"BigCommerce product names are 1 to 250 characters; this one has {len(value)}")
                else:
                    product["name" if key == TITLE else "description"] = value
                    sent_product[key] = value
            else:
                problem(f"BigCommerce has no field {key!r}")
        if product:
            products.append(_Entry(index, item.sku, ref, [{"id": ref.product_id, **product}], sent_product))
        if variant:
            variants.append(_Entry(index, item.sku, ref, [{"id": ref.variant_id, **variant}], sent_variant))
        if adjustments:
            stock.append(_Entry(index, item.sku, ref, adjustments, sent_stock))

    def _location_of(self, key: str, problem: Any) -> int | None:
        where = field_location(key)
        if self.multi_location:
            if key not in self._stock_keys:
                problem(
                    f"{key!r} is not one of this channel's locations ({', '.join(sorted(self._stock_keys))})"
                )
                return None
            return self._stock_keys[key]
        if where:
            problem(
                f"{key!r} needs `locations` in this channel's config (without it omnisync writes the "
                "default location's stock as 'quantity')"
            )
            return None
        return self.default_location()

    # catalog batches -------------------------------------------------------------------------
    def _send_catalog(
        self, path: str, entries: list[_Entry], limit: int, outcomes: list[_Outcome], state: dict[str, bool]
    ) -> None:
        """Catalog batches of ``limit``; a refused batch is split in halves until only the SKUs the
        store refuses fail (at most one extra call per SKU of this write)."""
        budget = len(entries)
        queue: list[list[_Entry]] = [entries[i : i + limit] for i in range(0, len(entries), limit)]
        while queue:
            chunk = queue.pop(0)
            try:
                response = self.client.put(path, json=[o for e in chunk for o in e.objects])
                body = self.client.json(response)
            except ChannelError as exc:
                if _refused(exc):
                    if len(chunk) > 1 and budget > 0:
                        budget -= 1
                        half = len(chunk) // 2
                        queue[0:0] = [chunk[:half], chunk[half:]]
                        continue
                    _fail(chunk, outcomes, str(exc), exc.kind.value)
                    continue
                if not state["applied"]:
                    raise
                _fail(chunk, outcomes, str(exc), exc.kind.value)
                raise _Stop(exc) from None
            state["applied"] = True
            self._catalog_outcomes(path, chunk, body, response.status_code, outcomes)

    def _catalog_outcomes(
        self, path: str, chunk: Sequence[_Entry], body: Any, status: int, outcomes: list[_Outcome]
    ) -> None:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ResponseError(f"PUT {path}: the answer has no 'data' list", channel=self.name)
        echoed = {json_int(d.get("id")): d for d in data if isinstance(d, dict)}
        problems = _multi_status(body) if status == 207 else {}
        for e in chunk:
            e.done = True
            out = outcomes[e.index]
            oid = e.objects[0]["id"]
            echo = echoed.get(oid)
            if echo is None:
                message = problems.get(str(oid)) or problems.get("") or "the store did not report this item"
                out.errors.append((self.client.redactor(f"{message} (HTTP {status})"), Kind.PERMANENT.value))
                continue
            for key in e.keys:
                if key == PRICE:
                    money = self._money(echo.get("price"), e.sku)
                    if money is not None:
                        out.applied[key] = money
                elif key in (TITLE, DESCRIPTION):
                    text = echo.get("name" if key == TITLE else "description")
                    if isinstance(text, str):
                        out.applied[key] = text

    # stock -----------------------------------------------------------------------------------
    def _send_stock(
        self,
        entries: list[_Entry],
        outcomes: list[_Outcome],
        state: dict[str, bool],
        accepted: list[tuple[_Entry, str]],
    ) -> None:
        """Absolute adjustments of up to 2000 items, grouped by location; a refused request loses
        the items the store names and is sent again without them. The accepted entries go to
        ``accepted`` with their transaction ids."""
        entries = sorted(entries, key=lambda e: min(o["location_id"] for o in e.objects))
        chunks: list[list[_Entry]] = []
        size = 0
        for e in entries:  # a SKU's items stay in one request
            if not chunks or size + len(e.objects) > ADJUSTMENT_BATCH:
                chunks.append([])
                size = 0
            chunks[-1].append(e)
            size += len(e.objects)
        queue = list(chunks)
        while queue:
            chunk = queue.pop(0)
            items = sorted((o for e in chunk for o in e.objects), key=lambda o: o["location_id"])
            try:
                response = self.client.put(
                    "inventory/adjustments/absolute",
                    json={"reason": self.cfg.adjustment_reason, "items": items},
                )
                body = self.client.json(response)
            except ChannelError as exc:
                if _refused(exc):
                    named = _named_items(str(exc), chunk, exc.status)
                    for e in chunk if not named or len(named) == len(chunk) else named:
                        _fail([e], outcomes, named.get(e) or str(exc), exc.kind.value)
                    if named and len(named) < len(chunk):
                        queue.insert(0, [e for e in chunk if e not in named])
                    continue
                if not state["applied"]:
                    raise
                _fail(chunk, outcomes, str(exc), exc.kind.value)
                raise _Stop(exc) from None
            state["applied"] = True
            txid = body.get("transaction_id") if isinstance(body, dict) else None
            for e in chunk:
                e.done = True
                accepted.append((e, str(txid or "")))

    def _confirm_stock(self, accepted: list[tuple[_Entry, str]], outcomes: list[_Outcome]) -> None:
        """Read the adjusted items back: what the store shows is ``applied``; an adjustment not
        visible yet (BigCommerce processes them asynchronously) leaves the SKU pending."""
        location = None if self.multi_location else self.default_location()
        try:
            seen = self._inventory([e.ref for e, _ in accepted], [e.sku for e, _ in accepted], location)
        except ChannelError as exc:
            self.ctx.log(
                self.client.redactor(
                    f"{self.name}: reading back adjusted stock failed ({exc}); "
                    "those SKUs stay pending until the next run"
                )
            )
            seen = {}
        for e, txid in accepted:
            out = outcomes[e.index]
            at = _stock_of(seen, e.ref)
            late = False
            for key, value in e.keys.items():
                loc = self._stock_keys.get(key, location)
                shown = at.get(loc) if loc is not None else None
                if shown == value:
                    out.applied[key] = value
                else:
                    late = True
            if late:
                out.pending = f"inventory adjustment {txid}" if txid else "inventory adjustment"

    # -- the rest of the protocol ----------------------------------------------------------------
    def check(self) -> str:
        """One cheap authenticated read (the product count), then the locations stock goes to: the
        configured ``locations`` exist, or ``default_location_id`` is the store's default."""
        body, _ = self._get("catalog/products", [("limit", "1"), ("include_fields", "sku")])
        pagination = (
            (body.get("meta") or {}).get("pagination") if isinstance(body.get("meta"), dict) else None
        )
        total = json_int(pagination.get("total")) if isinstance(pagination, dict) else None
        count = f"{total} products" if total is not None else "products readable"
        line = f"BigCommerce store {self.cfg.store_hash}: {count}"
        if self.multi_location:
            self._check_locations()
            line += f", locations {', '.join(str(v) for v in self._stock_keys.values())}"
        else:
            self._verify_default_location()
            line += f", default location {self.cfg.default_location_id}"
        return line


# -- helpers ---------------------------------------------------------------------------------------
def _fail(entries: Iterable[_Entry], outcomes: list[_Outcome], message: str, kind: str) -> None:
    for e in entries:
        e.done = True
        outcomes[e.index].errors.append((message, kind))


def _stock_of(stock: Mapping[int, dict[int, int]], ref: _Ref) -> dict[int, int]:
    """An item's stock per location: by variant id, or by product id for items the Inventory API
    names by product only."""
    if ref.variant_id is not None and ref.variant_id in stock:
        return stock[ref.variant_id]
    return stock.get(-ref.product_id, {})


def _refused(exc: ChannelError) -> bool:
    """The store answered and refused the request's content (not auth, not a transient failure)."""
    return (
        exc.kind in (Kind.PERMANENT, Kind.NOT_FOUND)
        and exc.status is not None
        and 400 <= exc.status < 500
        and exc.status not in (401, 403)
    )


def _named_items(message: str, chunk: Sequence[_Entry], status: int | None) -> dict[_Entry, str]:
    """The entries a refusal names (``[Item with variant_id 106 is tracked by product ...]``), each
    with the part of the message about it."""
    by_ident: dict[tuple[str, int], _Entry] = {}
    for e in chunk:
        for o in e.objects:
            for k in ("product_id", "variant_id"):
                if isinstance(o.get(k), int):
                    by_ident[(k, o[k])] = e
    parts = re.findall(r"\[[^\[\]]*\]", message) or [message]
    out: dict[_Entry, str] = {}
    for part in parts:
        for k, v in _IDENTITY_IN_TEXT.findall(part):
            named = by_ident.get((k, int(v)))
            if named is not None and named not in out:
                out[named] = part.strip("[] ") + (f" (HTTP {status})" if status else "")
    return out


def _multi_status(body: Any) -> dict[str, str]:
    """A 207 answer's failures: item id (or "" for the summary) -> message."""
    errors = body.get("errors") if isinstance(body, dict) else None
    out: dict[str, str] = {}
    if not isinstance(errors, dict):
        return out
    title = errors.get("title")
    if isinstance(title, str) and title:
        out[""] = title
    detail = errors.get("errors")
    if isinstance(detail, dict):
        for k, v in detail.items():
            if isinstance(v, str):
                ids = re.findall(r"\d+", str(k))
                out[ids[0] if ids else str(k)] = v
    return out


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _filter_chunks(skus: Sequence[str]) -> Iterator[list[str]]:
    """SKUs for ``sku:in`` filters: at most SKU_CHUNK per request and FILTER_CHARS characters."""
    chunk: list[str] = []
    chars = 0
    for sku in skus:
        if chunk and (len(chunk) >= SKU_CHUNK or chars + len(sku) + 1 > FILTER_CHARS):
            yield chunk
            chunk, chars = [], 0
        chunk.append(sku)
        chars += len(sku) + 1
    if chunk:
        yield chunk


_: type[Channel] = BigCommerceChannel
