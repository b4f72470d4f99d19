"""``omnisync validate``: every channel's listing rules, checked offline on the desired listings.

The rule table drives the tests: each rule gets a passing and a failing catalog, taken from the
rule's own ``example_pass``/``example_fail`` or generated from its check kind, so a rule added
without a test case fails here. The rules' traces are checked against the facts files and specs in
``../shared`` (skipped with a reason when that folder is absent); their documentation URLs, in
tests/test_rule_sources.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from omnisync.channels.base import Capabilities, ChannelConfig
from omnisync.errors import ConfigError, Exit
from omnisync.models import Override, Product
from omnisync.money import Money, exponent
from omnisync.rules import ContentRules, PriceRules
from omnisync.validate import (
    IMPLEMENTED_CHECKS,
    Finding,
    compile_rule,
    exit_code,
    gtin_check_digit,
    render_github,
    render_json,
    render_sarif,
    render_text,
    rule_sets_for,
    validate,
)
from omnisync.validation_rules import (
    CHANNEL_RULES,
    CHECKS,
    CROSS_CHECKS,
    FEED_FORMATS,
    FIELDS,
    RULE_SETS,
    Rule,
    all_rules,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

ALL_FIELDS = frozenset({"quantity", "price", "title", "description"})
CAPS = Capabilities(fields=ALL_FIELDS, read_page_size=100, max_write_batch=100)
FEED_CAPS = Capabilities(fields=ALL_FIELDS, read_page_size=100, max_write_batch=100, feed=True)
GOOD_GTIN = "4006381333931"


def product(sku: str = "MUG-1", **attrs: Any) -> Product:
    """A sensible product; ``attrs`` overrides its attributes (``price`` as a decimal string,
    ``currency``, ``quantity`` as the stock of one location)."""
    currency = attrs.pop("currency", "USD")
    price = attrs.pop("price", "12.50")
    if not isinstance(price, Money):
        price = Money.parse(price, currency)
    quantity = attrs.pop("quantity", 5)
    values: dict[str, Any] = {
        "title": "Stoneware mug, blue",
        "description": "A blue stoneware mug, 350 ml. Dishwasher safe.",
        "gtin": GOOD_GTIN,
        "brand": "Acme",
        "mpn": "AC-100",
        "condition": "new",
        "images": ("https://shop.example/i/mug.jpg",),
        "link": "https://shop.example/p/mug",
    }
    values.update(attrs)
    return Product(sku=sku, price=price, stock={"main": quantity}, **values)


def channel(name: str = "ch", type: str = "sandbox", **kw: Any) -> tuple[ChannelConfig, Capabilities]:
    caps = kw.pop("caps", CAPS)
    return ChannelConfig(name=name, type=type, **kw), caps


# -- the rule data ------------------------------------------------------------------------------
def test_every_vendor_of_the_brief_has_a_rule_set() -> None:
    wanted = {
        "ebay",
        "amazon",
        "google",
        "meta",
        "tiktok",
        "pinterest",
        "walmart",
        "etsy",
        "shopify",
        "woocommerce",
        "bigcommerce",
        "ecwid",
        "vendure",
        "medusa",
        "flipkart",
        "sandbox",
    }
    assert wanted <= set(RULE_SETS)
    assert set(FEED_FORMATS.values()) <= set(RULE_SETS)


def test_rules_are_well_formed() -> None:
    ids = [r.id for r in all_rules()]
    assert len(ids) == len(set(ids)), "rule ids are unique"
    for name, rules in [("channel", CHANNEL_RULES), *RULE_SETS.items()]:
        assert rules, name
        for rule in rules:
            assert rule.id.startswith(name + "."), rule.id
            assert rule.id.count(".") == 2, rule.id
            assert rule.severity in ("error", "warning"), rule.id
            assert rule.field in FIELDS, rule.id
            assert rule.check in CHECKS, rule.id
            assert rule.applies_if is None or rule.applies_if in FIELDS, rule.id
            assert rule.message and rule.trace, rule.id
            assert rule.doc is None or rule.doc.startswith("https://"), rule.id
            if rule.check not in CROSS_CHECKS:
                compile_rule(rule, channel_currency="USD")  # its parameters are complete


def test_the_engine_implements_every_check_kind() -> None:
    assert IMPLEMENTED_CHECKS == set(CHECKS)


@pytest.mark.parametrize(
    ("vendor", "limit"),
    [
        ("ebay", 80),
        ("amazon", 200),
        ("google", 150),
        ("meta", 200),
        ("tiktok", 255),
        ("pinterest", 500),
        ("walmart", 200),
        ("bigcommerce", 250),
    ],
)
def test_title_limits_are_the_facts_files_numbers(vendor: str, limit: int) -> None:
    [rule] = [
        r
        for r in RULE_SETS[vendor]
        if r.field == "title" and r.check == "max_length" and r.severity == "error"
    ]
    assert rule.params["max"] == limit


def _headings(text: str) -> list[str]:
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def _resolve_pointer(doc: Any, pointer: str) -> Any:
    for part in pointer.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


@pytest.mark.parametrize("rule", list(all_rules()), ids=lambda r: r.id)
def test_rule_traces_point_at_facts_and_specs(rule: Rule) -> None:
    if not SHARED.is_dir():
        pytest.skip(f"facts files not found at {SHARED} (tests read them from shared/ beside the repo)")
    for source in rule.trace.split(" ; "):
        if source.startswith(("omnisync:", "channels.toml")):
            assert rule.id.split(".")[0] in ("sandbox", "channel"), (
                f"{rule.id}: only omnisync's own rules may cite no vendor fact"
            )
            continue
        if source.startswith("specs/"):
            path, _, pointer = source.partition("#")
            file = SHARED / path
            assert file.is_file(), source
            doc = yaml.safe_load(file.read_text()) if file.suffix == ".yml" else json.loads(file.read_text())
            assert _resolve_pointer(doc, pointer) is not None, source
            continue
        path, _, section = source.partition(" § ")
        file = SHARED / path
        assert file.is_file() and path.startswith("channels/"), source
        headings = _headings(file.read_text())
        at = 0
        for part in section.split(" › "):
            found = [i for i, h in enumerate(headings) if i >= at and h.startswith(part)]
            assert found, f"{rule.id}: no heading {part!r} in {path} (after {headings[at]!r})"
            at = found[0]


# -- examples: explicit on the rule, or generated from the check kind ---------------------------
def _url(length: int = 0) -> str:
    base = "https://shop.example/i/"
    return base + "a" * max(length - len(base), 1)


def _text(field: str, length: int) -> Any:
    if field == "images":
        return (_url(length),)
    if field == "link":
        return _url(length)
    return "x" * length


def _sample(field: str) -> Any:
    return {"images": (_url(),), "link": _url(), "gtin": GOOD_GTIN, "condition": "new"}.get(field, "Value")


def _empty(field: str) -> Any:
    return () if field == "images" else None


def _valid_gtin(length: int) -> str:
    body = ("400638133393" * 2)[: length - 1]
    return body + str(gtin_check_digit(body))


def _plus_unit(amount: str, currency: str, units: int) -> str:
    step = Decimal(1).scaleb(-exponent(currency))
    return str(Decimal(amount) + units * step)


def examples(rule: Rule) -> tuple[Any, Any]:
    """(pass, fail) attributes for ``rule``: a dict (one product) or a list of dicts (several)."""
    if rule.example_pass is not None or rule.example_fail is not None:
        assert rule.example_pass is not None and rule.example_fail is not None, rule.id
        return rule.example_pass, rule.example_fail
    f, p, kind = rule.field, rule.params, rule.check
    target = "quantity" if f == "quantities" else f
    cond = {rule.applies_if: _sample(rule.applies_if)} if rule.applies_if else {}
    if kind == "required":
        fail = {f: _empty(f), **{alt: _empty(alt) for alt in p.get("alternatives", ())}}
        return {f: _sample(f), **cond}, {**fail, **cond}
    if kind == "max_length":
        return {f: _text(f, p["max"]), **cond}, {f: _text(f, p["max"] + 1), **cond}
    if kind == "min_length":
        return {f: _text(f, p["min"]), **cond}, {f: _text(f, p["min"] - 1), **cond}
    if kind in ("count_max", "count_min"):
        n = p["max"] if kind == "count_max" else p["min"]
        bad = n + 1 if kind == "count_max" else n - 1
        return (
            {f: tuple(_url() + str(i) for i in range(n)), **cond},
            {f: tuple(_url() + str(i) for i in range(bad)), **cond},
        )
    if kind == "one_of":
        values = list(p["values"])
        if f == "currency":
            other = next(c for c in ("EUR", "JPY", "GBP", "USD", "INR") if c not in values)
            return {"currency": values[0]}, {"currency": other}
        return {f: values[0]}, {f: "not-" + values[0]}
    if kind == "range":
        assert p.get("max") is not None, f"{rule.id}: declare examples for a min-only range"
        return {target: p["max"]}, {target: p["max"] + 1}
    if kind == "gtin_checkdigit":
        good = _valid_gtin(max(p["lengths"]))
        bad = good[:-1] + str((int(good[-1]) + 1) % 10)
        return {f: good}, {f: bad}
    if kind == "url":
        scheme = "https" if "https" in p["schemes"] else p["schemes"][0]
        good, bad = f"{scheme}://shop.example/x.jpg", "ftp://shop.example/x.jpg"
        return ({f: (good,)}, {f: (bad,)}) if f == "images" else ({f: good}, {f: bad})
    if kind == "max_occurrences":
        chars = p["chars"]
        return {f: "Mug " + "".join(c * p["max"] for c in chars)}, {f: "Mug " + chars[0] * (p["max"] + 1)}
    if kind == "money_min":
        low = str(p["min"])
        if p.get("exclusive"):
            return {"price": _plus_unit(low, "USD", 1)}, {"price": low}
        return {"price": low}, {"price": _plus_unit(low, "USD", -1)}
    if kind == "money_max":
        cur, high = next(iter(p["max"].items()))
        return ({"price": high, "currency": cur}, {"price": _plus_unit(high, cur, 1), "currency": cur})
    if kind == "money_whole":
        return {"price": "100", "currency": "INR"}, {"price": "100.50", "currency": "INR"}
    if kind == "channel_currency":
        return {"currency": "USD"}, {"currency": "EUR"}
    if kind == "group_consistent":
        a, b = ("USD", "EUR") if f == "currency" else ("Acme", "Other")
        return (
            [{"group_key": "G", f: a}, {"group_key": "G", f: a}],
            [{"group_key": "G", f: a}, {"group_key": "G", f: b}],
        )
    if kind == "group_min_size":
        n = p["min"]
        return [{"group_key": "G"}] * n, [{"group_key": "G"}] * (n - 1)
    if kind == "group_max_size":
        n = p["max"]
        return [{"group_key": "G"}] * n, [{"group_key": "G"}] * (n + 1)
    if kind == "unique":
        a, b = "VAL-A", "VAL-B"
        if f == "group_key":
            passing = [{"group_key": a}, {"group_key": a}, {"group_key": b}]
        elif p.get("ignore_same_group"):
            passing = [{f: a, "group_key": "G"}, {f: a, "group_key": "G"}, {f: b}]
        else:
            passing = [{f: a}, {f: b}]
        if f == "gtin":
            a, b = _valid_gtin(13), _valid_gtin(12)
            passing = [{f: a}, {f: b}]
        failing = [{f: a}, {f: a.lower() if p.get("case_insensitive") else a}]
        return passing, failing
    raise AssertionError(
        f"{rule.id}: a {kind!r} rule needs example_pass and example_fail (they cannot be "
        "generated for this check kind)"
    )


def _catalog(example: Any) -> list[Product]:
    items = example if isinstance(example, list) else [example]
    out = []
    for i, attrs in enumerate(items, 1):
        attrs = dict(attrs)
        sku = attrs.pop("sku", f"EX{i}")
        out.append(product(sku, **attrs))
    return out


def _channel_for(rule: Rule) -> tuple[ChannelConfig, Capabilities]:
    name = rule.rule_set
    validate_as = [] if name in ("channel", "sandbox") else [name]
    return channel("chk", currency="USD", validate_as=validate_as)


@pytest.mark.parametrize("rule", list(all_rules()), ids=lambda r: r.id)
def test_each_rule_passes_and_fails_on_its_examples(rule: Rule) -> None:
    good, bad = examples(rule)
    chan = _channel_for(rule)

    passed = [f for f in validate(_catalog(good), [chan]) if f.rule_id == rule.id]
    assert passed == [], f"{rule.id} should pass on {good!r}"

    failed = [f for f in validate(_catalog(bad), [chan]) if f.rule_id == rule.id]
    assert failed, f"{rule.id} should fail on {bad!r}"
    for finding in failed:
        assert finding.severity == rule.severity
        assert finding.channel == "chk"
        assert finding.field == rule.field
        assert finding.source == rule.doc
        assert finding.message.startswith(rule.message)


@pytest.mark.parametrize(
    "value", ["4006381333931", "036000291452", "96385074", "10614141000415", "400-6381 333931"]
)
def test_gtin_check_digits(value: str) -> None:
    digits = value.replace("-", "").replace(" ", "")
    assert gtin_check_digit(digits[:-1]) == int(digits[-1])


# -- the desired state is what gets checked -----------------------------------------------------
def test_a_title_template_that_makes_the_title_too_long_is_found() -> None:
    title = "Hand-thrown stoneware mug, blue glaze, 350 ml"  # 45 characters: fine for eBay
    catalog = [product("MUG-1", title=title, brand="Acme Pottery Works of Northern England")]
    plain = channel("ebay1", validate_as=["ebay"])
    templated = channel(
        "ebay2", validate_as=["ebay"], content=ContentRules(title_template="{brand} - {title}")
    )

    findings = validate(catalog, [plain, templated])

    too_long = [f for f in findings if f.rule_id == "ebay.title.max_length"]
    assert [(f.channel, f.sku) for f in too_long] == [("ebay2", "MUG-1")]
    assert "this one has 86" in too_long[0].message


def test_a_catalog_title_override_wins_over_the_template() -> None:
    catalog = [product("MUG-1", title="x" * 100, overrides={"ebay1": Override(title="Blue mug")})]
    findings = validate(catalog, [channel("ebay1", validate_as=["ebay"])])
    assert not [f for f in findings if f.field == "title"]


def test_a_markup_changes_the_price_that_is_checked() -> None:
    catalog = [product("LAMP-1", price="7000.00")]
    plain = channel("tt1", validate_as=["tiktok"])
    marked_up = channel("tt2", validate_as=["tiktok"], price=PriceRules(markup_percent=Decimal(10)))

    findings = [f for f in validate(catalog, [plain, marked_up]) if f.rule_id == "tiktok.price.max"]

    assert [f.channel for f in findings] == ["tt2"]
    assert "7700.00 USD" in findings[0].message


def test_a_fixed_add_lifts_a_free_item_above_zero() -> None:
    catalog = [product("FREEBIE", price="0.00")]
    plain = channel("a")
    priced = channel("b", price=PriceRules(add=Decimal("1.00")))
    findings = [f for f in validate(catalog, [plain, priced]) if f.rule_id == "sandbox.price.positive"]
    assert [(f.channel, f.severity) for f in findings] == [("a", "warning")]


def test_a_listing_disabled_on_a_channel_is_not_checked_there() -> None:
    bad = product("BAD", title="", overrides={"off": Override(enabled=False)})
    findings = validate([bad], [channel("off"), channel("on")])
    assert {f.channel for f in findings} == {"on"}


def test_disabled_listings_are_left_out_of_group_checks() -> None:
    catalog = [
        product("TEE-S", group_key="TEE"),
        product("TEE-M", group_key="TEE", overrides={"shop": Override(enabled=False)}),
    ]
    findings = [f for f in validate(catalog, [channel("shop")]) if f.rule_id == "sandbox.group.single_member"]
    assert [f.sku for f in findings] == ["TEE-S"]


def test_fields_a_channel_does_not_sync_are_not_checked() -> None:
    catalog = [product("MUG-1", title="x" * 100)]
    stock_only = channel("ebay1", validate_as=["ebay"], sync=["quantity"])
    findings = validate(catalog, [stock_only])
    assert not [f for f in findings if f.field in ("title", "price", "description")]


def test_a_feed_writes_the_whole_listing_so_everything_is_checked() -> None:
    class FeedLike(ChannelConfig):
        format: str

    catalog = [product("MUG-1", title="x" * 151)]
    cfg = FeedLike(name="gmc", type="feed", format="google", sync=["quantity"])
    findings = validate(catalog, [(cfg, FEED_CAPS)])
    assert [f.rule_id for f in findings if f.field == "title"] == ["google.title.max_length"]


@pytest.mark.parametrize("fmt", sorted(FEED_FORMATS))
def test_a_feed_is_checked_against_its_formats_rules(fmt: str) -> None:
    class FeedLike(ChannelConfig):
        format: str

    cfg = FeedLike(name="feed", type="feed", format=fmt)
    assert rule_sets_for(cfg) == [FEED_FORMATS[fmt]]
    findings = validate([product("MUG-1", link=None)], [(cfg, FEED_CAPS)])
    assert f"{fmt}.link.required" in {f.rule_id for f in findings}


def test_a_feeds_link_template_stands_in_for_a_missing_link() -> None:
    class FeedLike(ChannelConfig):
        format: str
        link_template: str | None = None

    cfg = FeedLike(name="feed", type="feed", format="google", link_template="https://shop.example/p/{sku}")
    findings = validate([product("MUG-1", link=None)], [(cfg, FEED_CAPS)])
    assert not [f for f in findings if f.field == "link"]


def test_the_channels_own_type_and_validate_as_both_apply() -> None:
    cfg, _ = channel("x", type="ebay", validate_as=["ebay", "google"])
    assert rule_sets_for(cfg) == ["ebay", "google"]
    cfg, _ = channel("y", type="sandbox", validate_as=["etsy"])
    assert rule_sets_for(cfg) == ["sandbox", "etsy"]


def test_an_unknown_validate_as_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        validate([product()], [channel("ebay1", validate_as=["ebya"])])
    assert "'ebya'" in str(err.value)
    assert "channels.ebay1.validate_as" in str(err.value)
    assert "ebay" in str(err.value)  # the known names are listed
    assert err.value.exit_code == Exit.BAD_INPUT


def test_a_price_in_another_currency_than_the_channels_is_an_error() -> None:
    catalog = [product("MUG-1", currency="USD"), product("MUG-2", currency="EUR")]
    findings = validate(catalog, [channel("eu", currency="EUR"), channel("any")])
    mismatch = [f for f in findings if f.rule_id == "channel.currency.matches"]
    assert [(f.channel, f.sku, f.severity) for f in mismatch] == [("eu", "MUG-1", "error")]
    assert "USD" in mismatch[0].message and "EUR" in mismatch[0].message


def test_only_the_chosen_skus_are_reported_but_groups_see_every_member() -> None:
    catalog = [
        product("TEE-S", group_key="TEE", title=""),
        product("TEE-M", group_key="TEE", title=""),
        product("LONE", group_key="LONE", title=""),
    ]
    findings = validate(catalog, [channel("shop")], skus=["TEE-S", "LONE"])
    assert {f.sku for f in findings} == {"TEE-S", "LONE"}
    single = {f.sku for f in findings if f.rule_id == "sandbox.group.single_member"}
    assert single == {"LONE"}  # TEE-S has a sibling even though TEE-M was not asked for


def test_group_and_uniqueness_findings_name_the_other_sku() -> None:
    catalog = [
        product("TEE-S", group_key="TEE", currency="USD"),
        product("TEE-M", group_key="TEE", currency="EUR", price="12.50"),
        product("abc-1", title="Same"),
        product("ABC-1", title="Same"),
    ]
    findings = validate(catalog, [channel("bc", validate_as=["bigcommerce", "tiktok"])])
    by_rule = {f.rule_id: f for f in findings}
    currency = by_rule["tiktok.group.currency_consistent"]
    assert currency.sku == "TEE-S"  # the group's first SKU (TEE-M) sets the reference
    assert "USD here, EUR on TEE-M" in currency.message
    assert by_rule["bigcommerce.sku.unique"].sku == "abc-1"
    assert "'ABC-1'" in by_rule["bigcommerce.sku.unique"].message
    assert by_rule["bigcommerce.title.unique"].sku == "abc-1"
    gtins = [f for f in findings if f.rule_id == "tiktok.gtin.unique"]
    assert len(gtins) == 3  # four SKUs share one GTIN: all but the first are reported


def test_findings_are_sorted_by_channel_sku_and_rule() -> None:
    catalog = [product("B", title=""), product("A", title="", price="0.00")]
    findings = validate(catalog, [channel("zeta"), channel("alpha", validate_as=["ebay"])])
    keys = [(f.channel, f.sku, f.rule_id) for f in findings]
    assert keys == sorted(keys)
    assert keys[0][0] == "alpha"


def test_a_clean_catalog_has_no_findings() -> None:
    catalog = [product("MUG1", group_key="MUG"), product("MUG2", group_key="MUG", gtin="036000291452")]
    findings = validate(catalog, [channel("ebay1", validate_as=["ebay", "google", "amazon"])])
    assert findings == []


def test_products_may_come_from_a_generator() -> None:
    findings = validate((product(f"S{i}", title="") for i in range(3)), [channel("c")])
    assert sorted(f.sku for f in findings) == ["S0", "S1", "S2"]


def test_channels_with_the_same_rules_get_the_same_answers() -> None:
    catalog = [product("A", title="", overrides={"two": Override(title="Named")}), product("B", title="")]
    findings = validate(catalog, [channel("one"), channel("two"), channel("three")])
    missing = sorted((f.channel, f.sku) for f in findings if f.rule_id == "sandbox.title.required")
    assert missing == [("one", "A"), ("one", "B"), ("three", "A"), ("three", "B"), ("two", "B")]


# -- renderers ----------------------------------------------------------------------------------
def sample_findings() -> list[Finding]:
    catalog = [product("MUG-1", title="x" * 90, price="0.00"), product("TEE 2", gtin="4006381333932")]
    return validate(catalog, [channel("ebay1", validate_as=["ebay"]), channel("shop")])


def test_text_groups_findings_per_channel_with_a_summary() -> None:
    findings = sample_findings()
    text = render_text(findings)
    lines = text.splitlines()
    assert lines[0].startswith("ebay1: ")
    assert any(line.startswith("shop: ") for line in lines)
    assert any(
        "MUG-1" in line
        and "title" in line
        and "[ebay.title.max_length]" in line
        and line.lstrip().startswith("error")
        for line in lines
    )
    errors = sum(f.severity == "error" for f in findings)
    warnings = len(findings) - errors
    assert lines[-1] == (
        f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} in 2 channels."
    )
    assert render_text([]) == "No problems found: 0 errors, 0 warnings.\n"


def test_every_format_links_the_vendor_page_of_each_rule_found() -> None:
    findings = validate(
        [product("M", title="x" * 151, gtin="", mpn="")], [channel("g", validate_as=["google"])]
    )
    title = "https://support.google.com/merchants/answer/6324415"
    gtin = "https://support.google.com/merchants/answer/6324461"
    assert {f.rule_id: f.source for f in findings} == {
        "google.title.max_length": title,
        "google.identifiers.required": gtin,
    }
    lines = render_text(findings).splitlines()
    docs = lines.index("Rule documentation:")
    assert lines[docs + 1 : docs + 3] == [
        f"  google.identifiers.required  {gtin}",
        f"  google.title.max_length      {title}",
    ]
    assert lines[-1] == "1 error, 1 warning in 1 channel."
    assert {f["rule_id"]: f["source"] for f in json.loads(render_json(findings))["findings"]} == {
        "google.title.max_length": title,
        "google.identifiers.required": gtin,
    }
    gh = render_github(findings).splitlines()
    assert len(gh) == 2 and any(line.endswith(f" (see {title})") for line in gh)
    assert any(line.endswith(f" (see {gtin})") for line in gh)
    sarif = json.loads(render_sarif(findings))
    _sarif_validator().validate(sarif)
    assert {r["id"]: r["helpUri"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]} == {
        "google.title.max_length": title,
        "google.identifiers.required": gtin,
    }


def test_a_rule_without_a_vendor_page_prints_no_link() -> None:
    findings = validate([product("M", title="")], [channel("shop")])
    assert [f.rule_id for f in findings] == ["sandbox.title.required"]
    assert findings[0].source is None
    assert "Rule documentation" not in render_text(findings)
    assert json.loads(render_json(findings))["findings"][0]["source"] is None
    assert "(see " not in render_github(findings)
    [descriptor] = json.loads(render_sarif(findings))["runs"][0]["tool"]["driver"]["rules"]
    assert "helpUri" not in descriptor


def test_json_lists_findings_and_a_summary() -> None:
    findings = sample_findings()
    doc = json.loads(render_json(findings))
    assert set(doc) == {"findings", "summary"}
    assert doc["summary"] == {
        "errors": sum(f.severity == "error" for f in findings),
        "warnings": sum(f.severity == "warning" for f in findings),
    }
    first = doc["findings"][0]
    assert set(first) == {"rule_id", "severity", "channel", "sku", "field", "message", "source"}
    assert [f["rule_id"] for f in doc["findings"]] == [f.rule_id for f in findings]
    assert json.loads(render_json([])) == {"findings": [], "summary": {"errors": 0, "warnings": 0}}


def test_github_commands_escape_what_the_runner_would_misread() -> None:
    tricky = Finding(
        "ebay.title.max_length",
        "error",
        "eu:1,x",
        "A%B",
        "title",
        "line one\nline two\r 50% off: now",
        "https://vendor.example/title%20rules",
    )
    warn = Finding("sandbox.price.positive", "warning", "shop", "MUG", "price", "free")
    out = render_github([warn, tricky], file="data/catalog, v2.db")
    assert out.splitlines() == [
        (
            "::error file=data/catalog%2C v2.db,title=ebay.title.max_length::eu:1,x A%25B title: "
            "line one%0Aline two%0D 50%25 off: now (see https://vendor.example/title%2520rules)"
        ),
        "::warning file=data/catalog%2C v2.db,title=sandbox.price.positive::shop MUG price: free",
    ]
    assert render_github([warn]) == "::warning title=sandbox.price.positive::shop MUG price: free\n"
    assert render_github([]) == ""


def test_github_commands_cover_every_finding() -> None:
    findings = sample_findings()
    lines = render_github(findings).splitlines()
    assert len(lines) == len(findings)
    assert all(line.startswith(("::error title=", "::warning title=")) for line in lines)


# SARIF 2.1.0: no PyPI package ships the OASIS schema file (sarif-om, sarif-tools, pysarif,
# sarif-pydantic and pydantic-sarif were looked at), so this is the subset of the official schema
# (https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json) that
# covers every object omnisync writes, with the spec's required properties, enums and
# ``additionalProperties: false`` as in the original.
_BAG = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
}
_MESSAGE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string"},
        "markdown": {"type": "string"},
        "id": {"type": "string"},
        "arguments": {"type": "array", "items": {"type": "string"}},
        "properties": {"$ref": "#/definitions/propertyBag"},
    },
    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
}
SARIF_SUBSET_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {"type": "array", "items": {"$ref": "#/definitions/run"}},
        "properties": {"$ref": "#/definitions/propertyBag"},
    },
    "definitions": {
        "propertyBag": _BAG,
        "message": _MESSAGE,
        "multiformatMessageString": {
            "type": "object",
            "additionalProperties": False,
            "required": ["text"],
            "properties": {
                "text": {"type": "string"},
                "markdown": {"type": "string"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "run": {
            "type": "object",
            "additionalProperties": False,
            "required": ["tool"],
            "properties": {
                "tool": {"$ref": "#/definitions/tool"},
                "results": {"type": "array", "items": {"$ref": "#/definitions/result"}},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "tool": {
            "type": "object",
            "additionalProperties": False,
            "required": ["driver"],
            "properties": {
                "driver": {"$ref": "#/definitions/toolComponent"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "toolComponent": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "version": {"type": "string"},
                "informationUri": {"type": "string", "format": "uri"},
                "rules": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"$ref": "#/definitions/reportingDescriptor"},
                },
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "reportingDescriptor": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "shortDescription": {"$ref": "#/definitions/multiformatMessageString"},
                "fullDescription": {"$ref": "#/definitions/multiformatMessageString"},
                "helpUri": {"type": "string", "format": "uri"},
                "help": {"$ref": "#/definitions/multiformatMessageString"},
                "defaultConfiguration": {"$ref": "#/definitions/reportingConfiguration"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "reportingConfiguration": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "rank": {"type": "number", "minimum": -1, "maximum": 100},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "result": {
            "type": "object",
            "additionalProperties": False,
            "required": ["message"],
            "properties": {
                "ruleId": {"type": "string"},
                "ruleIndex": {"type": "integer", "minimum": -1},
                "kind": {"enum": ["notApplicable", "pass", "fail", "review", "open", "informational"]},
                "level": {"enum": ["none", "note", "warning", "error"]},
                "message": {"$ref": "#/definitions/message"},
                "locations": {"type": "array", "items": {"$ref": "#/definitions/location"}},
                "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "location": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "id": {"type": "integer", "minimum": -1},
                "physicalLocation": {"$ref": "#/definitions/physicalLocation"},
                "logicalLocations": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"$ref": "#/definitions/logicalLocation"},
                },
                "message": {"$ref": "#/definitions/message"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "logicalLocation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string"},
                "index": {"type": "integer", "minimum": -1},
                "fullyQualifiedName": {"type": "string"},
                "decoratedName": {"type": "string"},
                "parentIndex": {"type": "integer", "minimum": -1},
                "kind": {"type": "string"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
        "physicalLocation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "artifactLocation": {"$ref": "#/definitions/artifactLocation"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
            "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}],
        },
        "artifactLocation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "uri": {"type": "string", "format": "uri-reference"},
                "uriBaseId": {"type": "string"},
                "index": {"type": "integer", "minimum": -1},
                "description": {"$ref": "#/definitions/message"},
                "properties": {"$ref": "#/definitions/propertyBag"},
            },
        },
    },
}


def _sarif_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        SARIF_SUBSET_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def test_the_sarif_subset_schema_rejects_what_sarif_forbids() -> None:
    validator = _sarif_validator()
    assert not validator.is_valid({"version": "2.0.0", "runs": []})
    assert not validator.is_valid({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})
    assert not validator.is_valid(
        {
            "version": "2.1.0",
            "runs": [
                {"tool": {"driver": {"name": "x"}}, "results": [{"level": "fatal", "message": {"text": "m"}}]}
            ],
        }
    )
    assert validator.is_valid({"version": "2.1.0", "runs": []})


def test_sarif_is_valid_sarif_2_1_0_with_rules_results_and_locations() -> None:
    findings = sample_findings()
    doc = json.loads(render_sarif(findings, catalog_path="shop data/catalog.db"))
    _sarif_validator().validate(doc)

    assert doc["version"] == "2.1.0" and "sarif-schema-2.1.0.json" in doc["$schema"]
    [run] = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "omnisync"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert rule_ids == sorted({f.rule_id for f in findings})
    known = {r.id: r for r in all_rules()}
    for descriptor in driver["rules"]:
        assert descriptor["shortDescription"]["text"]
        assert descriptor.get("helpUri") == known[descriptor["id"]].doc
    assert len(run["results"]) == len(findings)
    for result, finding in zip(run["results"], findings):
        assert result["ruleId"] == finding.rule_id
        assert rule_ids[result["ruleIndex"]] == finding.rule_id
        assert result["level"] == finding.severity
        assert finding.message in result["message"]["text"]
        [location] = result["locations"]
        assert location["logicalLocations"][0]["fullyQualifiedName"] == (
            f"{finding.channel}/{finding.sku}/{finding.field}"
        )
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "shop%20data/catalog.db"


def test_sarif_without_a_catalog_path_uses_logical_locations_only() -> None:
    doc = json.loads(render_sarif(sample_findings()))
    _sarif_validator().validate(doc)
    assert all("physicalLocation" not in r["locations"][0] for r in doc["runs"][0]["results"])
    empty = json.loads(render_sarif([]))
    _sarif_validator().validate(empty)
    assert empty["runs"][0]["results"] == []


def test_sarif_rules_link_the_vendor_page_when_the_facts_name_one() -> None:
    doc = json.loads(
        render_sarif(validate([product("M", title="x" * 151)], [channel("g", validate_as=["google"])]))
    )
    [descriptor] = [
        r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "google.title.max_length"
    ]
    assert descriptor["helpUri"].startswith("https://support.google.com/merchants/")


def test_exit_code() -> None:
    error = Finding("a.b.c", "error", "c", "s", "title", "m")
    warning = Finding("a.b.d", "warning", "c", "s", "title", "m")
    assert exit_code([], strict=False) == 0
    assert exit_code([warning], strict=False) == 0
    assert exit_code([warning], strict=True) == int(Exit.FAILED) == 1
    assert exit_code([error, warning], strict=False) == 1
    assert exit_code([error], strict=True) == 1


# -- the benchmark runs (its numbers are for people; nothing here is timed) ---------------------
def test_the_benchmark_prints_its_numbers() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "validate_bench.py"), "--skus", "400", "--channels", "2"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    for label in ("SKUs:", "channels:", "findings:", "seconds:", "SKU-checks/s:"):
        assert label in out
    assert "400" in out
