"""The pure planner: desired state per channel, three-way stock, the plan as a value.

No I/O here: no httpx, no sqlite, no clock. Inputs are the catalog's products, and per channel its
rules, capabilities, what it holds now (observed) and what omnisync last confirmed there (base).

Three-way stock. For every stock field a channel reports, ``observed < base`` means units were sold
there since omnisync last confirmed the quantity. Those sales are taken out of the central stock
(recorded once, by the engine, in the sales ledger with the run that saw them, and the base moves to
the observed value in the same transaction) *before* any channel's new quantity is computed, so a
unit sold on one channel is never offered again on another. Price and content are two-way: the
catalog (after rules) wins.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .channels.base import Capabilities
from .models import (
    DESCRIPTION,
    FIELD_KINDS,
    PRICE,
    QUANTITY,
    TITLE,
    Change,
    Listing,
    Product,
    RemoteListing,
    Sale,
    Value,
    encode_value,
    field_kind,
    frozen,
)
from .money import Money
from .rules import ChannelRules, Desired

BaseKey = tuple[str, str]  # (sku, field key)

# The stock values of one listing, kept small: the quantity itself for the usual single-pool
# listing, else ((field key, quantity), ...) sorted by key (() when it reports no stock).
StockValues = int | tuple[tuple[str, int], ...]

_PLAIN_KEYS = frozenset(FIELD_KINDS)


def fingerprint(values: Mapping[str, Value]) -> int:
    """A stable 64-bit fingerprint of field values (the same in every process and version)."""
    text = "\x1f".join(f"{k}\x1e{encode_value(values[k])}" for k in sorted(values))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def stock_values(values: Mapping[str, Value]) -> StockValues:
    """The stock values among a listing's field values, in the compact form."""
    if values.keys() <= _PLAIN_KEYS:
        q = values.get(QUANTITY)
        if type(q) is int:
            return q
        return ()
    return tuple(sorted((k, v) for k, v in values.items() if type(v) is int and field_kind(k) == QUANTITY))


def stock_items(st: StockValues) -> tuple[tuple[str, int], ...]:
    """``((key, quantity), ...)`` of a compact stock value."""
    return ((QUANTITY, st),) if type(st) is int else st  # type: ignore[return-value]


def stock_get(st: StockValues | None, key: str) -> int | None:
    if st is None:
        return None
    if type(st) is int:
        return st if key == QUANTITY else None
    for k, v in st:  # type: ignore[union-attr]
        if k == key:
            return v
    return None


class Bases(Mapping[BaseKey, Value]):
    """What omnisync last confirmed on one channel, per (SKU, field key).

    Stock bases (one per listed SKU) are held compactly per SKU; the few other fields by key.
    Plain mappings work as well everywhere a ``Bases`` is taken (:meth:`of` converts them).

    ``same`` (a channel's :attr:`Observed.entries`) and ``absent``: the stock bases were read
    beside what the channel showed (``State.stock_bases_beside``), and those equal to it left
    out of ``stock``. A SKU whose entry in ``same`` is a quantity, and which is in neither
    ``stock`` nor ``absent``, has that quantity as its base (in the ``quantity`` field).
    """

    __slots__ = ("_absent", "_same", "other", "stock")

    def __init__(
        self,
        stock: dict[str, StockValues] | None = None,
        other: dict[BaseKey, Value] | None = None,
        *,
        same: Mapping[str, object] | None = None,
        absent: Collection[str] = (),
    ) -> None:
        self.stock: dict[str, StockValues] = stock if stock is not None else {}
        self.other: dict[BaseKey, Value] = other if other is not None else {}
        self._same = same
        self._absent = absent

    def implied(self, sku: str) -> int | None:
        """The base of ``sku`` left out of ``stock`` because it equals what the channel showed."""
        if self._same is None or sku in self.stock or sku in self._absent:
            return None
        e = self._same.get(sku)
        return e if type(e) is int else None

    def stock_of(self, sku: str) -> StockValues | None:
        """The stock bases of ``sku`` (None: it has none)."""
        st = self.stock.get(sku)
        return self.implied(sku) if st is None and self._same is not None else st

    @classmethod
    def of(cls, mapping: Mapping[BaseKey, Value] | None) -> Bases:
        if isinstance(mapping, Bases):
            return mapping
        out = cls()
        for (sku, key), value in (mapping or {}).items():
            out.set(sku, key, value)
        return out

    def set(self, sku: str, key: str, value: Value) -> None:
        if field_kind(key) == QUANTITY and type(value) is int:
            self.other.pop((sku, key), None)
            current = self.stock_of(sku)
            if key == QUANTITY and (current is None or type(current) is int):
                self.stock[sku] = value
                return
            pairs = dict(stock_items(current)) if current is not None else {}
            pairs[key] = value
            self.stock[sku] = tuple(sorted(pairs.items()))
        else:
            self.other[(sku, key)] = value

    def _implied(self) -> Iterator[str]:
        if self._same is None:
            return
        stock = self.stock
        absent = self._absent
        for sku, e in self._same.items():
            if type(e) is int and sku not in stock and sku not in absent:
                yield sku

    def __getitem__(self, item: BaseKey) -> Value:
        sku, key = item
        if field_kind(key) == QUANTITY:
            found = stock_get(self.stock_of(sku), key)
            if found is not None:
                return found
        return self.other[item]

    def __iter__(self) -> Iterator[BaseKey]:
        for sku, st in self.stock.items():
            for key, _ in stock_items(st):
                yield (sku, key)
        for sku in self._implied():
            yield (sku, QUANTITY)
        yield from self.other

    def __len__(self) -> int:
        implied = sum(1 for _ in self._implied())
        return sum(len(stock_items(st)) for st in self.stock.values()) + implied + len(self.other)

    def __repr__(self) -> str:
        return f"Bases({dict(self)!r})"


