"""Frozen domain values shared by every part of omnisync.

Field keys
----------
A *field key* names one value omnisync keeps true on a channel: ``"price"``, ``"title"``,
``"description"``, or stock: ``"quantity"`` for a channel with one stock pool, and
``"quantity@<remote location id>"`` for a channel with several locations. The field *kind* is the
part before ``@``. Bases, journal rows, plan changes and remote observations all use field keys, so
multi-location stock needs no special case anywhere.

Values are ``int`` for quantities, :class:`~omnisync.money.Money` for prices and ``str`` for text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar, overload

from .money import Money

QUANTITY = "quantity"
PRICE = "price"
TITLE = "title"
DESCRIPTION = "description"
FIELD_KINDS: tuple[str, ...] = (QUANTITY, PRICE, TITLE, DESCRIPTION)
CONDITIONS: tuple[str, ...] = ("new", "refurbished", "used")

Value = int | Money | str


def field_kind(key: str) -> str:
    """``"quantity@loc-1"`` -> ``"quantity"``; ``"price"`` -> ``"price"``."""
    return key.split("@", 1)[0]


def field_location(key: str) -> str:
    """``"quantity@loc-1"`` -> ``"loc-1"``; ``"quantity"`` -> ``""``."""
    return key.split("@", 1)[1] if "@" in key else ""


def quantity_key(location: str = "") -> str:
    return f"{QUANTITY}@{location}" if location else QUANTITY


_K = TypeVar("_K")
_V = TypeVar("_V")


@overload
def frozen() -> Mapping[Any, Any]: ...
@overload
def frozen(mapping: Mapping[_K, _V] | None) -> Mapping[_K, _V]: ...
def frozen(mapping: Mapping[Any, Any] | None = None) -> Mapping[Any, Any]:
    """A read-only copy of ``mapping`` (empty when None)."""
    return MappingProxyType(dict(mapping or {}))


def value_to_json(value: Value | None) -> Any:
    if isinstance(value, Money):
        return value.to_json()
    return value


def value_to_text(value: Value | None) -> str:
    """The human rendering of a value (a plan line, history)."""
    if value is None:
        return "(none)"
    if isinstance(value, Money):
        return str(value)
    if isinstance(value, str):
        text = value.replace("\n", " ")
        return repr(text if len(text) <= 60 else text[:57] + "...")
    return str(value)


def encode_value(value: Value | None) -> str | None:
    """A lossless text form for state.db: ``i:12``, ``m:1999:USD``, ``s:...``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("bool is not a field value")
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, Money):
        return f"m:{value.minor}:{value.currency}"
    return f"s:{value}"


def decode_value(text: str | None) -> Value | None:
    if text is None:
        return None
    tag, _, rest = text.partition(":")
    if tag == "i":
        return int(rest)
    if tag == "m":
        minor, _, cur = rest.partition(":")
        return Money(int(minor), cur)
    if tag == "s":
        return rest
    raise ValueError(f"bad encoded value {text!r}")


@dataclass(frozen=True, slots=True)
class Override:
    """A per-channel override from the catalog. ``None`` means "no override"."""

    title: str | None = None
    description: str | None = None
    price: Money | None = None
    enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Product:
    """One sellable SKU in the seller's catalog (a variant is its own SKU with a ``group_key``)."""

    sku: str
    title: str
    price: Money
    description: str = ""
    group_key: str | None = None
    stock: Mapping[str, int] = field(default_factory=frozen)  # catalog location -> units
    gtin: str | None = None
    brand: str | None = None
    mpn: str | None = None
    condition: str = "new"
    images: tuple[str, ...] = ()
    link: str | None = None
    overrides: Mapping[str, Override] = field(default_factory=frozen)  # channel name -> override

    @property
    def total_stock(self) -> int:
        return sum(self.stock.values())


