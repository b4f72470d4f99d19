"""The CLI as a seller and cron see it: plans, pushes, exit codes, stdout vs stderr, JSON."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.workspace import CONFIG, Workspace

from omnisync.channels.sandbox import sell
from omnisync.state import Lock


def writes_applied(ws: Workspace, name: str) -> int:
    conn = sqlite3.connect(ws.root / f"{name}.db")
    try:
        return int(conn.execute("SELECT COUNT(*) FROM applied_writes").fetchone()[0])
    finally:
        conn.close()


def test_push_creates_listings_then_second_push_is_a_no_op(workspace: Workspace) -> None:
    r = workspace.cli("push")
    assert r.code == 0, r
    assert "TEE-S" in r.stdout and "Plan:" in r.stdout
    shop = workspace.sandbox("shop")
    assert shop["TEE-S"] == (12, 1999, "Tee S")
    assert workspace.sandbox("market")["TEE-S"][0] == 11  # buffer 1
    before = {n: writes_applied(workspace, n) for n in ("shop", "market")}
    feed_mtime = (workspace.root / "feed.tsv").stat().st_mtime_ns

    r2 = workspace.cli("push", "--json")
    assert r2.code == 0, r2
    data = json.loads(r2.stdout)
    assert data["plan"]["summary"]["changes"] == 0
    assert all(c["applied"] == 0 for c in data["channels"])
    assert {n: writes_applied(workspace, n) for n in ("shop", "market")} == before
    assert (workspace.root / "feed.tsv").stat().st_mtime_ns == feed_mtime


def test_market_batches_respect_the_channel_limit(workspace: Workspace) -> None:
    assert workspace.cli("push").code == 0
    conn = sqlite3.connect(workspace.root / "market.db")
    per_batch = conn.execute("SELECT applied_at, COUNT(*) FROM applied_writes GROUP BY applied_at").fetchall()
    conn.close()
    assert max(n for _, n in per_batch) <= 2


def test_sale_lowers_every_other_channel_and_is_counted_once(workspace: Workspace) -> None:
    assert workspace.cli("push").code == 0
    assert sell(workspace.root / "shop.db", "TEE-M", 3) == 3
    # Plan as often as you like: it reads, it never records.
    for _ in range(3):
        p = workspace.cli("plan", "--json")
        assert p.code == 0
        sales = json.loads(p.stdout)["sales"]
        assert [(s["channel"], s["sku"], s["units"]) for s in sales] == [("shop", "TEE-M", 3)]
    assert workspace.stock("TEE-M") == 8
    r = workspace.cli("push")
    assert r.code == 0, r
    assert workspace.stock("TEE-M") == 5
    assert workspace.sandbox("market")["TEE-M"][0] == 4  # 5 - buffer 1
    assert workspace.sandbox("shop")["TEE-M"][0] == 5
    feed = (workspace.root / "feed.tsv").read_text()
    assert "TEE-M" in feed
    # And once more: the same sale is never taken out again.
    r = workspace.cli("push", "--json")
    assert json.loads(r.stdout)["plan"]["sales"] == []
    assert workspace.stock("TEE-M") == 5


def test_plan_never_writes(workspace: Workspace) -> None:
    r = workspace.cli("plan")
    assert r.code == 0
    assert not (workspace.root / "shop.db").exists() or workspace.sandbox("shop") == {}
    assert not (workspace.root / "feed.tsv").exists()
    assert not workspace.state.exists()


def test_dry_run_sends_nothing(workspace: Workspace) -> None:
    r = workspace.cli("push", "--dry-run")
    assert r.code == 0 and "to create" in r.stdout
    assert not (workspace.root / "feed.tsv").exists()
    assert workspace.sandbox("shop") == {}


def test_exit_4_with_detailed_exitcode_when_changes_pending(workspace: Workspace) -> None:
    assert workspace.cli("plan", "--detailed-exitcode").code == 4
    assert workspace.cli("push", "-q").code == 0
    assert workspace.cli("plan", "--detailed-exitcode").code == 0


def test_quiet_push_prints_nothing_on_success(workspace: Workspace) -> None:
    r = workspace.cli("-q", "push")
    assert r.code == 0 and r.stdout == "" and r.stderr == ""


def test_channel_and_sku_filters(workspace: Workspace) -> None:
    r = workspace.cli("push", "--channel", "shop", "--sku", "MUG", "--json")
    assert r.code == 0, r
    data = json.loads(r.stdout)
    assert [c["channel"] for c in data["channels"]] == ["shop"]
    assert set(workspace.sandbox("shop")) == {"MUG"}
    r = workspace.cli("push", "--channel", "shpo")
    assert r.code == 2 and "shop" in r.stderr


def test_exit_1_when_a_listing_is_rejected(make_workspace) -> None:
    ws = make_workspace(CONFIG.replace("max_write_batch = 2", "max_write_batch = 2\nmax_title_length = 4"))
    r = ws.cli("push")
    assert r.code == 1, r
    assert "POSTER" in r.stdout and "title is 6 characters" in r.stdout
    assert "MUG" in ws.sandbox("market")  # the rest still applied
    h = ws.cli("history", "--json", "--channel", "market", "--sku", "POSTER")
    assert {e["outcome"] for e in json.loads(h.stdout)} == {"failed"}


def test_exit_1_when_max_changes_refuses_the_plan(workspace: Workspace) -> None:
    r = workspace.cli("push", "--max-changes", "3")
    assert r.code == 1 and "--max-changes" in r.stderr
    assert workspace.sandbox("shop") == {}


def test_zero_guard_needs_yes(workspace: Workspace) -> None:
    assert workspace.cli("push").code == 0
    conn = sqlite3.connect(workspace.catalog)
    conn.execute("UPDATE stock SET quantity = 0")
    conn.commit()
    conn.close()
    r = workspace.cli("push")
    assert r.code == 1 and "--yes" in r.stderr
    assert workspace.sandbox("shop")["MUG"][0] == 7
    assert workspace.cli("push", "--yes").code == 0
    assert workspace.sandbox("shop")["MUG"][0] == 0


def test_exit_2_on_bad_config_and_nothing_sent(workspace: Workspace) -> None:
    workspace.config.write_text(CONFIG.replace("buffer = 1", "bufer = 1"))
    r = workspace.cli("push")
    assert r.code == 2
    assert "channels.toml" in r.stderr and "bufer" in r.stderr and "buffer" in r.stderr
    assert workspace.sandbox("shop") == {}


def test_exit_2_on_bad_csv_with_row_and_column(workspace: Workspace) -> None:
    (workspace.root / "bad.csv").write_text("sku,title,price,currency\nA,Alpha,abc,USD\n")
    r = workspace.cli("import", "bad.csv")
    assert r.code == 2 and "bad.csv" in r.stderr and "price" in r.stderr and ":2" in r.stderr


def test_exit_2_on_a_catalog_that_is_not_sqlite(workspace: Workspace) -> None:
    workspace.catalog.write_bytes(b"this is not a database" * 100)
    r = workspace.cli("push")
    assert r.code == 2 and "catalog.db" in r.stderr
    assert workspace.sandbox("shop") == {}


def test_exit_3_when_a_whole_channel_fails(workspace: Workspace) -> None:
    (workspace.root / "market.db").write_bytes(b"garbage" * 1000)
    r = workspace.cli("push")
    assert r.code == 3, r
    assert "market" in r.stdout + r.stderr
    assert workspace.sandbox("shop")["MUG"][0] == 7  # the other channels still pushed


def test_exit_75_when_another_run_holds_the_lock(workspace: Workspace) -> None:
    with Lock(Path(str(workspace.state) + ".lock")):
        r = workspace.cli("push")
    assert r.code == 75 and "another omnisync run" in r.stderr
    assert workspace.sandbox("shop") == {}


def test_status_and_history(workspace: Workspace) -> None:
    assert workspace.cli("push").code == 0
    s = workspace.cli("status", "--json")
    rows = {r["channel"]: r for r in json.loads(s.stdout)}
    assert rows["shop"]["result"] == "ok" and rows["shop"]["applied"] == 20
    assert rows["shop"]["pending"] == 0
    h = workspace.cli("history", "--sku", "MUG", "--channel", "shop")
    assert "MUG" in h.stdout and "12.50 USD" in h.stdout and "ok" in h.stdout
    text = workspace.cli("status").stdout
    assert "shop" in text and "market" in text


def test_channels_check(workspace: Workspace) -> None:
    r = workspace.cli("channels", "--check", "--json")
    assert r.code == 0
    assert {row["channel"]: row["check"] for row in json.loads(r.stdout)} == {
        "shop": "ok",
        "market": "ok",
        "feed": "ok",
    }


def test_money_round_trips_exactly(workspace: Workspace) -> None:
    assert workspace.cli("push").code == 0
    plan = workspace.cli("plan", "--json")
    assert plan.code == 0
    assert workspace.sandbox("shop")["TEE-S"][1] == 1999
    assert "19.99 USD" in (workspace.root / "feed.tsv").read_text()
    r = workspace.cli("export", "-")
    assert "19.99" in r.stdout and "12.50" in r.stdout and "9.00" in r.stdout
    h = json.loads(workspace.cli("history", "--json", "--sku", "TEE-S", "--channel", "shop").stdout)
    assert {"amount": "19.99", "currency": "USD"} in [e["new"] for e in h]


def test_help_lists_every_command_and_exit_code() -> None:
    from typer.testing import CliRunner

    from omnisync.cli import app

    r = CliRunner().invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("init", "import", "export", "plan", "push", "status", "history", "channels", "demo"):
        assert cmd in r.stdout
    for code in ("0", "1", "2", "3", "4", "75"):
        assert code in r.stdout


def test_demo_runs_offline(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from omnisync.cli import app

    r = CliRunner().invoke(app, ["demo", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "Sales seen on channels" in r.stdout and "No changes" in r.stdout
    assert (tmp_path / "demo" / "google-products.tsv").exists()
