"""Cron's view: never two runs at once, stale locks taken over, --retry-failed, no secret leaks."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

from tests.workspace import CONFIG, Workspace

SLOW = CONFIG.replace('path = "shop.db"', 'path = "shop.db"\nmax_write_batch = 1\nwrite_delay_ms = 50')


def test_second_run_exits_75_at_once_while_the_first_holds_the_lock(make_workspace) -> None:
    ws = make_workspace(SLOW)
    first = ws.popen("push", "-q")
    try:
        deadline = time.monotonic() + 30
        while not (ws.root / "shop.db").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        second = ws.run("push")
        assert second.code == 75, second
        assert "another omnisync run" in second.stderr
        assert time.monotonic() - started < 10  # at once: it never waited for the first
    finally:
        assert first.wait(timeout=60) == 0
    assert ws.run("push", "--json").code == 0


def test_a_lock_left_by_a_killed_run_is_taken_over(make_workspace) -> None:
    ws = make_workspace(SLOW)
    proc = ws.popen("push", "-q")
    deadline = time.monotonic() + 30
    while not (ws.root / "shop.db").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    lock = Path(str(ws.state) + ".lock")
    assert lock.read_text().strip() == str(proc.pid)  # the dead run's pid is still written there
    r = ws.run("push")
    assert r.code == 0, r
    assert f"took over the lock left by pid {proc.pid}" in r.stderr


def test_retry_failed_replans_only_the_skus_that_failed(make_workspace) -> None:
    ws: Workspace = make_workspace(
        CONFIG.replace("max_write_batch = 2", "max_write_batch = 2\nmax_title_length = 5")
    )
    assert ws.cli("push").code == 1  # POSTER's title is too long for market
    conn = sqlite3.connect(ws.catalog)
    conn.execute("UPDATE products SET price_minor = price_minor + 1")  # everything changes...
    conn.execute("INSERT INTO overrides(sku, channel, title) VALUES ('POSTER', 'market', 'Pstr')")
    conn.commit()
    conn.close()
    r = ws.cli("push", "--retry-failed", "--json")  # ...but only the failed SKU is re-planned
    assert r.code == 0, r
    data = json.loads(r.stdout)
    skus = {c["sku"] for ch in data["plan"]["channels"] for c in ch["changes"]}
    assert skus == {"POSTER"}
    assert ws.sandbox("market")["POSTER"][2] == "Pstr"
    r = ws.cli("push", "--retry-failed", "--json")
    assert json.loads(r.stdout)["plan"]["summary"]["changes"] == 0


CANARIES = {"OMNI_CANARY_TOKEN": "canary-token-7f3a9c", "OMNI_CANARY_SECRET": "canary-secret-b81d2e"}


def test_no_secret_value_reaches_output_logs_or_state(make_workspace, tmp_path: Path) -> None:
    """Every command, run with canary secrets in the environment: none appears anywhere."""
    ws: Workspace = make_workspace(CONFIG)
    env = dict(CANARIES)
    outputs = []
    for args in (
        ["push", "-v"],
        ["plan", "--json"],
        ["status"],
        ["history"],
        ["channels", "--check"],
        ["validate", "--format", "sarif"],
        ["export", "-"],
        ["push", "--dry-run"],
        ["--config", "missing.toml", "plan"],
        ["push", "--channel", "nope"],
    ):
        r = ws.run(*args, env=env)
        outputs += [r.stdout, r.stderr]
    # A config that names the secrets' variables, with a mistake in it, and one with a pasted secret.
    ws.config.write_text(
        CONFIG + '\n[channels.x]\ntype = "sandbox"\npath = "x.db"\ntoken_env = "OMNI_CANARY_TOKEN"\n'
    )
    r = ws.run("plan", env=env)
    outputs += [r.stdout, r.stderr]
    ws.config.write_text(
        CONFIG
        + f'\n[channels.y]\ntype = "sandbox"\npath = "y.db"\ntoken = "{CANARIES["OMNI_CANARY_SECRET"]}"\n'
    )
    r = ws.run("plan", env=env)
    assert r.code == 2
    outputs += [r.stdout, r.stderr]
    blobs = outputs + [p.read_bytes().decode("latin-1") for p in ws.root.glob("*.db")]
    for blob in blobs:
        for value in CANARIES.values():
            assert value not in blob
