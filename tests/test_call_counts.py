"""Every registered HTTP adapter, pushed through the real engine against its fake, makes exactly
the fewest calls its vendor's limits allow (the floor of ``benchmarks/run.py``).

Floor: reads = ceil(SKUs / largest page) (+ the vendor's fixed set-up reads); writes =
ceil(changed / largest write batch of that kind); a channel without compare-and-set also re-reads
each write batch's stock just before writing it (``Engine._moved_since_read``): ceil(batch's stock
SKUs / SKUs per lookup) reads per batch, counted in its floor; a vendor whose writes are
asynchronous adds its polls and read-back per batch. Vendor-specific terms are data with reasons in
``benchmarks/run.py`` (LOOKUP_BATCH, LOOKUP_READS, SETUP_READS, PAGE_READS, WRITE_REQUESTS,
VERIFY_READS). Parametrized over ``HTTP_TYPES`` and the contract cases, so an adapter registered
later is covered automatically.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmarks.run import AdapterRig, floors, http_cases, read_floor, write_floor

from omnisync.channels import HTTP_TYPES

TYPES = sorted(http_cases())


def sizes(caps: object) -> tuple[int, int]:
    """SKUs (two and a half pages) and SKUs changed (one write batch and a bit, or all)."""
    page = caps.read_page_size  # type: ignore[attr-defined]
    n = 2 * page + page // 2 + 1
    return n, min(n, caps.max_write_batch + 1)  # type: ignore[attr-defined]


def test_every_http_type_is_measured() -> None:
    missing = [t for t in HTTP_TYPES if t not in TYPES]
    assert not missing, f"registered HTTP types without a fake to count calls against: {missing}"


@pytest.mark.parametrize("type_name", TYPES)
def test_a_push_with_nothing_to_do_reads_at_full_pages_and_writes_nothing(
    type_name: str, tmp_path: Path
) -> None:
    probe = AdapterRig(type_name, 1, tmp_path / "probe")
    n, _ = sizes(probe.capabilities)
    rig = AdapterRig(type_name, n, tmp_path / "rig")
    caps = rig.capabilities
    first = rig.push()
    assert first["status"] == "ok" and first["planned"] == 0
    assert first["writes"] == 0
    assert first["reads"] == read_floor(type_name, caps, n)
    assert first["retries"] == 0 and first["throttled"] == 0


# Measured above the floor, to settle with the adapter's author (strict: a fix shows up as XPASS).
ABOVE_FLOOR: dict[tuple[str, str], str] = {}


def _cases() -> list[object]:
    out: list[object] = []
    for t in TYPES:
        for f in ("quantity", "price"):
            reason = ABOVE_FLOOR.get((t, f))
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            out.append(pytest.param(t, f, marks=marks, id=f"{t}-{f}"))
    return out


@pytest.mark.parametrize(("type_name", "field"), _cases())
def test_a_push_makes_the_fewest_calls_the_batch_limits_allow(
    type_name: str, field: str, tmp_path: Path
) -> None:
    probe = AdapterRig(type_name, 1, tmp_path / "probe")
    n, k = sizes(probe.capabilities)
    rig = AdapterRig(type_name, n, tmp_path / "rig")
    caps = rig.capabilities
    changed = sorted(rig.skus)[:k]
    rig.change(changed, field)
    run = rig.push()
    assert run["status"] == "ok" and run["applied"] == k and run["planned"] == k
    floor = floors(type_name, caps, n, k, field)
    assert run["writes"] == floor["writes"], floor
    assert run["reads"] == floor["reads"], floor
    assert run["writes"] >= math.ceil(k / caps.max_write_batch)
    again = rig.push()  # and the push after it has nothing to write
    assert again["writes"] == 0 and again["planned"] == 0


def test_help_imports_no_adapter_and_no_heavy_module() -> None:
    """``omnisync --help`` stays fast: it imports neither an adapter nor httpx, pydantic,
    sqlite_utils or tenacity (checked with ``-X importtime``, not timed)."""
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "omnisync", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0 and "Usage" in p.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in p.stderr.splitlines() if line.startswith("import time:")
    }
    heavy = {
        m
        for m in imported
        if m.split(".")[0] in ("httpx", "pydantic", "sqlite_utils", "tenacity")
        or (m.startswith("omnisync.channels.") and m != "omnisync.channels")
    }
    assert not heavy, sorted(heavy)


@pytest.mark.parametrize("type_name", TYPES)
def test_a_push_that_mixes_kinds_of_change_takes_no_more_writes_than_their_sum(
    type_name: str, tmp_path: Path
) -> None:
    """Stock, prices and titles may go in separate vendor requests with limits of their own
    (Shopify: 250 inventory rows, 80 products aliased; BigCommerce: 2,000 adjustments, 10
    products; Medusa: a product batch, a stock batch and one request per product's prices). The
    engine's batches are the adapter's own grouping (``write_batches``), so a push mixing them
    takes exactly, for each kind of request, ceil(SKUs it carries / its limit) requests, not one
    partial request of each kind per run of max_write_batch SKUs."""
    n = 600
    rig = AdapterRig(type_name, n, tmp_path / "rig")
    skus = sorted(rig.skus)
    # 100 SKUs change stock and price; in runs of 250 SKUs Shopify's prices would be cut 50 + 110
    changes = {"quantity": skus[:300], "price": skus[200:360], "title": skus[360:440]}
    for field, chosen in changes.items():
        rig.change(chosen, field)
    run = rig.push()
    assert run["status"] == "ok" and run["planned"] == 440  # SKUs
    assert run["applied"] == 300 + 160 + 80  # changes
    assert run["writes"] == write_floor(type_name, rig.capabilities, changes)
    again = rig.push()
    assert again["writes"] == 0 and again["planned"] == 0


def test_woocommerce_keeps_each_parents_variations_in_one_request(tmp_path: Path) -> None:
    """A first push to a store of 120 simple products and 20 variable products of 5 variations
    each: WooCommerce writes products in ``/products/batch`` and each parent's variations in its own
    ``/products/{id}/variations/batch``, 100 objects per request, so the push costs
    ceil(120 / 100) + 20 x ceil(5 / 100) = 22 write requests. The SKUs sort so that, cut into runs
    of 100 in plan order, the simple products and one parent's variations would each straddle two
    write() calls (24 requests)."""

    def seed(fake: Any, n: int) -> list[str]:
        skus: list[str] = fake.seed(n - 3, variable=20, per_parent=5)
        return skus + fake.seed(3, prefix="WD")  # three simple products sort after the variations

    rig = AdapterRig("woocommerce", 120, tmp_path / "rig", seed=seed)
    assert len(rig.skus) == 220 and sum("-V" in s for s in rig.skus) == 100
    rig.change(sorted(rig.skus), "price")
    run = rig.push()
    assert run["status"] == "ok" and run["planned"] == 220 and run["applied"] == 220
    assert run["writes"] == 22
    assert sorted(rig.fake.batch_sizes()) == [5] * 20 + [20, 100]
