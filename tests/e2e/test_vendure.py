"""omnisync against a real Vendure 3 server (npm, in-memory sql.js database) on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pytest

from omnisync.models import Value
from omnisync.money import Money

from .e2e_admin import VendureAdmin, VendureVariant
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

WRITES = ("OmnisyncUpdateVariants", "OmnisyncUpdateProducts")


class VendureStore:
    kind = "vendure"
    refusal = "could be found"  # 'No ProductVariant with the id "9" could be found'

    def __init__(self, server: Server) -> None:
        self.server = server
        self.admin = VendureAdmin(server.url, server.admin_user, server.admin_password)
        self.locations = server.locations[:2]
        self._known: dict[str, VendureVariant] = {}
        self._api_key: str | None = None

    def close(self) -> None:
        self.admin.close()

    # -- seeding and reading ---------------------------------------------------------------------
    def seed(self, items: Sequence[Item]) -> None:
        groups = []
        for key, members in groups_of(items).items():
            multi = len(members) > 1
            name = members[0].title.rsplit(" ", 1)[0] if multi else members[0].title
            groups.append(
                {
                    "name": f"{name} (old)",
                    "slug": key.lower(),
                    "description": "Old description",
                    "variants": [
                        {
                            "sku": m.sku,
                            "name": f"{m.title} (old)",
                            "price": int(m.price * 100),  # the catalog's price, before the markup
                            "stock": {self.locations[0]: 1, self.locations[1]: 0},
                        }
                        for m in members
                    ],
                }
            )
        self.admin.create_products(groups, self.locations)
        self.view([i.sku for i in items])

    def variants(self, skus: Iterable[str]) -> dict[str, VendureVariant]:
        found = self.admin.by_sku(list(skus))
        self._known.update(found)
        return found

    def view(self, skus: Iterable[str]) -> dict[str, dict[str, Value]]:
        out: dict[str, dict[str, Value]] = {}
        for sku, v in self.variants(skus).items():
            assert v.currency == "USD" and v.price == v.price_with_tax  # 0 % tax in this store
            values: dict[str, Value] = {f"quantity@{loc}": v.available(loc) for loc in self.locations}
            values["price"] = Money(v.price, v.currency)
            values["title"] = v.product_name if v.product_variants == 1 else v.name
            values["description"] = v.description
            out[sku] = values
        return out

    def stamps(self, skus: Iterable[str]) -> dict[str, str]:
        return {sku: v.updated_at for sku, v in self.variants(skus).items()}

    def _variant(self, sku: str) -> VendureVariant:
        if sku not in self._known:
            self.variants([sku])
        return self._known[sku]

    def product_of(self, sku: str) -> str:
        return self._variant(sku).product_id

    def single(self, sku: str) -> bool:
        return self._variant(sku).product_variants == 1

    # -- the store's own actions -----------------------------------------------------------------
    def sell(self, sku: str, location: int, units: int) -> None:
        v = self.variants([sku])[sku]
        loc = self.locations[location]
        self.admin.set_stock({v.id: {loc: v.stock[loc][0] - units}})

    def delete(self, sku: str) -> None:
        self.admin.delete_variant(self._variant(sku).id)

    def channel(self, url: str, *, api_key: bool, batch: int) -> tuple[str, dict[str, str]]:
        if api_key:
            if self._api_key is None:
                self._api_key = self.admin.create_api_key("omnisync e2e")
            auth = 'api_key_env = "VENDURE_E2E_API_KEY"'
            env = {"VENDURE_E2E_API_KEY": self._api_key}
        else:
            auth = 'username_env = "VENDURE_E2E_USER"\npassword_env = "VENDURE_E2E_PASSWORD"'
            env = {
                "VENDURE_E2E_USER": self.server.admin_user,
                "VENDURE_E2E_PASSWORD": self.server.admin_password,
            }
        l0, l1 = self.locations
        table = (
            f'[channels.shop]\ntype = "vendure"\nbase_url = "{url}"\n{auth}\n'
            f'max_write_batch = {batch}\nlocations = {{ "{l0}" = ["warehouse"], "{l1}" = ["store"] }}\n'
        )
        return table, env

    # -- what omnisync sent ----------------------------------------------------------------------
    def is_write(self, req: Request) -> bool:
        return req.method == "POST" and any(w in req.graphql for w in WRITES)

    def sent(self, requests: Sequence[Request]) -> tuple[set[Target], int]:
        by_id = {v.id: sku for sku, v in self._known.items()}
        out: set[Target] = set()
        calls = 0
        for req in requests:
            if not self.is_write(req):
                continue
            calls += 1
            inputs = (req.json().get("variables") or {}).get("input") or []
            for i in inputs:
                assert not any(isinstance(x, float) for x in _leaves(i)), f"a float was sent: {i}"
                if "OmnisyncUpdateVariants" in req.graphql:
                    sku = by_id[str(i["id"])]
                    if "price" in i:
                        assert isinstance(i["price"], int)
                        out.add((sku, "price"))
                    for level in i.get("stockLevels") or []:
                        out.add((sku, f"quantity@{level['stockLocationId']}"))
                    if i.get("translations"):
                        out.add((sku, "title"))
                    assert set(i) <= {"id", "price", "stockLevels", "translations"}, i
                else:
                    for t in i.get("translations") or []:
                        out.update(
                            (f"product:{i['id']}", k.replace("name", "title"))
                            for k in ("name", "description")
                            if k in t
                        )
        return out, calls

    def expected_calls(self, targets: set[Target]) -> int:
        products = any(t.startswith("product:") for t, _ in targets)
        variants = any(not t.startswith("product:") for t, _ in targets)
        return int(products) + int(variants)


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
def store(vendure: Server) -> Iterator[VendureStore]:
    s = VendureStore(vendure)
    yield s
    s.close()


@pytest.fixture
def proxy(vendure: Server) -> Iterator[Proxy]:
    p = Proxy(vendure.url)
    yield p
    p.close()


def test_push_edit_sell_converge(tmp_path: Path, store: VendureStore, proxy: Proxy) -> None:
    push_edit_sell_converge(tmp_path, store, proxy)


@pytest.mark.parametrize("mode", ["after", "before"])
def test_killed_push_converges(tmp_path: Path, store: VendureStore, proxy: Proxy, mode: str) -> None:
    killed_push_converges(tmp_path, store, proxy, mode)


def test_refused_variant_is_isolated_and_the_rest_applied(
    tmp_path: Path, store: VendureStore, proxy: Proxy
) -> None:
    refused_write_is_isolated(tmp_path, store, proxy)
    # the whole batch was refused once, then split until the one input was found
    mutations = [r for r in proxy.requests if "OmnisyncUpdateVariants" in r.graphql]
    assert len(mutations) > 2


def test_duplicate_sku_is_refused_per_sku(tmp_path: Path, store: VendureStore, proxy: Proxy) -> None:
    items = catalog_items("D", tees=2, mugs=4)
    skus = [i.sku for i in items]
    store.seed(items)
    seller = make_seller(tmp_path, store, proxy, items)
    assert seller.run("push", "-q").code == 0
    # Vendure accepts a second variant with an existing SKU (it does not enforce unique SKUs)
    store.admin.add_duplicate_variant(store.product_of("D-MUG001"), "D-MUG001", 4242)
    seller.sql("UPDATE products SET price_minor = price_minor + 100 WHERE sku IN ('D-MUG001', 'D-MUG002')")
    proxy.reset()
    r = seller.run("push", "--json")
    assert r.code == 1, r
    results = channel_report(r.json(), "shop")["results"]
    bad = [res for res in results if res["status"] != "ok"]
    assert {res["sku"] for res in bad} == {"D-MUG001"}
    assert all("used by 2 variants" in res["error"] for res in bad), bad
    sent = json.dumps([req.json() for req in proxy.requests if store.is_write(req)])
    copies = [v for v in store.admin.variants(["D-MUG001"])]
    assert len(copies) == 2 and all(f'"id": "{v.id}"' not in sent for v in copies)  # neither written
    assert_store_matches(seller, store, [s for s in skus if s != "D-MUG001"])


def test_wrong_password_fails_the_channel_not_the_sandbox(
    tmp_path: Path, store: VendureStore, proxy: Proxy
) -> None:
    items = catalog_items("W", tees=1, mugs=2)
    store.seed(items)
    seller = make_seller(tmp_path, store, proxy, items)
    seller.env["VENDURE_E2E_PASSWORD"] = "not-the-password"
    r = seller.run("push", "--json")
    assert r.code == 3, r  # a whole channel failed
    shop = channel_report(r.json(), "shop")
    assert shop["status"] == "failed" and "credentials" in shop["error"]
    assert "not-the-password" not in r.stdout + r.stderr
    market = seller.sandbox("market")
    assert set(market) == {i.sku for i in items}  # the channel beside it was still pushed
    assert market["W-MUG000"][1] == 850  # 8.50 USD, no rules on the sandbox


def test_without_locations_quantity_is_the_default_stock_location(
    tmp_path: Path, store: VendureStore, proxy: Proxy
) -> None:
    items = catalog_items("L", tees=1, mugs=3)
    store.seed(items)
    seller = make_seller(tmp_path, store, proxy, items)
    config = seller.root / "channels.toml"
    config.write_text(
        "\n".join(line for line in config.read_text().splitlines() if not line.startswith("locations ="))
        + "\n"
    )
    r = seller.run("push", "--json")
    assert r.code == 0, r
    expected = seller.expected("shop")
    default, other = store.locations
    for sku, v in store.variants([i.sku for i in items]).items():
        # every catalog location, less the buffer, at the default location; the other left alone
        assert (
            v.available(default)
            == expected[sku].values["quantity"]
            == max(0, sum(seller.stock()[sku].values()) - 1)
        )
        assert v.stock[other] == (0, 0)
