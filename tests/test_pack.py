"""``pack``: how an adapter whose write() sends one request per kind of field groups the engine's
batches, so that every request goes out as full as the vendor allows."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from omnisync.channels.base import pack

CAPACITY = {"stock": 5, "price": 3, "content": 3}
KINDS = sorted(CAPACITY)


def demand(kinds: frozenset[str], sku: int, product: int) -> dict[str, set[object]]:
    need: dict[str, set[object]] = {}
    for k in kinds:
        need[k] = {(sku, "q")} if k == "stock" else {product}
    return need


writes = st.lists(
    st.tuples(st.frozensets(st.sampled_from(KINDS), min_size=1), st.integers(0, 30)), max_size=60
)


@given(writes)
def test_every_write_goes_out_once_in_plan_order_and_no_request_overflows(ws: list) -> None:
    demands = [demand(kinds, i, product) for i, (kinds, product) in enumerate(ws)]
    calls = pack(demands, CAPACITY)
    assert sorted(i for c in calls for i in c) == list(range(len(ws)))
    for c in calls:
        assert c == sorted(c) and c
        for kind, cap in CAPACITY.items():
            units = set().union(*(demands[i].get(kind, set()) for i in c))
            assert len(units) <= cap


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 1000)), max_size=80))
def test_writes_of_one_kind_each_take_the_fewest_requests(ws: list) -> None:
    """Each write changes one kind: the calls carrying a kind are ceil(its units / capacity)."""
    demands = [demand(frozenset({kind}), i, product) for i, (kind, product) in enumerate(ws)]
    calls = pack(demands, CAPACITY)
    for kind, cap in CAPACITY.items():
        units = set().union(*(d.get(kind, set()) for d in demands))
        carrying = sum(1 for c in calls if any(kind in demands[i] for i in c))
        assert carrying == math.ceil(len(units) / cap)


def test_variants_of_one_product_share_its_request() -> None:
    # six variants of product 7 and two of product 8: two products, one price request
    demands = [{"price": {7}}] * 6 + [{"price": {8}}] * 2
    assert pack(demands, {"price": 2}) == [list(range(8))]


def test_a_write_larger_than_a_request_still_goes_out_alone() -> None:
    demands = [{"stock": {1, 2, 3}}, {"stock": {4}}, {"stock": {5}}]
    assert pack(demands, {"stock": 2}) == [[0], [1, 2]]


def test_runs_of_one_kind_are_cut_where_the_limit_is_not_where_the_sku_count_is() -> None:
    # 251 price changes of single-variant products, 80 per request: 80, 80, 80, 11
    calls = pack([{"price": {i}} for i in range(251)], {"price": 80})
    assert [len(c) for c in calls] == [80, 80, 80, 11]
