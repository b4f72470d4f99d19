"""WooCommerce: the REST API ``/wp-json/wc/v3`` of a self-hosted store (storefronts.md section 2).

Config (``[channels.NAME]`` with ``type = "woocommerce"``)::

    base_url = "https://shop.example.com"     # the store's address (WordPress home URL)
    consumer_key_env = "WC_CONSUMER_KEY"       # names of the env vars holding the REST API key
    consumer_secret_env = "WC_CONSUMER_SECRET"
    # auth = "auto"     # auto: HTTP Basic over https, OAuth 1.0a over http; or basic | query | oauth1
    # currency = "USD"  # else read from the store (GET /data/currencies/current)

Mapping: a SKU is a simple (or external) product or a variation; variable and grouped parents are
not sellable and are not listed. ``quantity`` is ``stock_quantity`` (written with
``manage_stock: true``; a product that does not manage stock reports no quantity), ``price`` is
``regular_price`` (a decimal string both ways), ``title`` is ``name`` and ``description`` is
``description`` (read with ``context=edit``: the raw text, not the ``wpautop`` rendering).
Variations have no name of their own: they report their parent's, and a title write to a variation
fails for that field with a reason (the other fields of the item are still written).

Writes go through ``POST /products/batch`` and ``POST /products/{parent}/variations/batch``
(at most 100 objects each), absolute values only, so the batch POST is marked idempotent and
retried. Each item's ``applied`` values are read back from the store's echo in the batch answer.
WooCommerce has no compare-and-set and no idempotency keys (writes are last-write-wins); the engine
re-reads to protect against sales made meanwhile.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from ..errors import ChannelError, Kind, ResponseError
from ..http import BasicAuth, OAuth1Auth, OmnisyncAuth, QueryAuth
from ..models import DESCRIPTION, PRICE, QUANTITY, TITLE, RemoteListing, Value, WriteItem, WriteResult, frozen
from ..money import Money, MoneyError, is_currency
from .base import Capabilities, Channel, ChannelConfig, HttpChannel, ValueChecks, json_int, pack_groups

API_PATH = "/wp-json/wc/v3"
BATCH_LIMIT = 100  # objects per batch request across create+update+delete (WC docs, check_batch_limit)
PAGE_SIZE = 100  # per_page maximum (WordPress get_collection_params)
SKU_CHUNK = 50  # SKUs per ?sku= filter, keeping URLs short

CAPABILITIES = Capabilities(
    fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
    read_page_size=PAGE_SIZE,
    max_write_batch=BATCH_LIMIT,
    compare_and_set=False,  # no ETag/If-Match or expected-quantity on wc/v3 (storefronts.md 2.4)
    # `modified_after` exists, but nothing documents that a sale (an order reducing stock through
    # wc_update_product_stock) moves a product's modified date: an incremental read could miss
    # sales and oversell, so every read is a full one.
    changed_since=False,
    create=False,
    multi_location=False,
    idempotency_keys=False,
    rate_limit_per_second=None,  # wc/v3 has no limit of its own; hosts may answer 429/503
)

# WooCommerce's own quirks on top of the shared table: the docs say a ModSecurity rule on the host
# may answer 501 to PUT/DELETE; that is a configuration problem, not a transient one.
ERROR_OVERRIDES: dict[int, Kind] = {501: Kind.PERMANENT}

PRODUCT_FIELDS = "id,sku,type,name,description,regular_price,manage_stock,stock_quantity,variations"
VARIATION_FIELDS = "id,sku,description,regular_price,manage_stock,stock_quantity"
NOT_SELLABLE = frozenset({"variable", "grouped"})


class WooCommerceConfig(ChannelConfig):
    """``[channels.NAME]`` keys of a WooCommerce store."""

    type: Literal["woocommerce"] = "woocommerce"
    consumer_key_env: str = Field(min_length=1)
    consumer_secret_env: str = Field(min_length=1)
    auth: Literal["auto", "basic", "query", "oauth1"] = "auto"
    batch_limit: int = Field(default=BATCH_LIMIT, ge=1, le=BATCH_LIMIT)  # a store filter may lower it

    @model_validator(mode="after")
    def _store_url(self) -> WooCommerceConfig:
        if not self.base_url:
            raise ValueError("base_url is required: the store's address, e.g. https://shop.example.com")
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        return self


@dataclass(frozen=True)
class _Ref:
    """Where a SKU lives in the store."""

    id: int
    parent_id: int | None  # set for variations
    parent_name: str | None = None


class WooCommerceChannel(HttpChannel[WooCommerceConfig, _Ref]):
    """The WooCommerce adapter. See the module docstring for the mapping."""

    Config = WooCommerceConfig
    capabilities = CAPABILITIES
    base_path = API_PATH
    error_overrides = ERROR_OVERRIDES
    batch_limit_key = "batch_limit"  # a store that lowered woocommerce_rest_batch_items_limit

    def make_auth(self) -> OmnisyncAuth:
        mode = self.cfg.auth
        if mode == "auto":
            mode = "basic" if (self.cfg.base_url or "").lower().startswith("https://") else "oauth1"
        key, secret = self.secret("consumer_key_env"), self.secret("consumer_secret_env")
        if mode == "basic":
            return BasicAuth(key, secret)
        if mode == "query":
            return QueryAuth({"consumer_key": key, "consumer_secret": secret})
        return OAuth1Auth(key, secret, clock=self.ctx.clock)

    # -- reading ---------------------------------------------------------------------------------
    def store_currency(self) -> object:
        data, _ = self.client.get_json("data/currencies/current")
        return data.get("code") if isinstance(data, dict) else None

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every object of a collection, page by page (X-WP-TotalPages says when to stop)."""
        page = 1
        seen: set[Any] = set()
        while True:
            data, response = self.client.get_json(
                path, params={**params, "page": page, "per_page": PAGE_SIZE}
            )
            if not isinstance(data, list) or not all(isinstance(obj, dict) for obj in data):
                raise ResponseError(f"GET {path}: expected a list of objects", channel=self.name)
            ids = {obj.get("id") for obj in data}
            if data and page > 1 and ids <= seen:
                # a host that ignores ?page= would otherwise be read forever
                raise ResponseError(f"GET {path}: page {page} repeats earlier pages", channel=self.name)
            seen |= ids
            yield from data
            total_pages = _int_header(response, "x-wp-totalpages")
            if total_pages is not None:
                if page >= total_pages:
                    return
            elif len(data) < PAGE_SIZE:
                return
            page += 1

    def _products(self, **filters: str) -> Iterator[dict[str, Any]]:
        params = {"context": "edit", "orderby": "id", "order": "asc", "_fields": PRODUCT_FIELDS, **filters}
        return self._pages("products", params)

    def _variations(self, parent_id: int, **filters: str) -> Iterator[dict[str, Any]]:
        params = {"context": "edit", "orderby": "id", "order": "asc", "_fields": VARIATION_FIELDS, **filters}
        return self._pages(f"products/{parent_id}/variations", params)

    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """Every sellable SKU (``skus``: only those that exist among them). ``since`` is ignored:
        see ``CAPABILITIES.changed_since``."""
        currency = self.currency()
        if skus is None:
            yield from self._read_all(currency)
        else:
            yield from self._read_some({s for s in skus if s}, currency)

    def _read_all(self, currency: str) -> Iterator[RemoteListing]:
        seen: set[int] = set()
        parents: list[tuple[int, str]] = []
        for obj in self._products():
            pid = json_int(obj.get("id"))
            if pid is None or pid in seen:
                continue
            seen.add(pid)
            if obj.get("type") == "variable":
                parents.append((pid, _str(obj.get("name"))))
                continue
            listing = self._listing(obj, currency, parent=None)
            if listing is not None:
                yield listing
        for pid, name in parents:
            for obj in self._variations(pid):
                vid = json_int(obj.get("id"))
                if vid is None or vid in seen:
                    continue
                seen.add(vid)
                listing = self._listing(obj, currency, parent=(pid, name))
                if listing is not None:
                    yield listing

    def _read_some(self, wanted: set[str], currency: str) -> Iterator[RemoteListing]:
        found: set[str] = set()
        # 1. variations whose parent an earlier read told us
        by_parent: dict[tuple[int, str], list[str]] = {}
        for sku in sorted(wanted):
            ref = self._refs.get(sku)
            if ref is not None and ref.parent_id is not None and "," not in sku:
                by_parent.setdefault((ref.parent_id, ref.parent_name or ""), []).append(sku)
        for (pid, name), skus in by_parent.items():
            for chunk in _chunks(skus, SKU_CHUNK):
                for obj in self._variations(pid, sku=",".join(chunk)):
                    listing = self._listing(obj, currency, parent=(pid, name))
                    if listing is not None and listing.sku in wanted and listing.sku not in found:
                        found.add(listing.sku)
                        yield listing
        # 2. products by SKU (the filter matches products; whether it matches variations is not
        #    documented, so variations are looked up under their parents)
        rest = sorted(s for s in wanted - found if "," not in s)
        for chunk in _chunks(rest, SKU_CHUNK):
            for obj in self._products(sku=",".join(chunk)):
                if obj.get("type") in NOT_SELLABLE:
                    continue
                listing = self._listing(obj, currency, parent=None)
                if listing is not None and listing.sku in wanted and listing.sku not in found:
                    found.add(listing.sku)
                    yield listing
        # 3. still missing: search every variable product's variations
        missing = wanted - found
        if not missing:
            return
        for parent in self._products(type="variable"):
            parent_id = json_int(parent.get("id"))
            if parent_id is None:
                continue
            for obj in self._variations(parent_id):
                listing = self._listing(obj, currency, parent=(parent_id, _str(parent.get("name"))))
                if listing is not None and listing.sku in missing:
                    missing.discard(listing.sku)
                    yield listing
            if not missing:
                return

    def _listing(
        self, obj: dict[str, Any], currency: str, parent: tuple[int, str] | None
    ) -> RemoteListing | None:
        sku = obj.get("sku")
        oid = json_int(obj.get("id"))
        if not isinstance(sku, str) or not sku or oid is None:
            return None
        if parent is None and obj.get("type") in NOT_SELLABLE:
            return None
        ref = _Ref(oid, parent[0] if parent else None, parent[1] if parent else None)
        self._refs[sku] = ref
        values = self._values(
            obj,
            currency,
            sku,
            parent_name=parent[1] if parent else None,
            keys=(QUANTITY, PRICE, TITLE, DESCRIPTION),
        )
        extra: dict[str, Any] = {"id": oid, "parent_id": ref.parent_id}
        return RemoteListing(sku=sku, values=frozen(values), remote_id=str(oid), extra=frozen(extra))

    def _values(
        self, obj: dict[str, Any], currency: str, sku: str, *, parent_name: str | None, keys: Iterable[str]
    ) -> dict[str, Value]:
        """The field values an object shows (from a read or a write's echo)."""
        out: dict[str, Value] = {}
        for key in keys:
            if key == QUANTITY:
                qty = obj.get("stock_quantity")
                if obj.get("manage_stock") is True and isinstance(qty, int) and not isinstance(qty, bool):
                    out[QUANTITY] = qty
            elif key == PRICE:
                raw = obj.get("regular_price")
                if isinstance(raw, (str, Decimal, int)) and not isinstance(raw, bool) and str(raw).strip():
                    try:
                        out[PRICE] = Money.parse(str(raw).strip(), currency)
                    except MoneyError as exc:
                        self.ctx.log(
                            f"{self.name}: {sku}: price {raw!r} is not an amount in "
                            f"{currency} ({exc}); treated as unknown"
                        )
            elif key == TITLE:
                if parent_name is not None:
                    out[TITLE] = parent_name
                elif isinstance(obj.get("name"), str):
                    out[TITLE] = obj["name"]
            elif key == DESCRIPTION:
                if isinstance(obj.get("description"), str):
                    out[DESCRIPTION] = obj["description"]
        return out

    # -- writing ---------------------------------------------------------------------------------
    def ref_of(self, item: WriteItem) -> _Ref | None:
        return _ref_of(item) or self._refs.get(item.sku)

    def write_batches(self, writes: Sequence[tuple[str, Collection[str]]]) -> list[list[int]]:
        """write() sends one ``products/batch`` and one ``variations/batch`` per parent product, of
        at most ``max_write_batch`` objects each; a parent's variations are kept in one call, so a
        push takes ceil(products / limit) + the sum over parents of ceil(variations / limit)
        requests (a parent whose variations straddled two calls would take two)."""
        parents = [ref.parent_id if (ref := self._refs.get(sku)) is not None else None for sku, _ in writes]
        return pack_groups(parents, self.capabilities.max_write_batch)

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        """Absolute writes through the batch endpoints; one result per item, in order.

        A request that fails as a whole raises its :class:`ChannelError` when nothing of this call
        was applied yet; after a part succeeded, the rest is reported per item with the error's
        kind instead, so no confirmed result is lost.
        """
        results: dict[int, WriteResult] = {}
        currency = self.currency()
        self._resolve(batch)
        groups: dict[int | None, list[tuple[int, WriteItem, dict[str, Any], str | None]]] = {}
        for index, item in enumerate(batch):
            if item.create:
                results[index] = WriteResult.failure(
                    item.sku,
                    "this adapter does not create WooCommerce products; create it in the store",
                    Kind.PERMANENT.value,
                )
                continue
            ref = self.ref_of(item)
            if ref is None:
                results[index] = WriteResult.failure(
                    item.sku, "no product or variation has this SKU", Kind.NOT_FOUND.value
                )
                continue
            payload, problem = self._payload(item, ref, currency)
            if payload is None:
                results[index] = (
                    WriteResult.failure(item.sku, problem, Kind.PERMANENT.value)
                    if problem
                    else WriteResult.success(item.sku, {})
                )
                continue
            groups.setdefault(ref.parent_id, []).append((index, item, payload, problem))

        applied_any = False
        failure: ChannelError | None = None
        limit = max(1, self.capabilities.max_write_batch)
        for parent_id, entries in groups.items():
            path = "products/batch" if parent_id is None else f"products/{parent_id}/variations/batch"
            for chunk in _chunks(entries, limit):
                if failure is not None:
                    for index, item, _payload, _problem in chunk:
                        results[index] = WriteResult.failure(
                            item.sku, f"not sent: {failure}", failure.kind.value
                        )
                    continue
                try:
                    response = self.client.post(
                        path,
                        params={"context": "edit"},
                        json={"update": [p for _, _, p, _ in chunk]},
                        idempotent=True,
                    )
                    body = self.client.json(response)
                except ChannelError as exc:
                    if not applied_any:
                        raise
                    failure = exc
                    for index, item, _payload, _problem in chunk:
                        results[index] = WriteResult.failure(item.sku, str(exc), exc.kind.value)
                    continue
                applied_any = True
                for index, result in self._outcomes(path, chunk, body, currency).items():
                    results[index] = result
        return [results[i] for i in range(len(batch))]

    def _payload(self, item: WriteItem, ref: _Ref, currency: str) -> tuple[dict[str, Any] | None, str | None]:
        """The batch ``update`` object for one item, and the problem with fields it cannot carry."""
        payload: dict[str, Any] = {"id": ref.id}
        problems: list[str] = []
        for key, value in item.values.items():
            problem = ValueChecks().problem(key, value, currency)
            if problem is not None:
                problems.append(problem)
            elif key == QUANTITY:
                payload["manage_stock"] = True
                payload["stock_quantity"] = value
            elif key == PRICE:
                assert isinstance(value, Money)
                payload["regular_price"] = value.to_str()
            elif key == TITLE:
                if ref.parent_id is not None:
                    problems.append(
                        "a WooCommerce variation has no title of its own (it shows its "
                        f"parent product {ref.parent_id}'s name); change it there or stop "
                        "syncing 'title' for this channel"
                    )
                elif isinstance(value, str):
                    payload["name"] = value
            elif key == DESCRIPTION:
                if isinstance(value, str):
                    payload["description"] = value
            else:
                problems.append(f"WooCommerce has no field {key!r} (one stock pool per SKU)")
        problem = "; ".join(problems) or None
        if len(payload) == 1:
            return None, problem
        return payload, problem

    def _outcomes(
        self,
        path: str,
        chunk: Sequence[tuple[int, WriteItem, dict[str, Any], str | None]],
        body: Any,
        currency: str,
    ) -> dict[int, WriteResult]:
        answers = body.get("update") if isinstance(body, dict) else None
        if not isinstance(answers, list):
            raise ResponseError(f"POST {path}: the answer has no 'update' list", channel=self.name)
        by_id: dict[int, dict[str, Any]] = {}
        for answer in answers:
            if isinstance(answer, dict) and json_int(answer.get("id")) is not None:
                by_id.setdefault(json_int(answer.get("id")) or 0, answer)
        out: dict[int, WriteResult] = {}
        for index, item, payload, problem in chunk:
            answer = by_id.get(payload["id"])
            if answer is None:
                out[index] = WriteResult.failure(
                    item.sku, "the store did not report this item", Kind.PERMANENT.value
                )
                continue
            error = answer.get("error")
            if isinstance(error, dict):
                out[index] = WriteResult.failure(item.sku, self._item_error(error), _item_kind(error))
                continue
            ref = self.ref_of(item)
            written = [k for k in item.values if k != TITLE or (ref is not None and ref.parent_id is None)]
            applied = self._values(answer, currency, item.sku, parent_name=None, keys=written)
            if problem is not None:
                out[index] = WriteResult(
                    item.sku, False, frozen(applied), error=problem, error_kind=Kind.PERMANENT.value
                )
            else:
                out[index] = WriteResult.success(item.sku, applied)
        return out

    def _item_error(self, error: dict[str, Any]) -> str:
        message = error.get("message") if isinstance(error.get("message"), str) else "failed"
        code = error.get("code")
        text = f"{message} [{code}]" if isinstance(code, str) and code else str(message)
        return self.client.redactor(text)

    # -- the rest of the protocol ----------------------------------------------------------------
    def check(self) -> str:
        """One cheap authenticated read: the number of products the key can see."""
        data, response = self.client.get_json("products", params={"per_page": 1, "_fields": "id"})
        if not isinstance(data, list):
            raise ResponseError("GET products: expected a list", channel=self.name)
        total = _int_header(response, "x-wp-total")
        count = f"{total} products" if total is not None else "products readable"
        return f"WooCommerce at {self.client.redactor.url(self.cfg.base_url or '', query=False)}: {count}"


# -- helpers ---------------------------------------------------------------------------------------
def _ref_of(item: WriteItem) -> _Ref | None:
    remote = item.remote
    if remote is None:
        return None
    oid = json_int(remote.extra.get("id")) if remote.extra else None
    if oid is None and remote.remote_id is not None and remote.remote_id.isdigit():
        oid = int(remote.remote_id)
    if oid is None:
        return None
    parent = json_int(remote.extra.get("parent_id")) if remote.extra else None
    return _Ref(oid, parent or None)


def _item_kind(error: dict[str, Any]) -> str:
    data = error.get("data")
    status = json_int(data.get("status")) if isinstance(data, dict) else None
    code = str(error.get("code") or "")
    if code.endswith("invalid_id") or status in (404, 410):
        return Kind.NOT_FOUND.value
    if status in (401, 403):
        return Kind.AUTH.value if status == 401 else Kind.PERMANENT.value
    if status is not None and status >= 500:
        return Kind.RETRY.value
    return Kind.PERMANENT.value


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


_: type[Channel] = WooCommerceChannel
