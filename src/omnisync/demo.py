"""``omnisync demo``: the whole push, offline, in seconds, with no credentials.

It writes a catalog CSV (a few dozen SKUs with variants, two stock locations) and a channels.toml
with two sandbox marketplaces and a Google Merchant Center feed, imports the CSV, pushes, sells
units on one sandbox as a buyer would, pushes again, and shows that the sold units left the central
stock and every other channel. Everything runs through the same code as ``omnisync push``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

CONFIG = """\
# omnisync demo: two sandbox marketplaces and a Google Merchant Center feed.
catalog = "catalog.db"
state = "state.db"

[channels.webshop]
type = "sandbox"
path = "webshop.db"

[channels.market]
type = "sandbox"
path = "market.db"
max_write_batch = 20

[channels.market.price]
markup_percent = 12
ending = 0.99

[channels.market.stock]
buffer = 1
max_shown = 20

[channels.google]
type = "feed"
format = "google"
path = "google-products.tsv"
link_template = "https://demo-shop.example/products/{sku}"
"""

SOLD = (("TEE-BLK-M", 3), ("MUG-WHT", 2))


def demo_csv() -> str:
    rows = [
        "sku,group_key,title,description,price,currency,quantity@warehouse,quantity@store,"
        "brand,condition,gtin,images,market:title"
    ]
    n = 0

    def gtin(i: int) -> str:
        body = f"400638{i:06d}"
        total = sum(int(d) * (3 if k % 2 else 1) for k, d in enumerate(body))
        return body + str((10 - total % 10) % 10)

    for colour, cname in (("BLK", "Black"), ("WHT", "White"), ("RED", "Red")):
        for size in ("S", "M", "L", "XL"):
            n += 1
            rows.append(
                f"TEE-{colour}-{size},TEE,Organic cotton tee - {cname} {size},"
                f'"Soft, heavyweight organic cotton.",19.99,USD,{6 + n % 5},{n % 3},'
                f"Omni Apparel,new,{gtin(n)},https://demo-shop.example/img/tee-{colour.lower()}.jpg,"
            )
    for colour, cname in (("WHT", "White"), ("BLU", "Blue"), ("GRN", "Green")):
        n += 1
        rows.append(
            f"MUG-{colour},MUG,Stoneware mug - {cname},Holds 350 ml.,12.50,USD,{4 + n % 4},2,"
            f"Omni Home,new,{gtin(n)},https://demo-shop.example/img/mug-{colour.lower()}.jpg,"
        )
    for size, price in (("A4", "9.00"), ("A3", "14.00"), ("A2", "24.00"), ("A1", "39.00")):
        for paper, pname in (("MATT", "matt"), ("GLOS", "gloss")):
            n += 1
            rows.append(
                f"POSTER-{size}-{paper},POSTER,Mountain poster {size} {pname},"
                f"Printed on 200 gsm paper.,{price},USD,{n % 7},0,Omni Prints,new,{gtin(n)},"
                f"https://demo-shop.example/img/poster.jpg,"
            )
    rows.append(
        "GIFT-CARD-25,,Gift card 25,Delivered by e-mail.,25.00,USD,100,0,Omni,new,,"
        "https://demo-shop.example/img/gift.jpg,Omni gift card (25 USD)"
    )
    rows.append(
        "SOCKS-3PK,,Three pairs of wool socks,Merino blend.,15.00,USD,0,0,Omni Apparel,"
        "new,,https://demo-shop.example/img/socks.jpg,"
    )
    return "\n".join(rows) + "\n"


def run_demo(directory: Path | None, *, out: Console, err: Console) -> int:
    from .catalog import import_csv, init_catalog, open_catalog, read_products
    from .channels.sandbox import connect, sell
    from .config import load_config
    from .engine import Engine
    from .render import render_plan, render_report
    from .state import Lock

    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="omnisync-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("catalog.db", "state.db", "webshop.db", "market.db", "google-products.tsv", "state.db.lock"):
        (folder / name).unlink(missing_ok=True)
    (folder / "channels.toml").write_text(CONFIG)
    (folder / "catalog.csv").write_text(demo_csv())
    err.print(f"demo folder: {folder}", markup=False)

    config = load_config(folder / "channels.toml", env=os.environ)
    init_catalog(config.catalog)
    import_csv(open_catalog(config.catalog), folder / "catalog.csv")

    def push(title: str) -> int:
        out.rule(title)
        engine = Engine(config, env=os.environ, log=lambda m: None)
        with Lock(Path(str(config.state) + ".lock")):
            report = engine.run("push", apply=True, show_plan=lambda p: out.print(render_plan(p)))
        out.print("")
        out.print(render_report(report, verbose=True))
        return report.exit_code

    def stock_of(sku: str) -> tuple[int, int, int]:
        product = next(iter(read_products(open_catalog(config.catalog), [sku])))
        shown = []
        for shop in ("webshop.db", "market.db"):
            conn = connect(folder / shop)
            try:
                shown.append(conn.execute("SELECT quantity FROM listings WHERE sku=?", (sku,)).fetchone()[0])
            finally:
                conn.close()
        return product.total_stock, shown[0], shown[1]

    code = push("1. First push: every listing created on both sandboxes and in the feed")
    if code:
        return code
    before = {sku: stock_of(sku) for sku, _ in SOLD}

    out.rule("2. Buyers order on the market sandbox")
    for sku, units in SOLD:
        sold = sell(folder / "market.db", sku, units)
        out.print(f"sold {sold} x {sku} on market", markup=False)

    code = push("3. Second push: sales taken out of the catalog once, every channel lowered")
    if code:
        return code
    after = {sku: stock_of(sku) for sku, _ in SOLD}

    out.rule("4. Where the sold units went")
    out.print(
        f"{'SKU':<12} {'sold':>4}  {'catalog':>13}  {'webshop':>13}  {'market (buffer 1)':>17}", markup=False
    )
    for sku, units in SOLD:
        b, a = before[sku], after[sku]
        out.print(
            f"{sku:<12} {units:>4}  {b[0]:>5} -> {a[0]:<5}  {b[1]:>5} -> {a[1]:<5}  {b[2]:>7} -> {a[2]:<7}",
            markup=False,
        )

    code = push("5. Third push: nothing left to do")
    if code:
        return code
    out.print("")
    out.print(
        f"Files are in {folder}: catalog.db (open it with any SQLite tool), channels.toml, "
        "state.db, the sandboxes and google-products.tsv.",
        markup=False,
    )
    return 0
