"""``type = "vendure"``: a self-hosted Vendure 2/3 store, through its Admin GraphQL API.

Config (``[channels.NAME]``)::

    base_url = "https://shop.example.com"   # the server; the Admin API is base_url + "/admin-api"
    username_env = "VENDURE_USER"            # a Vendure administrator (bearer-token login) ...
    password_env = "VENDURE_PASSWORD"
    # api_key_env = "VENDURE_API_KEY"        # ... or an API key (Vendure >= 3.6), instead of both
    # locations = { "1" = ["warehouse"], "2" = ["store"] }   # stock location id -> catalog locations

Mapping (a SKU is one product variant; omnisync updates variants that exist, it does not create
products):

* ``price`` is the variant's ``price`` in the channel's default currency, integer minor units both
  ways (never a float: Vendure silently rounds one). When the channel's prices include tax, the
  price omnisync keeps true is the gross ``priceWithTax`` (what Vendure stores as entered).
* ``quantity`` is what the store can sell: ``stockOnHand - stockAllocated`` at a stock location
  (allocated = ordered, not shipped yet). omnisync writes ``stockOnHand = quantity + allocated``,
  so units promised to open orders stay promised. Without ``locations`` it is the channel's default
  (first) stock location as plain ``quantity``; with ``locations`` each listed stock location is
  ``quantity@<stock location id>`` (other locations are left alone).
* ``description`` is the product's description (shared by its variants; keep it equal for the
  SKUs of one group in the catalog).
* ``title``: for a product with one variant, the product's name (written to the product and to its
  variant, so orders show it too); for a product with several variants, the variant's own name
  (e.g. "Organic tee - Black M"), leaving the product's name alone.

Writes: product names and descriptions first (one ``updateProducts``), then the price, stock and
variant names of every variant in the batch in ONE ``updateProductVariants``. Vendure applies each
mutation all-or-nothing, so a rejected one is split in halves (recursively) until the SKU(s) it
cannot take are found; those fail with Vendure's message while the rest is applied. A SKU used by
several variants (Vendure allows it) is refused with an error that names them; nothing is written
for it. ``applied`` values come from the mutations' answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from ..errors import AuthError, Kind, PermanentError, ResponseError
from ..http import HeaderAuth, OmnisyncAuth, SessionLoginAuth
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
from ..money import Money, MoneyError
from .base import (
    Capabilities,
    Channel,
    ChannelConfig,
    ShopChannel,
    ValueChecks,
    description_conflicts,
    key_or_login,
    no_variant,
    sku_chunks,
)

PAGE_SIZE = 1000  # Vendure's adminListQueryLimit: take above it is refused
SKU_CHUNK = 500  # SKUs per `sku: {in: [...]}` filter
MAX_BATCH = 1000

CHECKS = ValueChecks.of_variants("this Vendure channel", "the default stock location")

LOGIN = """mutation OmnisyncLogin($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    __typename
    ... on CurrentUser { id identifier }
    ... on ErrorResult { errorCode message }
  }
}"""

CHANNEL = """query OmnisyncChannel {
  activeChannel { id code defaultCurrencyCode defaultLanguageCode pricesIncludeTax }
  stockLocations(options: { take: 1000, sort: { createdAt: ASC } }) { items { id name } }
}"""

VARIANT_FIELDS = """id sku name price priceWithTax currencyCode
      stockLevels { stockLocationId stockOnHand stockAllocated }
      product { id name description variantList(options: { take: 1 }) { totalItems } }"""

VARIANTS = """query OmnisyncVariants($options: ProductVariantListOptions) {
  productVariants(options: $options) {
    totalItems
    items { FIELDS }
  }
}""".replace("FIELDS", VARIANT_FIELDS)

UPDATE_VARIANTS = """mutation OmnisyncUpdateVariants($input: [UpdateProductVariantInput!]!) {
  updateProductVariants(input: $input) { FIELDS }
}""".replace("FIELDS", VARIANT_FIELDS)

UPDATE_PRODUCTS = """mutation OmnisyncUpdateProducts($input: [UpdateProductInput!]!) {
  updateProducts(input: $input) { id name description }
}"""


class VendureConfig(ChannelConfig):
    """``[channels.NAME]`` keys of a Vendure store."""

    type: Literal["vendure"] = "vendure"
    username_env: str | None = Field(default=None, min_length=1)
    password_env: str | None = Field(default=None, min_length=1)
    api_key_env: str | None = Field(default=None, min_length=1)
    api_path: str = "admin-api"  # apiOptions.adminApiPath of the server
    language_code: str | None = Field(default=None, pattern=r"^[a-z]{2}(_[A-Z]{2})?$")
    # Vendure's MoneyStrategy precision: its integers are amount x 10^precision in every currency
    # (2 by default, also for JPY); omnisync converts exactly and refuses what does not fit
    money_precision: int = Field(default=2, ge=0, le=6)
    max_write_batch: int = Field(default=250, ge=1, le=MAX_BATCH)

    @model_validator(mode="after")
    def _auth_and_url(self) -> VendureConfig:
        key_or_login(
            self,
            "username_env",
            server="the Vendure server, e.g. https://shop.example.com",
            missing="set api_key_env, or username_env and password_env (an administrator)",
        )
        return self


# max_write_batch: the config's (``max_write_batch``, 250 by default)
CAPABILITIES = Capabilities(
    fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
    read_page_size=PAGE_SIZE,
    max_write_batch=250,
    compare_and_set=False,  # updateProductVariants sets absolute levels, no expected value
    changed_since=False,  # a sale moves stock without touching the variant's updatedAt
    create=False,  # omnisync updates existing variants; products are made in Vendure
    multi_location=True,
    idempotency_keys=False,
)


class VendureLogin(SessionLoginAuth):
    """Vendure's bearer-token session: the ``login`` mutation (sent to the Admin API address), then
    ``Authorization: Bearer`` with the token Vendure returns in its ``vendure-auth-token`` header."""

    def __init__(self, username: str, password: str) -> None:
        super().__init__(secrets=[password])
        self.username = username
        self.password = password

    def login_request(self, request: httpx.Request) -> httpx.Request:
        variables = {"username": self.username, "password": self.password}
        return self.json_post(request.url.copy_with(query=None), {"query": LOGIN, "variables": variables})

    def session_token(self, response: httpx.Response) -> str:
        if response.status_code != 200:
            raise AuthError(
                "login failed: Vendure answered the login mutation with an error", status=response.status_code
            )
        try:
            result = json.loads(response.content)["data"]["login"]
        except (ValueError, KeyError, TypeError):
            raise ResponseError("login failed: Vendure's answer is not a login result") from None
        if not isinstance(result, dict) or result.get("__typename") != "CurrentUser":
            message = result.get("message") if isinstance(result, dict) else None
            raise AuthError(f"login failed: {message or 'Vendure refused the credentials'}")
        token = response.headers.get("vendure-auth-token")
        if not token:
            raise AuthError(
                "login worked but Vendure sent no vendure-auth-token header: add "
                "'bearer' to authOptions.tokenMethod in the server's config"
            )
        return str(token)


class Rejected(Exception):
    """Vendure refused a mutation (GraphQL errors): nothing of it was applied."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Shop:
    currency: str
    language: str
    prices_include_tax: bool
    default_location: str | None
    locations: dict[str, str]  # id -> name


