"""omnisync against a real Medusa v2 server (npm) with its own PostgreSQL cluster on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from omnisync.models import Value
from omnisync.money import Money

from .e2e_admin import MedusaAdmin, MedusaVariant, loads_exact
from .e2e_scenario import (
    Target,
    assert_store_matches,
    channel_report,
    killed_push_converges,
    make_seller,
    push_edit_sell_converge,
    refused_write_is_isolated,
)
from .e2e_servers import Server
from .e2e_support import Item, Proxy, Request, catalog_items, groups_of

pytestmark = pytest.mark.e2e

PRODUCTS_BATCH = re.compile(r"^/admin/products/batch(\?|$)")
VARIANTS_BATCH = re.compile(r"^/admin/products/([^/?]+)/variants/batch(\?|$)")
LEVELS_BATCH = re.compile(r"^/admin/inventory-items/location-levels/batch(\?|$)")


class MedusaStore:
    kind = "medusa"
    refusal = "non-existing variants"  # 400 "Cannot update non-existing variants with ids: ..."

    def __init__(self, server: Server) -> None:
        self.server = server
        self.admin = MedusaAdmin(server.url, server.admin_user, server.admin_password)
        self.locations = server.locations[:2]
        self._known: dict[str, MedusaVariant] = {}
        self._api_key: str | None = None

    def close(self) -> None:
        self.admin.close()

    # -- seeding and reading ---------------------------------------------------------------------
    def seed(self, items: Sequence[Item]) -> None:
        groups = []
        for key, members in groups_of(items).items():
            multi = len(members) > 1
            title = members[0].title.rsplit(" ", 1)[0] if multi else members[0].title
            groups.append(
                {
                    "title": f"{title} (old)",
                    "handle": key.lower(),
                    "description": "Old description",
                    "variants": [
                        {
                            "sku": m.sku,
                            "title": f"{m.title.rsplit(' ', 1)[-1]} (old)" if multi else "Default",
                            "price": m.price,  # the catalog's price, before the markup
                            "stock": {self.locations[0]: 1, self.locations[1]: 0},
                        }
                        for m in members
                    ],
                }
            )
        assert self.server.sales_channel is not None
        self.admin.create_products(groups, self.server.sales_channel, self.locations)
        self.view([i.sku for i in items])

    def variants(self, skus: Iterable[str]) -> dict[str, MedusaVariant]:
        found = self.admin.variants(list(skus))
        self._known.update(found)
        return found

    def view(self, skus: Iterable[str]) -> dict[str, dict[str, Value]]:
        out: dict[str, dict[str, Value]] = {}
        for sku, v in self.variants(skus).items():
            values: dict[str, Value] = {f"quantity@{loc}": v.available(loc) for loc in self.locations}
            values["price"] = Money.parse(v.prices["usd"], "USD")  # exact decimal, major units
            values["title"] = v.product_title if v.product_variants == 1 else v.title
            values["description"] = v.description
            out[sku] = values
        return out

    def stamps(self, skus: Iterable[str]) -> dict[str, str]:
        return {sku: v.updated_at for sku, v in self.variants(skus).items()}

    def _variant(self, sku: str) -> MedusaVariant:
        if sku not in self._known:
            self.variants([sku])
        return self._known[sku]

    def product_of(self, sku: str) -> str:
        return self._variant(sku).product_id

    def single(self, sku: str) -> bool:
        return self._variant(sku).product_variants == 1

    # -- the store's own actions -----------------------------------------------------------------
    def sell(self, sku: str, location: int, units: int) -> None:
        """At the warehouse an order reserves the units (not shipped yet); at the store the
        units are gone from the shelf (stocked quantity lowered)."""
        v = self.variants([sku])[sku]
        assert v.inventory_item_id is not None
        loc = self.locations[location]
        if location == 0:
            self.admin.reserve(v.inventory_item_id, loc, units)
        else:
            self.admin.set_stock([(v.inventory_item_id, loc, v.levels[loc][0] - units)])

    def delete(self, sku: str) -> None:
        v = self._variant(sku)
        self.admin.delete_variant(v.product_id, v.id)

    def channel(self, url: str, *, api_key: bool, batch: int) -> tuple[str, dict[str, str]]:
        if api_key:
            if self._api_key is None:
                self._api_key = self.admin.create_api_key("omnisync e2e")
            auth = 'api_key_env = "MEDUSA_E2E_API_KEY"'
            env = {"MEDUSA_E2E_API_KEY": self._api_key}
        else:
            auth = 'email_env = "MEDUSA_E2E_EMAIL"\npassword_env = "MEDUSA_E2E_PASSWORD"'
            env = {
                "MEDUSA_E2E_EMAIL": self.server.admin_user,
                "MEDUSA_E2E_PASSWORD": self.server.admin_password,
            }
        l0, l1 = self.locations
        table = (
            f'[channels.shop]\ntype = "medusa"\nbase_url = "{url}"\n{auth}\n'
            f'max_write_batch = {batch}\nlocations = {{ "{l0}" = ["warehouse"], "{l1}" = ["store"] }}\n'
        )
        return table, env

    # -- what omnisync sent ----------------------------------------------------------------------
    def is_write(self, req: Request) -> bool:
        path = req.path
        return req.method == "POST" and bool(
            PRODUCTS_BATCH.match(path) or VARIANTS_BATCH.match(path) or LEVELS_BATCH.match(path)
        )

    def sent(self, requests: Sequence[Request]) -> tuple[set[Target], int]:
        by_variant = {v.id: sku for sku, v in self._known.items()}
        by_item = {v.inventory_item_id: sku for sku, v in self._known.items()}
        out: set[Target] = set()
        calls = 0
        for req in requests:
            if not self.is_write(req):
                continue
            calls += 1
            body = loads_exact(req.body)
            for leaf in _leaves(body):
                assert not isinstance(leaf, float), f"a float was sent: {req.body!r}"
            if PRODUCTS_BATCH.match(req.path):
                assert set(body) == {"update"}, body
                for u in body["update"]:
                    assert "variants" not in u, "a variants list was sent to the products batch"
                    out.update((f"product:{u['id']}", k) for k in ("title", "description") if k in u)
            elif VARIANTS_BATCH.match(req.path):
                assert set(body) == {"update"}, body
                for u in body["update"]:
                    sku = by_variant[u["id"]]
                    out.update((sku, k.replace("prices", "price")) for k in ("prices", "title") if k in u)
                    for p in u.get("prices") or []:
                        assert isinstance(p["amount"], Decimal | int), p
            else:
                for op in ("create", "update"):
                    for level in body.get(op) or []:
                        out.add((by_item[level["inventory_item_id"]], f"quantity@{level['location_id']}"))
        return out, calls

    def expected_calls(self, targets: set[Target]) -> int:
        products = any(t.startswith("product:") for t, _ in targets)
        variant_products = {
            self.product_of(t) for t, k in targets if not t.startswith("product:") and k in ("price", "title")
        }
        stock = any(k.startswith("quantity") for _, k in targets)
        return int(products) + len(variant_products) + int(stock)


def _leaves(obj: object) -> Iterator[object]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


@pytest.fixture
def store(medusa: Server) -> Iterator[MedusaStore]:
    s = MedusaStore(medusa)
    yield s
    s.close()


@pytest.fixture
def proxy(medusa: Server) -> Iterator[Proxy]:
    p = Proxy(medusa.url)
    yield p
    p.close()


def test_push_edit_sell_converge(tmp_path: Path, store: MedusaStore, proxy: Proxy) -> None:
    push_edit_sell_converge(tmp_path, store, proxy)


@pytest.mark.parametrize("mode", ["after", "before"])
def test_killed_push_converges(tmp_path: Path, store: MedusaStore, proxy: Proxy, mode: str) -> None:
    killed_push_converges(tmp_path, store, proxy, mode)


def test_refused_variant_is_isolated_and_the_rest_applied(
    tmp_path: Path, store: MedusaStore, proxy: Proxy
) -> None:
    refused_write_is_isolated(tmp_path, store, proxy)
    # the victim's product call was refused whole, then split until the one variant was found
    product = store.product_of("R-TEE001-M")
    calls = [r for r in proxy.requests if r.path.startswith(f"/admin/products/{product}/variants/batch")]
    assert len(calls) > 2


def test_other_currencies_survive_a_price_write(tmp_path: Path, store: MedusaStore, proxy: Proxy) -> None:
    """Medusa replaces a variant's whole price set with what it is sent: omnisync must send the
    other currencies' prices along, unchanged, or they would be deleted."""
    items = catalog_items("C", tees=1, mugs=2)
    store.seed(items)
    v = store.variants(["C-MUG001"])["C-MUG001"]
    store.admin.call(
        "POST",
        "/admin/stores/" + store.admin.call("GET", "/admin/stores")["stores"][0]["id"],
        json={
            "supported_currencies": [{"currency_code": "usd", "is_default": True}, {"currency_code": "eur"}]
        },
    )
    usd = store.admin.call(
        "GET", "/admin/product-variants", params=[("sku", "C-MUG001"), ("fields", "*prices")]
    )["variants"][0]["prices"][0]
    store.admin.call(
        "POST",
        f"/admin/products/{v.product_id}/variants/batch",
        json={
            "update": [
                {
                    "id": v.id,
                    "prices": [
                        {"id": usd["id"], "currency_code": "usd", "amount": usd["amount"]},
                        {"currency_code": "eur", "amount": Decimal("8.95")},
                    ],
                }
            ]
        },
    )
    seller = make_seller(tmp_path, store, proxy, items)
    r = seller.run("push", "--json")
    assert r.code == 0, r
    after = store.variants(["C-MUG001"])["C-MUG001"]
    assert after.prices["eur"] == Decimal("8.95")
    assert after.prices["usd"] == Decimal("10.99")  # 9.50 + 10 % -> 10.45, rounded up to .99
    assert_store_matches(seller, store, [i.sku for i in items])