class Observed(Mapping[str, RemoteListing]):
    """What one channel holds, kept small enough for 100,000 SKUs on many channels at once.

    Built while the channel is read (:meth:`add`, one listing at a time): a listing whose every
    field this channel syncs already equals what the catalog wants there (before this run's sales)
    is kept as its stock values only; a listing of a SKU the catalog does not have, likewise; any
    other listing whole. The planner knows the values it dropped: they equal
    ``Desired(rules).values(catalog[sku])``, so ``catalog`` must be the very mapping the plan is
    made from (:func:`plan` checks).

    ``keep``: SKUs kept whole whatever they hold (writes being reconciled).
    """

    def __init__(
        self,
        catalog: Mapping[str, Product] | None = None,
        rules: ChannelRules | None = None,
        *,
        keep: Collection[str] = (),
    ) -> None:
        self.catalog = catalog
        self.rules = rules
        # SKU -> the whole listing, or its stock values (equal to the catalog's wish, or a SKU
        # the catalog does not have)
        self.entries: dict[str, RemoteListing | StockValues] = {}
        self._keep = frozenset(keep)
        self.desired = Desired(rules) if rules is not None and catalog is not None else None
        self._currency = rules.currency if rules is not None else None
        self._name = rules.name if rules is not None else ""

    @classmethod
    def of(cls, mapping: Mapping[str, RemoteListing]) -> Observed:
        """Every listing whole (a plain mapping, as tests build them)."""
        if isinstance(mapping, Observed):
            return mapping
        out = cls()
        out.entries.update(mapping)
        return out

    def add(self, r: RemoteListing) -> None:
        sku = r.sku
        d = self.desired
        if d is None or (self._keep and sku in self._keep):
            self.entries[sku] = r
            return
        product = self.catalog.get(sku)  # type: ignore[union-attr]
        if product is None:
            self.entries[sku] = stock_values(r.values)
            return
        if self._currency and product.price.currency != self._currency:
            self.entries[sku] = r
            return
        # keyed by the catalog's own SKU string: one string per SKU however many channels
        sku = product.sku
        have = r.values
        if d.plain and len(have) == 4 and not (product.overrides and self._name in product.overrides):
            # the usual listing, compared field by field without building the wanted values
            q = sum(product.stock.values())
            if q < 0:
                q = 0
            if (
                have.get(QUANTITY, _ABSENT) == q
                and have.get(TITLE, _ABSENT) == product.title
                and have.get(PRICE, _ABSENT) == d.price(product.price)
                and have.get(DESCRIPTION, _ABSENT) == product.description
            ):
                self.entries[sku] = q
                return
        want = d.values(product)
        if have == want:
            q = want.get(QUANTITY)
            self.entries[sku] = q if d.single and type(q) is int else stock_values(have)
            return
        for key, value in want.items():
            if have.get(key, _ABSENT) != value:
                self.entries[sku] = r
                return
        self.entries[sku] = stock_values(have)

    def update(self, listings: Iterable[RemoteListing]) -> None:
        add = self.add
        d = self.desired
        if d is None or not d.plain or self._keep or self._currency or self.catalog is None:
            for r in listings:
                add(r)
            return
        # :meth:`add` inlined for the usual listing (four fields, a catalog product without an
        # override on this channel, equal to what the catalog wants): anything else goes to add
        entries = self.entries
        product_of = self.catalog.get
        name = self._name
        price_of = d.price
        plain_price = d.plain_price
        absent = _ABSENT
        for r in listings:
            product = product_of(r.sku)
            have = r.values
            if product is None or len(have) != 4 or (product.overrides and name in product.overrides):
                add(r)
                continue
            q = sum(product.stock.values())
            if q < 0:
                q = 0
            price = product.price if plain_price else price_of(product.price)
            hp = have.get(PRICE, absent)
            # Money's own equality, without its call: the same class, minor units and currency
            if (
                have.get(QUANTITY, absent) == q
                and have.get(TITLE, absent) == product.title
                and (
                    hp is price
                    or (
                        type(hp) is Money
                        and type(price) is Money
                        and hp.minor == price.minor
                        and hp.currency == price.currency
                    )
                )
                and have.get(DESCRIPTION, absent) == product.description
            ):
                entries[product.sku] = q
            else:
                add(r)

    def assume_same(self, sku: str, values: Mapping[str, Value]) -> None:
        """Record, without reading it, that the channel holds ``values`` for ``sku``: exactly
        what the catalog wants there now (an incremental read proved it unchanged)."""
        self.entries[sku] = stock_values(values)

    def stock(self) -> Iterator[tuple[str, StockValues]]:
        """(SKU, stock values) of every listing the channel showed."""
        for sku, e in self.entries.items():
            if type(e) is RemoteListing:
                yield sku, stock_values(e.values)
            else:
                yield sku, e  # type: ignore[misc]

    # -- Mapping: the listings as read (dropped values rebuilt from the catalog) --
    def __getitem__(self, sku: str) -> RemoteListing:
        e = self.entries[sku]
        if type(e) is RemoteListing:
            return e
        values: dict[str, Value] = {}
        product = self.catalog.get(sku) if self.catalog is not None else None
        if product is not None and self.desired is not None:
            values.update(self.desired.values(product))
        values.update(stock_items(e))  # type: ignore[arg-type]
        return RemoteListing(sku, frozen(values))

    def __contains__(self, sku: object) -> bool:
        return sku in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


