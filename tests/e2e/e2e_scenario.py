"""The end-to-end scenarios, run against each real server through a small :class:`Store` adapter.

Every push is the real ``omnisync`` process, talking to the server through a recording proxy and
to a ``sandbox`` channel beside it. After every push the server's own data, read through its own
admin API (never through omnisync), must equal the catalog after the channel's rules, to the cent
and the unit.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from omnisync.models import Value, field_kind

from .e2e_support import Item, Proxy, Request, Seller, catalog_csv, catalog_items

Target = tuple[str, str]  # (SKU, or "product:<id>" for a product-level field; field key)


class Store(Protocol):
    """What a scenario needs from one real server (implemented in test_vendure.py/test_medusa.py)."""

    kind: str
    locations: list[str]  # remote stock location ids: [warehouse's, store's]
    refusal: str  # words of the server's message when a write names a variant that is gone

    def seed(self, items: Sequence[Item]) -> None:
        """Create products/variants for ``items`` through the admin API, with stale values
        (the price before the markup, old titles and description, 1 unit at the warehouse's
        location and none at the store's) that the first push must correct. Some quantities
        already equal the catalog's: omnisync writes nothing there, yet a later sale on them must
        still be seen (every stock reading becomes the base)."""

    def view(self, skus: Iterable[str]) -> dict[str, dict[str, Value]]:
        """What the server holds, in omnisync's field terms, read through its own admin API."""

    def stamps(self, skus: Iterable[str]) -> dict[str, str]:
        """The server's last-modified stamp of each variant."""

    def product_of(self, sku: str) -> str: ...

    def single(self, sku: str) -> bool: ...

    def sell(self, sku: str, location: int, units: int) -> None:
        """A sale made in the store itself (its admin API) at ``locations[location]``."""

    def delete(self, sku: str) -> None: ...

    def channel(self, url: str, *, api_key: bool, batch: int) -> tuple[str, dict[str, str]]:
        """The ``[channels.shop]`` table for ``url`` and the environment holding its secrets."""

    def is_write(self, req: Request) -> bool: ...

    def sent(self, requests: Sequence[Request]) -> tuple[set[Target], int]:
        """The (target, field) pairs the recorded requests wrote, and how many write calls."""

    def expected_calls(self, targets: set[Target]) -> int:
        """The fewest write calls this server needs for ``targets``."""


RULES = """
[channels.shop.price]
markup_percent = 10
ending = 0.99

[channels.shop.stock]
buffer = 1

[channels.market]
type = "sandbox"
path = "market.db"
max_write_batch = 200
"""


def make_seller(
    root: Path, store: Store, proxy: Proxy, items: Sequence[Item], *, api_key: bool = False, batch: int = 100
) -> Seller:
    table, env = store.channel(proxy.url, api_key=api_key, batch=batch)
    config = f'catalog = "catalog.db"\nstate = "state.db"\n\n{table}\n{RULES}'
    seller = Seller(root, config, env)
    seller.import_csv(catalog_csv(items))
    return seller


def targets(store: Store, changes: Iterable[Target]) -> set[Target]:
    """Where each changed (SKU, field) must be written on ``store``."""
    out: set[Target] = set()
    for sku, key in changes:
        kind = field_kind(key)
        product = f"product:{store.product_of(sku)}"
        if kind == "description":
            out.add((product, "description"))
        elif kind == "title":
            if store.single(sku):
                out.add((product, "title"))
                if store.kind == "vendure":  # Vendure: the single variant's name follows the product's
                    out.add((sku, "title"))
            else:
                out.add((sku, "title"))
        else:
            out.add((sku, key))
    return out


def assert_store_matches(seller: Seller, store: Store, skus: Sequence[str]) -> None:
    """The server's own data equals the catalog after the channel's rules, to the cent and unit;
    and the sandbox beside it equals the catalog after its rules."""
    expected = seller.expected("shop")
    view = store.view(skus)
    wrong = []
    for sku in skus:
        want = dict(expected[sku].values)
        have = view.get(sku)
        if have != want:
            wrong.append(f"{sku}: server has {have}, catalog after rules says {want}")
    assert not wrong, f"{len(wrong)} SKU(s) differ on {store.kind}:\n" + "\n".join(wrong[:15])
    market = seller.expected("market")
    sandbox = seller.sandbox("market")
    for sku in skus:
        listing = market[sku]
        assert listing.price is not None
        assert sandbox[sku] == (listing.quantity, listing.price.minor, listing.title), sku


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[Target]:
    out: set[Target] = set()
    for sku, listing in after.items():
        old = before[sku].values
        for key, value in listing.values.items():
            if old.get(key) != value:
                out.add((sku, key))
    return out


def plan_changes(report: Mapping[str, Any], channel: str) -> set[Target]:
    for ch in report["plan"]["channels"]:
        if ch["channel"] == channel:
            return {(c["sku"], c["field"]) for c in ch["changes"]}
    raise AssertionError(f"no channel {channel} in the report")


def channel_report(report: Mapping[str, Any], channel: str) -> Mapping[str, Any]:
    return next(c for c in report["channels"] if c["channel"] == channel)


# -- the scenarios ------------------------------------------------------------------------------


def push_edit_sell_converge(root: Path, store: Store, proxy: Proxy) -> None:
    """Push a catalog of a few hundred SKUs with variants; change prices, stock, titles and
    descriptions and push only those; sell in the store and see the sales leave the central stock
    and the sandbox channel; converge."""
    items = catalog_items("E", tees=50, mugs=80)  # 250 variants of 50 products + 80 single products
    skus = [i.sku for i in items]
    store.seed(items)
    seller = make_seller(root, store, proxy, items, batch=100)

    # 1. The first push corrects every listing, in batches of 100 SKUs.
    proxy.reset()
    r = seller.run("push", "--json")
    assert r.code == 0, r
    report = r.json()
    assert channel_report(report, "shop")["applied"] > 0
    assert_store_matches(seller, store, skus)
    sent, calls = store.sent(proxy.requests)
    assert {t for t in sent if not t[0].startswith("product:")} <= {
        (s, k) for s in skus for k in seller.expected("shop")[s].values
    }

    # 2. Nothing changed: nothing is written anywhere.
    proxy.reset()
    r = seller.run("push", "--json")
    assert r.code == 0, r
    assert r.json()["plan"]["summary"]["changes"] == 0
    assert store.sent(proxy.requests) == (set(), 0)
    assert_store_matches(seller, store, skus)

    # 3. The seller edits prices, stock, titles and descriptions: only those fields are sent.
    before = seller.expected("shop")
    seller.sql("UPDATE products SET price_minor = price_minor + 200 WHERE group_key = 'E-TEE003'")
    seller.sql(
        "UPDATE products SET price_minor = price_minor + 100 WHERE sku IN "
        "('E-MUG005','E-MUG006','E-MUG007','E-MUG008','E-MUG009')"
    )
    seller.sql(
        "UPDATE stock SET quantity = quantity + 5 WHERE location = 'warehouse' AND "
        "(sku LIKE 'E-TEE010-%' OR sku IN ('E-MUG020', 'E-MUG021'))"
    )
    seller.sql("UPDATE products SET description = 'Now in recycled cotton.' WHERE group_key = 'E-TEE007'")
    seller.sql("UPDATE products SET description = 'Dishwasher safe.' WHERE sku = 'E-MUG011'")
    seller.sql("UPDATE products SET title = 'Tee 12 Large' WHERE sku = 'E-TEE012-L'")
    seller.sql("UPDATE products SET title = 'Mug 12, blue' WHERE sku = 'E-MUG012'")
    after = seller.expected("shop")
    changes = changed_fields(before, after)
    assert len(changes) == 10 + 7 + 6 + 2  # the edits above, after rules
    touched_products = {store.product_of(s) for s, _ in changes}
    untouched = [s for s in skus if store.product_of(s) not in touched_products]
    stamps = store.stamps(untouched)

    proxy.reset()
    r = seller.run("push", "--json", "--verbose")
    assert r.code == 0, r
    report = r.json()
    assert plan_changes(report, "shop") == changes
    sent, calls = store.sent(proxy.requests)
    want = targets(store, changes)
    assert sent == want, f"sent {sorted(sent - want)} too many, {sorted(want - sent)} missing"
    assert calls == store.expected_calls(want)
    assert store.stamps(untouched) == stamps  # the server's view: nothing else was modified
    assert "shop:" in r.stderr  # --verbose logs the requests
    assert_store_matches(seller, store, skus)

    # 4. Buyers order in the store: the next push takes the units out of the central stock, the
    #    sandbox channel and the store itself (from the right catalog location).
    stock = seller.stock()
    sales = [("E-TEE020-M", 0, 2), ("E-TEE021-L", 0, 1), ("E-MUG029", 0, 1), ("E-TEE031-M", 1, 1)]
    for sku, loc, units in sales:
        shown = store.view([sku])[sku][f"quantity@{store.locations[loc]}"]
        assert isinstance(shown, int) and shown >= units, (sku, shown)
        store.sell(sku, loc, units)
    proxy.reset()
    r = seller.run("push", "--json")
    assert r.code == 0, r
    report = r.json()
    seen = sorted((s["sku"], s["units"]) for s in report["plan"]["sales"] if s["channel"] == "shop")
    assert seen == sorted((sku, units) for sku, _, units in sales)
    now = seller.stock()
    for sku, loc, units in sales:
        where = "warehouse" if loc == 0 else "store"
        assert now[sku][where] == stock[sku][where] - units, sku
    assert {s: v for s, v in now.items() if s not in {x[0] for x in sales}} == {
        s: v for s, v in stock.items() if s not in {x[0] for x in sales}
    }
    assert_store_matches(seller, store, skus)

    # 5. Converged: the next plan is empty, and the same sales are never counted again.
    r = seller.run("push", "--json")
    assert r.code == 0, r
    assert r.json()["plan"]["summary"]["changes"] == 0 and r.json()["plan"]["sales"] == []
    assert seller.stock() == now
    assert_store_matches(seller, store, skus)


def killed_push_converges(root: Path, store: Store, proxy: Proxy, mode: str) -> None:
    """SIGKILL ``omnisync push`` mid-run (``after``: right after a write reached the server and
    was applied, before omnisync heard back; ``before``: just before a write was sent); the rerun
    converges: nothing lost, nothing counted twice."""
    prefix = "KA" if mode == "after" else "KB"
    items = catalog_items(prefix, tees=20, mugs=20)  # 120 SKUs, in batches of 25
    skus = [i.sku for i in items]
    store.seed(items)
    seller = make_seller(root, store, proxy, items, api_key=True, batch=25)
    r = seller.run("push", "-q")
    assert r.code == 0, r
    assert_store_matches(seller, store, skus)

    sold = {f"{prefix}-TEE005-M": 2, f"{prefix}-MUG007": 1}
    for sku, units in sold.items():
        store.sell(sku, 0, units)
    stock = seller.stock()
    seller.sql("UPDATE products SET price_minor = price_minor + 100")
    seller.sql("UPDATE stock SET quantity = quantity + 3 WHERE location = 'warehouse'")

    proxy.reset()
    proc = seller.popen("push", "-q")
    writes = {"before": 0, "after": 0}
    killed = threading.Event()

    def before(req: Request) -> bool | None:
        if store.is_write(req) and not killed.is_set():
            writes["before"] += 1
            if mode == "before" and writes["before"] == 3:
                killed.set()
                os.kill(proc.pid, signal.SIGKILL)
                return False  # never reaches the server
        return None

    def after(req: Request) -> None:
        if store.is_write(req) and not killed.is_set():
            writes["after"] += 1
            if mode == "after" and writes["after"] == 2:
                killed.set()
                os.kill(proc.pid, signal.SIGKILL)  # applied on the server; omnisync never hears back

    proxy.before, proxy.after = before, after
    out, err = proc.communicate(timeout=600)
    proxy.before = proxy.after = None
    assert killed.is_set(), (
        f"the push finished ({proc.returncode}) before it could be killed: "
        f"{writes} {[(r.method, r.path, r.graphql[:40]) for r in proxy.requests]} "
        f"{out[-2000:]} {err[-2000:]}"
    )
    assert proc.returncode == -9

    r = seller.run("push", "--json")
    assert r.code == 0, r
    r = seller.run("push", "--json")
    assert r.code == 0, r
    assert r.json()["plan"]["summary"]["changes"] == 0, r  # converged

    now = seller.stock()
    for sku in skus:
        for loc, qty in stock[sku].items():
            want = qty + (3 if loc == "warehouse" else 0) - (sold.get(sku, 0) if loc == "warehouse" else 0)
            assert now[sku][loc] == want, (sku, loc, now[sku][loc], want)
    assert_store_matches(seller, store, skus)
    ledger = dict(seller.state_rows("SELECT sku, SUM(units) FROM sales GROUP BY sku"))
    assert ledger == sold
    assert seller.state_rows("SELECT COUNT(*) FROM journal WHERE status = 'intent'") == [(0,)]
    assert seller.state_rows("PRAGMA integrity_check") == [("ok",)]


def refused_write_is_isolated(root: Path, store: Store, proxy: Proxy) -> None:
    """A variant deleted in the store while omnisync runs: the server refuses the batch naming it;
    omnisync splits the batch, reports that SKU with the server's reason, applies the rest."""
    items = catalog_items("R", tees=4, mugs=10)
    skus = [i.sku for i in items]
    store.seed(items)
    seller = make_seller(root, store, proxy, items, batch=100)
    r = seller.run("push", "-q")
    assert r.code == 0, r
    seller.sql("UPDATE products SET price_minor = price_minor + 100")
    seller.sql("UPDATE stock SET quantity = quantity + 2 WHERE location = 'warehouse'")
    victim = "R-TEE001-M"  # one of five variants of a product
    deleted = threading.Event()

    def before(req: Request) -> None:
        if store.is_write(req) and not deleted.is_set():
            store.delete(victim)
            deleted.set()

    proxy.reset()
    proxy.before = before
    r = seller.run("push", "--json")
    proxy.before = None
    assert deleted.is_set()
    assert r.code == 1, r  # some listings failed
    shop = channel_report(r.json(), "shop")
    failed = {res["sku"] for res in shop["results"] if res["status"] != "ok"}
    assert failed == {victim}, shop["results"]
    errors = {res["error"] for res in shop["results"] if res["sku"] == victim}
    assert all(store.refusal in (e or "") for e in errors), errors
    rest = [s for s in skus if s != victim]
    assert_store_matches(seller, store, rest)

    r = seller.run("push", "--json")
    assert r.code == 0, r
    plan = next(c for c in r.json()["plan"]["channels"] if c["channel"] == "shop")
    assert plan["missing"] == [victim] and plan["changes"] == []