def test_wrong_password_fails_the_channel_not_the_sandbox(
    tmp_path: Path, store: MedusaStore, proxy: Proxy
) -> None:
    items = catalog_items("W", tees=1, mugs=2)
    store.seed(items)
    seller = make_seller(tmp_path, store, proxy, items)
    seller.env["MEDUSA_E2E_PASSWORD"] = "not-the-password"
    r = seller.run("push", "--json")
    assert r.code == 3, r  # a whole channel failed
    shop = channel_report(r.json(), "shop")
    assert shop["status"] == "failed" and "Invalid email or password" in shop["error"]
    assert "not-the-password" not in r.stdout + r.stderr
    assert set(seller.sandbox("market")) == {i.sku for i in items}


def test_several_stock_locations_need_a_locations_map(
    tmp_path: Path, store: MedusaStore, proxy: Proxy
) -> None:
    items = catalog_items("L", tees=1, mugs=1)
    store.seed(items)
    seller = make_seller(tmp_path, store, proxy, items)
    config = seller.root / "channels.toml"
    config.write_text(
        "\n".join(line for line in config.read_text().splitlines() if not line.startswith("locations ="))
        + "\n"
    )
    r = seller.run("push", "--json")
    assert r.code == 3, r  # the channel fails as a whole, before anything is written
    shop = channel_report(r.json(), "shop")
    assert "2 stock locations" in shop["error"] and "`locations`" in shop["error"], shop["error"]
    assert not [req for req in proxy.requests if store.is_write(req)]