_ABSENT = object()
_NOTHING_EXPECTED: Mapping[str, Value] = frozen()  # shared by the writes that expect nothing


@dataclass(frozen=True)
class ChannelInput:
    """Everything the planner knows about one channel."""

    name: str
    rules: ChannelRules
    capabilities: Capabilities
    observed: Mapping[str, RemoteListing] | None  # None: the channel could not be read
    bases: Mapping[BaseKey, Value] = field(default_factory=frozen)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One SKU's write on one channel: its changes, in absolute values."""

    channel: str
    sku: str
    changes: tuple[Change, ...]
    listing: Listing
    remote: RemoteListing | None
    create: bool = False
    expected: Mapping[str, Value] = field(default_factory=frozen)

    @property
    def values(self) -> dict[str, Value]:
        return {c.field: c.new for c in self.changes}


@dataclass(frozen=True)
class ChannelPlan:
    channel: str
    writes: tuple[PlannedWrite, ...] = ()
    unchanged: int = 0
    missing: tuple[str, ...] = ()  # in the catalog, not on the channel, and it cannot create
    unknown: tuple[str, ...] = ()  # on the channel, not in the catalog (left alone)
    invalid: tuple[tuple[str, str], ...] = ()  # (sku, reason): not planned
    listed: int = 0  # listings the channel holds now
    zeroes: int = 0  # listings this plan takes from stock > 0 to 0
    error: str | None = None  # the channel could not be read: nothing planned for it

    @property
    def changes(self) -> list[Change]:
        return [c for w in self.writes for c in w.changes]


