"""The tests' own admin clients for Vendure and Medusa: seed stores, read what they hold, sell.

These talk to the servers directly (plain httpx, not omnisync's adapters), so every assertion about
what a server holds is made through the server's own API. They log in with omnisync's session-login
flows (``omnisync.http.SessionLoginAuth``: Vendure's ``login`` mutation, Medusa's
``/auth/user/emailpass``), the one login implementation of the adapters and the tests.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from omnisync.channels.medusa import MedusaLogin
from omnisync.channels.vendure import VendureLogin


class AdminError(RuntimeError):
    pass


# -- Vendure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendureVariant:
    id: str
    sku: str
    name: str
    price: int  # minor units
    price_with_tax: int
    currency: str
    stock: dict[str, tuple[int, int]]  # stock location id -> (stockOnHand, stockAllocated)
    product_id: str
    product_name: str
    product_variants: int
    description: str
    updated_at: str

    def available(self, location: str) -> int:
        on_hand, allocated = self.stock.get(location, (0, 0))
        return on_hand - allocated


class VendureAdmin:
    """Vendure's Admin GraphQL API as the tests use it (bearer-token login as superadmin)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.url = base_url.rstrip("/") + "/admin-api"
        self.http = httpx.Client(timeout=60, auth=VendureLogin(username, password))

    def close(self) -> None:
        self.http.close()

    def gql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        r = self.http.post(self.url, json={"query": query, "variables": dict(variables or {})})
        body = r.json()
        if r.status_code != 200 or body.get("errors"):
            raise AdminError(f"Vendure said {r.status_code}: {r.text[:2000]}")
        return body["data"]  # type: ignore[no-any-return]

    # -- one-time store set-up ---------------------------------------------------------------
    def seed_store(self) -> None:
        """Country, zone, default tax zone and a 0 % tax rate: without them no variant can be made."""
        country = self.gql(
            'mutation { createCountry(input:{ code:"US", enabled:true, translations:'
            '[{languageCode:en, name:"United States"}] }) { id } }'
        )["createCountry"]["id"]
        zone = self.gql(
            'mutation($m:[ID!]!) { createZone(input:{ name:"Default Zone", memberIds:$m }) { id } }',
            {"m": [country]},
        )["createZone"]["id"]
        out = self.gql(
            'mutation($z:ID!) { updateChannel(input:{ id:"1", defaultTaxZoneId:$z, '
            "defaultShippingZoneId:$z }) { __typename ... on ErrorResult { message } } }",
            {"z": zone},
        )
        if out["updateChannel"]["__typename"] != "Channel":
            raise AdminError(f"updateChannel: {out}")
        cat = self.gql('mutation { createTaxCategory(input:{ name:"Standard", isDefault:true }) { id } }')[
            "createTaxCategory"
        ]["id"]
        self.gql(
            'mutation($c:ID!, $z:ID!) { createTaxRate(input:{ name:"Standard 0%", enabled:true, '
            "value:0, categoryId:$c, zoneId:$z }) { id } }",
            {"c": cat, "z": zone},
        )

    def stock_locations(self) -> list[tuple[str, str]]:
        items = self.gql("{ stockLocations(options:{ sort:{ id: ASC }, take: 100 }) { items { id name } } }")[
            "stockLocations"
        ]["items"]
        return [(i["id"], i["name"]) for i in items]

    def create_stock_location(self, name: str) -> str:
        return str(
            self.gql("mutation($n:String!) { createStockLocation(input:{ name:$n }) { id } }", {"n": name})[
                "createStockLocation"
            ]["id"]
        )

    def create_api_key(self, name: str) -> str:
        roles = self.gql("{ roles { items { id code } } }")["roles"]["items"]
        role = next(r["id"] for r in roles if r["code"] == "__super_admin_role__")
        out = self.gql(
            "mutation($r:[ID!]!, $n:String!) { createApiKey(input:{ roleIds:$r, "
            "translations:[{ languageCode: en, name: $n }] }) { apiKey } }",
            {"r": role, "n": name},
        )
        return str(out["createApiKey"]["apiKey"])

    # -- catalog seeding -----------------------------------------------------------------------
    def create_products(self, groups: Sequence[Mapping[str, Any]], locations: Sequence[str]) -> None:
        """Create products with their variants. Each group: ``{"name", "slug", "description",
        "variants": [{"sku", "name", "price" (minor), "stock": {location id: units}}]}``; a group
        with more than one variant gets an option group with one option per variant."""
        chunk = 40
        for start in range(0, len(groups), chunk):
            part = groups[start : start + chunk]
            doc = " ".join(
                f"p{i}: createProduct(input:{{ enabled:true, translations:[{{ languageCode:en, "
                f"name:{_gs(g['name'])}, slug:{_gs(g['slug'])}, description:{_gs(g['description'])} }}] }})"
                f" {{ id }}"
                for i, g in enumerate(part)
            )
            made = self.gql(f"mutation {{ {doc} }}")
            ids = [made[f"p{i}"]["id"] for i in range(len(part))]
            multi = [(i, g) for i, g in enumerate(part) if len(g["variants"]) > 1]
            options: dict[int, list[str]] = {}
            if multi:
                doc = " ".join(
                    f"o{i}: createProductOptionGroup(input:{{ code:{_gs(g['slug'] + '-opt')}, "
                    f'translations:[{{ languageCode:en, name:"Option" }}], options:['
                    + ", ".join(
                        f"{{ code:{_gs('o' + str(k))}, translations:[{{ languageCode:en, "
                        f"name:{_gs(v['name'])} }}] }}"
                        for k, v in enumerate(g["variants"])
                    )
                    + "] }) { id options { id code } }"
                    for i, g in multi
                )
                made = self.gql(f"mutation {{ {doc} }}")
                doc = " ".join(
                    f"a{i}: addOptionGroupToProduct(productId:{_gs(ids[i])}, "
                    f"optionGroupId:{_gs(made[f'o{i}']['id'])}) {{ id }}"
                    for i, _ in multi
                )
                self.gql(f"mutation {{ {doc} }}")
                for i, _ in multi:
                    opts = sorted(made[f"o{i}"]["options"], key=lambda o: int(o["code"][1:]))
                    options[i] = [o["id"] for o in opts]
            inputs = []
            for i, g in enumerate(part):
                for k, v in enumerate(g["variants"]):
                    item: dict[str, Any] = {
                        "productId": ids[i],
                        "sku": v["sku"],
                        "price": v["price"],
                        "translations": [{"languageCode": "en", "name": v["name"]}],
                        "stockLevels": [
                            {"stockLocationId": loc, "stockOnHand": v["stock"].get(loc, 0)}
                            for loc in locations
                        ],
                    }
                    if i in options:
                        item["optionIds"] = [options[i][k]]
                    inputs.append(item)
            self.gql(
                "mutation($i:[CreateProductVariantInput!]!) { createProductVariants(input:$i) { id } }",
                {"i": inputs},
            )

    def add_duplicate_variant(self, product_id: str, sku: str, price: int) -> str:
        """A second variant with an existing SKU (Vendure allows it) on a single-variant product."""
        group = self.gql(
            "mutation($c:String!) { createProductOptionGroup(input:{ code:$c, translations:"
            '[{ languageCode:en, name:"Edition" }], options:[{ code:"a", translations:'
            '[{ languageCode:en, name:"A" }] }, { code:"b", translations:[{ languageCode:en, '
            'name:"B" }] }] }) { id options { id code } } }',
            {"c": f"dup-{sku.lower()}"},
        )
        group = group["createProductOptionGroup"]
        self.gql(
            "mutation($p:ID!, $g:ID!) { addOptionGroupToProduct(productId:$p, optionGroupId:$g) { id } }",
            {"p": product_id, "g": group["id"]},
        )
        option = next(o["id"] for o in group["options"] if o["code"] == "b")
        out = self.gql(
            "mutation($i:[CreateProductVariantInput!]!) { createProductVariants(input:$i) { id } }",
            {
                "i": [
                    {
                        "productId": product_id,
                        "sku": sku,
                        "price": price,
                        "optionIds": [option],
                        "translations": [{"languageCode": "en", "name": f"{sku} copy"}],
                    }
                ]
            },
        )
        return str(out["createProductVariants"][0]["id"])

    def delete_variant(self, variant_id: str) -> None:
        self.gql("mutation($id:ID!) { deleteProductVariant(id:$id) { result message } }", {"id": variant_id})

    # -- reading -----------------------------------------------------------------------------
    def variants(self, skus: Iterable[str] | None = None) -> list[VendureVariant]:
        out: list[VendureVariant] = []
        skip = 0
        wanted = sorted(set(skus)) if skus is not None else None
        while True:
            opts: dict[str, Any] = {"skip": skip, "take": 500, "sort": {"id": "ASC"}}
            if wanted is not None:
                opts["filter"] = {"sku": {"in": wanted}}
            page = self.gql(
                """query($o: ProductVariantListOptions) { productVariants(options:$o) {
                totalItems items { id sku name price priceWithTax currencyCode updatedAt
                  stockLevels { stockLocationId stockOnHand stockAllocated }
                  product { id name description variants { id } } } } }""",
                {"o": opts},
            )["productVariants"]
            for v in page["items"]:
                out.append(
                    VendureVariant(
                        id=v["id"],
                        sku=v["sku"],
                        name=v["name"],
                        price=v["price"],
                        price_with_tax=v["priceWithTax"],
                        currency=v["currencyCode"],
                        stock={
                            s["stockLocationId"]: (s["stockOnHand"], s["stockAllocated"])
                            for s in v["stockLevels"]
                        },
                        product_id=v["product"]["id"],
                        product_name=v["product"]["name"],
                        product_variants=len(v["product"]["variants"]),
                        description=v["product"]["description"],
                        updated_at=v["updatedAt"],
                    )
                )
            skip += len(page["items"])
            if not page["items"] or skip >= page["totalItems"]:
                return out

    def by_sku(self, skus: Iterable[str] | None = None) -> dict[str, VendureVariant]:
        out: dict[str, VendureVariant] = {}
        for v in self.variants(skus):
            if v.sku in out:
                raise AdminError(f"two variants have SKU {v.sku}")
            out[v.sku] = v
        return out

    def set_stock(self, levels: Mapping[str, Mapping[str, int]]) -> None:
        """variant id -> {stock location id: stockOnHand} (a sale or a restock made in Vendure)."""
        self.gql(
            "mutation($i:[UpdateProductVariantInput!]!) { updateProductVariants(input:$i) { id } }",
            {
                "i": [
                    {
                        "id": vid,
                        "stockLevels": [
                            {"stockLocationId": loc, "stockOnHand": n} for loc, n in locs.items()
                        ],
                    }
                    for vid, locs in levels.items()
                ]
            },
        )

    def stock_adjustments(self, variant_id: str) -> int:
        out = self.gql(
            """query($id:ID!) { productVariant(id:$id) { stockMovements(options:{ take: 1000 }) {
            items { __typename ... on StockMovement { type } } } } }""",
            {"id": variant_id},
        )
        items = out["productVariant"]["stockMovements"]["items"]
        return sum(1 for i in items if i.get("type") == "ADJUSTMENT")


