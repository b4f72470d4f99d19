"""Where a finding sends its reader: each rule's public vendor documentation URL (issue 12).

Every output format of ``omnisync validate`` links the vendor's page that states a rule (text: a
"Rule documentation" block; JSON: each finding's ``source``; GitHub: ``(see URL)``; SARIF: the rule's
``helpUri``) and names nothing else about where the rule comes from: no research-notes file, no
section of one. Each URL is either cited in the research notes in ``../shared/channels``, in the
section the rule's ``trace`` names (skipped with a reason when that folder is absent, as on a user's
machine), or recorded for that rule in ``tests/data/rule_sources_found.toml`` with the search that
found the page and a verbatim excerpt stating the rule.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.test_validate import _sarif_validator
from tests.workspace import SHARED, Workspace

from omnisync.demo import CONFIG as DEMO_CONFIG
from omnisync.demo import demo_csv
from omnisync.validate import Finding, render_github, render_json, render_sarif, render_text
from omnisync.validation_rules import Rule, all_rules, rule_set_names, rules_by_id

FACTS = SHARED / "channels"
FORMATS = ("text", "json", "github", "sarif")
# Nothing a user reads may point at the project's research notes.
LEAKS = ("shared/", ".md §", "facts")

# Vendor pages found by search for rules the research notes cite no page for: per rule id, the
# page's URL, the query and corpus that showed it, and a verbatim excerpt stating the rule.
FOUND_FILE = Path(__file__).parent / "data" / "rule_sources_found.toml"
FOUND: dict[str, dict[str, str]] = tomllib.loads(FOUND_FILE.read_text(encoding="utf-8"))
EXCERPT_MAX = 300

# Rules no public vendor page stating them was found for (the research notes cite none, and a search
# of the vendors' documentation found none: their facts come from vendor specs, SDK models,
# secondary sources or the project's own tests against real servers), and omnisync's own checks.
# They print no link. A new rule without a URL has to be added here on purpose.
NO_PAGE_RULES = frozenset(
    {
        # omnisync's own checks
        "channel.currency.matches",
        "sandbox.title.required",
        "sandbox.price.positive",
        "sandbox.sku.max_length",
        "sandbox.sku.no_whitespace",
        "sandbox.group.single_member",
        "sandbox.group.currency_consistent",
        # eBay
        "ebay.description.max_length",
        "ebay.sku.max_length",
        "ebay.sku.alphanumeric",
        "ebay.gtin.checkdigit",
        "ebay.identifiers.required",
        "ebay.images.max_count",
        "ebay.price.positive",
        # Walmart
        "walmart.title.max_length",
        "walmart.gtin.checkdigit",
        "walmart.gtin.required",
        "walmart.currency.allowed",
        "walmart.price.positive",
        # Etsy
        "etsy.title.characters",
        "etsy.title.special_once",
        "etsy.title.max_length",
        "etsy.quantity.range",
        "etsy.price.positive",
        "etsy.price.max",
        # TikTok Shop
        "tiktok.title.required",
        "tiktok.title.max_length",
        "tiktok.title.min_length",
        "tiktok.quantity.range",
        "tiktok.price.positive",
        "tiktok.price.max",
        "tiktok.currency.allowed",
        "tiktok.gtin.checkdigit",
        "tiktok.gtin.unique",
        "tiktok.group.currency_consistent",
        # Pinterest
        "pinterest.sku.max_length",
        "pinterest.title.required",
        "pinterest.title.max_length",
        "pinterest.description.required",
        "pinterest.description.max_length",
        "pinterest.description.no_html",
        "pinterest.link.required",
        "pinterest.link.url",
        "pinterest.link.max_length",
        "pinterest.images.required",
        "pinterest.images.url",
        "pinterest.images.max_length",
        "pinterest.images.max_count",
        "pinterest.images.no_comma",
        "pinterest.group_key.max_length",
        "pinterest.condition.allowed",
        "pinterest.group.single_member",
        # Shopify
        "shopify.title.required",
        "shopify.title.max_length",
        "shopify.group.currency_consistent",
        # WooCommerce, BigCommerce, Ecwid, Vendure, Medusa
        "woocommerce.sku.unique",
        "bigcommerce.title.required",
        "bigcommerce.title.max_length",
        "bigcommerce.title.unique",
        "bigcommerce.sku.unique",
        "bigcommerce.gtin.max_length",
        "ecwid.sku.unique",
        "vendure.sku.unique",
        "medusa.sku.unique",
    }
)

_URL = re.compile(r"https?://[^\s\]\)>`\"'|]+")


def _urls(text: str) -> set[str]:
    return {m.group(0).rstrip(".,;:") for m in _URL.finditer(text)}


def _section(path: Path, heading_path: str) -> str:
    """The text under the heading ``A › B`` of a markdown file (each part a heading's prefix, in
    order), up to the next heading of the same or a higher level."""
    lines = path.read_text().splitlines()
    at, level = 0, 0
    for part in heading_path.split(" › "):
        for i in range(at, len(lines)):
            line = lines[i]
            if line.startswith("#") and line.lstrip("#").strip().startswith(part):
                at, level = i, len(line) - len(line.lstrip("#"))
                break
        else:
            raise AssertionError(f"no heading {part!r} in {path.name}")
    end = next(
        (
            i
            for i in range(at + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "\n".join(lines[at:end])


def _needs_facts() -> None:
    if not FACTS.is_dir():
        pytest.skip(
            f"research notes not found at {FACTS} (the URL checks read them from shared/ beside the repo)"
        )


# -- the rule data ------------------------------------------------------------------------------
def test_each_vendor_rule_with_a_page_links_it_over_https() -> None:
    without = {r.id for r in all_rules() if r.doc is None}
    assert without == NO_PAGE_RULES
    for rule in all_rules():
        if rule.doc is not None:
            assert rule.doc.startswith("https://") and _URL.fullmatch(rule.doc), rule.id
            assert not any(leak in rule.doc for leak in LEAKS), rule.id


def _found(rule: Rule) -> bool:
    """Whether the rule's URL is recorded, with its evidence, in ``rule_sources_found.toml``."""
    entry = FOUND.get(rule.id)
    return bool(entry and entry.get("url") == rule.doc and entry.get("excerpt", "").strip())


