"""Desired state per channel: the catalog after that channel's price, stock and content rules.

Pure functions over frozen values. The rule models are pydantic models so that ``channels.toml``
validates them (``config.py``); amounts are ``Decimal`` (the TOML loader parses floats as Decimal),
never float.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .models import (
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    Listing,
    Override,
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
    def _bounds(self) -> PriceRules:
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


class Desired:
    """:func:`desired` for one channel's rules, prepared once and applied to many products.

    The planner calls it for every SKU of every channel, so the rules are read once here and each
    call does only what the product needs: a price rule is computed once per distinct catalog
    price (memoised; the result is the same exact ``Money``), a product without overrides skips
    them, and :meth:`values` builds only the field values the planner compares (a whole
    :class:`Listing` is built only for the SKUs that are written).
    """

    __slots__ = (
        "_desc_t",
        "_identity_stock",
        "_price",
        "_prices",
        "_stock",
        "_title_t",
        "fields",
        "name",
        "plain",
        "plain_price",
        "rules",
        "single",
        "sources",
        "values",
        "want_desc",
        "want_price",
        "want_qty",
        "want_title",
    )

    def __init__(self, rules: ChannelRules) -> None:
        self.rules = rules
        self.name = rules.name
        self.fields = rules.fields
        self.sources: tuple[tuple[str, tuple[str, ...] | None], ...] = tuple(rules.stock_sources().items())
        # the usual case: one pool fed by every catalog location
        self.single = len(self.sources) == 1 and self.sources[0] == (QUANTITY, None)
        self.want_qty = QUANTITY in rules.fields
        self.want_price = PRICE in rules.fields
        self.want_title = TITLE in rules.fields
        self.want_desc = DESCRIPTION in rules.fields
        st = rules.stock
        self._stock = st
        self._identity_stock = (
            st.buffer == 0
            and st.allocation_percent == 100
            and st.max_shown is None
            and st.zero_at_or_below == 0
        )
        pr = rules.price
        self._price: PriceRules | None = (
            None
            if (
                pr.markup_percent == 0
                and pr.add == 0
                and pr.ending is None
                and pr.floor is None
                and pr.ceiling is None
            )
            else pr
        )
        self._prices: dict[Money, Money] = {}
        #: True when :meth:`price` returns the catalog price itself (no price rule)
        self.plain_price = self._price is None
        self._title_t = rules.content.title_template or None
        self._desc_t = rules.content.description_template or None
        #: True when :attr:`values` is the specialised one: for a product without an override on
        #: this channel its values are exactly {quantity: max(sum of stock, 0), price:
        #: :meth:`price`, title, description} (the planner compares listings to that directly).
        self.plain = False
        #: ``values(product)``: the field values ``product`` should have on the channel, i.e.
        #: ``desired(product, rules).values`` (specialised for the usual rules: see _compile).
        self.values: Callable[[Product], dict[str, Value]] = self._compile()

    def _compile(self) -> Callable[[Product], dict[str, Value]]:
        general = self._values
        if not (
            self.single
            and self.want_qty
            and self.want_price
            and self.want_title
            and self.want_desc
            and self._identity_stock
            and self._title_t is None
            and self._desc_t is None
        ):
            return general
        name = self.name
        prices = self._prices
        price_of = self.price
        plain_price = self._price is None
        self.plain = True

        def values(product: Product) -> dict[str, Value]:
            if product.overrides and name in product.overrides:
                return general(product)
            q = sum(product.stock.values())
            price = product.price
            if not plain_price:
                price = prices.get(price) or price_of(price)
            return {
                QUANTITY: q if q > 0 else 0,
                PRICE: price,
                TITLE: product.title,
                DESCRIPTION: product.description,
            }

        return values

    def price(self, base: Money) -> Money:
        rule = self._price
        if rule is None:
            return base
        out = self._prices.get(base)
        if out is None:
            out = self._prices[base] = rule.apply(base)
        return out

    def shown(self, units: int) -> int:
        if self._identity_stock:
            return units if units > 0 else 0
        return self._stock.apply(units)

    def _values(self, product: Product) -> dict[str, Value]:
        ov = product.overrides.get(self.name) if product.overrides else None
        out: dict[str, Value] = {}
        if self.want_qty:
            if ov is not None and ov.enabled is False:
                for key, _ in self.sources:
                    out[key] = 0
            elif self.single:
                out[QUANTITY] = self.shown(sum(product.stock.values()))
            else:
                for key, locs in self.sources:
                    out[key] = self.shown(_sum_stock(product.stock, locs))
        if ov is None:
            if self.want_price:
                out[PRICE] = self.price(product.price)
            if self.want_title:
                out[TITLE] = (
                    product.title if self._title_t is None else ContentRules.render(self._title_t, product)
                )
            if self.want_desc:
                out[DESCRIPTION] = (
                    product.description
                    if self._desc_t is None
                    else ContentRules.render(self._desc_t, product)
                )
            return out
        if self.want_price:
            out[PRICE] = ov.price if ov.price is not None else self.price(product.price)
        if self.want_title:
            out[TITLE] = self._title(product, ov)
        if self.want_desc:
            out[DESCRIPTION] = self._description(product, ov)
        return out

    def _title(self, product: Product, ov: Override | None) -> str:
        if ov is not None and ov.title is not None:
            return ov.title
        if self._title_t is not None:
            return ContentRules.render(self._title_t, product)
        return product.title

    def _description(self, product: Product, ov: Override | None) -> str:
        if ov is not None and ov.description is not None:
            return ov.description
        if self._desc_t is not None:
            return ContentRules.render(self._desc_t, product)
        return product.description

    def listing(self, product: Product, values: Mapping[str, Value] | None = None) -> Listing:
        """The whole desired listing (``values``: this product's :meth:`values`, if known)."""
        ov = product.overrides.get(self.name) if product.overrides else None
        enabled = True if ov is None or ov.enabled is None else ov.enabled
        price = ov.price if ov is not None and ov.price is not None else self.price(product.price)
        total = 0
        if enabled:
            for _key, locs in self.sources:
                total += self.shown(_sum_stock(product.stock, locs))
        return Listing(
            sku=product.sku,
            values=dict(values) if values is not None else self.values(product),
            enabled=enabled,
            title=self._title(product, ov),
            description=self._description(product, ov),
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


def desired(product: Product, rules: ChannelRules) -> Listing:
    """The listing ``product`` should have on the channel ``rules`` describes.

    For many products and one channel, build a :class:`Desired` once and call it instead.
    """
    return Desired(rules).listing(product)