@dataclass
class _Ref:
    """Where a SKU lives in Vendure, as last read."""

    variant_id: str
    product_id: str
    single: bool  # the product has one variant
    allocated: dict[str, int] = field(default_factory=dict)  # stock location id -> allocated
    duplicates: tuple[str, ...] = ()  # every variant id with this SKU, when more than one


@dataclass
class _Pending:
    item: WriteItem
    ref: _Ref
    variant: dict[str, Any] | None = None
    product: dict[str, Any] | None = None  # {"name"?, "description"?}
    error: str | None = None
    kind: str = Kind.PERMANENT.value


class VendureChannel(ShopChannel[VendureConfig, _Ref, _Shop]):
    """The Vendure adapter. See the module docstring for the mapping."""

    Config = VendureConfig
    capabilities = CAPABILITIES

    # -- transport -----------------------------------------------------------------------------
    def make_auth(self) -> OmnisyncAuth:
        if self.cfg.api_key_env:
            return HeaderAuth("vendure-api-key", self.secret("api_key_env"))
        return VendureLogin(self.secret("username_env"), self.secret("password_env"))

    def _gql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL operation. Refused credentials raise AuthError; other GraphQL errors
        raise :class:`Rejected` (Vendure applied nothing of that operation)."""
        params = {"languageCode": self.cfg.language_code} if self.cfg.language_code else None
        response = self.client.post(
            self.cfg.api_path.strip("/"),
            params=params,
            json={"query": query, "variables": dict(variables or {})},
            idempotent=True,  # absolute values: safe to send again
            count_as="writes" if query.lstrip().startswith("mutation") else "reads",
        )
        body = self.client.json(response)
        if not isinstance(body, dict):
            raise ResponseError("Vendure's answer is not a GraphQL response", channel=self.name)
        errors = body.get("errors")
        if errors:
            if not isinstance(errors, list):
                errors = [errors]
            codes = {str((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, dict)}
            message = "; ".join(
                str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors[:5]
            )
            if "FORBIDDEN" in codes:
                raise AuthError(
                    "Vendure refused the request: the administrator or API key lacks "
                    f"permission, or the session ended ({message})",
                    channel=self.name,
                )
            raise Rejected(message)
        data = body.get("data")
        if not isinstance(data, dict):
            raise ResponseError("Vendure's answer has no data", channel=self.name)
        return data

    def _query(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        try:
            return self._gql(query, variables)
        except Rejected as exc:
            raise PermanentError(f"Vendure refused a query: {exc.message}", channel=self.name) from None

    # -- the store -----------------------------------------------------------------------------
    def load_shop(self) -> _Shop:
        data = self._query(CHANNEL)
        ch = data.get("activeChannel") or {}
        items = (data.get("stockLocations") or {}).get("items") or []
        locations = {str(i["id"]): str(i.get("name", "")) for i in items if isinstance(i, dict)}
        currency = str(ch.get("defaultCurrencyCode") or "")
        if not currency:
            raise ResponseError("Vendure did not say the channel's currency", channel=self.name)
        if self.cfg.currency and self.cfg.currency != currency:
            raise PermanentError(
                f"currency is {self.cfg.currency} in channels.toml, but this "
                f"Vendure channel ({ch.get('code')}) sells in {currency}",
                channel=self.name,
            )
        if self.cfg.locations:
            unknown = [loc for loc in self.cfg.locations if loc not in locations]
            if unknown:
                have = ", ".join(f"{k} ({v})" for k, v in locations.items()) or "none"
                raise PermanentError(
                    f"locations names stock location id(s) {', '.join(unknown)}, which this "
                    f"Vendure channel does not have (it has: {have})",
                    channel=self.name,
                )
        return _Shop(
            currency=currency,
            language=self.cfg.language_code or str(ch.get("defaultLanguageCode") or "en"),
            prices_include_tax=bool(ch.get("pricesIncludeTax")),
            default_location=next(iter(locations), None),
            locations=locations,
        )

    def _to_vendure(self, money: Money) -> int:
        """Money -> Vendure's integer (amount x 10^money_precision), exactly."""
        return int(money.amount.scaleb(self.cfg.money_precision))

    def _from_vendure(self, value: int, currency: str) -> Money:
        return Money.parse(Decimal(value).scaleb(-self.cfg.money_precision), currency)

    def _stock_keys(self) -> dict[str, str]:
        """field key -> Vendure stock location id."""
        shop = self.shop()
        if self.cfg.locations:
            return {quantity_key(loc): loc for loc in self.cfg.locations}
        if shop.default_location is None:
            return {}
        return {QUANTITY: shop.default_location}

    # -- reading -------------------------------------------------------------------------------
    def _variants(self, skus: Sequence[str] | None) -> Iterator[dict[str, Any]]:
        for chunk in sku_chunks(skus, SKU_CHUNK):
            skip = 0
            while True:
                options: dict[str, Any] = {"skip": skip, "take": PAGE_SIZE, "sort": {"id": "ASC"}}
                if chunk is not None:
                    options["filter"] = {"sku": {"in": chunk}}
                page = self._query(VARIANTS, {"options": options}).get("productVariants") or {}
                items = page.get("items")
                if not isinstance(items, list):
                    raise ResponseError("Vendure's variant list has no items", channel=self.name)
                for v in items:
                    if isinstance(v, dict):
                        yield v
                skip += len(items)
                total = page.get("totalItems")
                if not items or not isinstance(total, int) or skip >= total:
                    break

    def read_skus(self, skus: list[str] | None) -> Iterator[RemoteListing]:
        """Every variant of the channel (or only ``skus``)."""
        by_sku: dict[str, list[dict[str, Any]]] = {}
        for v in self._variants(skus):
            sku = v.get("sku")
            if isinstance(sku, str) and sku:
                by_sku.setdefault(sku, []).append(v)
        for sku in sorted(by_sku):
            yield self._listing(sku, by_sku[sku])

    def _listing(self, sku: str, variants: list[dict[str, Any]]) -> RemoteListing:
        if len(variants) > 1:
            ids = tuple(str(v.get("id")) for v in variants)
            self.ctx.log(
                f"{self.name}: SKU {sku} is used by {len(ids)} variants ({', '.join(ids)}); "
                "it will not be written until the SKU is unique"
            )
            first = variants[0]
            self._refs[sku] = _Ref(
                str(first.get("id")), str((first.get("product") or {}).get("id")), False, duplicates=ids
            )
            return RemoteListing(sku, frozen({}), remote_id=ids[0], extra=frozen({"duplicates": ids}))
        v = variants[0]
        ref, values = self._decode(v)
        self._refs[sku] = ref
        return RemoteListing(
            sku,
            frozen(values),
            remote_id=ref.variant_id,
            extra=frozen({"variant_id": ref.variant_id, "product_id": ref.product_id, "single": ref.single}),
        )

    def _decode(self, v: Mapping[str, Any]) -> tuple[_Ref, dict[str, Value]]:
        """A variant from Vendure -> its ref and the values omnisync keeps true."""
        shop = self.shop()
        product = v.get("product") or {}
        total = (product.get("variantList") or {}).get("totalItems")
        single = total == 1
        levels: dict[str, tuple[int, int]] = {}
        for lv in v.get("stockLevels") or []:
            try:
                levels[str(lv["stockLocationId"])] = (int(lv["stockOnHand"]), int(lv["stockAllocated"]))
            except (KeyError, TypeError, ValueError):
                raise ResponseError(
                    f"Vendure sent a malformed stock level for {v.get('sku')}", channel=self.name
                ) from None
        ref = _Ref(
            str(v.get("id")),
            str(product.get("id")),
            single,
            allocated={loc: alloc for loc, (_, alloc) in levels.items()},
        )
        values: dict[str, Value] = {}
        for key, loc in self._stock_keys().items():
            on_hand, allocated = levels.get(loc, (0, 0))
            values[key] = on_hand - allocated
        raw_price = v.get("priceWithTax") if shop.prices_include_tax else v.get("price")
        if (
            isinstance(raw_price, int)
            and not isinstance(raw_price, bool)
            and v.get("currencyCode") == shop.currency
        ):
            try:
                values[PRICE] = self._from_vendure(raw_price, shop.currency)
            except MoneyError as exc:
                self.ctx.log(f"{self.name}: price of {v.get('sku')} not understood: {exc}")
        title = product.get("name") if single else v.get("name")
        if isinstance(title, str):
            values[TITLE] = title
        description = product.get("description")
        if isinstance(description, str):
            values[DESCRIPTION] = description
        return ref, values

    # -- writing -------------------------------------------------------------------------------
    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        limit = self.capabilities.max_write_batch
        if len(batch) > limit:  # one call per max_write_batch SKUs; one result per item, in order
            return [
                r for start in range(0, len(batch), limit) for r in self.write(batch[start : start + limit])
            ]
        shop = self.shop()
        self._resolve(batch)
        pending: list[_Pending] = []
        results: dict[str, WriteResult] = {}
        seen: set[str] = set()
        for item in batch:
            ref = self._refs.get(item.sku)
            if item.sku in seen:
                results[item.sku] = WriteResult.failure(item.sku, "the SKU is twice in one batch")
                continue
            seen.add(item.sku)
            if ref is None:
                results[item.sku] = no_variant(item.sku, "on the Vendure channel", "Vendure")
                continue
            if ref.duplicates:
                results[item.sku] = WriteResult.failure(
                    item.sku,
                    f"SKU is used by {len(ref.duplicates)} variants in Vendure (ids "
                    f"{', '.join(ref.duplicates)}); make it unique there, omnisync will not guess "
                    "which one to write",
                )
                continue
            p = self._prepare(item, ref, shop)
            if p.error is not None:
                results[item.sku] = WriteResult.failure(item.sku, p.error, p.kind)
            else:
                pending.append(p)
        self._check_shared_products(pending)

        # 1. product names and descriptions (a failed product skips its variants' writes)
        products_out = self._write_products(pending)
        # 2. every variant's price, stock and name in one mutation (split only when refused)
        variants_out = self._write_variants([p for p in pending if p.error is None and p.variant])

        for p in pending:
            sku = p.item.sku
            if p.error is not None:
                results[sku] = WriteResult.failure(sku, p.error, p.kind)
                continue
            applied = self._applied(
                p, products_out.get(p.ref.product_id), variants_out.get(p.ref.variant_id), shop
            )
            results[sku] = WriteResult.success(sku, applied)
        return [
            results[it.sku] if it.sku in results else WriteResult.failure(it.sku, "not written")
            for it in batch
        ]

    def _prepare(self, item: WriteItem, ref: _Ref, shop: _Shop) -> _Pending:
        p = _Pending(item, ref)
        stock_keys = self._stock_keys()
        variant: dict[str, Any] = {"id": ref.variant_id}
        product: dict[str, Any] = {}
        levels: list[dict[str, Any]] = []
        for key, value in item.values.items():
            kind = field_kind(key)
            problem = CHECKS.problem(key, value, shop.currency, stock_keys)
            if problem is not None:
                p.error = problem
                return p
            if kind == QUANTITY:
                assert isinstance(value, int)
                loc = stock_keys[key]
                levels.append({"stockLocationId": loc, "stockOnHand": value + ref.allocated.get(loc, 0)})
            elif kind == PRICE:
                assert isinstance(value, Money)
                variant["price"] = self._to_vendure(value)  # an integer, never a float
            elif kind == TITLE:
                if not isinstance(value, str) or not value.strip():
                    p.error = "title: Vendure needs a non-empty name"
                    return p
                variant["translations"] = [{"languageCode": shop.language, "name": value}]
                if ref.single:
                    product["name"] = value
            elif kind == DESCRIPTION:
                if not isinstance(value, str):
                    p.error = f"description: {value!r} is not text"
                    return p
                product["description"] = value
            else:
                p.error = f"cannot write {key}"
                return p
        if levels:
            variant["stockLevels"] = levels
        p.variant = variant if len(variant) > 1 else None
        p.product = product or None
        return p

    def _check_shared_products(self, pending: Sequence[_Pending]) -> None:
        """Variants of one product share its description: refuse contradicting SKUs of a batch."""
        conflicts = description_conflicts(
            (
                (p.ref.product_id, p.item.sku, p.product["description"])
                for p in pending
                if p.error is None and p.product and "description" in p.product
            ),
            "Vendure",
        )
        for p in pending:
            p.error = conflicts.get(p.item.sku, p.error)

    def _write_products(self, pending: Sequence[_Pending]) -> dict[str, dict[str, Any]]:
        inputs: dict[str, dict[str, Any]] = {}
        owners: dict[str, list[_Pending]] = {}
        for p in pending:
            if p.error is not None or not p.product:
                continue
            pid = p.ref.product_id
            merged = inputs.setdefault(pid, {})
            merged.update(p.product)
            owners.setdefault(pid, []).append(p)
        if not inputs:
            return {}
        language = self.shop().language
        ids = list(inputs)
        payload = [{"id": pid, "translations": [{"languageCode": language, **inputs[pid]}]} for pid in ids]
        done, failed = self._bisect(
            payload, lambda part: self._gql(UPDATE_PRODUCTS, {"input": part}).get("updateProducts")
        )
        out: dict[str, dict[str, Any]] = {}
        for i, pid in enumerate(ids):
            if i in done:
                out[pid] = done[i]
            else:
                for p in owners[pid]:
                    p.error = f"Vendure refused the product update: {failed.get(i, 'no answer')}"
        return out

    def _write_variants(self, pending: Sequence[_Pending]) -> dict[str, dict[str, Any]]:
        if not pending:
            return {}
        payload = [p.variant for p in pending if p.variant is not None]
        done, failed = self._bisect(
            payload, lambda part: self._gql(UPDATE_VARIANTS, {"input": part}).get("updateProductVariants")
        )
        out: dict[str, dict[str, Any]] = {}
        for i, p in enumerate(pending):
            if i in done:
                out[p.ref.variant_id] = done[i]
            else:
                p.error = f"Vendure refused the variant update: {failed.get(i, 'no answer')}"
        return out

    def _bisect(
        self, inputs: list[dict[str, Any]], send: Callable[[list[dict[str, Any]]], Any]
    ) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
        """Send ``inputs`` in one mutation; when Vendure refuses it (all-or-nothing), send each
        half again, down to single inputs, so only the inputs it cannot take fail.
        Returns (index -> answer object, index -> error)."""
        done: dict[int, dict[str, Any]] = {}

        def refusal(exc: Exception) -> str | None:
            # Rejected: GraphQL errors; PermanentError: e.g. HTTP 400 for a value the schema
            # does not take. Either way nothing of the part was applied.
            if isinstance(exc, Rejected):
                return exc.message
            if isinstance(exc, PermanentError) and not isinstance(exc, ResponseError):
                return str(exc)
            return None

        def go(lo: int, part: list[dict[str, Any]]) -> None:
            answer = send(part)
            if not isinstance(answer, list):
                raise ResponseError("Vendure answered a batch update without a list", channel=self.name)
            by_id = {str(obj.get("id")): obj for obj in answer if isinstance(obj, dict)}
            for k, sent in enumerate(part):  # the answer's order is Vendure's, not ours
                obj = by_id.get(str(sent["id"]))
                if obj is not None:
                    done[lo + k] = obj
                else:
                    missing[lo + k] = "Vendure's answer does not include it"

        missing: dict[int, str] = {}
        failed = self.split_refused(inputs, go, refusal, "Vendure", "the input(s) it cannot take")
        return done, {**missing, **failed}

    def _applied(
        self, p: _Pending, product: Mapping[str, Any] | None, variant: Mapping[str, Any] | None, shop: _Shop
    ) -> dict[str, Value]:
        """What Vendure's answers say it now holds, for the fields this write sent."""
        now: dict[str, Value] = {}
        if variant is not None:
            ref, values = self._decode(variant)
            self._refs[p.item.sku] = ref
            now.update(values)
        if product is not None:
            if p.ref.single and isinstance(product.get("name"), str):
                now[TITLE] = product["name"]
            if isinstance(product.get("description"), str):
                now[DESCRIPTION] = product["description"]
        return {k: now[k] for k in p.item.values if k in now}

    # -- the rest ------------------------------------------------------------------------------
    def check(self) -> str:
        shop = self.fresh_shop()
        keys = self._stock_keys()
        where = ", ".join(f"{k} = stock location {v} ({shop.locations.get(v, '?')})" for k, v in keys.items())
        return (
            f"Vendure {self.cfg.base_url}: sells in {shop.currency}"
            f"{' (prices include tax)' if shop.prices_include_tax else ''}; {where or 'no stock location'}"
        )

    def close(self) -> None:
        # No `logout`: Vendure's logout ends every session of that administrator (the seller's
        # dashboard too). An unattended set-up should use an API key, which opens no session.
        super().close()


_: type[Channel] = VendureChannel
