"""``type = "medusa"``: a self-hosted Medusa v2 store, through its Admin REST API.

Config (``[channels.NAME]``)::

    base_url = "https://api.shop.example.com"   # the Medusa server (where /admin and /auth live)
    api_key_env = "MEDUSA_API_KEY"               # a secret API key (sk_...) ...
    # email_env = "MEDUSA_EMAIL"                 # ... or an admin user's e-mail + password (JWT)
    # password_env = "MEDUSA_PASSWORD"
    # locations = { "sloc_01..." = ["warehouse"] }   # stock location id -> catalog locations

Mapping (a SKU is one product variant; omnisync updates variants that exist, it does not create
products):

* ``price`` is the variant's price in the channel's currency (``currency``, else the store's
  default currency) without price rules or quantity tiers, a decimal in major units both ways,
  exact (sent as a JSON number written digit for digit, read as ``Decimal``; never a float).
  Medusa replaces a variant's whole price set with the list it is sent, so omnisync sends every
  price the variant has (ids, rules and all), with only its own currency's amount changed.
* ``quantity`` is what the store can sell at a stock location: ``stocked_quantity -
  reserved_quantity`` (reserved = ordered, not shipped yet) of the variant's inventory item;
  omnisync writes ``stocked_quantity = quantity + reserved``. With ``locations`` each listed stock
  location is ``quantity@<stock location id>``; without it the store's only stock location is plain
  ``quantity`` (a store with several needs ``locations``). Variants that do not manage inventory,
  or are kits of several inventory items, report no quantity and refuse stock writes.
* ``description`` is the product's description (shared by its variants).
* ``title``: for a product with one variant, the product's title; for a product with several
  variants, the variant's own title (e.g. "Black / M"), leaving the product's title alone.

Writes, per batch: product titles and descriptions in one ``POST /admin/products/batch`` (never
with a ``variants`` list: Medusa deletes every variant such a list leaves out), then prices and
variant titles with one ``POST /admin/products/{id}/variants/batch`` per product, then stock for
every SKU in one ``POST /admin/inventory-items/location-levels/batch``. Medusa applies each call
all-or-nothing; a refused one is split in halves (recursively) so only the SKUs it cannot take fail.
A SKU whose product update failed is not written further, so a SKU never ends half-written with its
stock changed. Afterwards omnisync reads the SKUs back: ``applied`` is what Medusa holds then (a
200 that changed nothing shows up as a failure), and stock is what the stock call answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeVar

import httpx
from pydantic import Field, model_validator

from ..errors import AuthError, ChannelError, Kind, PermanentError, ResponseError
from ..http import BasicAuth, OmnisyncAuth, SessionLoginAuth
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
from .base import (
    Capabilities,
    Channel,
    ChannelConfig,
    Route,
    ShopChannel,
    ValueChecks,
    description_conflicts,
    key_or_login,
    no_variant,
    sku_chunks,
)

PAGE_SIZE = 200  # variants per page (Medusa does not cap `limit`; this keeps answers small)
SKU_CHUNK = 100  # SKUs per `?sku=` filter, keeping URLs short
MAX_BATCH = 1000

LEVEL = "inventory_items.inventory.location_levels"
VARIANT_FIELDS = ",".join(
    [
        "id",
        "sku",
        "title",
        "product_id",
        "manage_inventory",
        "*prices",
        "inventory_items.inventory_item_id",
        "inventory_items.required_quantity",
        f"{LEVEL}.id",
        f"{LEVEL}.location_id",
        f"{LEVEL}.stocked_quantity",
        f"{LEVEL}.reserved_quantity",
    ]
)
PRODUCT_FIELDS = "id,title,description,variants.id"

# Medusa answers these for a request it refused as a whole (nothing applied): split and retry.
REFUSED = (Kind.PERMANENT, Kind.NOT_FOUND, Kind.CONFLICT)

T = TypeVar("T")

CHECKS = ValueChecks.of_variants("this channel", "a single stock location")


class MedusaConfig(ChannelConfig):
    """``[channels.NAME]`` keys of a Medusa store."""

    type: Literal["medusa"] = "medusa"
    api_key_env: str | None = Field(default=None, min_length=1)
    email_env: str | None = Field(default=None, min_length=1)
    password_env: str | None = Field(default=None, min_length=1)
    max_write_batch: int = Field(default=100, ge=1, le=MAX_BATCH)

    @model_validator(mode="after")
    def _auth_and_url(self) -> MedusaConfig:
        key_or_login(
            self,
            "email_env",
            server="the Medusa server, e.g. https://api.shop.example.com",
            missing="set api_key_env (a secret API key), or email_env and password_env",
        )
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        return self


# max_write_batch: the config's (``max_write_batch``, 100 by default)
CAPABILITIES = Capabilities(
    fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
    read_page_size=PAGE_SIZE,
    max_write_batch=100,
    compare_and_set=False,  # location levels take absolute quantities, no expected value
    changed_since=False,  # a reservation or shipment does not move the variant's updated_at
    create=False,  # omnisync updates existing variants; products are made in Medusa
    multi_location=True,
    idempotency_keys=False,
)


class MedusaLogin(SessionLoginAuth):
    """An admin user's JWT: ``POST /auth/user/emailpass`` once, ``Authorization: Bearer`` after;
    a 401 later (the token expired) logs in again once and resends once."""

    def __init__(self, login_url: str, email: str, password: str) -> None:
        super().__init__(secrets=[password])
        self.login_url = login_url
        self.email = email
        self.password = password

    def login_request(self, request: httpx.Request) -> httpx.Request:
        return self.json_post(self.login_url, {"email": self.email, "password": self.password})

    def session_token(self, response: httpx.Response) -> str:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {}
        if response.status_code != 200:
            message = body.get("message") if isinstance(body, dict) else None
            raise AuthError(
                f"login failed: {message or 'Medusa refused the e-mail and password'}",
                status=response.status_code,
            )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ResponseError("login failed: Medusa's answer has no token")
        return token


@dataclass
class _Shop:
    currency: str  # ISO code, upper case (omnisync's); Medusa's is lower case
    locations: dict[str, str]  # stock location id -> name
    stock_keys: dict[str, str]  # field key -> stock location id
    stock_note: str | None = None  # why the store has no stock field


@dataclass
class _Ref:
    """Where a SKU lives in Medusa, as last read."""

    variant_id: str
    product_id: str
    single: bool
    prices: list[dict[str, Any]] = field(default_factory=list)  # the variant's whole price set
    inventory_item_id: str | None = None
    levels: dict[str, int] = field(default_factory=dict)  # location id -> reserved (level exists)
    stock_problem: str | None = None


@dataclass
class _Pending:
    item: WriteItem
    ref: _Ref
    product: dict[str, Any] = field(default_factory=dict)
    variant: dict[str, Any] = field(default_factory=dict)
    levels: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # ("create"|"update", level)
    error: str | None = None
    kind: str = Kind.PERMANENT.value
    stock: dict[str, int] = field(default_factory=dict)  # field key -> quantity Medusa answered


class MedusaChannel(ShopChannel[MedusaConfig, _Ref, _Shop]):
    """The Medusa v2 adapter. See the module docstring for the mapping."""

    Config = MedusaConfig
    capabilities = CAPABILITIES
    write_routes: ClassVar[Mapping[str, Route]] = {
        QUANTITY: ("stock", "sku"),
        PRICE: ("variants", "product"),
        TITLE: ("products", "product"),
        DESCRIPTION: ("products", "product"),
    }

    # -- transport -----------------------------------------------------------------------------
    def make_auth(self) -> OmnisyncAuth:
        if self.cfg.api_key_env:
            return BasicAuth(self.secret("api_key_env"), "")
        login_url = f"{self.cfg.base_url}/auth/user/emailpass"
        return MedusaLogin(login_url, self.secret("email_env"), self.secret("password_env"))

    def _get(self, path: str, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
        data, _ = self.client.get_json(path, params=list(params))
        return self.object_answer("GET", path, data)

    def _post(self, path: str, body: Mapping[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        response = self.client.post(path, json=dict(body), idempotent=idempotent)
        return self.object_answer("POST", path, self.client.json(response))

    # -- the store -----------------------------------------------------------------------------
    def load_shop(self) -> _Shop:
        stores = self._get("admin/stores", [("fields", "id,name,supported_currencies.*")]).get("stores")
        if not isinstance(stores, list) or not stores or not isinstance(stores[0], dict):
            raise ResponseError("Medusa did not describe its store", channel=self.name)
        supported = [c for c in stores[0].get("supported_currencies") or [] if isinstance(c, dict)]
        codes = {str(c.get("currency_code", "")).upper() for c in supported}
        default = next(
            (str(c.get("currency_code", "")).upper() for c in supported if c.get("is_default")), None
        )
        currency = self.cfg.currency or default
        if not currency:
            raise PermanentError(
                "the store has no default currency; set currency in channels.toml", channel=self.name
            )
        if currency not in codes:
            raise PermanentError(
                f"the store does not support {currency} (it has "
                f"{', '.join(sorted(codes)) or 'none'}); add it in Medusa or "
                "change currency in channels.toml",
                channel=self.name,
            )
        got = self._get("admin/stock-locations", [("fields", "id,name"), ("limit", "1000")])
        locations = {
            str(loc["id"]): str(loc.get("name", ""))
            for loc in got.get("stock_locations") or []
            if isinstance(loc, dict) and loc.get("id")
        }
        have = ", ".join(f"{k} ({v})" for k, v in locations.items()) or "none"
        note = None
        if self.cfg.locations:
            unknown = [loc for loc in self.cfg.locations if loc not in locations]
            if unknown:
                raise PermanentError(
                    f"locations names stock location(s) {', '.join(unknown)}, which "
                    f"this store does not have (it has: {have})",
                    channel=self.name,
                )
            keys = {quantity_key(loc): loc for loc in self.cfg.locations}
        elif len(locations) == 1:
            keys = {QUANTITY: next(iter(locations))}
        elif not locations:
            keys, note = {}, "the store has no stock location; create one in Medusa"
        else:
            raise PermanentError(
                f"the store has {len(locations)} stock locations ({have}): say "
                "which catalog locations feed each with `locations` in "
                "channels.toml",
                channel=self.name,
            )
        return _Shop(currency, locations, keys, note)

    # -- reading -------------------------------------------------------------------------------
    def _variant_pages(self, skus: Sequence[str] | None) -> Iterator[list[dict[str, Any]]]:
        for chunk in sku_chunks(skus, SKU_CHUNK):
            offset = 0
            while True:
                params = [
                    ("fields", VARIANT_FIELDS),
                    ("limit", str(PAGE_SIZE)),
                    ("offset", str(offset)),
                    ("order", "id"),
                ]
                if chunk is not None:
                    params += [("sku", s) for s in chunk]
                page = self._get("admin/product-variants", params)
                items = page.get("variants")
                if not isinstance(items, list):
                    raise ResponseError("Medusa's variant list has no variants", channel=self.name)
                yield [v for v in items if isinstance(v, dict)]
                offset += len(items)
                count = page.get("count")
                if not items or not isinstance(count, int) or offset >= count:
                    break

    def _products(self, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        ordered = sorted(ids)
        for i in range(0, len(ordered), SKU_CHUNK):
            part = ordered[i : i + SKU_CHUNK]
            got = self._get(
                "admin/products",
                [("fields", PRODUCT_FIELDS), ("limit", str(len(part)))] + [("id", pid) for pid in part],
            )
            for p in got.get("products") or []:
                if isinstance(p, dict) and p.get("id"):
                    out[str(p["id"])] = p
        return out

    def _fetch(self, skus: Sequence[str] | None) -> dict[str, tuple[_Ref, dict[str, Value]]]:
        shop = self.shop()
        out: dict[str, tuple[_Ref, dict[str, Value]]] = {}
        for page in self._variant_pages(skus):
            products = self._products({str(v.get("product_id")) for v in page if v.get("product_id")})
            for v in page:
                sku = v.get("sku")
                if isinstance(sku, str) and sku:
                    out[sku] = self._decode(v, products.get(str(v.get("product_id"))) or {}, shop)
        return out

    def read_skus(self, skus: list[str] | None) -> Iterator[RemoteListing]:
        """Every variant with a SKU (or only ``skus``)."""
        found = self._fetch(skus)
        for sku in sorted(found):
            ref, values = found[sku]
            self._refs[sku] = ref
            yield RemoteListing(
                sku,
                frozen(values),
                remote_id=ref.variant_id,
                extra=frozen(
                    {"variant_id": ref.variant_id, "product_id": ref.product_id, "single": ref.single}
                ),
            )

    def _decode(
        self, v: Mapping[str, Any], product: Mapping[str, Any], shop: _Shop
    ) -> tuple[_Ref, dict[str, Value]]:
        sku = str(v.get("sku"))
        variants = product.get("variants")
        single = isinstance(variants, list) and len(variants) == 1
        prices = [dict(p) for p in v.get("prices") or [] if isinstance(p, dict)]
        ref = _Ref(str(v.get("id")), str(v.get("product_id")), single, prices=prices)
        values: dict[str, Value] = {}
        links = [i for i in v.get("inventory_items") or [] if isinstance(i, dict)]
        if not v.get("manage_inventory"):
            ref.stock_problem = "the variant does not manage inventory in Medusa (manage_inventory is off)"
        elif len(links) != 1 or links[0].get("required_quantity") not in (1, None):
            ref.stock_problem = (
                "the variant is a kit of several inventory items; omnisync leaves its stock alone"
            )
        elif shop.stock_note:
            ref.stock_problem = shop.stock_note
        else:
            ref.inventory_item_id = str(links[0].get("inventory_item_id"))
            levels: dict[str, tuple[int, int]] = {}
            for lv in (links[0].get("inventory") or {}).get("location_levels") or []:
                try:
                    levels[str(lv["location_id"])] = (
                        int(lv["stocked_quantity"]),
                        int(lv["reserved_quantity"]),
                    )
                except (KeyError, TypeError, ValueError):
                    raise ResponseError(
                        f"Medusa sent a malformed stock level for {sku}", channel=self.name
                    ) from None
            ref.levels = {loc: reserved for loc, (_, reserved) in levels.items()}
            for key, loc in shop.stock_keys.items():
                stocked, reserved = levels.get(loc, (0, 0))
                values[key] = stocked - reserved
        price = self._base_price(prices, shop.currency)
        if price is not None:
            try:
                values[PRICE] = Money.parse(_decimal(price.get("amount")), shop.currency)
            except (MoneyError, TypeError, ValueError) as exc:
                self.ctx.log(f"{self.name}: price of {sku} not understood: {exc}")
        title = product.get("title") if single else v.get("title")
        if isinstance(title, str):
            values[TITLE] = title
        description = product.get("description")
        values[DESCRIPTION] = description if isinstance(description, str) else ""
        return ref, values

    @staticmethod
    def _base_price(prices: Sequence[Mapping[str, Any]], currency: str) -> Mapping[str, Any] | None:
        """The variant's plain price in ``currency``: no price rules, no quantity tiers."""
        for p in prices:
            if (
                str(p.get("currency_code", "")).upper() == currency
                and not p.get("rules")
                and p.get("min_quantity") is None
                and p.get("max_quantity") is None
            ):
                return p
        return None

    # -- writing -------------------------------------------------------------------------------
    # A write() call sends one product batch (titles of single-variant products, descriptions),
    # one variant batch per product (prices, variant titles) and one stock batch, each of at most
    # ``max_write_batch``: write_batches groups the writes so that each goes out as full as it may.
    def routes_for(self, ref: _Ref | None) -> Mapping[str, Route]:
        if ref is not None and not ref.single:
            return {**self.write_routes, TITLE: ("variants", "product")}
        return self.write_routes

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        limit = self.capabilities.max_write_batch
        shop = self.shop()
        self._resolve(batch)
        results: dict[str, WriteResult] = {}
        pending: list[_Pending] = []
        for item in batch:
            if item.sku in results or any(p.item.sku == item.sku for p in pending):
                results[item.sku] = WriteResult.failure(item.sku, "the SKU is twice in one batch")
                continue
            ref = self._refs.get(item.sku)
            if ref is None:
                results[item.sku] = no_variant(item.sku, "in the Medusa store", "Medusa")
                continue
            p = self._prepare(item, ref, shop)
            if p.error is not None:
                results[item.sku] = WriteResult.failure(item.sku, p.error, p.kind)
            else:
                pending.append(p)
        _check_shared_products(pending)

        # each kind of request carries at most max_write_batch SKUs (the engine's batches fit)
        products = [p for p in pending if p.error is None and p.product]
        for start in range(0, len(products), limit):
            self._write_products(products[start : start + limit])
        by_product: dict[str, list[_Pending]] = {}
        for p in pending:
            if p.error is None and p.variant:
                by_product.setdefault(p.ref.product_id, []).append(p)
        for pid, group in by_product.items():
            for start in range(0, len(group), limit):
                self._write_variants(pid, group[start : start + limit])
        stock = [p for p in pending if p.error is None and p.levels]
        for start in range(0, len(stock), limit):
            self._write_stock(stock[start : start + limit])

        # read back what Medusa holds now: a 200 that changed nothing must not pass as applied
        done = [p for p in pending if p.error is None]
        now = self._fetch([p.item.sku for p in done]) if done else {}
        for p in pending:
            sku = p.item.sku
            if p.error is not None:
                results[sku] = WriteResult.failure(sku, p.error, p.kind)
                continue
            if sku not in now:
                results[sku] = WriteResult.failure(
                    sku, "the variant is gone from Medusa after the write", Kind.NOT_FOUND.value
                )
                continue
            ref, values = now[sku]
            self._refs[sku] = ref
            values.update(p.stock)
            results[sku] = WriteResult.success(sku, {k: values[k] for k in p.item.values if k in values})
        return [results.get(it.sku) or WriteResult.failure(it.sku, "not written") for it in batch]

    def _prepare(self, item: WriteItem, ref: _Ref, shop: _Shop) -> _Pending:
        p = _Pending(item, ref)
        for key, value in item.values.items():
            kind = field_kind(key)
            problem = f"{key}: {ref.stock_problem}" if kind == QUANTITY and ref.stock_problem else None
            problem = problem or CHECKS.problem(key, value, shop.currency, shop.stock_keys)
            if problem is not None:
                p.error = problem
                return p
            if kind == QUANTITY:
                assert isinstance(value, int)
                loc = shop.stock_keys[key]
                level = {"inventory_item_id": ref.inventory_item_id, "location_id": loc}
                if loc in ref.levels:
                    p.levels.append(("update", {**level, "stocked_quantity": value + ref.levels[loc]}))
                else:
                    p.levels.append(("create", {**level, "stocked_quantity": value}))
            elif kind == PRICE:
                assert isinstance(value, Money)
                p.variant["prices"] = _price_set(ref.prices, shop.currency, value.amount)
            elif kind == TITLE:
                if not isinstance(value, str) or not value.strip():
                    p.error = "title: Medusa needs a non-empty title"
                    return p
                if ref.single:
                    p.product["title"] = value
                else:
                    p.variant["title"] = value
            elif kind == DESCRIPTION:
                if not isinstance(value, str):
                    p.error = f"description: {value!r} is not text"
                    return p
                p.product["description"] = value
            else:
                p.error = f"cannot write {key}"
                return p
        return p

    def _write_products(self, pending: Sequence[_Pending]) -> None:
        merged: dict[str, dict[str, Any]] = {}
        owners: dict[str, list[_Pending]] = {}
        for p in pending:
            merged.setdefault(p.ref.product_id, {}).update(p.product)
            owners.setdefault(p.ref.product_id, []).append(p)
        ids = list(merged)
        if not ids:
            return
        updates = [{"id": pid, **merged[pid]} for pid in ids]
        for u in updates:
            # Never a `variants` key here: Medusa would delete every variant the list leaves out.
            assert "variants" not in u, "refusing to send a variants list to /admin/products/batch"
        failed = self._bisect(updates, lambda part: self._post("admin/products/batch", {"update": part}))
        for i, message in failed.items():
            for p in owners[ids[i]]:
                p.error = f"Medusa refused the product update: {message}"

    def _write_variants(self, product_id: str, group: Sequence[_Pending]) -> None:
        updates = [{"id": p.ref.variant_id, **p.variant} for p in group]
        failed = self._bisect(
            updates, lambda part: self._post(f"admin/products/{product_id}/variants/batch", {"update": part})
        )
        for i, message in failed.items():
            group[i].error = f"Medusa refused the variant update: {message}"

    def _write_stock(self, pending: Sequence[_Pending]) -> None:
        answers: list[dict[str, Any]] = []

        def send(part: list[_Pending]) -> None:
            body: dict[str, list[dict[str, Any]]] = {"create": [], "update": []}
            for p in part:
                for op, level in p.levels:
                    body[op].append(level)
            # a level created twice fails the second time: only pure updates are safe to resend
            data = self._post(
                "admin/inventory-items/location-levels/batch", body, idempotent=not body["create"]
            )
            for key in ("created", "updated"):
                answers.extend(lv for lv in data.get(key) or [] if isinstance(lv, dict))

        failed = self._bisect(list(pending), send)
        for i, message in failed.items():
            pending[i].error = f"Medusa refused the stock update: {message}"
        got: dict[tuple[str, str], int] = {}
        for lv in answers:
            try:
                got[(str(lv["inventory_item_id"]), str(lv["location_id"]))] = int(
                    lv["stocked_quantity"]
                ) - int(lv.get("reserved_quantity") or 0)
            except (KeyError, TypeError, ValueError):
                raise ResponseError(
                    "Medusa answered the stock update with a malformed level", channel=self.name
                ) from None
        stock_keys = self.shop().stock_keys
        for p in pending:
            if p.error is None:
                for key, loc in stock_keys.items():
                    q = got.get((str(p.ref.inventory_item_id), loc))
                    if q is not None and key in p.item.values:
                        p.stock[key] = q

    def _bisect(self, units: list[T], send: Callable[[list[T]], Any]) -> dict[int, str]:
        """Send ``units`` in one call; when Medusa refuses it (nothing applied), send each half
        again, down to single units. Returns index -> Medusa's reason for the units it refused."""

        def refusal(exc: Exception) -> str | None:
            if not isinstance(exc, ChannelError) or exc.kind not in REFUSED or isinstance(exc, ResponseError):
                return None
            return _reason(exc, self.name)

        return self.split_refused(units, lambda _, part: send(part), refusal, "Medusa", "what it cannot take")

    # -- the rest ------------------------------------------------------------------------------
    def check(self) -> str:
        shop = self.fresh_shop()
        where = ", ".join(f"{k} = {v} ({shop.locations.get(v, '?')})" for k, v in shop.stock_keys.items())
        return (
            f"Medusa {self.cfg.base_url}: sells in {shop.currency}; {where or shop.stock_note or 'no stock'}"
        )