def test_each_url_found_by_search_is_recorded_with_its_evidence() -> None:
    known = rules_by_id()
    assert FOUND, f"{FOUND_FILE} records no rule"
    for rule_id, entry in FOUND.items():
        assert rule_id in known, f"{FOUND_FILE.name}: no rule {rule_id!r}"
        assert set(entry) <= {"url", "query", "corpus", "excerpt", "seen_via"}, rule_id
        assert entry["url"] == known[rule_id].doc, f"{rule_id}: the rule's doc is not the recorded URL"
        assert entry["url"].startswith("https://") and _URL.fullmatch(entry["url"]), rule_id
        assert entry["query"].strip() and entry["corpus"] in ("docs", "pages"), rule_id
        assert entry["excerpt"].strip() and len(entry["excerpt"]) <= EXCERPT_MAX, rule_id


def test_every_url_is_cited_in_the_research_notes_or_found_by_search() -> None:
    unsourced = {r.id: r.doc for r in all_rules() if r.doc and not _found(r)}
    if not unsourced:
        return
    _needs_facts()
    cited = set().union(*(_urls(p.read_text()) for p in sorted(FACTS.glob("*.md"))))
    missing = {rule_id: doc for rule_id, doc in unsourced.items() if doc not in cited}
    assert not missing


# (A URL recorded in rule_sources_found.toml has its evidence checked there instead.)
@pytest.mark.parametrize("rule", [r for r in all_rules() if r.doc and not _found(r)], ids=lambda r: r.id)
def test_each_url_is_cited_in_the_section_the_rule_traces(rule: Rule) -> None:
    _needs_facts()
    sections = [t for t in rule.trace.split(" ; ") if t.startswith("channels/")]
    assert sections, f"{rule.id}: a URL but no traced section of the research notes"
    cited: set[str] = set()
    for trace in sections:
        path, _, heading = trace.partition(" § ")
        cited |= _urls(_section(SHARED / path, heading))
    assert rule.doc in cited, f"{rule.id}: {rule.doc} is not cited under {' ; '.join(sections)}"


def test_sarif_gives_every_rule_its_url_as_help_uri() -> None:
    rules = list(all_rules())
    findings = [
        Finding(r.id, r.severity, "ch", f"SKU-{i}", r.field, r.message, r.doc) for i, r in enumerate(rules)
    ]
    doc = json.loads(render_sarif(findings))
    _sarif_validator().validate(doc)
    descriptors = doc["runs"][0]["tool"]["driver"]["rules"]
    assert len(descriptors) == len(rules)
    for descriptor in descriptors:
        assert descriptor.get("helpUri") == rules_by_id()[descriptor["id"]].doc
    for out in (render_text(findings), render_json(findings), render_github(findings), json.dumps(doc)):
        for leak in LEAKS:
            assert leak not in out


# -- the demo, through the CLI ------------------------------------------------------------------
def _validate_all_formats(ws: Workspace) -> dict[str, str]:
    outs = {}
    for fmt in FORMATS:
        r = ws.cli("validate", "--format", fmt)
        assert r.code in (0, 1), r
        outs[fmt] = r.stdout
        for leak in LEAKS:
            assert leak not in r.stdout and leak not in r.stderr, (fmt, leak)
    return outs


def test_the_demo_links_every_rule_found_to_its_vendor_page(make_workspace: Callable[..., Workspace]) -> None:
    outs = _validate_all_formats(make_workspace(DEMO_CONFIG, demo_csv()))
    descriptors = json.loads(outs["sarif"])["runs"][0]["tool"]["driver"]["rules"]
    assert descriptors, "the demo catalog is expected to raise at least one finding"
    for descriptor in descriptors:
        assert descriptor["helpUri"].startswith("https://"), descriptor["id"]
    findings = json.loads(outs["json"])["findings"]
    assert all(f["source"].startswith("https://") for f in findings)
    assert "Rule documentation:" in outs["text"]
    assert all(" (see https://" in line for line in outs["github"].splitlines())


def test_the_demo_checked_as_every_vendor(make_workspace: Callable[..., Workspace]) -> None:
    every = ", ".join(f'"{name}"' for name in rule_set_names())
    config = DEMO_CONFIG.replace('path = "webshop.db"\n', f'path = "webshop.db"\nvalidate_as = [{every}]\n')
    assert "validate_as" in config
    outs = _validate_all_formats(make_workspace(config, demo_csv()))
    known = rules_by_id()
    descriptors = json.loads(outs["sarif"])["runs"][0]["tool"]["driver"]["rules"]
    assert {d["id"].split(".")[0] for d in descriptors} - {"google"}, (
        "other vendors' rules are expected to fire"
    )
    for descriptor in descriptors:
        rule = known[descriptor["id"]]
        assert descriptor.get("helpUri") == rule.doc, rule.id
        if rule.doc is None:
            assert rule.id in NO_PAGE_RULES
    for finding in json.loads(outs["json"])["findings"]:
        assert finding["source"] == known[finding["rule_id"]].doc