def _gs(value: str) -> str:
    """A GraphQL string literal."""
    return json.dumps(value)


# -- Medusa ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedusaVariant:
    id: str
    sku: str
    title: str
    product_id: str
    product_title: str
    product_variants: int
    description: str
    prices: dict[str, Decimal]  # currency code (lower case) -> amount in major units
    inventory_item_id: str | None
    levels: dict[str, tuple[int, int]]  # stock location id -> (stocked, reserved)
    updated_at: str

    def available(self, location: str) -> int:
        stocked, reserved = self.levels.get(location, (0, 0))
        return stocked - reserved


class MedusaAdmin:
    """Medusa's Admin REST API as the tests use it (JWT from email/password)."""

    def __init__(self, base_url: str, email: str, password: str) -> None:
        self.base = base_url.rstrip("/")
        login = MedusaLogin(f"{self.base}/auth/user/emailpass", email, password)
        self.http = httpx.Client(base_url=self.base, timeout=120, auth=login)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> dict[str, Any]:
        content = dumps_exact(json).encode() if json is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        r = self.http.request(method, path, content=content, params=params, headers=headers)
        if r.status_code >= 300:
            raise AdminError(f"Medusa {method} {path}: {r.status_code} {r.text[:2000]}")
        return loads_exact(r.content) if r.content else {}

    # -- one-time store set-up ---------------------------------------------------------------
    def seed_store(self, location_names: Sequence[str]) -> tuple[str, list[str]]:
        """USD as the store's default currency, stock locations linked to the default sales
        channel; returns (sales channel id, stock location ids)."""
        store = self.call("GET", "/admin/stores")["stores"][0]
        self.call(
            "POST",
            f"/admin/stores/{store['id']}",
            json={"supported_currencies": [{"currency_code": "usd", "is_default": True}]},
        )
        channel = self.call("GET", "/admin/sales-channels")["sales_channels"][0]["id"]
        locs = []
        for name in location_names:
            loc = self.call("POST", "/admin/stock-locations", json={"name": name})["stock_location"]["id"]
            self.call("POST", f"/admin/stock-locations/{loc}/sales-channels", json={"add": [channel]})
            locs.append(loc)
        return channel, locs

    def create_api_key(self, title: str) -> str:
        return str(
            self.call("POST", "/admin/api-keys", json={"title": title, "type": "secret"})["api_key"]["token"]
        )

    # -- catalog seeding -----------------------------------------------------------------------
    def create_products(
        self, groups: Sequence[Mapping[str, Any]], sales_channel: str, locations: Sequence[str]
    ) -> None:
        """Each group: ``{"title", "handle", "description", "variants": [{"sku", "title",
        "price" (Decimal, USD), "stock": {location id: units}}]}``."""
        for start in range(0, len(groups), 25):
            part = groups[start : start + 25]
            create = []
            for g in part:
                values = [v["title"] for v in g["variants"]]
                create.append(
                    {
                        "title": g["title"],
                        "handle": g["handle"],
                        "description": g["description"],
                        "status": "published",
                        "sales_channels": [{"id": sales_channel}],
                        "options": [{"title": "Variant", "values": values}],
                        "variants": [
                            {
                                "title": v["title"],
                                "sku": v["sku"],
                                "manage_inventory": True,
                                "options": {"Variant": v["title"]},
                                "prices": [{"currency_code": "usd", "amount": Decimal(v["price"])}],
                            }
                            for v in g["variants"]
                        ],
                    }
                )
            self.call("POST", "/admin/products/batch", json={"create": create})
            variants = [v for g in part for v in g["variants"]]
            items = self.inventory_items([v["sku"] for v in variants])
            levels = [
                {
                    "inventory_item_id": items[v["sku"]],
                    "location_id": loc,
                    "stocked_quantity": v["stock"].get(loc, 0),
                }
                for v in variants
                for loc in locations
            ]
            self.call("POST", "/admin/inventory-items/location-levels/batch", json={"create": levels})

    def inventory_items(self, skus: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(skus), 100):
            part = list(skus[start : start + 100])
            got = self.call(
                "GET",
                "/admin/inventory-items",
                params=[("sku", s) for s in part] + [("limit", "1000"), ("fields", "id,sku")],
            )
            out.update({i["sku"]: i["id"] for i in got["inventory_items"]})
        return out

    # -- reading -----------------------------------------------------------------------------
    def variants(self, skus: Sequence[str]) -> dict[str, MedusaVariant]:
        out: dict[str, MedusaVariant] = {}
        fields = (
            "id,sku,title,product_id,updated_at,*prices,product.title,product.description,"
            "inventory_items.inventory_item_id,inventory_items.inventory.location_levels.*"
        )
        for start in range(0, len(skus), 100):
            part = list(skus[start : start + 100])
            got = self.call(
                "GET",
                "/admin/product-variants",
                params=[("sku", s) for s in part] + [("limit", "1000"), ("fields", fields)],
            )
            products = {}
            ids = sorted({v["product_id"] for v in got["variants"]})
            if ids:
                products = {
                    p["id"]: len(p["variants"])
                    for p in self.call(
                        "GET",
                        "/admin/products",
                        params=[("id", i) for i in ids] + [("limit", "1000"), ("fields", "id,variants.id")],
                    )["products"]
                }
            for v in got["variants"]:
                links = v.get("inventory_items") or []
                inv = links[0] if links else None
                levels = {}
                if inv is not None:
                    for lv in (inv.get("inventory") or {}).get("location_levels") or []:
                        levels[lv["location_id"]] = (
                            int(lv["stocked_quantity"]),
                            int(lv["reserved_quantity"]),
                        )
                out[v["sku"]] = MedusaVariant(
                    id=v["id"],
                    sku=v["sku"],
                    title=v["title"],
                    product_id=v["product_id"],
                    product_title=v["product"]["title"],
                    product_variants=products[v["product_id"]],
                    description=v["product"]["description"] or "",
                    prices={
                        p["currency_code"]: Decimal(str(p["amount"]))
                        for p in v["prices"]
                        if not p.get("rules") and p.get("min_quantity") is None
                    },
                    inventory_item_id=inv["inventory_item_id"] if inv else None,
                    levels=levels,
                    updated_at=v["updated_at"],
                )
        return out

    def set_stock(self, levels: Sequence[tuple[str, str, int]]) -> None:
        """(inventory item id, location id, stocked quantity): a sale shipped, or a restock."""
        self.call(
            "POST",
            "/admin/inventory-items/location-levels/batch",
            json={
                "update": [
                    {"inventory_item_id": i, "location_id": loc, "stocked_quantity": n}
                    for i, loc, n in levels
                ]
            },
        )

    def reserve(self, inventory_item_id: str, location_id: str, quantity: int) -> str:
        """Units reserved for an order not shipped yet (what a sale does first in Medusa)."""
        out = self.call(
            "POST",
            "/admin/reservations",
            json={
                "inventory_item_id": inventory_item_id,
                "location_id": location_id,
                "quantity": quantity,
                "description": "omnisync e2e sale",
            },
        )
        return str(out["reservation"]["id"])

    def delete_variant(self, product_id: str, variant_id: str) -> None:
        self.call("DELETE", f"/admin/products/{product_id}/variants/{variant_id}")


def dumps_exact(data: Any) -> str:
    """JSON with every Decimal written as a plain JSON number, digit for digit (no float)."""
    marker = "\u0000dec\u0000"

    def default(o: Any) -> Any:
        if isinstance(o, Decimal):
            return marker + format(o, "f") + marker
        raise TypeError(f"{type(o).__name__} is not JSON serializable")

    text = json.dumps(data, default=default)
    quoted = json.dumps(marker)[1:-1]
    return re.sub(f'"{re.escape(quoted)}(-?[0-9.]+){re.escape(quoted)}"', r"\1", text)


def loads_exact(data: bytes | str) -> Any:
    """JSON with numbers that have a fraction read as Decimal (no float)."""
    return json.loads(data, parse_float=Decimal)


def basic_auth(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