def _check_shared_products(pending: Sequence[_Pending]) -> None:
    """Variants of one product share its description: refuse contradicting SKUs of a batch."""
    wants = [
        (p.ref.product_id, p.item.sku, p.product["description"])
        for p in pending
        if p.error is None and "description" in p.product
    ]
    conflicts = description_conflicts(wants, "Medusa")
    for p in pending:
        p.error = conflicts.get(p.item.sku, p.error)


def _price_set(prices: Sequence[Mapping[str, Any]], currency: str, amount: Decimal) -> list[dict[str, Any]]:
    """The variant's whole price set with the plain ``currency`` price set to ``amount``.

    Medusa replaces the set with what it is sent, so every other price goes along unchanged."""
    out: list[dict[str, Any]] = []
    replaced = False
    for p in prices:
        entry: dict[str, Any] = {"currency_code": p.get("currency_code"), "amount": _decimal(p.get("amount"))}
        if p.get("id"):
            entry["id"] = p["id"]
        for k in ("min_quantity", "max_quantity"):
            if p.get(k) is not None:
                entry[k] = p[k]
        if p.get("rules"):
            entry["rules"] = p["rules"]
        plain = (
            str(p.get("currency_code", "")).upper() == currency
            and not p.get("rules")
            and p.get("min_quantity") is None
            and p.get("max_quantity") is None
        )
        if plain and not replaced:
            entry["amount"] = amount
            replaced = True
        out.append(entry)
    if not replaced:
        out.append({"currency_code": currency.lower(), "amount": amount})
    return out


def _decimal(value: Any) -> Decimal:
    """An amount from Medusa (a JSON number read as Decimal/int, or a numeric string)."""
    if isinstance(value, (bool, float)):
        raise TypeError("an amount must not be a float")
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value.strip())
    raise TypeError(f"{value!r} is not an amount")


def _reason(exc: ChannelError, channel: str) -> str:
    text = str(exc)
    return text[len(channel) + 2 :] if text.startswith(f"{channel}: ") else text


_: type[Channel] = MedusaChannel
