"""Shared fixtures: a seller's workspace (catalog + channels.toml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.workspace import CONFIG, CSV, Workspace

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
