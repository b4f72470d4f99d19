"""The pure planner: three-way stock, two-way price and content, plan as a value (with properties)."""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from omnisync.channels.base import Capabilities
from omnisync.diff import ChannelInput, Plan, plan
from omnisync.models import Override, Product, RemoteListing, frozen
from omnisync.money import Money
from omnisync.rules import ChannelRules, PriceRules, StockRules

ALL = frozenset({"quantity", "price", "title", "description"})
CAPS = Capabilities(fields=ALL, read_page_size=100, max_write_batch=50, create=True)


def product(sku: str, qty: int = 10, price: str = "19.99", **kw: object) -> Product:
    return Product(
        sku=sku, title=f"Title {sku}", price=Money.parse(price, "USD"), stock=frozen({"default": qty}), **kw
    )  # type: ignore[arg-type]


def remote(sku: str, qty: int, price: str = "19.99", title: str | None = None) -> RemoteListing:
    return RemoteListing(
        sku,
        frozen(
            {
                "quantity": qty,
                "price": Money.parse(price, "USD"),
                "title": title or f"Title {sku}",
                "description": "",
            }
        ),
    )


def chan(
    name: str,
    observed: dict[str, RemoteListing],
    bases: dict | None = None,
    caps: Capabilities = CAPS,
    **rules: object,
) -> ChannelInput:
    return ChannelInput(
        name,
        ChannelRules(name=name, fields=ALL, **rules),
        caps,  # type: ignore[arg-type]
        observed,
        frozen(bases or {}),
    )


def test_no_changes_when_everything_matches() -> None:
    p = plan([product("A")], [chan("shop", {"A": remote("A", 10)})])
    assert p.empty and p.change_count == 0
    assert p.channel("shop").unchanged == 1


def test_price_and_title_are_two_way() -> None:
    p = plan([product("A", price="21.00")], [chan("shop", {"A": remote("A", 10, "19.99", "Old")})])
    changes = {c.field: (c.old, c.new) for c in p.changes}
    assert changes == {"price": (Money(1999, "USD"), Money(2100, "USD")), "title": ("Old", "Title A")}


def test_sale_on_one_channel_lowers_every_other_channel() -> None:
    products = [product("A", qty=10)]
    shop = chan("shop", {"A": remote("A", 7)}, {("A", "quantity"): 10})  # 3 sold here
    market = chan("market", {"A": remote("A", 10)}, {("A", "quantity"): 10})
    p = plan(products, [shop, market])
    assert [(s.channel, s.sku, s.units, dict(s.allocation)) for s in p.sales] == [
        ("shop", "A", 3, {"default": 3})
    ]
    assert p.channel("shop").writes == ()  # already shows 7
    [c] = p.channel("market").changes
    assert (c.field, c.old, c.new) == ("quantity", 10, 7)


def test_sales_on_two_channels_are_both_taken_out() -> None:
    products = [product("A", qty=10)]
    shop = chan("shop", {"A": remote("A", 8)}, {("A", "quantity"): 10})
    market = chan("market", {"A": remote("A", 9)}, {("A", "quantity"): 10})
    p = plan(products, [shop, market])
    assert sum(s.units for s in p.sales) == 3
    assert {c.channel: c.new for c in p.changes} == {"shop": 7, "market": 7}


def test_oversold_is_reported_and_stock_never_negative() -> None:
    products = [product("A", qty=2)]
    shop = chan("shop", {"A": remote("A", 0)}, {("A", "quantity"): 3})
    p = plan(products, [shop])
    [s] = p.sales
    assert s.units == 3 and s.oversold == 1 and dict(s.allocation) == {"default": 2}


def test_observed_above_base_is_not_a_sale() -> None:
    p = plan([product("A", qty=5)], [chan("shop", {"A": remote("A", 9)}, {("A", "quantity"): 5})])
    assert p.sales == ()
    assert [(c.old, c.new) for c in p.changes] == [(9, 5)]


def test_first_sight_without_base_records_no_sale() -> None:
    p = plan([product("A", qty=5)], [chan("shop", {"A": remote("A", 3)})])
    assert p.sales == ()


def test_stock_rules_and_price_rules_apply() -> None:
    p = plan(
        [product("A", qty=10, price="10.00")],
        [
            chan(
                "shop",
                {},
                stock=StockRules(buffer=2, max_shown=5),
                price=PriceRules(markup_percent=10, ending="0.99"),
            )
        ],
    )
    [w] = p.channel("shop").writes
    assert w.create
    assert w.values["quantity"] == 5 and w.values["price"] == Money(1199, "USD")


def test_disabled_override_zeroes_the_channel_but_not_others() -> None:
    prod = product("A", qty=4, overrides=frozen({"shop": Override(enabled=False)}))
    p = plan([prod], [chan("shop", {"A": remote("A", 4)}), chan("market", {"A": remote("A", 4)})])
    assert [(c.channel, c.new) for c in p.changes] == [("shop", 0)]


def test_channel_that_cannot_create_reports_missing() -> None:
    caps = replace(CAPS, create=False)
    p = plan([product("A")], [chan("shop", {"B": remote("B", 1)}, caps=caps)])
    cp = p.channel("shop")
    assert cp.missing == ("A",) and cp.unknown == ("B",) and cp.writes == ()