@dataclass(frozen=True, slots=True)
class Listing:
    """The desired state of one SKU on one channel: the catalog after that channel's rules.

    ``values`` holds exactly the field keys omnisync keeps true on that channel; the other
    attributes are the listing's content, used by feed channels and by ``omnisync validate``.
    """

    sku: str
    values: Mapping[str, Value]
    enabled: bool = True
    title: str = ""
    description: str = ""
    price: Money | None = None
    quantity: int = 0  # total across the channel's locations
    group_key: str | None = None
    gtin: str | None = None
    brand: str | None = None
    mpn: str | None = None
    condition: str = "new"
    images: tuple[str, ...] = ()
    link: str | None = None


@dataclass(frozen=True, slots=True)
class RemoteListing:
    """What a channel holds now for one SKU. ``values`` has the field keys the channel reports."""

    sku: str
    values: Mapping[str, Value]
    remote_id: str | None = None
    version: str | None = None  # for channels with optimistic concurrency
    extra: Mapping[str, Any] = field(default_factory=frozen)  # adapter's own ids, kept opaque


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one SKU on one channel goes from ``old`` to ``new`` (absolute values)."""

    channel: str
    sku: str
    field: str
    old: Value | None
    new: Value

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "sku": self.sku,
            "field": self.field,
            "old": value_to_json(self.old),
            "new": value_to_json(self.new),
        }


@dataclass(frozen=True, slots=True)
class Sale:
    """Units sold on a channel since omnisync last confirmed its quantity there."""

    channel: str
    sku: str
    field: str  # the stock field key on the channel ("quantity" or "quantity@loc")
    base: int  # the quantity omnisync last confirmed
    observed: int  # the quantity the channel shows now
    # catalog location -> units taken out of it. Sums to ``units`` unless the catalog had fewer
    # units than were sold (an oversell that happened elsewhere): then ``oversold`` says how many.
    # (``dataclasses.field``: the name ``field`` is this class's own field above)
    allocation: Mapping[str, int] = dataclasses.field(default_factory=frozen)

    @property
    def units(self) -> int:
        return self.base - self.observed

    @property
    def oversold(self) -> int:
        return self.units - sum(self.allocation.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "sku": self.sku,
            "field": self.field,
            "units": self.units,
            "base": self.base,
            "observed": self.observed,
            "allocation": dict(self.allocation),
            "oversold": self.oversold,
        }


@dataclass(frozen=True, slots=True)
class WriteItem:
    """One SKU's write on one channel: the absolute new values of the changed fields.

    ``expected`` holds, for compare-and-set channels, the value each stock field had when it was
    read; a channel that finds another value there must report a conflict, not overwrite it.
    ``key`` is the idempotency key journalled before sending.
    """

    sku: str
    values: Mapping[str, Value]
    listing: Listing
    key: str
    expected: Mapping[str, Value] = field(default_factory=frozen)
    create: bool = False
    remote: RemoteListing | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of one SKU's write. ``ok`` means the channel confirmed ``applied``.

    ``pending`` is set (with a job id) by channels that accept a feed and report later.
    ``error_kind`` is an :class:`omnisync.errors.Kind` value when it failed.

    ``job`` names the feed job the result belongs to, on a channel with
    ``Capabilities.feed_jobs``: set on :meth:`accepted` (the SKU went into job ``job``, its
    outcome comes later) and on the final per-SKU results ``poll()`` reports for a finished job.
    """

    sku: str
    ok: bool
    applied: Mapping[str, Value] = field(default_factory=frozen)
    error: str | None = None
    error_kind: str | None = None
    pending: str | None = None
    job: str | None = None

    @classmethod
    def accepted(cls, sku: str, job: str) -> WriteResult:
        """The SKU was accepted into feed job ``job``; its own result comes from ``poll()``."""
        return cls(sku, False, pending=job, job=job)

    @classmethod
    def success(cls, sku: str, applied: Mapping[str, Value]) -> WriteResult:
        return cls(sku, True, frozen(applied))

    @classmethod
    def failure(cls, sku: str, error: str, kind: str = "permanent") -> WriteResult:
        return cls(sku, False, error=error, error_kind=kind)
