"""Shared fixtures: a seller's workspace (catalog + channels.toml)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings
from tests.workspace import CONFIG, CSV, Workspace

# CI replays the same examples every run (a fuzz finding shows up locally, never as a flaky CI).
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path)
    ws.config.write_text(CONFIG)
    (tmp_path / "catalog.csv").write_text(CSV)
    assert ws.cli("init").code == 0
    r = ws.cli("import", "catalog.csv")
    assert r.code == 0, r
    return ws


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[[str, str], Workspace]:
    def make(config: str, csv: str = CSV) -> Workspace:
        ws = Workspace(tmp_path)
        ws.config.write_text(config)
        (tmp_path / "catalog.csv").write_text(csv)
        assert ws.cli("init").code == 0
        r = ws.cli("import", "catalog.csv")
        assert r.code == 0, r
        return ws

    return make


# -- no secret in any output, log or exception, across the whole test run --------------------------
# Every canary and fake credential the suite uses. A hook reads what each test printed, logged and
# raised (pytest's captured sections and failure reports) and fails the run if one appears.
_SECRET_MARKERS = (
    "CANARY",
    "ck_fake0000",
    "cs_fake0000",
    "canary-token-",
    "canary-secret-",
    "ck_matrix_key",
    "cs_matrix_secret",
    "secret_fake0000",
)
_LEAKS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    texts = [content for _, content in report.sections]
    if report.longrepr is not None and report.failed:
        texts.append(str(report.longrepr))
    for text in texts:
        for marker in _SECRET_MARKERS:
            if marker in text:
                _LEAKS.append(f"{report.nodeid} ({report.when}): output contains {marker}...")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _LEAKS:
        print(
            "\nSECRET LEAK: a canary or fake credential appeared in test output:\n  "
            + "\n  ".join(sorted(set(_LEAKS)))
        )
        session.exitstatus = 1
