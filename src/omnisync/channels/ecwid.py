"""Ecwid: the REST API v3 of an Ecwid store, ``{base_url}/api/v3/{store_id}`` (storefronts.md section 4).

Config (``[channels.NAME]`` with ``type = "ecwid"``)::

    store_id = 1234567                  # the store's numeric Store ID (app.ecwid.com/api/v3/<id>)
    token_env = "ECWID_TOKEN"           # env var holding the custom app's secret_... token
                                        # (Ecwid admin > #develop-apps; scopes read_catalog, update_catalog)
    # currency = "USD"                  # else read once from the store profile (GET /profile)
    # auth = "bearer"                   # bearer: Authorization header; query: legacy ?token=
    # batch_wait_seconds = 120          # how long a write waits for Ecwid's batch to finish
    # base_url = "https://app.ecwid.com"

Mapping: every product with a SKU is a listing; so is every combination (variation) with a SKU of
its own (a combination that inherits its product's SKU is not a listing of its own).
``quantity`` is the product's or combination's ``quantity`` (written absolute, with
``unlimited: false``; an unlimited product, or a combination inheriting its product's stock,
reports no quantity until omnisync writes one), ``price`` is ``price`` (a JSON number both ways,
read exactly; a combination without a price of its own shows its product's), ``title`` is ``name``
and ``description`` is ``description`` (HTML). A combination has no name or description of its own:
it reports its product's, and a title or description write to it fails for that field with a reason
(the other fields of the item are still written).

Reading: ``GET /products`` by ``offset``/``limit`` (100 a page, oldest first, trimmed with
``responseFields``); each product carries its combinations, so variations cost no extra call.
Selected SKUs are read by product id when an earlier read told us the id (100 per call), else by
``?sku=`` (which matches product and combination SKUs) or by a full scan, whichever costs fewer
calls. ``since`` is ignored: nothing documents that a sale moves a product's ``updated`` time, so
an incremental read could miss sales (``changed_since`` is False). Offset paging has one blind
spot: a product deleted in the store while a full read runs shifts the later pages by one, so one
product can be missed by that read (it is then "missing" in the plan, and nothing is written to it).

Writing: absolute values only (``quantityDelta`` is not safe to replay, storefronts.md 4.4). Up to
500 SKUs go in one ``POST /batch`` (one ``PUT`` sub-request per SKU, ``stopOnFirstFailure=false``);
the batch is asynchronous, so the adapter polls ``GET /batch?ticket=`` (waiting on the client's
clock, 0.5 s doubling to 5 s, at most ``batch_wait_seconds``) and then reads the written products
back: ``applied`` holds the values the store shows after the write, never what was sent. A batch
not finished in time is reported *pending* with its ticket (:meth:`EcwidChannel.poll` settles it;
the engine's next run reconciles it by reading). A single SKU is one plain ``PUT``. Ecwid has no
compare-and-set and no idempotency keys: the engine re-reads a batch's stock just before writing
it (products by id here, 100 per call) and re-plans what moved; a sale in the moment between that
read and the write is overwritten by the absolute value and shows in the read-back (``applied``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import httpx
from pydantic import Field, model_validator

from ..errors import AuthError, ChannelError, Kind, ResponseError, classify_status
from ..http import OmnisyncAuth, QueryAuth, bearer, default_error_message, dumps_json
from ..models import DESCRIPTION, PRICE, QUANTITY, TITLE, RemoteListing, Value, WriteItem, WriteResult, frozen
from ..money import Money, MoneyError, exponent, is_currency
from .base import Capabilities, Channel, ChannelConfig, ChannelContext, HttpChannel, ValueChecks, json_int

API_ROOT = "https://app.ecwid.com"  # + /api/v3/{store_id}
BATCH_LIMIT = 500  # sub-requests per POST /batch (Ecwid-docs _batch_api.md)
PAGE_SIZE = 100  # GET /products limit maximum (Ecwid-docs _products.md)
ID_CHUNK = 100  # product ids per ?productId= read (one page)
SKU_LOOKUPS_MAX = 10  # unknown SKUs looked up one by one before a scan is considered
POLL_FIRST = 0.5  # seconds before the first status request of a batch
POLL_MAX = 5.0  # longest pause between two status requests
PRICE_NOISE = Decimal("1e-9")  # a double's last-digit artefact (19.990000000000002) is 19.99

CAPABILITIES = Capabilities(
    fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
    read_page_size=PAGE_SIZE,
    max_write_batch=BATCH_LIMIT,
    compare_and_set=False,  # no expected-value or version on writes (storefronts.md 4.4)
    async_writes=True,  # POST /batch answers a ticket; write() polls it, poll() settles late ones
    changed_since=False,  # see the module docstring
    create=False,
    multi_location=False,  # one stock number per product or combination (storefronts.md 4.5)
    idempotency_keys=False,
    rate_limit_per_second=10.0,  # 600 requests/min per token (storefronts.md 4.3)
)

# Ecwid's 409 means SKU_ALREADY_EXISTS or a wholesale-price error, never a lost compare-and-set:
# re-reading and re-planning would not help, so it is permanent here.
ERROR_OVERRIDES: dict[int, Kind] = {409: Kind.PERMANENT}

# Hints appended to Ecwid's errors that a seller can act on (storefronts.md 4.1, 4.4).
HINTS: dict[int, str] = {
    401: "the token is wrong or was revoked; copy the secret token of the custom app again",
    402: "Ecwid answers 402 when the store's plan has no API access (free plan) or lacks the "
    "feature, or the plan's product limit is reached",
    403: "the token lacks a scope: read_catalog to read, update_catalog to write",
}

PRODUCT_FIELDS = (
    "id,sku,name,description,price,quantity,unlimited,combinations(id,sku,price,quantity,unlimited)"
)
SEARCH_FIELDS = f"total,count,offset,limit,items({PRODUCT_FIELDS})"


class EcwidConfig(ChannelConfig):
    """``[channels.NAME]`` keys of an Ecwid store."""

    type: Literal["ecwid"] = "ecwid"
    store_id: int = Field(gt=0)
    token_env: str = Field(min_length=1)
    auth: Literal["bearer", "query"] = "bearer"
    batch_wait_seconds: float = Field(default=120.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _ecwid(self) -> EcwidConfig:
        if self.currency is not None and not is_currency(self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        if self.locations:
            raise ValueError(
                "Ecwid keeps one stock number per product or combination (no locations); "
                "use stock_locations to choose the catalog locations summed into it"
            )
        return self


@dataclass(frozen=True)
class _Ref:
    """Where a SKU lives in the store."""

    product_id: int
    combination_id: int | None = None


@dataclass(frozen=True)
class _Entry:
    """One SKU's write: the request, and what it carries."""

    index: int
    sku: str
    ref: _Ref
    body: dict[str, Any]
    keys: tuple[str, ...]  # the field keys the request writes
    problem: str | None = None  # fields of the item it could not carry

    @property
    def path(self) -> str:
        """Relative to the API root (``products/12`` or ``products/12/combinations/34``)."""
        if self.ref.combination_id is None:
            return f"products/{self.ref.product_id}"
        return f"products/{self.ref.product_id}/combinations/{self.ref.combination_id}"


