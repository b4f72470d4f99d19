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

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .channels.base import Capabilities
from .models import (
    QUANTITY,
    Change,
    Listing,
    Product,
    RemoteListing,
    Sale,
    Value,
    field_kind,
    frozen,
)
from .rules import ChannelRules, desired

BaseKey = tuple[str, str]  # (sku, field key)


@dataclass(frozen=True)
class ChannelInput:
    """Everything the planner knows about one channel."""

    name: str
    rules: ChannelRules
    capabilities: Capabilities
    observed: Mapping[str, RemoteListing] | None  # None: the channel could not be read
    bases: Mapping[BaseKey, Value] = field(default_factory=frozen)
    error: str | None = None


@dataclass(frozen=True)
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
                    "changes": [
                        {**c.to_json(), "create": w.create} for w in ch.writes for c in w.changes
                    ],
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


def detect_sales(products: Mapping[str, Product], channels: Sequence[ChannelInput]) -> tuple[
        tuple[Sale, ...], dict[str, Product]]:
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
        for sku in sorted(ch.observed):
            product = products.get(sku)
            if product is None:
                continue
            remote = ch.observed[sku]
            for key, observed in remote.values.items():
                if field_kind(key) != QUANTITY or key not in sources:
                    continue
                base = ch.bases.get((sku, key))
                if not isinstance(base, int) or not isinstance(observed, int) or observed >= base:
                    continue
                units = base - observed
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
                sales.append(Sale(ch.name, sku, key, base, observed, frozen(allocation)))
    updated = dict(products)
    for sku, locs in stock.items():
        updated[sku] = replace(products[sku], stock=frozen(locs))
    return tuple(sales), updated


def plan_channel(products: Iterable[Product], ch: ChannelInput) -> ChannelPlan:
    """Diff one channel: desired (catalog after rules) against observed."""
    if ch.observed is None:
        return ChannelPlan(ch.name, error=ch.error or "not read")
    caps = ch.capabilities
    writes: list[PlannedWrite] = []
    missing: list[str] = []
    invalid: list[tuple[str, str]] = []
    unchanged = 0
    zeroes = 0
    seen: set[str] = set()
    for product in products:
        sku = product.sku
        seen.add(sku)
        if ch.rules.currency and product.price.currency != ch.rules.currency:
            invalid.append((sku, f"catalog price is in {product.price.currency}, channel sells in "
                                 f"{ch.rules.currency}"))
            continue
        listing = desired(product, ch.rules)
        remote = ch.observed.get(sku)
        if remote is None:
            if not listing.enabled:
                continue
            if caps.create:
                changes = tuple(Change(ch.name, sku, k, None, v) for k, v in listing.values.items())
                writes.append(PlannedWrite(ch.name, sku, changes, listing, None, create=True))
            else:
                missing.append(sku)
            continue
        changes_l: list[Change] = []
        expected: dict[str, Value] = {}
        for key, new in listing.values.items():
            old = remote.values.get(key)
            if old == new:
                continue
            changes_l.append(Change(ch.name, sku, key, old, new))
            if field_kind(key) == QUANTITY:
                if caps.compare_and_set and old is not None:
                    expected[key] = old
                if new == 0 and isinstance(old, int) and old > 0:
                    zeroes += 1
        if changes_l:
            writes.append(PlannedWrite(ch.name, sku, tuple(changes_l), listing, remote,
                                       expected=frozen(expected)))
        else:
            unchanged += 1
    unknown = tuple(sorted(s for s in ch.observed if s not in seen))
    return ChannelPlan(
        ch.name,
        writes=tuple(writes),
        unchanged=unchanged,
        missing=tuple(missing),
        unknown=unknown,
        invalid=tuple(invalid),
        listed=len(ch.observed),
        zeroes=zeroes,
    )


def plan(products: Iterable[Product], channels: Sequence[ChannelInput]) -> Plan:
    """The whole plan: sales first (three-way stock), then each channel's writes."""
    by_sku = {p.sku: p for p in products}
    sales, after = detect_sales(by_sku, channels)
    ordered = [after[s] for s in sorted(after)]
    return Plan(tuple(plan_channel(ordered, ch) for ch in channels), sales)