def test_unreadable_channel_plans_nothing_and_says_why() -> None:
    p = plan(
        [product("A")],
        [ChannelInput("shop", ChannelRules(name="shop", fields=ALL), CAPS, None, error="boom")],
    )
    assert p.channel("shop").error == "boom" and p.empty


def test_multi_location_stock_maps_catalog_locations() -> None:
    prod = Product("A", "T", Money(100, "USD"), stock=frozen({"wh": 5, "store": 2, "popup": 1}))
    caps = replace(CAPS, multi_location=True)
    inp = chan("shop", {}, caps=caps, locations={"L1": ("wh",), "L2": ("store", "popup")})
    [w] = plan([prod], [inp]).channel("shop").writes
    assert w.values["quantity@L1"] == 5 and w.values["quantity@L2"] == 3


def test_compare_and_set_carries_expected_quantity() -> None:
    caps = replace(CAPS, compare_and_set=True)
    p = plan([product("A", qty=6)], [chan("shop", {"A": remote("A", 9)}, caps=caps)])
    [w] = p.channel("shop").writes
    assert dict(w.expected) == {"quantity": 9}


def test_plan_renders_as_json_with_exact_money() -> None:
    p = plan([product("A", price="19.99")], [chan("shop", {"A": remote("A", 10, "18.00")})])
    data = json.loads(p.dumps())
    assert data["channels"][0]["changes"][0]["new"] == {"amount": "19.99", "currency": "USD"}
    assert data["summary"]["changes"] == 1


# -- properties ------------------------------------------------------------------------------


def apply_plan(
    products: list[Product], inputs: list[ChannelInput], p: Plan
) -> tuple[list[Product], list[ChannelInput]]:
    """What the engine does with a plan, on in-memory values: record sales, apply every write."""
    by = {x.sku: x for x in products}
    for s in p.sales:
        prod = by[s.sku]
        stock = dict(prod.stock)
        for loc, units in s.allocation.items():
            stock[loc] -= units
        by[s.sku] = replace(prod, stock=frozen(stock))
    out = []
    for inp in inputs:
        observed = dict(inp.observed or {})
        bases = dict(inp.bases)
        for s in p.sales:
            if s.channel == inp.name:
                bases[(s.sku, s.field)] = s.observed
        for w in p.channel(inp.name).writes:
            old = observed.get(w.sku)
            values = dict(old.values) if old else {}
            values.update(w.values)
            observed[w.sku] = RemoteListing(w.sku, frozen(values))
            for k, v in w.values.items():
                bases[(w.sku, k)] = v
        out.append(replace(inp, observed=observed, bases=frozen(bases)))
    return [by[s] for s in sorted(by)], out


skus = st.lists(st.sampled_from([f"S{i}" for i in range(8)]), min_size=1, max_size=6, unique=True)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Product], list[ChannelInput]]:
    names = draw(skus)
    products = [
        product(s, qty=draw(st.integers(0, 30)), price=draw(st.sampled_from(["0.99", "19.99", "250.00"])))
        for s in names
    ]
    inputs = []
    for cname in ("shop", "market", "feed")[: draw(st.integers(1, 3))]:
        observed = {}
        bases = {}
        for s in draw(st.lists(st.sampled_from(names), unique=True)):
            q = draw(st.integers(0, 30))
            observed[s] = remote(s, q, draw(st.sampled_from(["0.99", "19.99", "5.00"])))
            if draw(st.booleans()):
                bases[(s, "quantity")] = draw(st.integers(0, 30))
        rules = {}
        if draw(st.booleans()):
            rules["stock"] = StockRules(
                buffer=draw(st.integers(0, 3)),
                allocation_percent=draw(st.sampled_from([50, 100])),
                max_shown=draw(st.sampled_from([None, 5])),
            )
        if draw(st.booleans()):
            rules["price"] = PriceRules(markup_percent=draw(st.sampled_from([0, 12])), ending="0.99")
        inputs.append(chan(cname, observed, bases, **rules))
    return products, inputs


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_applying_a_plan_then_planning_again_gives_an_empty_plan(sc: tuple) -> None:
    products, inputs = sc
    p1 = plan(products, inputs)
    products2, inputs2 = apply_plan(products, inputs, p1)
    p2 = plan(products2, inputs2)
    assert p2.empty, p2.to_json()


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_planning_twice_over_the_same_observations_records_each_sale_once(sc: tuple) -> None:
    products, inputs = sc
    p1 = plan(products, inputs)
    assert plan(products, inputs) == p1  # pure: same inputs, same plan
    # Record the sales only (as the engine does, before any write), then plan again over the
    # very same observations: no sale is seen twice.
    sales_only = Plan(tuple(replace(c, writes=()) for c in p1.channels), p1.sales)
    products2, inputs2 = apply_plan(products, inputs, sales_only)
    p2 = plan(products2, inputs2)
    assert p2.sales == ()
    total_before = sum(x.total_stock for x in products)
    total_after = sum(x.total_stock for x in products2)
    assert total_before - total_after == sum(s.units - s.oversold for s in p1.sales)