@dataclass(frozen=True)
class _Answer:
    """What Ecwid said about one request (a plain PUT, or a batch sub-request)."""

    state: str  # COMPLETED | FAILED | NOT_EXECUTED
    code: int | None
    body: Any
    line: str | None = None


def ecwid_error_message(response: httpx.Response) -> str | None:
    """Ecwid's message: ``errorMessage`` (+ ``errorCode``) or a batch's ``error_message``, else the
    shapes :func:`default_error_message` knows; with a hint for 401/402/403."""
    message = _message_in(_loads(response.content))
    if message is None:
        message = default_error_message(response)
    hint = HINTS.get(response.status_code)
    if hint:
        message = f"{message or response.reason_phrase or 'error'} ({hint})"
    return message


def _loads(content: bytes | str) -> Any:
    try:
        return json.loads(content, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None


def _message_in(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for key in ("errorMessage", "error_message"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            code = body.get("errorCode")
            text = value.strip()
            return f"{text} [{code}]" if isinstance(code, str) and code and code not in text else text
    return None


class EcwidChannel(HttpChannel[EcwidConfig, _Ref]):
    """The Ecwid adapter. See the module docstring for the mapping."""

    Config = EcwidConfig
    capabilities = CAPABILITIES

    default_base_url = API_ROOT
    error_overrides = ERROR_OVERRIDES

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        super().__init__(cfg, ctx)
        self._tickets: dict[str, list[_Entry]] = {}

    def make_auth(self) -> OmnisyncAuth:
        token = self.secret("token_env").strip()
        return QueryAuth({"token": token}) if self.cfg.auth == "query" else bearer(token)

    def client_options(self) -> dict[str, Any]:
        return {"base_path": f"/api/v3/{self.cfg.store_id}", "error_message": ecwid_error_message}

    # -- reading ---------------------------------------------------------------------------------
    def store_currency(self) -> object:
        """Asked from the store profile."""
        data, _ = self.client.get_json("profile", params={"responseFields": "formatsAndUnits(currency)"})
        units = data.get("formatsAndUnits") if isinstance(data, dict) else None
        return units.get("currency") if isinstance(units, dict) else None

    def _search(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
        """One ``GET /products``: the products of the page and the ``total`` found."""
        data, _ = self.client.get_json("products", params={**params, "responseFields": SEARCH_FIELDS})
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise ResponseError("GET products: the answer has no list of items", channel=self.name)
        return items, _int(data.get("total"))

    def _pages(self) -> Iterator[tuple[list[dict[str, Any]], int | None]]:
        """Every product, page by page, oldest first (a product added meanwhile comes last)."""
        offset = 0
        while True:
            items, total = self._search({"offset": offset, "limit": PAGE_SIZE, "sortBy": "ADDED_TIME_ASC"})
            yield items, total
            offset += len(items)
            if (
                not items
                or (total is not None and offset >= total)
                or (total is None and len(items) < PAGE_SIZE)
            ):
                return

    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """Every listing (``skus``: only those that exist among them). ``since`` is ignored: see
        ``CAPABILITIES.changed_since``."""
        currency = self.currency()
        source = (
            self._read_all(currency) if skus is None else self._read_some({s for s in skus if s}, currency)
        )
        seen: set[str] = set()
        for listing in source:
            if listing.sku not in seen:  # a SKU is unique in a store; never list one twice
                seen.add(listing.sku)
                yield listing

    def _read_all(self, currency: str) -> Iterator[RemoteListing]:
        seen: set[int] = set()
        for items, _total in self._pages():
            for obj in items:
                pid = _int(obj.get("id"))
                if pid is None or pid in seen:
                    continue
                seen.add(pid)
                yield from self._listings(obj, currency)

    def _read_some(self, wanted: set[str], currency: str) -> Iterator[RemoteListing]:
        found: set[str] = set()

        def take(items: Iterable[dict[str, Any]]) -> Iterator[RemoteListing]:
            for obj in items:
                for listing in self._listings(obj, currency):
                    if listing.sku in wanted and listing.sku not in found:
                        found.add(listing.sku)
                        yield listing

        # 1. products an earlier read told us the id of: 100 per call
        ids = sorted({self._refs[s].product_id for s in wanted if s in self._refs})
        for chunk in _chunks(ids, ID_CHUNK):
            items, _ = self._search({"productId": ",".join(map(str, chunk))})
            yield from take(items)
        rest = sorted(wanted - found)
        # 2. many unknown SKUs: a scan, when it takes fewer calls than one lookup per SKU
        if len(rest) > SKU_LOOKUPS_MAX:
            pages = self._pages()
            items, total = next(pages)
            yield from take(items)
            rest = sorted(wanted - found)
            more_pages = math.ceil(max(0, total - len(items)) / PAGE_SIZE) if total is not None else len(rest)
            if more_pages <= len(rest):
                for items, _ in pages:
                    yield from take(items)
                    if wanted <= found:
                        return
                return
        # 3. one ?sku= lookup per SKU (it matches product and combination SKUs)
        for sku in rest:
            if sku not in found:
                items, _ = self._search({"sku": sku})
                yield from take(items)

    def _listings(self, obj: dict[str, Any], currency: str) -> list[RemoteListing]:
        """The listings one product object holds: itself and its combinations with SKUs."""
        pid = _int(obj.get("id"))
        if pid is None:
            return []
        out: list[RemoteListing] = []
        name = obj.get("name") if isinstance(obj.get("name"), str) else None
        description = obj.get("description") if isinstance(obj.get("description"), str) else None
        sku = obj.get("sku")
        base_price = self._money(obj.get("price"), currency, sku if isinstance(sku, str) else str(pid))
        if isinstance(sku, str) and sku:
            values: dict[str, Value] = {}
            qty = _quantity(obj)
            if qty is not None:
                values[QUANTITY] = qty
            if base_price is not None:
                values[PRICE] = base_price
            if name is not None:
                values[TITLE] = name
            if description is not None:
                values[DESCRIPTION] = description
            out.append(self._remember(sku, _Ref(pid), values))
        combos = obj.get("combinations")
        for combo in combos if isinstance(combos, list) else []:
            if not isinstance(combo, dict):
                continue
            csku, cid = combo.get("sku"), _int(combo.get("id"))
            if not isinstance(csku, str) or not csku or cid is None:
                continue  # inherits the product's SKU: not a listing of its own
            values = {}
            qty = _quantity(combo)
            if qty is not None:
                values[QUANTITY] = qty
            price = (
                self._money(combo.get("price"), currency, csku)
                if combo.get("price") is not None
                else base_price
            )
            if price is not None:
                values[PRICE] = price
            if name is not None:
                values[TITLE] = name
            if description is not None:
                values[DESCRIPTION] = description
            out.append(self._remember(csku, _Ref(pid, cid), values))
        return out

    def _remember(self, sku: str, ref: _Ref, values: dict[str, Value]) -> RemoteListing:
        self._refs[sku] = ref
        remote_id = (
            str(ref.product_id) if ref.combination_id is None else f"{ref.product_id}/{ref.combination_id}"
        )
        extra = {"product_id": ref.product_id, "combination_id": ref.combination_id}
        return RemoteListing(sku=sku, values=frozen(values), remote_id=remote_id, extra=frozen(extra))

    def _money(self, raw: Any, currency: str, sku: str) -> Money | None:
        """A JSON number as exact money. Ecwid keeps prices as doubles: a last-digit artefact is
        rounded away; any other precision the currency cannot hold is reported unknown."""
        if raw is None or isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
            return None
        try:
            return Money.parse(raw, currency)
        except MoneyError as exc:
            try:
                dec = Decimal(raw)
                rounded = dec.quantize(Decimal(1).scaleb(-exponent(currency)))
                if dec.is_finite() and dec >= 0 and abs(dec - rounded) <= PRICE_NOISE:
                    return Money.parse(rounded, currency)
            except (InvalidOperation, MoneyError):
                pass
            self.ctx.log(
                f"{self.name}: {sku}: price {raw} is not an amount in {currency} ({exc}); treated as unknown"
            )
            return None

    # -- writing ---------------------------------------------------------------------------------
    def ref_of(self, item: WriteItem) -> _Ref | None:
        return _ref_of(item) or self._refs.get(item.sku)

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        """Absolute writes, at most 500 SKUs per ``POST /batch``; one result per item, in order.

        A request that fails as a whole raises its :class:`ChannelError` while nothing of this call
        can have been applied; after that, the rest is reported per item with the error's kind.
        """
        results: dict[int, WriteResult] = {}
        currency = self.currency()
        self._resolve(batch)
        entries: list[_Entry] = []
        seen: set[str] = set()
        for index, item in enumerate(batch):
            if item.create:
                results[index] = WriteResult.failure(
                    item.sku,
                    "this adapter does not create Ecwid products; create it in the store",
                    Kind.PERMANENT.value,
                )
                continue
            if item.sku in seen:
                results[index] = WriteResult.failure(
                    item.sku, "this SKU appears twice in one write", Kind.PERMANENT.value
                )
                continue
            seen.add(item.sku)
            ref = self.ref_of(item)
            if ref is None:
                results[index] = WriteResult.failure(
                    item.sku, "no product or combination has this SKU", Kind.NOT_FOUND.value
                )
                continue
            entry = self._entry(index, item, ref, currency)
            if isinstance(entry, WriteResult):
                results[index] = entry
            else:
                entries.append(entry)

        sent_any = False
        failure: ChannelError | None = None
        for chunk in _chunks(entries, max(1, self.capabilities.max_write_batch)):
            if failure is not None:
                for e in chunk:
                    results[e.index] = WriteResult.failure(e.sku, f"not sent: {failure}", failure.kind.value)
                continue
            try:
                outcomes = self._send(chunk, currency, first=not sent_any)
            except ChannelError as exc:
                if not sent_any:
                    raise
                failure = exc
                for e in chunk:
                    results[e.index] = WriteResult.failure(e.sku, str(exc), exc.kind.value)
                continue
            sent_any = True
            results.update(outcomes)
        return [results[i] for i in range(len(batch))]

    def _entry(self, index: int, item: WriteItem, ref: _Ref, currency: str) -> _Entry | WriteResult:
        """The request body for one item, or its result when there is nothing to send."""
        body: dict[str, Any] = {}
        keys: list[str] = []
        problems: list[str] = []
        for key, value in item.values.items():
            problem = ValueChecks().problem(key, value, currency)
            if problem is not None:
                problems.append(problem)
                continue
            if key == QUANTITY:
                body["quantity"] = value
                body["unlimited"] = False
            elif key == PRICE:
                assert isinstance(value, Money)
                body["price"] = value.amount  # a JSON number, written exactly
            elif key in (TITLE, DESCRIPTION):
                what = "name" if key == TITLE else "description"
                if ref.combination_id is not None:
                    problems.append(
                        f"an Ecwid combination has no {what} of its own (it shows its product "
                        f"{ref.product_id}'s); change it there or stop syncing '{key}' for "
                        "this channel"
                    )
                    continue
                if not isinstance(value, str):
                    problems.append(f"{key} must be text, not {value!r}")
                    continue
                body[what] = value
            else:
                problems.append(f"Ecwid has no field {key!r} (one stock number per product or combination)")
                continue
            keys.append(key)
        problem = "; ".join(problems) or None
        if not body:
            if problem:
                return WriteResult.failure(item.sku, problem, Kind.PERMANENT.value)
            return WriteResult.success(item.sku, {})
        return _Entry(index, item.sku, ref, body, tuple(keys), problem)

    def _send(self, chunk: Sequence[_Entry], currency: str, *, first: bool) -> dict[int, WriteResult]:
        """Send one chunk (a plain PUT for one SKU, else a batch), then verify what it did."""
        if len(chunk) == 1:
            e = chunk[0]
            try:
                response = self.client.put(e.path, json=e.body)
            except ChannelError as exc:
                if exc.kind not in (Kind.PERMANENT, Kind.NOT_FOUND, Kind.CONFLICT) or isinstance(
                    exc, ResponseError
                ):
                    raise
                # Ecwid refused this product's update: the item's outcome, not the channel's
                return {e.index: WriteResult.failure(e.sku, str(exc), exc.kind.value)}
            answers = {e.index: _Answer("COMPLETED", response.status_code, self.client.json(response))}
            return self._outcomes(chunk, answers, currency)
        payload = [
            {"id": e.sku, "path": "/" + e.path, "method": "PUT", "body": dumps_json(e.body).decode()}
            for e in chunk
        ]
        # every sub-request is an absolute PUT: sending the batch again is safe
        response = self.client.post(
            "batch", params={"stopOnFirstFailure": "false"}, json=payload, idempotent=True
        )
        data = self.client.json(response)
        ticket = data.get("ticket") if isinstance(data, dict) else None
        if not isinstance(ticket, (str, int)) or isinstance(ticket, bool) or not str(ticket):
            raise ResponseError("POST batch: the answer has no ticket", channel=self.name)
        ticket = str(ticket)
        self._tickets[ticket] = list(chunk)
        status, why = self._await(ticket)
        if status is None:
            return {
                e.index: WriteResult(e.sku, False, error=why, error_kind=Kind.RETRY.value, pending=ticket)
                for e in chunk
            }
        answers = self._answers(chunk, status)
        if (
            first
            and answers
            and all(
                a.state == "FAILED" and classify_status(a.code or 0, ERROR_OVERRIDES) is Kind.AUTH
                for a in answers.values()
            )
        ):
            # every sub-request refused for the token (a missing update_catalog scope, say):
            # nothing was applied, and the channel as a whole cannot be written
            sample = next(iter(answers.values()))
            raise AuthError(self._answer_message(sample, hint=True), channel=self.name, status=sample.code)
        return self._outcomes(chunk, answers, currency)

    def _await(self, ticket: str) -> tuple[dict[str, Any] | None, str]:
        """The batch's final status, or (None, why) when it did not finish in time or could not
        be asked for: then its outcome is unknown and reported pending."""
        budget = self.cfg.batch_wait_seconds
        waited = 0.0
        delay = POLL_FIRST
        while True:
            pause = min(delay, max(0.0, budget - waited))
            self.client.wait(pause)
            waited += pause
            try:
                data, _ = self.client.get_json("batch", params={"ticket": ticket})
            except ChannelError as exc:
                return None, f"asking Ecwid how batch {ticket} went failed: {exc}"
            status = data.get("status") if isinstance(data, dict) else None
            if status == "COMPLETED":
                return data, ""
            if status not in ("QUEUED", "IN_PROGRESS"):
                return None, f"Ecwid reported batch {ticket} as {status!r}"
            if waited >= budget:
                return None, (
                    f"Ecwid had not finished batch {ticket} after {budget:g}s "
                    "(batch_wait_seconds); the next run reads what it did"
                )
            delay = min(delay * 2, POLL_MAX)

    def _answers(self, chunk: Sequence[_Entry], status: dict[str, Any]) -> dict[int, _Answer]:
        """The batch report's answer per entry (sub-request ids are the SKUs)."""
        responses = status.get("responses")
        by_id: dict[str, dict[str, Any]] = {}
        for r in responses if isinstance(responses, list) else []:
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                by_id.setdefault(r["id"], r)
        out: dict[int, _Answer] = {}
        for e in chunk:
            r = by_id.get(e.sku)
            if r is None:
                continue
            body = r.get("http_body")
            if body is None and isinstance(r.get("escaped_http_body"), str):
                body = _loads(r["escaped_http_body"])
            code = _int(r.get("http_status_code", r.get("http_code")))
            line = r.get("http_status_line") if isinstance(r.get("http_status_line"), str) else None
            out[e.index] = _Answer(str(r.get("status") or ""), code, body, line)
        return out

    def _answer_message(self, a: _Answer, *, hint: bool = False) -> str:
        text = _message_in(a.body) or a.line or "failed"
        if hint and a.code in HINTS:
            text = f"{text} ({HINTS[a.code]})"
        return self.client.redactor(f"{text} (HTTP {a.code})" if a.code else text)

    def _outcomes(
        self, chunk: Sequence[_Entry], answers: dict[int, _Answer], currency: str
    ) -> dict[int, WriteResult]:
        """Per-entry results: Ecwid's refusals as they are, confirmed updates read back."""
        out: dict[int, WriteResult] = {}
        confirmed: list[_Entry] = []
        for e in chunk:
            a = answers.get(e.index)
            if a is None:
                out[e.index] = WriteResult.failure(
                    e.sku,
                    "Ecwid's batch report has no answer for this request; the next run reads what it did",
                    Kind.RETRY.value,
                )
            elif a.state == "NOT_EXECUTED":
                out[e.index] = WriteResult.failure(
                    e.sku, "not executed: an earlier request of the batch failed", Kind.RETRY.value
                )
            elif a.state == "FAILED" or a.code is None or not 200 <= a.code < 300:
                kind = classify_status(a.code, ERROR_OVERRIDES) if a.code else Kind.RETRY
                out[e.index] = WriteResult.failure(
                    e.sku, self._answer_message(a, hint=True), (kind or Kind.PERMANENT).value
                )
            elif not isinstance(a.body, dict) or _int(a.body.get("updateCount")) != 1:
                count = a.body.get("updateCount") if isinstance(a.body, dict) else None
                out[e.index] = WriteResult.failure(
                    e.sku, f"Ecwid did not confirm the update (updateCount {count!r})", Kind.PERMANENT.value
                )
            else:
                confirmed.append(e)
        if not confirmed:
            return out
        try:
            shown = self._read_back(confirmed, currency)
        except ChannelError as exc:
            for e in confirmed:
                out[e.index] = WriteResult.failure(
                    e.sku,
                    f"Ecwid confirmed the update but reading it back failed ({exc}); the next run "
                    "reads what it holds",
                    Kind.RETRY.value,
                )
            return out
        for e in confirmed:
            values = shown.get(e.sku, {})
            applied = {k: values[k] for k in e.keys if k in values}
            if e.problem is not None:
                out[e.index] = WriteResult(
                    e.sku, False, frozen(applied), error=e.problem, error_kind=Kind.PERMANENT.value
                )
            else:
                out[e.index] = WriteResult.success(e.sku, applied)
        return out

    def _read_back(self, entries: Sequence[_Entry], currency: str) -> dict[str, dict[str, Value]]:
        """What the store shows now for the written SKUs (100 products per call)."""
        shown: dict[str, dict[str, Value]] = {}
        ids = sorted({e.ref.product_id for e in entries})
        for chunk in _chunks(ids, ID_CHUNK):
            items, _ = self._search({"productId": ",".join(map(str, chunk))})
            for obj in items:
                for listing in self._listings(obj, currency):
                    shown[listing.sku] = dict(listing.values)
        return shown

    def poll(self, jobs: Sequence[str]) -> list[WriteResult]:
        """Outcomes of batches a write reported pending; nothing for a batch still running.

        Tickets this adapter sent carry what each SKU's request wrote; for another run's ticket
        the sub-request ids name the SKUs and every field the store shows is reported."""
        out: list[WriteResult] = []
        currency = self.currency()
        for ticket in jobs:
            data, _ = self.client.get_json("batch", params={"ticket": ticket})
            if not isinstance(data, dict) or data.get("status") != "COMPLETED":
                continue
            chunk = self._tickets.get(ticket)
            if chunk is None:
                chunk = self._entries_of(data)
            answers = self._answers(chunk, data)
            results = self._outcomes(chunk, answers, currency)
            out.extend(results[e.index] for e in chunk)
            self._tickets.pop(ticket, None)
        return out

    def _entries_of(self, status: dict[str, Any]) -> list[_Entry]:
        responses = status.get("responses")
        skus = (
            [r["id"] for r in responses if isinstance(r, dict) and isinstance(r.get("id"), str)]
            if isinstance(responses, list)
            else []
        )
        self._learn(skus)
        return [
            _Entry(n, sku, self._refs[sku], {}, (QUANTITY, PRICE, TITLE, DESCRIPTION))
            for n, sku in enumerate(skus)
            if sku in self._refs
        ]

    # -- the rest of the protocol ----------------------------------------------------------------
    def check(self) -> str:
        """One cheap authenticated read: the number of products the token can see."""
        data, _ = self.client.get_json("products", params={"limit": 1, "responseFields": "total"})
        total = _int(data.get("total")) if isinstance(data, dict) else None
        if total is None:
            raise ResponseError("GET products: the answer has no total", channel=self.name)
        where = self.client.redactor.url(self.cfg.base_url or API_ROOT, query=False)
        return f"Ecwid store {self.cfg.store_id} at {where}: {total} products"


# -- helpers ---------------------------------------------------------------------------------------
def _ref_of(item: WriteItem) -> _Ref | None:
    remote = item.remote
    if remote is None:
        return None
    pid = _int(remote.extra.get("product_id")) if remote.extra else None
    cid = _int(remote.extra.get("combination_id")) if remote.extra else None
    if pid is None and remote.remote_id:
        head, _, tail = remote.remote_id.partition("/")
        pid, cid = _int(head), _int(tail) if tail else None
    return _Ref(pid, cid) if pid is not None else None


def _quantity(obj: dict[str, Any]) -> int | None:
    """The tracked stock of a product or combination (None: unlimited, or inherited)."""
    if obj.get("unlimited") is True:
        return None
    return _int(obj.get("quantity"))


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def _int(value: Any) -> int | None:
    return json_int(value, signed=True)


_: type[Channel] = EcwidChannel