@dataclass(frozen=True)
class Plan:
    """The plan as a value: sales to record, then writes per channel. The only input of apply."""

    channels: tuple[ChannelPlan, ...]
    sales: tuple[Sale, ...] = ()
    # the catalog this plan was made from, after its sales (not part of the plan's value)
    catalog: Mapping[str, Product] | None = field(default=None, compare=False, repr=False)

    @property
    def changes(self) -> list[Change]:
        return [c for ch in self.channels for c in ch.changes]

    @property
    def change_count(self) -> int:
        return sum(len(w.changes) for ch in self.channels for w in ch.writes)

    @property
    def write_count(self) -> int:
        return sum(len(ch.writes) for ch in self.channels)

    @property
    def empty(self) -> bool:
        return not self.sales and self.write_count == 0

    def channel(self, name: str) -> ChannelPlan:
        for ch in self.channels:
            if ch.channel == name:
                return ch
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "sales": [s.to_json() for s in self.sales],
            "channels": [
                {
                    "channel": ch.channel,
                    "error": ch.error,
                    "changes": [{**c.to_json(), "create": w.create} for w in ch.writes for c in w.changes],
                    "unchanged": ch.unchanged,
                    "missing": list(ch.missing),
                    "unknown": list(ch.unknown),
                    "invalid": [{"sku": s, "reason": r} for s, r in ch.invalid],
                    "listed": ch.listed,
                    "zeroes": ch.zeroes,
                }
                for ch in self.channels
            ],
            "summary": {
                "changes": self.change_count,
                "writes": self.write_count,
                "sales": len(self.sales),
                "units_sold": sum(s.units for s in self.sales),
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


def detect_sales(
    products: Mapping[str, Product], channels: Sequence[ChannelInput]
) -> tuple[tuple[Sale, ...], dict[str, Product]]:
    """Sales seen on every channel, and the products with those units taken out of stock.

    Units are taken from the catalog locations that feed the channel's stock field, in the
    configured order (every location, sorted, when none is configured), never below 0; what could
    not be taken is reported as ``Sale.oversold``.
    """
    stock: dict[str, dict[str, int]] = {}
    sales: list[Sale] = []
    for ch in channels:
        if ch.observed is None or QUANTITY not in ch.rules.fields:
            continue
        sources = ch.rules.stock_sources()
        observed = Observed.of(ch.observed)
        base_stock = Bases.of(ch.bases).stock
        found: list[tuple[str, str, int, int]] = []
        pooled = QUANTITY in sources
        get = base_stock.get
        for sku, st in observed.entries.items():
            if type(st) is int:
                b = get(sku)
                if type(b) is int:
                    if st < b and pooled:
                        found.append((sku, QUANTITY, b, st))
                    continue
                if b is None:
                    continue
            elif type(st) is RemoteListing:
                b = get(sku)
                if b is None:
                    continue
                st = stock_values(st.values)
            else:
                b = get(sku)
                if b is None:
                    continue
            for key, value in stock_items(st):  # type: ignore[arg-type]
                base = stock_get(b, key)
                if base is not None and value < base and key in sources:
                    found.append((sku, key, base, value))
        found.sort()
        for sku, key, base, value in found:
            product = products.get(sku)
            if product is None:
                continue
            units = base - value
            current = stock.setdefault(sku, dict(product.stock))
            locs = sources[key]
            order = list(locs) if locs is not None else sorted(current)
            allocation: dict[str, int] = {}
            left = units
            for loc in order:
                if left == 0:
                    break
                take = min(left, max(current.get(loc, 0), 0))
                if take:
                    allocation[loc] = take
                    current[loc] = current.get(loc, 0) - take
                    left -= take
            sales.append(Sale(ch.name, sku, key, base, value, frozen(allocation)))
    updated = dict(products)
    for sku, left_per_loc in stock.items():
        updated[sku] = replace(products[sku], stock=frozen(left_per_loc))
    return tuple(sales), updated


def plan_channel(products: Iterable[Product], ch: ChannelInput) -> ChannelPlan:
    """Diff one channel: desired (catalog after rules) against observed."""
    ordered = list(products)
    return _plan_channel(ordered, {p.sku: p for p in ordered}, ch)


def _plan_channel(
    products: Sequence[Product],
    by_sku: Mapping[str, Product],
    ch: ChannelInput,
    moved: Collection[str] | None = None,
) -> ChannelPlan:
    """``moved``, when known: the SKUs whose product in ``by_sku`` is not the very one in the
    catalog ``ch.observed`` was built over (every other SKU's is)."""
    if ch.observed is None:
        return ChannelPlan(ch.name, error=ch.error or "not read")
    caps = ch.capabilities
    cas = caps.compare_and_set
    name = ch.name
    currency = ch.rules.currency
    observed = Observed.of(ch.observed)
    entries = observed.entries
    original = observed.catalog
    d = observed.desired if observed.desired is not None else Desired(ch.rules)
    writes: list[PlannedWrite] = []
    missing: list[str] = []
    invalid: list[tuple[str, str]] = []
    unchanged = 0
    zeroes = 0
    if original is not None and not currency:
        # Most SKUs were found equal to the catalog while reading and no sale touched them: visit
        # only the others (held whole, moved by a sale, or not listed), in catalog order.
        todo: set[str] = set(by_sku.keys() - entries.keys())
        todo.update(s for s, e in entries.items() if type(e) is RemoteListing)
        if moved is not None:
            todo.update(moved)
        else:
            todo.update(s for s, p in by_sku.items() if p is not original.get(s))
        todo &= by_sku.keys()
        unchanged = len(by_sku) - len(todo)
        products = [by_sku[s] for s in sorted(todo)]
    for product in products:
        sku = product.sku
        if currency and product.price.currency != currency:
            invalid.append(
                (sku, f"catalog price is in {product.price.currency}, channel sells in {currency}")
            )
            continue
        entry = entries.get(sku)
        if type(entry) is RemoteListing:
            remote = entry
        else:
            if entry is not None:
                assert original is not None
                before = original.get(sku)
                if product is before:
                    unchanged += 1  # equal before this run's sales, and untouched by them
                    continue
                # a sale somewhere moved this SKU's stock: the channel holds what the catalog
                # wanted before it (and the stock values it showed)
                old_values: dict[str, Value] = d.values(before) if before is not None else {}
                old_values.update(stock_items(entry))  # type: ignore[arg-type]
                remote = RemoteListing(sku, frozen(old_values))
            else:
                new = d.values(product)
                ov = product.overrides.get(name) if product.overrides else None
                if ov is not None and ov.enabled is False:
                    continue
                if caps.create:
                    changes = tuple(Change(name, sku, k, None, v) for k, v in new.items())
                    writes.append(
                        PlannedWrite(name, sku, changes, d.listing(product, new), None, create=True)
                    )
                else:
                    missing.append(sku)
                continue
        new = d.values(product)
        have = remote.values
        if have == new:
            unchanged += 1
            continue
        changes_l: list[Change] = []
        expected: dict[str, Value] = {}
        for key, value in new.items():
            old = have.get(key)
            if old == value:
                continue
            changes_l.append(Change(name, sku, key, old, value))
            if field_kind(key) == QUANTITY:
                if cas and old is not None:
                    expected[key] = old
                if value == 0 and isinstance(old, int) and old > 0:
                    zeroes += 1
        if changes_l:
            writes.append(
                PlannedWrite(
                    name,
                    sku,
                    tuple(changes_l),
                    d.listing(product, new),
                    remote,
                    expected=frozen(expected) if expected else _NOTHING_EXPECTED,
                )
            )
        else:
            unchanged += 1
    unknown = tuple(sorted(entries.keys() - by_sku.keys()))
    return ChannelPlan(
        name,
        writes=tuple(writes),
        unchanged=unchanged,
        missing=tuple(missing),
        unknown=unknown,
        invalid=tuple(invalid),
        listed=len(observed),
        zeroes=zeroes,
    )


def plan(products: Iterable[Product] | Mapping[str, Product], channels: Sequence[ChannelInput]) -> Plan:
    """The whole plan: sales first (three-way stock), then each channel's writes.

    ``products`` may be a mapping SKU -> product; a channel observed through :class:`Observed`
    must have been built over that very mapping.
    """
    by_sku: Mapping[str, Product]
    if isinstance(products, Mapping):
        by_sku = products
    else:
        by_sku = {p.sku: p for p in products}
    for ch in channels:
        if (
            isinstance(ch.observed, Observed)
            and ch.observed.catalog is not None
            and ch.observed.catalog is not by_sku
        ):
            raise ValueError(f"{ch.name}: observed over another catalog than the plan's")
    sales, after = detect_sales(by_sku, channels)
    # in catalog order, for the channels that visit every SKU (the others visit only the few
    # SKUs not found equal while reading, and sort those themselves)
    visit_all = any(
        ch.observed is not None
        and not (
            isinstance(ch.observed, Observed) and ch.observed.catalog is not None and not ch.rules.currency
        )
        for ch in channels
    )
    ordered = [after[s] for s in sorted(after)] if visit_all else []
    # detect_sales replaced exactly the products its sales took units from; every other SKU of
    # ``after`` is the catalog's own product (and there are no others)
    moved = {s.sku for s in sales}
    return Plan(tuple(_plan_channel(ordered, after, ch, moved) for ch in channels), sales, catalog=after)
