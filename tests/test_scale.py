"""What a million-SKU push relies on (issue 19), without timing anything: the queries of a push use
indexes, the catalog shares the values many products hold equal, the stock bases are keyed by the
catalog's own SKU strings, and the benchmark runs at any size (``--skus N``)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from omnisync.catalog import init_catalog, open_catalog, read_products
from omnisync.channels.base import Capabilities
from omnisync.diff import ChannelInput, detect_sales, plan
from omnisync.models import Product, RemoteListing, frozen
from omnisync.money import Money
from omnisync.rules import ChannelRules
from omnisync.state import State

REPO = Path(__file__).resolve().parents[1]


def _catalog(path: Path, rows: list[tuple[str, int, int, str]]) -> None:
    """rows: (sku, price_minor, quantity, brand)"""
    init_catalog(path)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO products(sku, title, description, price_minor, currency, condition, images, brand, "
        "updated_at) VALUES (?, ?, '', ?, 'USD', 'new', '[]', ?, '2026-01-01T00:00:00Z')",
        [(sku, f"Title {sku}", price, brand) for sku, price, _, brand in rows],
    )
    conn.executemany(
        "INSERT INTO stock(sku, location, quantity) VALUES (?, 'default', ?)",
        [(sku, q) for sku, _, q, _ in rows],
    )
    conn.commit()
    conn.close()


# -- indexes -------------------------------------------------------------------------------------
PUSH_QUERIES = [
    # settling a write finds its journal rows by idempotency key (once per SKU written)
    ("SELECT sku, field FROM journal WHERE key=?", ("k",), "journal_key"),
    (
        "UPDATE journal SET status=?, error=?, updated_at=? WHERE key=? AND status IN ('intent','pending')",
        ("ok", None, "t", "k"),
        "journal",
    ),
    # the stock bases of one channel, read before every plan
    (
        "SELECT sku, CAST(substr(value, 3) AS INTEGER) FROM base "
        "WHERE channel=? AND field='quantity' AND value LIKE 'i:%'",
        ("shop",),
        "base",
    ),
    (
        "SELECT sku, field, value FROM base WHERE channel=? AND sku IN (?,?) AND field NOT LIKE 'quantity%'",
        ("shop", "a", "b"),
        "base",
    ),
    ("SELECT sku, fingerprint FROM snapshot WHERE channel=?", ("shop",), "snapshot"),
    ("DELETE FROM snapshot WHERE channel=?", ("shop",), "snapshot"),
    (
        "SELECT * FROM journal WHERE status IN ('intent','pending') AND channel=? ORDER BY id",
        ("shop",),
        "journal",
    ),
]


@pytest.mark.parametrize(("query", "args", "table"), PUSH_QUERIES)
def test_the_queries_of_a_push_search_an_index_never_scan_a_table(
    tmp_path: Path, query: str, args: tuple[object, ...], table: str
) -> None:
    state = State(tmp_path / "state.db")
    try:
        steps = [row[3] for row in state.conn.execute("EXPLAIN QUERY PLAN " + query, args).fetchall()]
    finally:
        state.close()
    assert steps, query
    assert not any(s.startswith("SCAN") for s in steps), (query, steps)
    assert any(s.startswith("SEARCH") for s in steps), (query, steps)
    if table == "journal_key":
        assert any("journal_key" in s for s in steps), steps


def test_an_older_state_db_gets_the_journal_key_index(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    State(path).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX journal_key")
    conn.execute("DELETE FROM _sqlite_migrations WHERE name='m004_journal_key'")
    conn.commit()
    conn.close()
    State(path).close()  # brings the schema up to date
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert "journal_key" in names


def test_settle_moves_the_bases_of_every_confirmed_field_in_one_transaction(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    try:
        run = state.start_run("push")
        state.journal_intents(
            run,
            [
                ("shop", "A", "quantity", 1, 4, "k1"),
                ("shop", "A", "price", Money(100, "USD"), Money(200, "USD"), "k1"),
                ("shop", "B", "quantity", 2, 5, "k2"),
                ("shop", "C", "quantity", 3, 6, "k3"),
            ],
        )
        state.settle(
            run,
            "shop",
            [
                ("k1", "ok", None, {"quantity": 4, "price": Money(200, "USD")}),
                ("k2", "failed", "nope", {}),
                ("k3", "ok", None, {"quantity": 7}),  # the channel confirmed another value
            ],
        )
        assert state.bases("shop") == {
            ("A", "quantity"): 4,
            ("A", "price"): Money(200, "USD"),
            ("C", "quantity"): 7,
        }
        statuses = dict(state.conn.execute("SELECT key, status FROM journal"))
        assert statuses == {"k1": "ok", "k2": "failed", "k3": "ok"}
        assert state.open_intents("shop") == []
    finally:
        state.close()


# -- compact catalog -----------------------------------------------------------------------------
def test_products_share_equal_prices_stock_and_brands_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _catalog(path, [(f"SKU-{i:03d}", 1000 + i % 2, 5 + i % 3, "Omni") for i in range(30)])
    db = open_catalog(path)
    try:
        products = list(read_products(db, chunk_size=4))  # the sharing spans chunks
    finally:
        db.close()
    by_price: dict[int, set[int]] = {}
    by_stock: dict[int, set[int]] = {}
    for p in products:
        by_price.setdefault(p.price.minor, set()).add(id(p.price))
        by_stock.setdefault(p.stock["default"], set()).add(id(p.stock))
    assert {k: len(v) for k, v in by_price.items()} == {1000: 1, 1001: 1}
    assert {k: len(v) for k, v in by_stock.items()} == {5: 1, 6: 1, 7: 1}
    assert len({id(p.brand) for p in products}) == 1
    assert len({id(p.condition) for p in products}) == 1
    # what each product holds is unchanged
    for i, p in enumerate(products):
        assert p.price == Money(1000 + i % 2, "USD")
        assert dict(p.stock) == {"default": 5 + i % 3}
        assert p.brand == "Omni" and p.condition == "new"
    # and it cannot be changed through any of them
    with pytest.raises(TypeError):
        products[0].stock["default"] = 0  # type: ignore[index]


def test_a_sale_on_one_sku_leaves_the_shared_stock_of_the_others_alone(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    _catalog(path, [("A", 1000, 5, "Omni"), ("B", 1000, 5, "Omni")])
    db = open_catalog(path)
    try:
        products = {p.sku: p for p in read_products(db)}
    finally:
        db.close()
    assert products["A"].stock is products["B"].stock
    fields = frozenset({"quantity", "price", "title", "description"})
    rules = ChannelRules(name="shop", fields=fields)
    caps = Capabilities(fields=fields, read_page_size=100, max_write_batch=50)
    observed = {
        sku: RemoteListing(
            sku,
            frozen({"quantity": q, "price": Money(1000, "USD"), "title": f"Title {sku}", "description": ""}),
        )
        for sku, q in (("A", 3), ("B", 5))
    }
    ch = ChannelInput("shop", rules, caps, observed, bases={("A", "quantity"): 5, ("B", "quantity"): 5})
    sales, after = detect_sales(products, [ch])
    assert [(s.sku, s.units) for s in sales] == [("A", 2)]
    assert dict(after["A"].stock) == {"default": 3}
    assert dict(after["B"].stock) == {"default": 5} and dict(products["A"].stock) == {"default": 5}
    p = plan(products, [ch])
    assert [(w.sku, [(c.field, c.old, c.new) for c in w.changes]) for w in p.channel("shop").writes] == []
    assert p.sales == sales


def test_products_are_compact_and_still_replaceable() -> None:
    p = Product("A", "T", Money(100, "USD"))
    assert not hasattr(p, "__dict__")  # __slots__: no per-instance dict
    q = replace(p, stock=frozen({"default": 3}))
    assert q.total_stock == 3 and p.total_stock == 0 and q.sku == "A"


def test_stock_bases_are_keyed_by_the_catalogs_own_strings(tmp_path: Path) -> None:
    state = State(tmp_path / "state.db")
    try:
        state.set_bases("shop", [("A", "quantity", 3), ("B", "quantity", 4), ("GONE", "quantity", 1)], None)
        state.set_bases("shop", [("B", "quantity@loc", 2), ("A", "price", Money(1, "USD"))], None)
        catalog = {sku: Product(sku, "T", Money(1, "USD")) for sku in ("".join(["A"]), "".join(["B"]))}
        plain = state.stock_bases("shop")
        keyed = state.stock_bases("shop", catalog)
    finally:
        state.close()
    assert plain == keyed == {"A": 3, "B": (("quantity", 4), ("quantity@loc", 2)), "GONE": 1}
    by_key = {k: k for k in keyed}
    assert by_key["A"] is catalog["A"].sku and by_key["B"] is catalog["B"].sku


# -- the benchmark -------------------------------------------------------------------------------
def test_the_benchmark_runs_at_any_size(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--skus", "300", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout)
    assert [p["n"] for p in result["plan"]] == [300]
    (push,) = result["push"]
    assert push["n"] == 300 and push["channels"] == 5
    assert push["run"]["sent"] == 15  # 1% of 300 SKUs (3) on each of 5 channels
    assert push["noop"]["sent"] == 0 and push["noop"]["planned"] == 0
    assert push["state_db_mb"] > 0 and push["peak_rss_mb"] > 0
    goals = {g["goal"]: g for g in result["goals"]}
    assert goals["no-op push of 300 SKUs x 5 sandbox channels: 0 writes"]["met"]


# -- stock bases read beside what the channel showed -----------------------------------------------
def _observed_and_state(tmp_path: Path) -> tuple[State, dict[str, object]]:
    """A channel's observed entries and the bases a previous push left, of every kind: equal to
    what it shows, sold since, no base yet, multi-location, and a SKU it no longer lists."""
    state = State(tmp_path / "state.db")
    state.set_bases(
        "shop",
        [
            ("EQUAL", "quantity", 5),
            ("SOLD", "quantity", 7),
            ("MULTI", "quantity@a", 2),
            ("MULTI", "quantity@b", 3),
            ("MIXED", "quantity", 4),
            ("MIXED", "quantity@a", 1),
            ("WHOLE", "quantity", 9),
            ("GONE", "quantity", 1),
            ("EQUAL", "price", Money(100, "USD")),
        ],
        None,
    )
    whole = RemoteListing("WHOLE", frozen({"quantity": 9, "title": "other"}))
    observed: dict[str, object] = {
        "EQUAL": 5,
        "SOLD": 6,
        "NEW": 2,
        "MULTI": (("quantity@a", 2), ("quantity@b", 1)),
        "MIXED": 4,
        "WHOLE": whole,
    }
    return state, observed


def test_bases_read_beside_the_channel_leave_out_only_those_equal_to_it(tmp_path: Path) -> None:
    from omnisync.diff import Bases

    state, observed = _observed_and_state(tmp_path)
    try:
        full = Bases(state.stock_bases("shop"))
        stock, absent = state.stock_bases_beside("shop", None, observed)
    finally:
        state.close()
    assert "EQUAL" not in stock and "SOLD" in stock and "GONE" in stock and "WHOLE" in stock
    assert absent == {"NEW"}
    beside = Bases(stock, same=observed, absent=absent)
    assert dict(beside) == dict(full)
    assert len(beside) == len(full)
    assert beside[("EQUAL", "quantity")] == 5 and beside.implied("EQUAL") == 5
    assert beside.implied("NEW") is None and ("NEW", "quantity") not in beside
    assert beside.stock_of("MIXED") == (("quantity", 4), ("quantity@a", 1))
    # a base set later (a reconciled write) wins over the one implied
    beside.set("EQUAL", "quantity@z", 8)
    assert beside.stock_of("EQUAL") == (("quantity", 5), ("quantity@z", 8))


def test_a_plan_and_its_stock_readings_are_the_same_with_bases_read_beside(tmp_path: Path) -> None:
    from omnisync.diff import Bases, Observed
    from omnisync.engine import Observation, _stock_readings

    fields = frozenset({"quantity", "price", "title", "description"})
    rules = ChannelRules(name="shop", fields=fields)
    caps = Capabilities(fields=fields, read_page_size=100, max_write_batch=50, compare_and_set=True)
    catalog = {
        sku: Product(sku, f"T {sku}", Money(100, "USD"), stock=frozen({"default": q}))
        for sku, q in (("A", 5), ("B", 7), ("C", 2), ("D", 4))
    }
    shown = {"A": 5, "B": 6, "C": 2, "D": 9, "X": 3}  # B sold one; D drifted; X is not in the catalog
    observed = Observed(catalog, rules)
    observed.update(
        RemoteListing(
            sku,
            frozen({"quantity": q, "price": Money(100, "USD"), "title": f"T {sku}", "description": ""}),
        )
        for sku, q in shown.items()
    )
    state = State(tmp_path / "state.db")
    try:
        state.set_bases("shop", [("A", "quantity", 5), ("B", "quantity", 7), ("D", "quantity", 4)], None)
        full = Bases(state.stock_bases("shop", catalog))
        stock, absent = state.stock_bases_beside("shop", catalog, observed.entries)
    finally:
        state.close()
    beside = Bases(stock, same=observed.entries, absent=absent)
    assert len(beside.stock) < len(full.stock)
    plans = [plan(catalog, [ChannelInput("shop", rules, caps, observed, bases=b)]) for b in (full, beside)]
    assert plans[0] == plans[1]
    assert [(s.sku, s.units) for s in plans[0].sales] == [("B", 1)]
    readings = [
        sorted(_stock_readings(Observation(None, None, observed, b)))  # type: ignore[arg-type]
        for b in (full, beside)
    ]
    assert (
        readings[0]
        == readings[1]
        == [("B", "quantity", 6), ("C", "quantity", 2), ("D", "quantity", 9), ("X", "quantity", 3)]
    )


def test_stock_bases_are_read_whole_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(State, "_BASE_CHUNK", 3)
    state = State(tmp_path / "state.db")
    try:
        rows = [(f"S{i:02d}", "quantity", i) for i in range(10)] + [("", "quantity", 42)]
        state.set_bases("shop", rows, None)
        state.set_bases("other", [("S00", "quantity", 99)], None)
        assert state.stock_bases("shop") == {sku: q for sku, _, q in rows}
        observed: dict[str, object] = {"S01": 1, "S02": 5, "NEW": 3}
        stock, absent = state.stock_bases_beside("shop", None, observed)
    finally:
        state.close()
    assert "S01" not in stock and stock["S02"] == 2 and stock[""] == 42 and len(stock) == 10
    assert absent == {"NEW"}
