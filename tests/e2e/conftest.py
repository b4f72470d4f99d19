"""Session fixtures: a real Vendure and a real Medusa server on 127.0.0.1, seeded through their own
admin APIs, stopped by PID at the end of the session (also when a test fails or the run is
interrupted; the servers also exit by themselves when this process dies)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .e2e_admin import MedusaAdmin, VendureAdmin
from .e2e_servers import (
    Postgres,
    Process,
    Server,
    free_port,
    http_ok,
    npm_project,
    require_node,
    scratch_dir,
)

TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.write_sep("-", "end-to-end server timings")
        for what, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{what}: {seconds:.1f} s")


def _start(
    name: str, args: list[str], *, cwd: Path, env: dict[str, str], log: Path, port_env: str, health: str
) -> tuple[Process, str]:
    """Start a server on a free port (another port if one was taken meanwhile); ``{port}`` in
    ``args`` and the variable ``port_env`` carry the port."""
    for attempt in range(3):
        port = free_port()
        started = time.monotonic()
        argv = [a.replace("{port}", str(port)) for a in args]
        proc = Process(name, argv, cwd=cwd, env={**env, port_env: str(port)}, log=log)
        url = f"http://127.0.0.1:{port}"
        try:
            proc.wait_until(http_ok(url + health), f"answering {health}")
        except RuntimeError:
            proc.stop()
            if "EADDRINUSE" in proc.log_tail(200) and attempt < 2:
                continue
            raise
        TIMINGS[f"{name} start to ready"] = time.monotonic() - started
        return proc, url
    raise AssertionError("unreachable")


VENDURE_USER, VENDURE_PASS = "superadmin", "e2e-Vendure-pass"


@pytest.fixture(scope="session")
def vendure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    node, _ = require_node()
    project, took = npm_project("vendure")
    TIMINGS["vendure npm ci"] = took
    logs = tmp_path_factory.mktemp("vendure-server")
    env = {
        **os.environ,
        "VENDURE_DISABLE_TELEMETRY": "true",
        "VENDURE_SUPERADMIN_USER": VENDURE_USER,
        "VENDURE_SUPERADMIN_PASS": VENDURE_PASS,
    }
    proc, url = _start(
        "vendure",
        [node, "server.js"],
        cwd=project,
        env=env,
        log=logs / "server.log",
        port_env="VENDURE_PORT",
        health="/health",
    )
    try:
        started = time.monotonic()
        admin = VendureAdmin(url, VENDURE_USER, VENDURE_PASS)
        admin.seed_store()
        second = admin.create_stock_location("Shop floor")
        locations = [loc for loc, _ in admin.stock_locations()]
        assert locations[-1] == second
        admin.close()
        TIMINGS["vendure store set-up"] = time.monotonic() - started
        yield Server(url, VENDURE_USER, VENDURE_PASS, logs / "server.log", locations)
    finally:
        proc.stop()


MEDUSA_EMAIL, MEDUSA_PASS = "admin@omnisync.test", "e2e-Medusa-pass"


@pytest.fixture(scope="session")
def medusa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    node, _ = require_node()
    project, took = npm_project("medusa")
    TIMINGS["medusa npm ci"] = took
    logs = tmp_path_factory.mktemp("medusa-server")
    started = time.monotonic()
    pg = Postgres(scratch_dir("omnisync-e2e-pg-"), logs)
    try:
        database_url = pg.create_database("medusa")
        TIMINGS["postgres initdb + start"] = time.monotonic() - started
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MEDUSA_DISABLE_TELEMETRY": "true",
            "NODE_ENV": "development",
            "JWT_SECRET": "e2e-jwt",
            "COOKIE_SECRET": "e2e-cookie",
        }
        cli = str(project / "node_modules" / "@medusajs" / "cli" / "cli.js")
        import subprocess

        for what, args in (
            ("medusa db:migrate", [node, cli, "db:migrate"]),
            ("medusa user", [node, cli, "user", "-e", MEDUSA_EMAIL, "-p", MEDUSA_PASS]),
        ):
            started = time.monotonic()
            with open(logs / "setup.log", "ab") as fh:
                p = subprocess.run(
                    args,
                    cwd=project,
                    env=env,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    timeout=900,
                )
            if p.returncode != 0:
                tail = "\n".join((logs / "setup.log").read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"{what} failed ({p.returncode}):\n{tail}")
            TIMINGS[what] = time.monotonic() - started
        proc, url = _start(
            "medusa",
            [node, cli, "start", "-H", "127.0.0.1", "-p", "{port}"],
            cwd=project,
            env=env,
            log=logs / "server.log",
            port_env="PORT",
            health="/health",
        )
        try:
            started = time.monotonic()
            admin = MedusaAdmin(url, MEDUSA_EMAIL, MEDUSA_PASS)
            channel, locations = admin.seed_store(["Warehouse", "Shop floor"])
            admin.close()
            TIMINGS["medusa store set-up"] = time.monotonic() - started
            yield Server(url, MEDUSA_EMAIL, MEDUSA_PASS, logs / "server.log", locations, channel)
        finally:
            proc.stop()
    finally:
        pg.stop()
