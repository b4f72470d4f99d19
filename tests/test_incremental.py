"""Incremental reads: a channel that can list only what changed since a time is read that way,
with a periodic full read, and a plan made from an incremental read misses no sale and no catalog
change.

The sandbox honours ``since`` (its listings carry an ``updated_at`` that every write and every sale
moves); the HTTP vendors document no such guarantee for sales, so none of them declares it (see
docs/how-it-works.md, Incremental reads). These tests use the sandbox with small pages.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.workspace import Workspace

from omnisync import channels as registry
from omnisync.channels.base import Capabilities, ChannelConfig
from omnisync.channels.sandbox import SandboxChannel, SandboxConfig, sell
from omnisync.diff import fingerprint
from omnisync.models import DESCRIPTION, PRICE, QUANTITY, TITLE, Value
from omnisync.money import Money

CSV = "sku,title,description,price,currency,quantity\n" + "".join(
    f"S{i:03d},Item {i},About item {i}.,{10 + i}.00,USD,{5 + i % 4}\n" for i in range(40)
)


class SinceSandbox(SandboxChannel):
    """The sandbox with pages of 10, so that reads of 40 listings are counted in pages."""

    @classmethod
    def capabilities_for(cls, cfg: ChannelConfig) -> Capabilities:
        caps = super().capabilities_for(cfg)
        assert caps.changed_since
        return dataclasses.replace(caps, read_page_size=10)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setitem(registry.REGISTRY, "sandbox-since", f"{__name__}:SinceSandbox")
    w = Workspace(tmp_path)
    (tmp_path / "catalog.csv").write_text(CSV)
    assert w.cli("init").code == 0 and w.cli("import", "catalog.csv").code == 0
    return w


def configure(w: Workspace, full_read_every: str | int = "1h") -> None:
    every = json.dumps(full_read_every)
    w.config.write_text(f"""catalog = "catalog.db"
state = "state.db"

[channels.market]
type = "sandbox-since"
path = "market.db"
full_read_every = {every}

