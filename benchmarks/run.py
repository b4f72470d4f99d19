"""omnisync's performance goals, measured: planning CPU and memory, API calls against the floor the
vendors' batch limits allow, wall time against the rate-limit floor, start-up time.

    python benchmarks/run.py            # a table
    python benchmarks/run.py --json     # the same numbers as JSON
    python benchmarks/run.py --quick    # smaller sizes (seconds, not minutes)
    python benchmarks/run.py --skus N   # only the planning and push scenarios, at N SKUs x 5

The planning and push scenarios grow from 1,000 to 1,000,000 SKUs x 5 channels. The push
scenario pushes to 5 sandbox channels (omnisync's offline marketplace, one SQLite file each)
seeded as a previous push left them, with 1% of the catalog's stock changed, then pushes again
(a no-op); it reports both pushes' wall time, the writes the sandboxes applied and state.db's size.

Every scenario runs in its own child process, so each peak RSS is that scenario's alone
(``os.wait4``'s ``ru_maxrss``). Vendors are the fakes of ``tests/fakes`` in process
(``httpx.MockTransport``), optionally 50 ms slow per request; the sandbox and the feed are
omnisync's own offline channels; the planning scenario uses a synthetic channel that generates
its listings on the fly (so the memory measured is omnisync's, not a fake store's).

Floors. Reads: ceil(N / the vendor's largest page). Writes: ceil(changed / the largest write batch).
A channel without compare-and-set re-reads each write batch's stock just before writing it (the
engine's guard against selling a unit twice): ceil(batch's stock SKUs / SKUs per lookup) reads per
batch, counted in its floor. Wall-time floor: calls / the vendor's published rate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FIELDS = ("quantity", "price", "title", "description")

# SKUs one read-by-SKU lookup of the adapter carries, where it is fewer than its page size, and
# the requests one lookup takes (the pre-write read of a channel without compare-and-set, and a
# read-back after writing, are counted with it).
LOOKUP_BATCH: dict[str, tuple[int, str]] = {
    "woocommerce": (50, "GET /products?sku=a,b,...: 50 SKUs keep the URL short"),
    "shopify": (50, 'productVariants(query: "sku:a OR sku:b ..."): 50 SKUs keep the search query short'),
    "bigcommerce": (100, "sku:in filters are kept to 2,000 characters (URL length): 100 of the fake's SKUs"),
    "medusa": (100, "GET /admin/product-variants?sku=a&sku=b...: 100 SKUs keep the URL short"),
}
LOOKUP_READS: dict[str, tuple[int, str]] = {
    "medusa": (
        2,
        "a lookup of up to 100 SKUs reads the variants (?sku=...), then their products "
        "(title, description, variant count)",
    ),
}

# Calls a vendor's protocol adds to every run or every write batch, with the reason. They are part
# of that vendor's floor; the report names them.
SETUP_READS: dict[str, tuple[int, str]] = {
    "shopify": (2, "shop query (currency, primary location) and productVariantsCount (bulk or paged read)"),
    "vendure": (1, "one query: the channel (currency, prices with tax) and its stock locations"),
    "medusa": (2, "the store (currencies) and its stock locations"),
}
# Requests per page of a full read, where the vendor needs more than one (the reason says why).
PAGE_READS: dict[str, tuple[int, str]] = {
    "medusa": (
        3,
        "the variant list leaves out product title, description and variant count "
        "(the real server drops `product.variants`), so each page of variants also reads "
        "its products",
    ),
}
# The vendor's kinds of write request, where it has more than one: the field kinds each carries
# and the most SKUs one request holds (None: Capabilities.max_write_batch, the configured batch).
# A vendor not listed sends every field of a SKU in one kind of request. The write floor of a push
# is, over the kinds of request, ceil(SKUs changing any of its fields / SKUs per request).
WRITE_REQUESTS: dict[str, tuple[tuple[tuple[frozenset[str], int | None], ...], str]] = {
    "bigcommerce": (
        ((frozenset({"quantity"}), None), (frozenset({"price", "title", "description"}), 10)),
        "stock: PUT /inventory/adjustments/absolute, 2,000 items per request; product fields: "
        "PUT /catalog/products, 10 products per request (the fake's products have no variants)",
    ),
    "shopify": (
        (
            (frozenset({"quantity"}), None),
            (frozenset({"price"}), 80),
            (frozenset({"title", "description"}), 80),
        ),
        "stock: inventorySetQuantities, 250 rows; prices: productVariantsBulkUpdate per product, "
        "and content: productUpdate, 80 aliased per request (Shopify's 1,000-point query cost)",
    ),
    "vendure": (
        ((frozenset({"quantity", "price"}), None), (frozenset({"title", "description"}), None)),
        "updateProductVariants carries prices and stock, updateProducts the names and "
        "descriptions of products (a single-variant product's title is its name)",
    ),
    "medusa": (
        (
            (frozenset({"quantity"}), None),
            (frozenset({"title", "description"}), None),
            (frozenset({"price"}), 1),
        ),
        "stock: /admin/inventory-items/location-levels/batch; titles and descriptions: "
        "/admin/products/batch; prices: one product per request "
        "(/admin/products/{id}/variants/batch): Medusa has no cross-product price batch, and "
        "/admin/products/batch would delete every variant its list leaves out. The fake's "
        "products have one variant each",
    ),
}


def write_floor(type_name: str, caps: Any, changes: Mapping[str, Collection[str]]) -> int:
    """The fewest write requests for ``changes`` (field kind -> the SKUs changing it)."""
    kinds = WRITE_REQUESTS.get(type_name, (((frozenset(FIELDS), None),), ""))[0]
    total = 0
    for fields, per in kinds:
        skus = set().union(*(set(changes.get(f, ())) for f in fields))
        total += math.ceil(len(skus) / max(1, min(per or caps.max_write_batch, caps.max_write_batch)))
    return total


# (SKUs from which the adapter reads in bulk, reads a bulk read takes): fewer than paged reads
BULK_READ: dict[str, tuple[int, int, str]] = {
    "shopify": (10_000, 4, "bulkOperationRunQuery, 2 status polls with the fake, 1 download"),
}
# reads after each write batch of the given field kinds: (kinds, status polls per batch, SKUs
# per read-back; a read-back of Medusa is one of its lookups, LOOKUP_READS)
VERIFY_READS: dict[str, tuple[frozenset[str], int, int, str]] = {
    "bigcommerce": (
        frozenset({"quantity"}),
        0,
        250,
        "stock adjustments are asynchronous: the adjusted items are read back, 250 SKUs per request",
    ),
    "medusa": (
        frozenset(FIELDS),
        0,
        100,
        "a 200 that changed nothing is a failure, so every written SKU is read back, one "
        "lookup (variants, then their products) per 100 SKUs",
    ),
    "ecwid": (
        frozenset(FIELDS),
        2,
        100,
        "POST /batch is asynchronous: its ticket is polled until done (the fake answers "
        "'in progress' once: 2 polls), then the written products are read back, 100 per "
        "request",
    ),
}


# -- the synthetic channel of the planning scenario ------------------------------------------------
def _synthetic_classes() -> tuple[Any, Any]:
    from omnisync.channels.base import BaseChannel, Capabilities, ChannelConfig
    from omnisync.models import RemoteListing, frozen
    from omnisync.money import Money

    class SyntheticConfig(ChannelConfig):
        skus: int = 1000
        differ_every: int = 100  # every 100th listing shows another price: 1% to write
        sold_every: int = 1000  # every 1000th listing sold a unit since the last push

    class SyntheticChannel(BaseChannel):
        """A store of ``skus`` listings that exist only as a formula: reading one costs what
        building its RemoteListing costs, and nothing is stored."""

        Config = SyntheticConfig
        capabilities = Capabilities(
            fields=frozenset(FIELDS), read_page_size=250, max_write_batch=100, compare_and_set=True
        )

        def read(self, skus: Any = None, since: Any = None) -> Iterator[RemoteListing]:
            cfg = self.cfg
            assert isinstance(cfg, SyntheticConfig)
            wanted = set(skus) if skus is not None else None
            salt = sum(map(ord, self.name))
            for i in range(cfg.skus):
                sku = sku_of(i)
                if wanted is not None and sku not in wanted:
                    continue
                qty = quantity_of(i)
                minor = price_of(i)
                if (i + salt) % cfg.differ_every == 0:
                    minor += 100
                if (i + salt) % cfg.sold_every == 1 and qty > 0:
                    qty -= 1
                yield RemoteListing(
                    sku,
                    frozen(
                        {
                            "quantity": qty,
                            "price": Money(minor, "USD"),
                            "title": title_of(i),
                            "description": description_of(i),
                        }
                    ),
                    remote_id=str(i),
                )

        def write(self, batch: Any) -> list[Any]:
            raise NotImplementedError("the planning scenario never writes")

        def check(self) -> str:
            return "synthetic"

    return SyntheticConfig, SyntheticChannel


def sku_of(i: int) -> str:
    return f"SKU-{i:07d}"


def title_of(i: int) -> str:
    return f"Organic cotton tee {i // 4}, crew neck, size {'SMLX'[i % 4]}"


def description_of(i: int) -> str:
    return (
        f"Soft organic cotton tee number {i}: pre-shrunk, double-stitched hems, "
        "a relaxed fit that keeps its shape wash after wash."
    )


def price_of(i: int) -> int:
    return 1000 + (i * 37) % 9000


def quantity_of(i: int) -> int:
    return 3 + i % 40


def __getattr__(name: str) -> Any:  # the registry imports "benchmarks.run:SyntheticChannel"
    if name in ("SyntheticChannel", "SyntheticConfig"):
        config, channel = _synthetic_classes()
        globals().update(SyntheticConfig=config, SyntheticChannel=channel)
        return globals()[name]
    raise AttributeError(name)


def write_catalog(path: Path, rows: Iterator[tuple[str, str, str, int, str, int]]) -> None:
    """A catalog from (sku, title, description, price_minor, currency, quantity) rows."""
    import sqlite3

    from omnisync.catalog import init_catalog

    init_catalog(path)
    conn = sqlite3.connect(path)
    batch: list[tuple[str, str, str, int, str, int]] = []

    def flush() -> None:
        conn.executemany(
            "INSERT INTO products(sku, title, description, price_minor, currency, condition, "
            "images, brand, updated_at) VALUES (?,?,?,?,?,'new',?,'Omni','2026-01-01T00:00:00Z')",
            [(s, t, d, p, c, f'["https://shop.example/img/{s}.jpg"]') for s, t, d, p, c, _ in batch],
        )
        conn.executemany(
            "INSERT INTO stock(sku, location, quantity) VALUES (?, 'default', ?)",
            [(s, q) for s, _, _, _, _, q in batch],
        )
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= 10_000:
            flush()
    flush()
    conn.commit()
    conn.close()


# -- scenario: planning at scale -------------------------------------------------------------------
def seed_stock_bases(path: Path, names: Sequence[str], n: int) -> None:
    """state.db with the stock bases a previous push left on each of ``names`` (n SKUs each)."""
    import sqlite3

    from omnisync.state import State

    State(path).close()
    conn = sqlite3.connect(path)
    for name in names:
        conn.executemany(
            "INSERT INTO base(channel, sku, field, value, run_id, updated_at) VALUES "
            "(?, ?, 'quantity', ?, NULL, '2026-01-01T00:00:00Z')",
            ((name, sku_of(i), f"i:{quantity_of(i)}") for i in range(n)),
        )
    conn.commit()
    conn.close()


def setup_plan(n: int, channels: int, folder: Path) -> None:
    """catalog.db, state.db (the stock bases a previous push left) and channels.toml."""

    write_catalog(
        folder / "catalog.db",
        ((sku_of(i), title_of(i), description_of(i), price_of(i), "USD", quantity_of(i)) for i in range(n)),
    )
    names = [f"store{c}" for c in range(channels)]
    seed_stock_bases(folder / "state.db", names, n)
    (folder / "channels.toml").write_text(
        'catalog = "catalog.db"\nstate = "state.db"\n'
        + "".join(f'\n[channels.{name}]\ntype = "synthetic"\nskus = {n}\n' for name in names)
    )


def child_plan(folder: Path) -> dict[str, Any]:
    from omnisync import channels as registry
    from omnisync.config import load_config
    from omnisync.engine import Engine

    registry.REGISTRY["synthetic"] = "benchmarks.run:SyntheticChannel"
    config = load_config(folder / "channels.toml", env={})
    engine = Engine(config, env={}, log=lambda m: None)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = engine.run("plan")
    cpu1, wall1 = time.process_time(), time.perf_counter()
    plan = report.plan
    # what the adapters' own listing building cost (not the planner's): read each store alone
    chans = engine.open_channels(list(config.channels.values()))
    gen0 = time.process_time()
    for ch in chans.values():
        for _ in ch.read():
            pass
    gen = time.process_time() - gen0
    return {
        "cpu_total_s": cpu1 - cpu0,
        "adapter_cpu_s": gen,
        "plan_cpu_s": (cpu1 - cpu0) - gen,
        "wall_s": wall1 - wall0,
        "writes": plan.write_count,
        "sales": len(plan.sales),
        "unchanged": sum(cp.unchanged for cp in plan.channels),
    }


# -- scenario: a push to sandbox channels at scale ------------------------------------------------
SANDBOX_TS = "2026-01-01T00:00:00.000Z"


def setup_push(n: int, channels: int, folder: Path) -> None:
    """catalog.db; ``channels`` sandbox files holding every listing as the catalog has it; state.db
    with the stock bases a previous push left; channels.toml. Then 1% of the catalog's stock moves
    (+3 units), so the first push writes 1% of the SKUs on every channel."""
    import sqlite3

    from omnisync.channels.sandbox import connect

    write_catalog(
        folder / "catalog.db",
        ((sku_of(i), title_of(i), description_of(i), price_of(i), "USD", quantity_of(i)) for i in range(n)),
    )
    names = [f"shop{c}" for c in range(channels)]
    for name in names:
        conn = connect(folder / f"{name}.db")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO listings(sku, quantity, price_minor, currency, title, description, version, "
            "updated_at) VALUES (?,?,?,'USD',?,?,1,?)",
            (
                (sku_of(i), quantity_of(i), price_of(i), title_of(i), description_of(i), SANDBOX_TS)
                for i in range(n)
            ),
        )
        conn.execute("COMMIT")
        conn.close()
    seed_stock_bases(folder / "state.db", names, n)
    conn = sqlite3.connect(folder / "catalog.db")
    conn.executemany(
        "UPDATE stock SET quantity = quantity + 3 WHERE sku = ?", ((sku_of(i),) for i in range(0, n, 100))
    )
    conn.commit()
    conn.close()
    (folder / "channels.toml").write_text(
        'catalog = "catalog.db"\nstate = "state.db"\n'
        + "".join(
            f'\n[channels.{name}]\ntype = "sandbox"\npath = "{name}.db"\nmax_write_batch = 500\n'
            for name in names
        )
    )


def _applied_writes(folder: Path) -> int:
    import sqlite3

    total = 0
    for db in sorted(folder.glob("shop*.db")):
        conn = sqlite3.connect(db)
        total += conn.execute("SELECT count(*) FROM applied_writes").fetchone()[0]
        conn.close()
    return total


def child_push(folder: Path) -> dict[str, Any]:
    from omnisync.config import load_config
    from omnisync.engine import Engine
    from omnisync.state import Lock

    def push() -> dict[str, Any]:
        config = load_config(folder / "channels.toml", env={})
        engine = Engine(config, env={}, log=lambda m: None)
        before = _applied_writes(folder)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        with Lock(Path(str(config.state) + ".lock")):
            report = engine.run("push", apply=True, yes=True)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "planned": report.plan.write_count,
            "sent": _applied_writes(folder) - before,
            "status": sorted({r.status for r in report.channels.values()}),
            "read": sorted({str(r.read) for r in report.channels.values()}),
        }

    run = push()
    noop = push()
    return {"run": run, "noop": noop, "state_db_mb": (folder / "state.db").stat().st_size / 2**20}


# -- scenario: API calls against the floor, per adapter -------------------------------------------
def http_cases() -> dict[str, Any]:
    """Registered HTTP channel types with an in-process fake (the contract suite's cases)."""
    from tests.contract.cases import CASES

    from omnisync.channels import HTTP_TYPES

    return {t: CASES[t] for t in HTTP_TYPES if t in CASES}


def _toml(table: Mapping[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, Mapping):
            return "{ " + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(type(v).__name__)

    return "".join(f"{k} = {value(v)}\n" for k, v in table.items())


class AdapterRig:
    """One HTTP adapter against its fake, through the real engine, in a folder of its own."""

    def __init__(
        self,
        type_name: str,
        n: int,
        folder: Path,
        *,
        latency: float = 0.0,
        real_time: bool = False,
        seed: Callable[[Any, int], list[str]] | None = None,
    ) -> None:
        """``seed(fake, n)`` fills the fake store and returns its SKUs (default: ``fake.seed(n)``),
        for a store of another shape (WooCommerce's variable products)."""
        import httpx

        self.case = http_cases()[type_name]
        self.type = type_name
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.fake = self.case.make_fake(seed=1)
        self.skus = seed(self.fake, n) if seed is not None else self.fake.seed(n)
        self.latency = latency
        self.real_time = real_time
        fake_handler = self.fake.handler
        self.fake_s = 0.0  # time the in-process fake spent answering (a real vendor's own time)
        self.job_wait_s = 0.0  # time adapters waited for asynchronous vendor jobs (ApiClient.wait)

        def handler(request: httpx.Request) -> httpx.Response:
            if latency:
                time.sleep(latency)
            t0 = time.perf_counter()
            try:
                return fake_handler(request)
            finally:
                self.fake_s += time.perf_counter() - t0

        if real_time:  # (a benchmark child process only: this patches the class for good)
            from omnisync.http import ApiClient

            original_wait = ApiClient.wait

            def wait(client: Any, seconds: float) -> None:
                t0 = time.perf_counter()
                original_wait(client, seconds)
                self.job_wait_s += time.perf_counter() - t0

            ApiClient.wait = wait  # type: ignore[method-assign]

        self.transport = httpx.MockTransport(handler)
        raw = dict(self.case.config(self.case.base_url))
        raw.setdefault("currency", self.case.currency)
        self.name = str(raw.pop("name"))
        (folder / "channels.toml").write_text(
            f'catalog = "catalog.db"\nstate = "state.db"\n\n[channels.{self.name}]\n' + _toml(raw)
        )
        listings = {r.sku: r for r in self._adapter().read()}
        write_catalog(
            folder / "catalog.db",
            (
                (
                    sku,
                    str(r.values.get("title") or sku),
                    str(r.values.get("description") or ""),
                    r.values["price"].minor,
                    r.values["price"].currency,  # type: ignore[union-attr]
                    int(r.values.get("quantity", 0)),
                )  # type: ignore[arg-type]
                for sku, r in sorted(listings.items())
            ),
        )

    def _config(self) -> Any:
        from omnisync.config import load_config

        return load_config(self.folder / "channels.toml", env=dict(self.case.env))

    def _adapter(self) -> Any:
        from omnisync.engine import Engine

        engine = Engine(
            self._config(),
            env=dict(self.case.env),
            log=lambda m: None,
            transport=self.transport,
            sleep=lambda s: None,
        )
        cfg = self._config().channels[self.name]
        return engine.open_channels([cfg])[self.name]

    @property
    def capabilities(self) -> Any:
        ch = self._adapter()
        try:
            return ch.capabilities
        finally:
            ch.close()

    def change(self, skus: list[str], field: str) -> None:
        """Change ``field`` of ``skus`` in the catalog (what the next push must write)."""
        import sqlite3

        conn = sqlite3.connect(self.folder / "catalog.db")
        if field == "quantity":
            conn.executemany("UPDATE stock SET quantity = quantity + 3 WHERE sku = ?", [(s,) for s in skus])
        elif field == "price":
            conn.executemany(
                "UPDATE products SET price_minor = price_minor + 101 WHERE sku = ?", [(s,) for s in skus]
            )
        else:
            conn.executemany(
                f"UPDATE products SET {field} = {field} || ' (new)' WHERE sku = ?", [(s,) for s in skus]
            )
        conn.commit()
        conn.close()

    def push(self) -> dict[str, Any]:
        """One ``push``; the calls it made (reads, writes, retries) and its wall time."""
        from omnisync.engine import Engine
        from omnisync.http import api_calls
        from omnisync.state import Lock

        config = self._config()
        engine = Engine(
            config,
            env=dict(self.case.env),
            log=lambda m: None,
            transport=self.transport,
            sleep=None if self.real_time else (lambda s: None),
        )
        self.fake_s = self.job_wait_s = 0.0
        t0 = time.perf_counter()
        with Lock(Path(str(config.state) + ".lock")):
            report = engine.run("push", apply=True, yes=True)
        wall = time.perf_counter() - t0
        r = report.channels[self.name]
        return {
            **api_calls(engine.counters, self.name),
            "wall_s": wall,
            "status": r.status,
            "applied": r.count("ok"),
            "planned": report.plan.write_count,
            "fake_s": self.fake_s,
            "job_wait_s": self.job_wait_s,
            "omnisync_wall_s": wall - self.fake_s - self.job_wait_s,
        }


def read_floor(type_name: str, caps: Any, n: int) -> int:
    """Reads of a full read of ``n`` SKUs: pages at the largest size (or the vendor's bulk
    export, where the adapter uses one), plus the vendor's fixed set-up reads."""
    reads = math.ceil(n / caps.read_page_size) * PAGE_READS.get(type_name, (1, ""))[0]
    bulk = BULK_READ.get(type_name)
    if bulk is not None and n >= bulk[0]:
        reads = min(reads, bulk[1])
    return reads + SETUP_READS.get(type_name, (0, ""))[0]


def floors(type_name: str, caps: Any, n: int, changed: int, field: str) -> dict[str, int]:
    """The fewest calls the vendor's limits allow for a push of ``n`` SKUs, ``changed`` of them."""
    reads = read_floor(type_name, caps, n)
    writes = write_floor(type_name, caps, {field: [str(i) for i in range(changed)]})
    # the engine's write() calls: runs of max_write_batch (an adapter that packs its calls per kind
    # of request, like Shopify, has compare-and-set and no read-back, so no term below uses it)
    batch = max(1, caps.max_write_batch)
    full, rest = divmod(changed, batch)
    per_lookup = LOOKUP_READS.get(type_name, (1, ""))[0]

    def per_call(skus_per_request: int, extra: int = 0) -> int:
        """Reads over all write() calls: ``extra`` each, plus one lookup per ``skus_per_request``."""

        def one(m: int) -> int:
            return extra + math.ceil(m / skus_per_request) * per_lookup

        return full * one(batch) + (one(rest) if rest else 0)

    pre = 0
    if field == "quantity" and not caps.compare_and_set and not caps.feed and changed:
        pre = per_call(min(LOOKUP_BATCH.get(type_name, (caps.read_page_size, ""))[0], caps.read_page_size))
    verify = 0
    spec = VERIFY_READS.get(type_name)
    if spec is not None and field in spec[0] and changed:
        verify = per_call(spec[2], spec[1])
    return {"reads": reads + pre + verify, "writes": writes, "pre_write_reads": pre, "verify_reads": verify}


def child_calls(
    type_name: str, n: int, fraction: float, field: str, folder: Path, latency: float, real_time: bool
) -> dict[str, Any]:
    rig = AdapterRig(type_name, n, folder, latency=latency, real_time=real_time)
    caps = rig.capabilities
    noop = rig.push()
    changed = sorted(rig.skus)[:: max(1, round(1 / fraction))] if fraction else []
    rig.change(changed, field)
    run = rig.push()
    floor = floors(type_name, caps, n, len(changed), field)
    rate = caps.rate_limit_per_second
    out = {
        "type": type_name,
        "n": n,
        "changed": len(changed),
        "field": field,
        "noop": noop,
        "run": run,
        "floor": floor,
        "noop_floor": {"reads": read_floor(type_name, caps, n), "writes": 0},
        "rate_limit_per_second": rate,
        "latency_s": latency,
    }
    if real_time:
        calls = run["calls"]
        out["wall_floor_s"] = calls / rate if rate else calls * latency
        out["floor_kind"] = "rate limit" if rate else "latency (no published limit)"
    return out


def child_offline(kind: str, n: int, fraction: float, folder: Path) -> dict[str, Any]:
    """The sandbox (API calls counted per page and per batch) and the feed (file writes)."""
    from omnisync.config import load_config
    from omnisync.engine import Engine
    from omnisync.state import Lock

    write_catalog(
        folder / "catalog.db",
        ((sku_of(i), title_of(i), description_of(i), price_of(i), "USD", quantity_of(i)) for i in range(n)),
    )
    block = (
        'type = "sandbox"\npath = "shop.db"\nmax_write_batch = 500\n'
        if kind == "sandbox"
        else 'type = "feed"\nformat = "google"\npath = "feed.tsv"\n'
        'link_template = "https://shop.example/p/{sku}"\n'
    )
    (folder / "channels.toml").write_text(
        f'catalog = "catalog.db"\nstate = "state.db"\n\n[channels.{kind}]\n{block}'
    )

    def push() -> dict[str, Any]:
        config = load_config(folder / "channels.toml", env={})
        engine = Engine(config, env={}, log=lambda m: None)
        t0 = time.perf_counter()
        with Lock(Path(str(config.state) + ".lock")):
            report = engine.run("push", apply=True, yes=True)
        return {
            "calls": engine.counters.get(kind, 0),
            "planned": report.plan.write_count,
            "wall_s": time.perf_counter() - t0,
            "status": report.channels[kind].status,
            "read": report.channels[kind].read,
            "feed_mtime": (folder / "feed.tsv").stat().st_mtime_ns
            if (folder / "feed.tsv").exists()
            else None,
        }

    first = push()  # creates every listing
    noop = push()
    import sqlite3

    conn = sqlite3.connect(folder / "catalog.db")
    changed = [sku_of(i) for i in range(0, n, max(1, round(1 / fraction)))]
    conn.executemany("UPDATE stock SET quantity = quantity + 3 WHERE sku = ?", [(s,) for s in changed])
    conn.commit()
    conn.close()
    run = push()
    out: dict[str, Any] = {
        "type": kind,
        "n": n,
        "changed": len(changed),
        "first": first,
        "noop": noop,
        "run": run,
    }
    if kind == "sandbox":
        page, batch = 1000, 500
        out["noop_floor"] = {"calls": n // page + 1}  # pages until a short one
        out["floor"] = {"calls": n // page + 1 + math.ceil(len(changed) / batch)}
        # the runs above all fall within the incremental reads' 5-minute margin, so each re-reads
        # the listings the first push wrote; one more run reads back what the last one wrote, and
        # a cron run on a quiet store after that (as if the listings last changed 20 minutes ago
        # and the last full read began 30 minutes ago) reads one short page
        out["settle"] = push()
        from datetime import UTC, datetime, timedelta

        def ago(minutes: int) -> str:
            t = datetime.now(UTC) - timedelta(minutes=minutes)
            return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")

        for db, sql, arg in (
            (folder / "shop.db", "UPDATE listings SET updated_at=?", ago(20)),
            (folder / "state.db", "UPDATE channel_reads SET full_started_at=?", ago(30)),
        ):
            conn = sqlite3.connect(db)
            conn.execute(sql, (arg,))
            conn.commit()
            conn.close()
        out["quiet"] = push()
        out["quiet_floor"] = {"calls": 1}
    else:
        out["noop_file_rewritten"] = noop["feed_mtime"] != first["feed_mtime"]
    return out


# -- scenario: start-up ---------------------------------------------------------------------------
def startup_time(tries: int = 5) -> float:
    best = math.inf
    for _ in range(tries):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "omnisync", "--help"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        best = min(best, time.perf_counter() - t0)
    return best


# -- the parent ------------------------------------------------------------------------------------
def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario in a child process; its result with its own peak RSS."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"scenario {spec} failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def child_main(spec: dict[str, Any]) -> dict[str, Any]:
    folder = Path(spec["folder"])
    kind = spec["kind"]
    if kind == "setup_plan":
        setup_plan(spec["n"], spec["channels"], folder)
        return {}
    if kind == "plan":
        return child_plan(folder)
    if kind == "setup_push":
        setup_push(spec["n"], spec["channels"], folder)
        return {}
    if kind == "push":
        return child_push(folder)
    if kind == "calls":
        return child_calls(
            spec["type"],
            spec["n"],
            spec["fraction"],
            spec["field"],
            folder,
            spec.get("latency", 0.0),
            spec.get("real_time", False),
        )
    if kind == "offline":
        return child_offline(spec["type"], spec["n"], spec["fraction"], folder)
    raise SystemExit(f"unknown scenario {kind}")


def measure_scale(n: int, root: Path, results: dict[str, Any], log: Callable[[str], None]) -> None:
    """The planning and the push scenarios at ``n`` SKUs x 5 channels, each in its own folder
    (removed after it, so a million-SKU run does not keep gigabytes of files)."""
    import shutil

    folder = root / f"plan-{n}"
    folder.mkdir()
    log(f"plan: {n:,} SKUs x 5 channels")
    run_child({"kind": "setup_plan", "n": n, "channels": 5, "folder": str(folder)})
    results["plan"].append({"n": n, "channels": 5, **run_child({"kind": "plan", "folder": str(folder)})})
    shutil.rmtree(folder)
    folder = root / f"push-{n}"
    folder.mkdir()
    log(f"push: {n:,} SKUs x 5 sandbox channels, 1% stock changed, then a no-op push")
    run_child({"kind": "setup_push", "n": n, "channels": 5, "folder": str(folder)})
    results["push"].append({"n": n, "channels": 5, **run_child({"kind": "push", "folder": str(folder)})})
    shutil.rmtree(folder)


def measure_skus(n: int, log: Callable[[str], None]) -> dict[str, Any]:
    """``--skus N``: the planning and push scenarios at N SKUs only."""
    results: dict[str, Any] = {"plan": [], "push": [], "calls": [], "offline": [], "latency": []}
    with tempfile.TemporaryDirectory(prefix="omnisync-bench-") as tmp:
        measure_scale(n, Path(tmp), results, log)
    results["goals"] = goals(results)
    return results


def measure(quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    call_sizes = [1_000] if quick else [1_000, 10_000]
    results: dict[str, Any] = {"plan": [], "push": [], "calls": [], "offline": [], "latency": []}
    with tempfile.TemporaryDirectory(prefix="omnisync-bench-") as tmp:
        root = Path(tmp)
        for n in sizes:
            measure_scale(n, root, results, log)
        for type_name in http_cases():
            for n in call_sizes:
                for field in ("quantity", "price"):
                    folder = root / f"calls-{type_name}-{n}-{field}"
                    folder.mkdir()
                    log(f"calls: {type_name}, {n:,} SKUs, 1% {field} changed")
                    results["calls"].append(
                        run_child(
                            {
                                "kind": "calls",
                                "type": type_name,
                                "n": n,
                                "fraction": 0.01,
                                "field": field,
                                "folder": str(folder),
                            }
                        )
                    )
            folder = root / f"latency-{type_name}"
            folder.mkdir()
            log(f"latency: {type_name}, 1,000 SKUs, 50 ms per request, published rate limit")
            results["latency"].append(
                run_child(
                    {
                        "kind": "calls",
                        "type": type_name,
                        "n": 1_000,
                        "fraction": 0.01,
                        "field": "quantity",
                        "folder": str(folder),
                        "latency": 0.05,
                        "real_time": True,
                    }
                )
            )
        for kind in ("sandbox", "feed"):
            folder = root / f"offline-{kind}"
            folder.mkdir()
            log(f"offline: {kind}, {call_sizes[-1]:,} SKUs")
            results["offline"].append(
                run_child(
                    {
                        "kind": "offline",
                        "type": kind,
                        "n": call_sizes[-1],
                        "fraction": 0.01,
                        "folder": str(folder),
                    }
                )
            )
    log("start-up: omnisync --help")
    results["help_s"] = startup_time()
    results["floor_terms"] = floor_terms()
    results["quick"] = quick
    results["goals"] = goals(results)
    return results


def floor_terms() -> list[dict[str, str]]:
    """The vendor-specific terms of the floors above, each with its reason."""
    out: list[dict[str, str]] = []
    for type_name in sorted(http_cases()):

        def term(what: str, reason: str, type_name: str = type_name) -> None:
            out.append({"type": type_name, "term": what, "reason": reason})

        if type_name in SETUP_READS:
            k, why = SETUP_READS[type_name]
            term(f"{k} set-up reads per run", why)
        if type_name in PAGE_READS:
            k, why = PAGE_READS[type_name]
            term(f"{k} requests per page of a full read", why)
        if type_name in BULK_READ:
            at, k, why = BULK_READ[type_name]
            term(f"from {at:,} SKUs a full read is {k} requests", why)
        if type_name in LOOKUP_BATCH:
            size, why = LOOKUP_BATCH[type_name]
            per, more = LOOKUP_READS.get(type_name, (1, ""))
            term(
                f"a lookup by SKU: {size} SKUs, {per} request{'s' if per > 1 else ''}",
                why + (f"; {more}" if more else ""),
            )
        if type_name in WRITE_REQUESTS:
            kinds, why = WRITE_REQUESTS[type_name]
            term(
                "write requests: "
                + "; ".join(
                    f"{'/'.join(sorted(fields))} {per or 'max_write_batch'} per request"
                    for fields, per in kinds
                ),
                why,
            )
        if type_name in VERIFY_READS:
            kinds, polls, per, why = VERIFY_READS[type_name]
            term(
                f"after each write batch of {'/'.join(sorted(kinds))}: {polls} polls, read-back "
                f"{per} SKUs per lookup",
                why,
            )
    return out


def goals(r: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def goal(name: str, measured: str, ok: bool) -> None:
        out.append({"goal": name, "measured": measured, "met": ok})

    plans = {p["n"]: p for p in r["plan"]}
    # the 100,000-SKU goals (or, with --quick, the same goals at the largest size run)
    mid = 100_000 if 100_000 in plans else max(plans, default=0) if r.get("quick") else 0
    if mid in plans and mid < 1_000_000:
        big = plans[mid]
        label = f"{mid:,} SKUs x 5 channels"
        goal(f"plan {label}: <= 2 s CPU", f"{big['plan_cpu_s']:.2f} s", big["plan_cpu_s"] <= 2.0)
        goal(f"plan {label}: <= 300 MB peak RSS", f"{big['peak_rss_mb']:.0f} MB", big["peak_rss_mb"] <= 300)
        if 10_000 in plans and mid > 10_000:
            small = plans[10_000]
            ratio = big["plan_cpu_s"] / max(small["plan_cpu_s"], 1e-9)
            scale = mid / 10_000
            goal(
                f"plan CPU grows linearly (10k -> {mid // 1000}k: x{scale:.0f} SKUs)",
                f"{small['plan_cpu_s']:.2f} s -> {big['plan_cpu_s']:.2f} s (x{ratio:.1f})",
                ratio <= scale * 1.3,
            )
    if 1_000_000 in plans:
        top = plans[1_000_000]
        label = "1,000,000 SKUs x 5 channels"
        goal(f"plan {label}: <= 10 s CPU", f"{top['plan_cpu_s']:.2f} s", top["plan_cpu_s"] <= 10.0)
        goal(
            f"plan {label}: <= 1 GB peak RSS",
            f"{top['peak_rss_mb']:.0f} MB",
            top["peak_rss_mb"] <= 1024,
        )
        if 100_000 in plans:
            mid_p = plans[100_000]
            cpu_x = top["plan_cpu_s"] / max(mid_p["plan_cpu_s"], 1e-9)
            mem_x = top["peak_rss_mb"] / max(mid_p["peak_rss_mb"], 1e-9)
            goal(
                "plan CPU growth 100k -> 1M SKUs (x10): <= x11",
                f"{mid_p['plan_cpu_s']:.2f} s -> {top['plan_cpu_s']:.2f} s (x{cpu_x:.1f})",
                cpu_x <= 11,
            )
            goal(
                "plan peak RSS growth 100k -> 1M SKUs (x10): <= x8",
                f"{mid_p['peak_rss_mb']:.0f} MB -> {top['peak_rss_mb']:.0f} MB (x{mem_x:.1f})",
                mem_x <= 8,
            )
    for p in r.get("push", []):
        goal(
            f"no-op push of {p['n']:,} SKUs x 5 sandbox channels: 0 writes",
            f"{p['noop']['sent']} writes sent ({p['noop']['planned']} planned)",
            p["noop"]["sent"] == 0 and p["noop"]["planned"] == 0,
        )
    for c in r["calls"]:
        tag = f"{c['type']} {c['n']:,} SKUs, 1% {c['field']}"
        goal(
            f"{tag}: write calls = floor",
            f"{c['run']['writes']} (floor {c['floor']['writes']})",
            c["run"]["writes"] == c["floor"]["writes"],
        )
        goal(
            f"{tag}: read calls = floor",
            f"{c['run']['reads']} (floor {c['floor']['reads']})",
            c["run"]["reads"] == c["floor"]["reads"],
        )
    seen = set()
    for c in r["calls"]:
        key = (c["type"], c["n"])
        if key in seen:
            continue
        seen.add(key)
        goal(
            f"{c['type']} {c['n']:,} SKUs: no-op run sends 0 writes",
            f"{c['noop']['writes']} writes, {c['noop']['reads']} reads (floor {c['noop_floor']['reads']})",
            c["noop"]["writes"] == 0 and c["noop"]["reads"] == c["noop_floor"]["reads"],
        )
    for o in r["offline"]:
        if o["type"] == "sandbox":
            goal(
                f"sandbox {o['n']:,} SKUs: calls = floor (no-op / 1% stock)",
                f"{o['noop']['calls']} / {o['run']['calls']} (floor {o['noop_floor']['calls']} / "
                f"{o['floor']['calls']})",
                o["noop"]["calls"] == o["noop_floor"]["calls"] and o["run"]["calls"] == o["floor"]["calls"],
            )
            goal(
                f"sandbox {o['n']:,} SKUs: a quiet store, read incrementally: calls = floor",
                f"{o['quiet']['calls']} (floor {o['quiet_floor']['calls']})",
                o["quiet"]["calls"] == o["quiet_floor"]["calls"] and o["quiet"]["planned"] == 0,
            )
        else:
            goal(
                f"feed {o['n']:,} SKUs: a no-op run leaves the file alone",
                "rewritten" if o["noop_file_rewritten"] else "untouched",
                not o["noop_file_rewritten"] and o["noop"]["planned"] == 0,
            )
    for lat in r["latency"]:
        run, floor = lat["run"], lat["wall_floor_s"]
        wall = run["omnisync_wall_s"]
        goal(
            f"{lat['type']} 1,000 SKUs, 50 ms/request: wall <= 1.15 x {lat['floor_kind']} floor",
            f"{wall:.2f} s vs floor {floor:.2f} s (x{wall / floor:.2f}; measured {run['wall_s']:.2f} s "
            f"less {run['fake_s']:.2f} s in the in-process fake and {run['job_wait_s']:.2f} s "
            "waiting for the vendor's asynchronous jobs)",
            wall <= 1.15 * floor,
        )
    if "help_s" in r:
        goal("omnisync --help < 0.3 s", f"{r['help_s']:.3f} s", r["help_s"] < 0.3)
    return out


def table(r: dict[str, Any]) -> str:
    lines = [
        "Planning (synthetic channels; CPU excludes the adapters' own listing building)",
        f"{'SKUs':>9} {'chan':>4} {'plan CPU':>9} {'adapters':>9} {'wall':>7} {'peak RSS':>9}"
        f" {'writes':>7} {'sales':>6}",
    ]
    for p in r["plan"]:
        lines.append(
            f"{p['n']:>9,} {p['channels']:>4} {p['plan_cpu_s']:>8.2f}s "
            f"{p['adapter_cpu_s']:>8.2f}s {p['wall_s']:>6.2f}s {p['peak_rss_mb']:>7.0f}MB"
            f" {p['writes']:>7} {p['sales']:>6}"
        )
    if r.get("push"):
        lines += [
            "",
            "Growth: plan (synthetic channels) and push (5 sandbox channels, 1% of stock changed; "
            "then a no-op push)",
            f"{'SKUs':>9} {'plan CPU':>9} {'plan RSS':>9} {'push wall':>10} {'push RSS':>9}"
            f" {'written':>8} {'no-op wall':>11} {'no-op writes':>13} {'state.db':>9}",
        ]
        plans = {p["n"]: p for p in r["plan"]}
        for u in r["push"]:
            p = plans.get(u["n"], {})
            lines.append(
                f"{u['n']:>9,} {p.get('plan_cpu_s', math.nan):>8.2f}s {p.get('peak_rss_mb', math.nan):>7.0f}MB"
                f" {u['run']['wall_s']:>9.2f}s {u['peak_rss_mb']:>7.0f}MB {u['run']['sent']:>8}"
                f" {u['noop']['wall_s']:>10.2f}s {u['noop']['sent']:>13} {u['state_db_mb']:>7.1f}MB"
            )
    if not r["calls"] and not r["offline"]:  # --skus N
        lines += ["", "Goals"]
        for g in r["goals"]:
            lines.append(f"  [{'ok' if g['met'] else 'MISSED'}] {g['goal']}: {g['measured']}")
        return "\n".join(lines)
    lines += [
        "",
        "API calls per push (in-process fakes), measured / floor",
        f"{'channel':<12} {'SKUs':>7} {'1% of':<9} {'no-op reads':>12} {'no-op writes':>13}"
        f" {'reads':>10} {'writes':>9}",
    ]
    for c in r["calls"]:
        lines.append(
            f"{c['type']:<12} {c['n']:>7,} {c['field']:<9} "
            f"{c['noop']['reads']:>5} / {c['noop_floor']['reads']:<5}"
            f"{c['noop']['writes']:>7} / 0    "
            f"{c['run']['reads']:>4} / {c['floor']['reads']:<4}"
            f"{c['run']['writes']:>4} / {c['floor']['writes']:<4}"
        )
    for o in r["offline"]:
        if o["type"] == "sandbox":
            lines.append(
                f"{'sandbox':<12} {o['n']:>7,} {'quantity':<9} calls: no-op "
                f"{o['noop']['calls']} / {o['noop_floor']['calls']}, 1% changed "
                f"{o['run']['calls']} / {o['floor']['calls']}, quiet store read "
                f"incrementally {o['quiet']['calls']} / {o['quiet_floor']['calls']}"
            )
        else:
            lines.append(
                f"{'feed':<12} {o['n']:>7,} {'quantity':<9} no-op run: file "
                f"{'rewritten' if o['noop_file_rewritten'] else 'untouched'}"
            )
    lines += [
        "",
        "Wall time, 50 ms per request, the vendors' published rate limits (1,000 SKUs, 1% stock changed)",
        "(wall: measured, less the in-process fake's own time and waits for the vendor's asynchronous jobs)",
        f"{'channel':<12} {'calls':>6} {'rate/s':>7} {'measured':>9} {'fake':>6} {'jobs':>6}"
        f" {'wall':>7} {'floor':>7} {'ratio':>6}",
    ]
    for lat in r["latency"]:
        rate = lat["rate_limit_per_second"]
        run = lat["run"]
        lines.append(
            f"{lat['type']:<12} {run['calls']:>6} "
            f"{(f'{rate:.1f}' if rate else '-'):>7} {run['wall_s']:>8.2f}s "
            f"{run['fake_s']:>5.2f}s {run['job_wait_s']:>5.2f}s {run['omnisync_wall_s']:>6.2f}s "
            f"{lat['wall_floor_s']:>6.2f}s {run['omnisync_wall_s'] / lat['wall_floor_s']:>5.2f}x"
        )
    lines += [
        "",
        "Vendor terms in the floors (reads: pages at the largest size; writes: "
        "ceil(changed / largest batch); a channel without compare-and-set re-reads each "
        "write batch's stock first)",
    ]
    for t in r.get("floor_terms", []):
        lines.append(f"  {t['type']}: {t['term']} ({t['reason']})")
    lines += ["", f"omnisync --help: {r['help_s'] * 1000:.0f} ms", "", "Goals"]
    for g in r["goals"]:
        lines.append(f"  [{'ok' if g['met'] else 'MISSED'}] {g['goal']}: {g['measured']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument(
        "--skus",
        type=int,
        metavar="N",
        help="only the planning and push scenarios, at N SKUs x 5 channels (any size)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.stdout.write(json.dumps(child_main(json.loads(args.child))))
        return 0
    t0 = time.perf_counter()
    log: Callable[[str], None] = lambda m: print(f"... {m}", file=sys.stderr, flush=True)  # noqa: E731
    if args.skus is not None:
        if args.skus < 1:
            parser.error("--skus must be at least 1")
        results = measure_skus(args.skus, log)
    else:
        results = measure(args.quick, log)
    results["total_s"] = time.perf_counter() - t0
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(table(results))
    print(f"... done in {results['total_s']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
