"""`omnisync validate` as a CI job sees it: formats, exit codes 0/1/2, --strict, filters."""

from __future__ import annotations

import json

from tests.workspace import CONFIG, Workspace

LONG = (
    CONFIG.replace('path = "shop.db"', 'path = "shop.db"\nvalidate_as = ["ebay"]')
    + """
[channels.shop.content]
title_template = "{title} - the finest organic cotton product, ethically made in small batches and shipped quickly worldwide"
"""
)


def test_clean_catalog_exits_0_and_sends_nothing(workspace: Workspace) -> None:
    r = workspace.cli("validate", "--format", "json", "--channel", "shop")
    assert r.code == 0, r
    assert json.loads(r.stdout)["summary"]["errors"] == 0
    assert not (workspace.root / "shop.db").exists()


def test_errors_exit_1_in_every_format(make_workspace) -> None:
    ws: Workspace = make_workspace(LONG)
    r = ws.cli("validate")
    assert r.code == 1 and "ebay.title.max_length" in r.stdout
    data = json.loads(ws.cli("validate", "--format", "json").stdout)
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert {f["sku"] for f in errors if f["rule_id"] == "ebay.title.max_length"} == {
        "TEE-S",
        "TEE-M",
        "TEE-L",
        "MUG",
        "POSTER",
    }
    gh = ws.cli("validate", "--format", "github")
    assert (
        gh.code == 1 and "::error file=catalog.db,title=ebay.title.max_length::shop TEE-S title" in gh.stdout
    )
    sarif = json.loads(ws.cli("validate", "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    only = json.loads(ws.cli("validate", "--format", "json", "--sku", "MUG").stdout)
    assert {f["sku"] for f in only["findings"]} <= {"MUG"}


def test_strict_fails_on_warnings(workspace: Workspace) -> None:
    r = workspace.cli("validate", "--format", "json")
    data = json.loads(r.stdout)
    if data["summary"]["warnings"]:
        assert r.code == 0
        assert workspace.cli("validate", "--strict").code == 1


def test_bad_input_exits_2(workspace: Workspace) -> None:
    assert workspace.cli("validate", "--channel", "nope").code == 2
    assert workspace.cli("validate", "--format", "xml").code == 2
    workspace.config.write_text(
        CONFIG.replace('path = "shop.db"', 'path = "shop.db"\nvalidate_as = ["ebayy"]')
    )
    r = workspace.cli("validate")
    assert r.code == 2 and "ebayy" in r.stderr