[channels.shop]
type = "sandbox"
path = "shop.db"
""")


def push(w: Workspace) -> dict[str, Any]:
    r = w.cli("push", "--json", "--yes")
    assert r.code == 0, r
    data = json.loads(r.stdout)
    return {c["channel"]: c for c in data["channels"]} | {"plan": data["plan"]}


def test_first_push_reads_in_full_then_incrementally(ws: Workspace) -> None:
    configure(ws)
    first = push(ws)
    assert first["market"]["read"] == "full" and first["shop"]["read"] == "full"
    assert first["market"]["applied"] == 40 * 4  # created, every field
    second = push(ws)
    assert second["market"]["read"] == "incremental"
    assert second["shop"]["read"] == "incremental"  # the plain sandbox reads incrementally too
    assert second["plan"]["summary"]["changes"] == 0
    # the 40 listings written by the first push changed after its read began: read again once
    # (4 pages of 10, and the empty page after a full one)
    assert second["market"]["api_calls"]["calls"] <= 5
    state = sqlite3.connect(ws.state)
    modes = state.execute(
        "SELECT channel, read_mode FROM channel_runs WHERE run_id = "
        "(SELECT MAX(run_id) FROM channel_runs) ORDER BY channel"
    ).fetchall()
    assert modes == [("market", "incremental"), ("shop", "incremental")]


def test_an_incremental_read_never_misses_a_sale(ws: Workspace) -> None:
    configure(ws)
    push(ws)
    push(ws)  # incremental from here on
    before = ws.stock("S007")
    assert sell(ws.root / "market.db", "S007", 2) == 2
    third = push(ws)
    assert third["market"]["read"] == "incremental"
    assert [(s["channel"], s["sku"], s["units"]) for s in third["plan"]["sales"]] == [("market", "S007", 2)]
    assert ws.stock("S007") == before - 2
    assert ws.sandbox("shop")["S007"][0] == before - 2  # the other channel shows the sale too
    assert push(ws)["plan"]["summary"]["changes"] == 0


def test_a_catalog_change_is_planned_on_an_incremental_read(ws: Workspace) -> None:
    configure(ws)
    push(ws)
    push(ws)
    (ws.root / "change.csv").write_text(
        "sku,title,description,price,currency,quantity\nS011,Item 11,About item 11.,99.00,USD,1\n"
    )
    assert ws.cli("import", "change.csv").code == 0
    third = push(ws)
    assert third["market"]["read"] == "incremental"
    changed = {(c["channel"], c["sku"], c["field"]) for c in third["plan"]["channels"][0]["changes"]}
    assert changed == {("market", "S011", "price"), ("market", "S011", "quantity")}
    assert ws.sandbox("market")["S011"][:2] == (1, 9900)


def test_a_listing_changed_by_hand_on_the_channel_is_put_back(ws: Workspace) -> None:
    configure(ws)
    push(ws)
    push(ws)
    conn = sqlite3.connect(ws.root / "market.db")
    conn.execute(
        "UPDATE listings SET title='Edited', updated_at=? WHERE sku='S020'",
        (datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),),
    )
    conn.commit()
    conn.close()
    third = push(ws)
    assert third["market"]["read"] == "incremental"
    assert ws.sandbox("market")["S020"][2] == "Item 20"


def stamp(minutes_ago: float) -> str:
    t = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def age(w: Workspace, minutes: float = 20) -> None:
    """As if the market's listings had last changed ``minutes`` ago (before any margin) and its
    last full read had begun 10 minutes before that (still within full_read_every)."""
    conn = sqlite3.connect(w.root / "market.db")
    conn.execute("UPDATE listings SET updated_at=?", (stamp(minutes),))
    conn.commit()
    conn.close()
    conn = sqlite3.connect(w.state)
    conn.execute("UPDATE channel_reads SET full_started_at=? WHERE channel='market'", (stamp(minutes + 10),))
    conn.commit()
    conn.close()


def test_a_quiet_store_costs_one_short_page_once_its_changes_were_read(ws: Workspace) -> None:
    """Each incremental read asks for what changed since the previous read began, not since the
    last full read: once the first push's writes were read back, a quiet store answers one short
    page, and a sale made since is still seen and taken out everywhere."""
    configure(ws)
    push(ws)
    assert push(ws)["market"]["read"] == "incremental"  # reads back what the first push wrote
    age(ws)
    quiet = push(ws)
    assert quiet["market"]["read"] == "incremental"
    assert quiet["market"]["api_calls"]["calls"] == 1  # one page, empty
    assert quiet["plan"]["summary"]["changes"] == 0
    before = ws.stock("S030")
    assert sell(ws.root / "market.db", "S030", 1) == 1
    sold = push(ws)
    assert sold["market"]["read"] == "incremental" and sold["market"]["api_calls"]["calls"] == 1
    assert [(s["channel"], s["sku"], s["units"]) for s in sold["plan"]["sales"]] == [("market", "S030", 1)]
    assert ws.stock("S030") == before - 1 and ws.sandbox("shop")["S030"][0] == before - 1
    assert push(ws)["plan"]["summary"]["changes"] == 0


def test_a_catalog_change_on_a_listing_the_last_incremental_read_returned_is_planned(ws: Workspace) -> None:
    """The snapshot follows incremental reads: a listing last seen by one (here S005, edited by
    hand, put back) and then changed in the catalog is read and written again."""
    configure(ws)
    push(ws)
    push(ws)
    age(ws)
    conn = sqlite3.connect(ws.root / "market.db")
    conn.execute(
        "UPDATE listings SET title='Edited', updated_at=? WHERE sku='S005'",
        (datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),),
    )
    conn.commit()
    conn.close()
    assert push(ws)["market"]["read"] == "incremental"
    assert ws.sandbox("market")["S005"][2] == "Item 5"
    age(ws)
    (ws.root / "change.csv").write_text(
        "sku,title,description,price,currency,quantity\nS005,Item 5 v2,About item 5.,15.00,USD,6\n"
    )
    assert ws.cli("import", "change.csv").code == 0
    again = push(ws)
    assert again["market"]["read"] == "incremental"
    assert ws.sandbox("market")["S005"][2] == "Item 5 v2"
    assert push(ws)["plan"]["summary"]["changes"] == 0


def test_full_read_every_n_runs(ws: Workspace) -> None:
    configure(ws, full_read_every=3)
    modes = [push(ws)["market"]["read"] for _ in range(5)]
    assert modes == ["full", "incremental", "incremental", "full", "incremental"]


def test_full_read_every_1_always_reads_in_full(ws: Workspace) -> None:
    configure(ws, full_read_every=1)
    assert [push(ws)["market"]["read"] for _ in range(3)] == ["full", "full", "full"]


def test_a_plan_with_chosen_skus_reads_them_only(ws: Workspace) -> None:
    configure(ws)
    push(ws)
    r = ws.cli("push", "--json", "--sku", "S001")
    assert r.code == 0
    data = json.loads(r.stdout)
    assert {c["channel"]: c["read"] for c in data["channels"]} == {"market": "skus", "shop": "skus"}


@pytest.mark.parametrize("value", ["0h", "1w", "soon", 0, -2, True])
def test_full_read_every_rejects_nonsense(value: object) -> None:
    with pytest.raises(ValueError):
        SandboxConfig.model_validate(
            {"name": "x", "type": "sandbox", "path": "x.db", "full_read_every": value}
        )


def test_fingerprints_are_stable_across_processes() -> None:
    values: dict[str, Value] = {QUANTITY: 3, PRICE: Money(1999, "USD"), TITLE: "Mug", DESCRIPTION: ""}
    assert fingerprint(values) == fingerprint(dict(reversed(list(values.items()))))
    assert fingerprint(values) == 6438028766173253279
    assert fingerprint({**values, QUANTITY: 4}) != fingerprint(values)
