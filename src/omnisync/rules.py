"""Desired state per channel: the catalog after that channel's price, stock and content rules.

Pure functions over frozen values. The rule models are pydantic models so that ``channels.toml``
validates them (``config.py``); amounts are ``Decimal`` (the TOML loader parses floats as Decimal),
never float.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import (
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    Listing,
    Product,
    Value,
    quantity_key,
)
from .money import Money, exponent

TEMPLATE_FIELDS = ("title", "description", "brand", "sku", "mpn", "gtin", "condition", "group_key")


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceRules(_Rules):
    """Price = catalog price x (1 + markup_percent/100) + add, rounded up to ``ending``, then
    clamped to [floor, ceiling]. A per-channel price override in the catalog is used as is."""

    markup_percent: Decimal = Field(default=Decimal(0), ge=Decimal(-99), le=Decimal(1000))
    add: Decimal = Decimal(0)
    ending: Decimal | None = Field(default=None, ge=Decimal(0), lt=Decimal(1))
    floor: Decimal | None = Field(default=None, ge=Decimal(0))
    ceiling: Decimal | None = Field(default=None, gt=Decimal(0))

    @field_validator("markup_percent", "add", "ending", "floor", "ceiling", mode="before")
    @classmethod
    def _no_float(cls, v: object) -> object:
        if isinstance(v, float):
            raise ValueError("write amounts as decimals (the config loader reads them exactly)")
        if isinstance(v, str):
            try:
                return Decimal(v)
            except Exception:
                raise ValueError(f"{v!r} is not a decimal number") from None
        return v

    @model_validator(mode="after")
    def _bounds(self) -> "PriceRules":
        for name in ("markup_percent", "add", "ending", "floor", "ceiling"):
            v = getattr(self, name)
            if v is not None and not v.is_finite():
                raise ValueError(f"{name} must be a finite number")
        if self.floor is not None and self.ceiling is not None and self.floor > self.ceiling:
            raise ValueError("floor is above ceiling")
        return self

    def apply(self, base: Money) -> Money:
        cur = base.currency
        value = base.amount * (1 + self.markup_percent / 100) + self.add
        price = Money.from_decimal_rounded(value, cur)
        if self.ending is not None:
            price = _round_up_to_ending(price, self.ending)
        if self.floor is not None:
            floor = Money.from_decimal_rounded(self.floor, cur)
            price = max(price, floor)
        if self.ceiling is not None:
            ceiling = Money.from_decimal_rounded(self.ceiling, cur)
            price = min(price, ceiling)
        return price


def _round_up_to_ending(price: Money, ending: Decimal) -> Money:
    """The smallest amount >= price whose fractional part is ``ending`` (12.10 -> 12.99)."""
    exp = exponent(price.currency)
    unit = 10**exp
    end_minor = int((ending * unit).to_integral_value(rounding=ROUND_FLOOR))
    whole = price.minor // unit
    candidate = whole * unit + end_minor
    if candidate < price.minor:
        candidate += unit
    return Money(candidate, price.currency)


class StockRules(_Rules):
    """Shown = min(max_shown, floor((stock - buffer) x allocation_percent / 100)), and 0 when that
    is at or below ``zero_at_or_below``. Never negative."""

    buffer: int = Field(default=0, ge=0)
    allocation_percent: int = Field(default=100, ge=0, le=100)
    max_shown: int | None = Field(default=None, ge=0)
    zero_at_or_below: int = Field(default=0, ge=0)

    def apply(self, units: int) -> int:
        q = max(0, units - self.buffer)
        q = q * self.allocation_percent // 100
        if self.max_shown is not None:
            q = min(q, self.max_shown)
        if q <= self.zero_at_or_below:
            q = 0
        return q


class ContentRules(_Rules):
    """Templates over the catalog's fields, e.g. ``title_template = "{brand} {title}"``.
    A per-channel title or description override in the catalog wins over the template."""

    title_template: str | None = None
    description_template: str | None = None

    @field_validator("title_template", "description_template")
    @classmethod
    def _known_fields(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
        except ValueError as exc:
            raise ValueError(f"bad template: {exc}") from None
        for name in names:
            if name not in TEMPLATE_FIELDS:
                raise ValueError(
                    f"unknown template field {{{name}}}; use one of "
                    + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
                )
        return v

    @staticmethod
    def render(template: str, product: Product) -> str:
        fields = {f: (getattr(product, f) or "") for f in TEMPLATE_FIELDS}
        return template.format(**fields).strip()


class ChannelRules(_Rules):
    """Everything :func:`desired` needs to know about one channel."""

    name: str
    fields: frozenset[str]  # field kinds to keep true (quantity, price, title, description)
    currency: str | None = None
    price: PriceRules = PriceRules()
    stock: StockRules = StockRules()
    content: ContentRules = ContentRules()
    # remote location -> catalog locations summed into it. None: one pool ("quantity") fed by
    # ``stock_locations`` (or every catalog location when that is None too).
    locations: Mapping[str, tuple[str, ...]] | None = None
    stock_locations: tuple[str, ...] | None = None

    def stock_sources(self) -> dict[str, tuple[str, ...] | None]:
        """stock field key -> catalog locations that feed it (None = all of them)."""
        if self.locations:
            return {quantity_key(remote): tuple(cats) for remote, cats in self.locations.items()}
        return {QUANTITY: self.stock_locations}


def _sum_stock(stock: Mapping[str, int], locations: Iterable[str] | None) -> int:
    if locations is None:
        return sum(stock.values())
    return sum(stock.get(loc, 0) for loc in locations)


def desired(product: Product, rules: ChannelRules) -> Listing:
    """The listing ``product`` should have on the channel ``rules`` describes."""
    ov = product.overrides.get(rules.name)
    enabled = True if ov is None or ov.enabled is None else ov.enabled

    if ov is not None and ov.price is not None:
        price = ov.price
    else:
        price = rules.price.apply(product.price)

    if ov is not None and ov.title is not None:
        title = ov.title
    elif rules.content.title_template:
        title = ContentRules.render(rules.content.title_template, product)
    else:
        title = product.title

    if ov is not None and ov.description is not None:
        description = ov.description
    elif rules.content.description_template:
        description = ContentRules.render(rules.content.description_template, product)
    else:
        description = product.description

    values: dict[str, Value] = {}
    total = 0
    for key, sources in rules.stock_sources().items():
        shown = rules.stock.apply(_sum_stock(product.stock, sources)) if enabled else 0
        total += shown
        if QUANTITY in rules.fields:
            values[key] = shown
    if PRICE in rules.fields:
        values[PRICE] = price
    if TITLE in rules.fields:
        values[TITLE] = title
    if DESCRIPTION in rules.fields:
        values[DESCRIPTION] = description

    return Listing(
        sku=product.sku,
        values=values,
        enabled=enabled,
        title=title,
        description=description,
        price=price,
        quantity=total,
        group_key=product.group_key,
        gtin=product.gtin,
        brand=product.brand,
        mpn=product.mpn,
        condition=product.condition,
        images=product.images,
        link=product.link,
    )
