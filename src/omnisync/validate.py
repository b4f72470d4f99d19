"""Offline listing checks: ``omnisync validate``.

Every configured channel's listings are checked against that channel's published listing rules
(:mod:`omnisync.validation_rules`) before anything is sent, so a CI job can stop a bad listing. What
is checked is what would be sent: the desired listing after the channel's price and content rules
(:func:`omnisync.rules.desired`), plus the catalog attributes it carries (GTIN, brand, MPN,
condition, images, link, group key).

- A channel is checked against the rule set of its ``type`` (for ``type = "feed"``: of its
  ``format``), every rule set its ``validate_as`` names, and its own ``currency``.
- Rules on title, description, price (and currency) and quantity apply only where the channel keeps
  that field true (``sync`` and its capabilities), except on feed channels, which write the whole
  listing. Catalog attributes (identifiers, images, link, ...) are always checked.
- Listings disabled on a channel (an override with ``enabled = false``) are not sent, so they are
  skipped silently, and left out of the checks that compare listings (groups, uniqueness).
- Findings come back sorted by channel, SKU and rule id.

Renderers: :func:`render_text` (people), :func:`render_json` (scripts), :func:`render_github`
(GitHub workflow commands, shown as annotations) and :func:`render_sarif` (SARIF 2.1.0, for code
scanning). Each names a rule by its id and links the vendor's public documentation page that states
it (the rule's ``doc``), where there is one; nothing else about where a rule comes from is printed.
:func:`exit_code` maps findings to the process exit code.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from hashlib import sha256
from itertools import groupby
from operator import attrgetter, itemgetter
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

from . import __version__
from .channels.base import Capabilities, ChannelConfig
from .errors import ConfigError, Exit
from .models import Listing, Product
from .money import Money, exponent
from .rules import ChannelRules, desired
from .validation_rules import (
    CHANNEL_RULES,
    CROSS_CHECKS,
    FEED_FORMATS,
    FIELDS,
    RULE_SETS,
    TEXT_FIELDS,
    Rule,
    rule_set_names,
    rules_by_id,
)

__all__ = [
    "Finding",
    "exit_code",
    "render_github",
    "render_json",
    "render_sarif",
    "render_text",
    "rule_sets_for",
    "summary",
    "validate",
]


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule one listing breaks on one channel."""

    rule_id: str
    severity: str  # "error" or "warning"
    channel: str
    sku: str
    field: str
    message: str
    source: str | None = None  # the vendor's public documentation URL for the rule, if there is one

    def to_json(self) -> dict[str, str | None]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "channel": self.channel,
            "sku": self.sku,
            "field": self.field,
            "message": self.message,
            "source": self.source,
        }


def _sort_key(f: Finding) -> tuple[str, str, str, str, str]:
    return (f.channel, f.sku, f.rule_id, f.field, f.message)


# -- field access -----------------------------------------------------------------------------
Getter = Callable[[Listing], Any]
CheckFn = Callable[[Any, Listing], "str | None"]


def _currency(listing: Listing) -> str | None:
    return listing.price.currency if listing.price is not None else None


def _quantities(listing: Listing) -> tuple[int, ...]:
    shown = tuple(
        v
        for k, v in listing.values.items()
        if (k == "quantity" or k.startswith("quantity@")) and isinstance(v, int)
    )
    return shown or (listing.quantity,)


_GETTERS: dict[str, Getter] = {
    name: attrgetter(name) for name in FIELDS if name not in ("currency", "quantities")
}
_GETTERS["currency"] = _currency
_GETTERS["quantities"] = _quantities

# Fields omnisync writes only where the channel keeps them true (field -> field kind).
_SYNCED: dict[str, str] = {
    "title": "title",
    "description": "description",
    "price": "price",
    "currency": "price",
    "quantity": "quantity",
    "quantities": "quantity",
}
_ELEMENTWISE = {"max_length", "forbidden", "url", "pattern", "range"}
_SEQUENCE_FIELDS = {"images", "quantities"}


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, tuple):
        return bool(value)
    return True


def _show(value: Any, limit: int = 60) -> str:
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


# -- check kinds: one compiled function per rule ----------------------------------------------
def _to_minor(amount: str, currency: str, rounding: str) -> int:
    scaled = Decimal(amount).scaleb(exponent(currency))
    return int(scaled.to_integral_value(rounding=rounding))


def _check_required(rule: Rule) -> CheckFn:
    alternatives = tuple(_GETTERS[name] for name in rule.params.get("alternatives", ()))
    names = ", ".join((rule.field, *rule.params.get("alternatives", ())))

    def check(value: Any, listing: Listing) -> str | None:
        if _present(value):
            return None
        if alternatives:
            if any(_present(g(listing)) for g in alternatives):
                return None
            return f"none of {names} is set"
        return f"{rule.field} is missing"

    return check


def _check_max_length(rule: Rule) -> CheckFn:
    limit = int(rule.params["max"])

    def check(value: Any, listing: Listing) -> str | None:
        if value is None or len(value) <= limit:
            return None
        return f"this one has {len(value)}"

    return check


def _check_min_length(rule: Rule) -> CheckFn:
    limit = int(rule.params["min"])

    def check(value: Any, listing: Listing) -> str | None:
        n = len(value) if value is not None else 0
        return None if n >= limit else f"this one has {n}"

    return check


def _check_pattern(rule: Rule) -> CheckFn:
    matcher = re.compile(rule.params["pattern"]).fullmatch

    def check(value: Any, listing: Listing) -> str | None:
        if not value or matcher(value):
            return None
        return f"{_show(value)} does not match"

    return check


def _check_forbidden(rule: Rule) -> CheckFn:
    search = re.compile(rule.params["pattern"]).search

    def check(value: Any, listing: Listing) -> str | None:
        if not value:
            return None
        m = search(value)
        return None if m is None else f"found {m.group(0)!r}"

    return check


_TAG = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?\s*>")
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")


def _check_no_html(rule: Rule) -> CheckFn:
    allow = frozenset(t.lower() for t in rule.params.get("allow", ()))
    entities_ok = bool(rule.params.get("entities", True))

    def check(value: Any, listing: Listing) -> str | None:
        if not value:
            return None
        if "<" in value:
            for tag in _TAG.finditer(value):
                if tag.group(1).lower() not in allow:
                    return f"found the tag {tag.group(0)!r}"
        if not entities_ok and "&" in value:
            entity = _ENTITY.search(value)
            if entity is not None:
                return f"found the entity {entity.group(0)!r}"
        return None

    return check


def _check_max_occurrences(rule: Rule) -> CheckFn:
    chars = tuple(rule.params["chars"])
    limit = int(rule.params["max"])

    def check(value: Any, listing: Listing) -> str | None:
        if not value:
            return None
        for c in chars:
            if c in value:
                n = value.count(c)
                if n > limit:
                    return f"{c!r} appears {n} times"
        return None

    return check


def _check_unicode_classes(rule: Rule) -> CheckFn:
    categories = tuple(rule.params["categories"])
    extra = frozenset(rule.params.get("extra", ""))
    # ASCII is decided once, here; other characters on first sight (the per-check cache).
    ascii_bad = "".join(
        chr(i)
        for i in range(128)
        if not unicodedata.category(chr(i)).startswith(categories) and chr(i) not in extra
    )
    ascii_search = re.compile("[" + re.escape(ascii_bad) + "]").search if ascii_bad else None
    seen: dict[str, bool] = {}

    def allowed(c: str) -> bool:
        ok = seen.get(c)
        if ok is None:
            ok = c in extra or unicodedata.category(c).startswith(categories)
            seen[c] = ok
        return ok

    def check(value: Any, listing: Listing) -> str | None:
        if not value:
            return None
        if ascii_search is not None:
            m = ascii_search(value)
            if m is not None:
                return f"{m.group(0)!r} is not allowed"
        if not value.isascii():
            for c in value:
                if c >= "\x80" and not allowed(c):
                    return f"{c!r} ({unicodedata.name(c, f'U+{ord(c):04X}')}) is not allowed"
        return None

    return check


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for the ASCII digits before it (weights 3, 1, 3, ... from the
    right)."""
    raw = body.encode("ascii")
    threes = raw[-1::-2]
    ones = raw[-2::-2]
    total = 3 * (sum(threes) - 48 * len(threes)) + sum(ones) - 48 * len(ones)
    return (10 - total % 10) % 10


def _check_gtin(rule: Rule) -> CheckFn:
    lengths = frozenset(int(n) for n in rule.params["lengths"])
    table = str.maketrans("", "", rule.params.get("ignore", ""))
    shown = ", ".join(str(n) for n in sorted(lengths))

    def check(value: Any, listing: Listing) -> str | None:
        if not value:
            return None
        digits = value.translate(table)
        if not (digits.isascii() and digits.isdigit()):
            return f"{_show(value)} is not all digits"
        if len(digits) not in lengths:
            return f"{_show(value)} has {len(digits)} digits, not {shown}"
        if int(digits[-1]) != gtin_check_digit(digits[:-1]):
            expected = gtin_check_digit(digits[:-1])
            return f"{_show(value)} has a wrong check digit (expected {expected})"
        return None

    return check


def _check_url(rule: Rule) -> CheckFn:
    schemes = tuple(rule.params.get("schemes", ("https",)))
    alternation = "|".join(re.escape(s) for s in schemes)
    matcher = re.compile(rf"(?i:{alternation})://[^\s/?#]+[^\s]*").fullmatch
    wanted = " or ".join(schemes)

    def check(value: Any, listing: Listing) -> str | None:
        if not value or matcher(value):
            return None
        return f"{_show(value)} is not an absolute {wanted} URL"

    return check


def _check_count_max(rule: Rule) -> CheckFn:
    limit = int(rule.params["max"])

    def check(value: Any, listing: Listing) -> str | None:
        return None if len(value) <= limit else f"this one has {len(value)}"

    return check


def _check_count_min(rule: Rule) -> CheckFn:
    limit = int(rule.params["min"])

    def check(value: Any, listing: Listing) -> str | None:
        return None if len(value) >= limit else f"this one has {len(value)}"

    return check


def _check_one_of(rule: Rule) -> CheckFn:
    values = frozenset(rule.params["values"])

    def check(value: Any, listing: Listing) -> str | None:
        if value is None or value in values:
            return None
        return f"{_show(value)} is not one of them"

    return check


def _check_range(rule: Rule) -> CheckFn:
    low = rule.params.get("min")
    high = rule.params.get("max")

    def check(value: Any, listing: Listing) -> str | None:
        if value is None:
            return None
        if low is not None and value < low:
            return f"this one is {value}"
        if high is not None and value > high:
            return f"this one is {value:,}"
        return None

    return check


def _check_money_min(rule: Rule) -> CheckFn:
    amount = str(rule.params["min"])
    exclusive = bool(rule.params.get("exclusive", False))
    bounds: dict[str, int] = {}

    def check(value: Any, listing: Listing) -> str | None:
        if not isinstance(value, Money):
            return None
        bound = bounds.get(value.currency)
        if bound is None:
            # exclusive: minor > floor(min); inclusive: minor >= ceil(min)
            bound = (
                _to_minor(amount, value.currency, ROUND_FLOOR) + 1
                if exclusive
                else _to_minor(amount, value.currency, ROUND_CEILING)
            )
            bounds[value.currency] = bound
        return None if value.minor >= bound else f"this one is {value}"

    return check


def _check_money_max(rule: Rule) -> CheckFn:
    limits = {cur: _to_minor(str(amount), cur, ROUND_FLOOR) for cur, amount in rule.params["max"].items()}

    def check(value: Any, listing: Listing) -> str | None:
        if not isinstance(value, Money):
            return None
        limit = limits.get(value.currency)
        if limit is None or value.minor <= limit:
            return None
        return f"this one is {value}"

    return check


def _check_money_whole(rule: Rule) -> CheckFn:
    def check(value: Any, listing: Listing) -> str | None:
        if not isinstance(value, Money):
            return None
        unit = 10 ** exponent(value.currency)
        return None if value.minor % unit == 0 else f"this one is {value}"

    return check


def _check_channel_currency(rule: Rule, currency: str | None) -> CheckFn | None:
    if not currency:
        return None

    def check(value: Any, listing: Listing) -> str | None:
        if value is None or value == currency:
            return None
        return f"the price is in {value}, the channel's currency is {currency}"

    return check


_COMPILERS: dict[str, Callable[[Rule], CheckFn]] = {
    "required": _check_required,
    "max_length": _check_max_length,
    "min_length": _check_min_length,
    "pattern": _check_pattern,
    "forbidden": _check_forbidden,
    "no_html": _check_no_html,
    "max_occurrences": _check_max_occurrences,
    "unicode_classes": _check_unicode_classes,
    "gtin_checkdigit": _check_gtin,
    "url": _check_url,
    "count_max": _check_count_max,
    "count_min": _check_count_min,
    "one_of": _check_one_of,
    "range": _check_range,
    "money_min": _check_money_min,
    "money_max": _check_money_max,
    "money_whole": _check_money_whole,
}


def _elementwise(inner: CheckFn, label: str) -> CheckFn:
    def check(value: Any, listing: Listing) -> str | None:
        for i, item in enumerate(value, 1):
            detail = inner(item, listing)
            if detail is not None:
                return f"{label} {i}: {detail}" if len(value) > 1 else detail
        return None

    return check


def _conditional(inner: CheckFn, condition: Getter) -> CheckFn:
    def check(value: Any, listing: Listing) -> str | None:
        return inner(value, listing) if _present(condition(listing)) else None

    return check


def compile_rule(rule: Rule, channel_currency: str | None = None) -> CheckFn | None:
    """The check function of a one-listing rule (``None`` when it does not apply here)."""
    if rule.check == "channel_currency":
        fn = _check_channel_currency(rule, channel_currency)
        if fn is None:
            return None
    else:
        fn = _COMPILERS[rule.check](rule)
    if rule.field in _SEQUENCE_FIELDS and rule.check in _ELEMENTWISE:
        fn = _elementwise(fn, "image" if rule.field == "images" else "location")
    if rule.applies_if:
        fn = _conditional(fn, _GETTERS[rule.applies_if])
    return fn


# -- per-channel plan ---------------------------------------------------------------------------
def rule_sets_for(cfg: ChannelConfig) -> list[str]:
    """The rule sets a channel is checked against: its type's (or feed format's), then
    ``validate_as``. Raises :class:`ConfigError` for an unknown ``validate_as`` name."""
    names: list[str] = []
    if cfg.type == "feed":
        fmt = getattr(cfg, "format", None)
        if isinstance(fmt, str) and fmt in FEED_FORMATS:
            names.append(FEED_FORMATS[fmt])
    elif cfg.type in RULE_SETS:
        names.append(cfg.type)
    unknown = [n for n in cfg.validate_as if n not in RULE_SETS]
    if unknown:
        raise ConfigError(
            f"unknown rule set {', '.join(repr(n) for n in unknown)} in validate_as; "
            f"known: {', '.join(rule_set_names())}",
            field=f"channels.{cfg.name}.validate_as",
        )
    for name in cfg.validate_as:
        if name not in names:
            names.append(name)
    return names


# Each channel's one-listing rules are compiled into one Python function (the way dataclasses and
# fast JSON-schema validators do it): a cheap inline test per rule, on the field's value read once,
# and the rule's check function (the one source of truth, which also writes the detail) called only
# when the inline test says the rule may fail. Length-only rules of a field (required, max/min
# length, image count) sit behind one range test on the value's length, which is what usually holds.
# Nothing from the configuration is pasted into the source: values reach it by name.
Emit = Callable[[Rule, Listing, str], None]
ListingCheck = Callable[[Listing, Emit], None]

_LENGTH_GATED = {"required", "max_length", "min_length", "count_max", "count_min"}
_ATTRIBUTE_FIELDS = frozenset(TEXT_FIELDS) | {"price", "quantity", "images"}


def _gate(rule: Rule) -> tuple[int, int, bool] | None:
    """(low, high, nonblank) within which ``rule`` passes, for length-only rules."""
    if rule.check not in _LENGTH_GATED or rule.applies_if:
        return None
    if rule.field in _SEQUENCE_FIELDS and rule.check in ("max_length", "min_length"):
        return None  # per element
    if rule.field not in TEXT_FIELDS and rule.field != "images":
        return None
    big = 1 << 62
    if rule.check == "required":
        if rule.params.get("alternatives"):
            return None
        return (1, big, rule.field != "images")
    if rule.check in ("max_length", "count_max"):
        return (0, int(rule.params["max"]), False)
    return (int(rule.params["min"]), big, False)


def _may_fail(rule: Rule, i: int, var: str, ns: dict[str, Any]) -> str:
    """A Python expression over ``var`` that is true whenever ``rule`` fails on that value
    (it may also be true when the rule passes: the check function decides)."""
    p = rule.params
    kind = rule.check
    if kind == "max_length":
        return f"({var} is not None and len({var}) > {int(p['max'])})"
    if kind == "min_length":
        return f"({var} is None or len({var}) < {int(p['min'])})"
    if kind == "count_max":
        return f"len({var}) > {int(p['max'])}"
    if kind == "count_min":
        return f"len({var}) < {int(p['min'])}"
    if kind == "required":  # with alternatives too: a present value passes at once
        if rule.field in TEXT_FIELDS:
            return f"(not {var} or {var}.isspace())"
        return f"not {var}"
    if kind in ("pattern", "url"):
        if kind == "pattern":
            ns[f"_m{i}"] = re.compile(p["pattern"]).fullmatch
        else:
            alternation = "|".join(re.escape(x) for x in p.get("schemes", ("https",)))
            ns[f"_m{i}"] = re.compile(rf"(?i:{alternation})://[^\s/?#]+[^\s]*").fullmatch
        return f"({var} and _m{i}({var}) is None)"
    if kind == "forbidden":
        ns[f"_m{i}"] = re.compile(p["pattern"]).search
        return f"({var} and _m{i}({var}) is not None)"
    if kind == "no_html":
        return f"({var} and ('<' in {var} or '&' in {var}))"
    if kind == "one_of":
        ns[f"_s{i}"] = frozenset(p["values"])
        return f"({var} is not None and {var} not in _s{i})"
    if kind == "range":
        tests = []
        if p.get("min") is not None:
            tests.append(f"{var} < {int(p['min'])}")
        if p.get("max") is not None:
            tests.append(f"{var} > {int(p['max'])}")
        return f"({var} is not None and ({' or '.join(tests) or 'False'}))"
    if kind in ("gtin_checkdigit", "unicode_classes", "max_occurrences"):
        return var
    if kind in ("money_min", "money_max", "money_whole", "channel_currency"):
        return f"{var} is not None"
    return "True"  # the check function alone decides


def _compile_channel(checks: list[tuple[Rule, CheckFn]], getters: dict[str, Getter]) -> ListingCheck:
    ns: dict[str, Any] = {}
    lines = ["def check_listing(listing, emit):"]
    by_field: dict[str, list[int]] = defaultdict(list)
    for i, (rule, fn) in enumerate(checks):
        ns[f"_r{i}"] = rule
        ns[f"_f{i}"] = fn
        by_field[rule.field].append(i)

    def emit_lines(i: int, var: str, indent: str) -> list[str]:
        rule = checks[i][0]
        test = _may_fail(rule, i, var, ns)
        if rule.applies_if:
            ns[f"_c{i}"] = getters[rule.applies_if]
            test = f"_present(_c{i}(listing)) and {test}"
        body = [
            f"{indent}if {test}:",
            f"{indent}    d = _f{i}(v, listing)",
            f"{indent}    if d is not None:",
            f"{indent}        emit(_r{i}, listing, d)",
        ]
        return body

    ns["_present"] = _present
    for f in FIELDS:
        indexes = by_field.get(f)
        if not indexes:
            continue
        if f in _ATTRIBUTE_FIELDS and getters[f] is _GETTERS[f]:
            lines.append(f"    v = listing.{f}")
        else:
            ns[f"_g_{f}"] = getters[f]
            lines.append(f"    v = _g_{f}(listing)")
        gated = [i for i in indexes if _gate(checks[i][0]) is not None]
        if gated:
            bounds = [_gate(checks[i][0]) for i in gated]
            low = max(b[0] for b in bounds if b is not None)
            high = min(b[1] for b in bounds if b is not None)
            nonblank = any(b[2] for b in bounds if b is not None)
            test = f"n < {low} or n > {high}" + (" or (n and v.isspace())" if nonblank else "")
            lines.append("    n = 0 if v is None else len(v)")
            lines.append(f"    if {test}:")
            for i in gated:
                lines.extend(emit_lines(i, "v", "        "))
        for i in indexes:
            if i in gated:
                continue
            rule = checks[i][0]
            if rule.field in _SEQUENCE_FIELDS and rule.check in _ELEMENTWISE:
                test = _may_fail(rule, i, "e", ns)
                lines.append("    for e in v:")
                lines.append(f"        if {test}:")
                lines.extend(emit_lines(i, "v", "        ")[1:])
                lines.append("            break")
                if rule.applies_if:  # not used by any element-wise rule today; keep exact
                    raise AssertionError("applies_if on an element-wise rule")
            else:
                lines.extend(emit_lines(i, "v", "    "))
    lines.append("    return None")
    code = compile("\n".join(lines) + "\n", "<omnisync.validate channel checks>", "exec")
    exec(code, ns)
    check_listing: ListingCheck = ns["check_listing"]
    return check_listing


@dataclass
class _Plan:
    name: str
    rules: ChannelRules
    check: ListingCheck
    cross: list[tuple[Rule, Getter]]
    row: Callable[[Listing], Row] | None


def _plan(cfg: ChannelConfig, capabilities: Capabilities) -> _Plan:
    channel_rules = cfg.rules(capabilities)
    synced = channel_rules.fields
    whole_listing = capabilities.feed
    getters = dict(_GETTERS)
    link_template = getattr(cfg, "link_template", None)
    if isinstance(link_template, str) and link_template:
        # A feed fills a missing link from its template: check the template then.
        getters["link"] = lambda listing: listing.link or link_template

    selected: list[Rule] = list(CHANNEL_RULES)
    for name in rule_sets_for(cfg):
        selected.extend(RULE_SETS[name])

    checks: list[tuple[Rule, CheckFn]] = []
    cross: list[tuple[Rule, Getter]] = []
    for rule in selected:
        kind = _SYNCED.get(rule.field)
        if kind is not None and not whole_listing and kind not in synced:
            continue
        if rule.check in CROSS_CHECKS:
            cross.append((rule, getters[rule.field]))
            continue
        fn = compile_rule(rule, cfg.currency)
        if fn is not None:
            checks.append((rule, fn))
    row = _compile_row([g for _, g in cross]) if cross else None
    return _Plan(cfg.name, channel_rules, _compile_channel(checks, getters), cross, row)


# -- checks that compare listings ---------------------------------------------------------------
Row = tuple[Any, ...]  # (sku, group_key, value of each cross-listing rule's field)


def _compile_row(getters: list[Getter]) -> Callable[[Listing], Row]:
    """A function giving the small tuple the cross-listing checks need from a listing (tuples of
    plain values, so keeping 100,000 of them costs the garbage collector nothing)."""
    ns: dict[str, Any] = {f"_g{i}": g for i, g in enumerate(getters)}
    values = "".join(f", _g{i}(listing)" for i in range(len(getters)))
    source = f"def row(listing):\n    return (listing.sku, listing.group_key{values})\n"
    code = compile(source, "<omnisync.validate cross rows>", "exec")
    exec(code, ns)
    fn: Callable[[Listing], Row] = ns["row"]
    return fn


def _cross_findings(plan: _Plan, rows: list[Row], wanted: Callable[[str], bool]) -> list[Finding]:
    out: list[Finding] = []

    def add(rule: Rule, sku: str, detail: str) -> None:
        if wanted(sku):
            out.append(
                Finding(
                    rule.id,
                    rule.severity,
                    plan.name,
                    sku,
                    rule.field,
                    f"{rule.message} ({detail})",
                    rule.doc,
                )
            )

    grouped: list[Row] | None = None  # rows with a group key, sorted by (group key, sku)
    for col, (rule, _getter) in enumerate(plan.cross, 2):
        if rule.check in ("group_consistent", "group_min_size", "group_max_size"):
            if grouped is None:
                grouped = sorted((r for r in rows if r[1]), key=itemgetter(1, 0))
            for key, members_iter in groupby(grouped, key=itemgetter(1)):
                members = list(members_iter)
                if rule.check == "group_consistent":
                    ref = members[0][col]
                    for other in members[1:]:
                        value = other[col]
                        if value != ref:
                            add(rule, other[0], f"{value} here, {ref} on {members[0][0]} (group_key {key!r})")
                elif rule.check == "group_min_size":
                    low = int(rule.params["min"])
                    if len(members) < low:
                        for m in members:
                            add(
                                rule,
                                m[0],
                                f"group_key {key!r} has {len(members)} SKU"
                                + ("s" if len(members) != 1 else ""),
                            )
                else:
                    high = int(rule.params["max"])
                    if len(members) > high:
                        add(
                            rule,
                            members[0][0],
                            f"group_key {key!r} has {len(members):,} SKUs, at most {high:,}",
                        )
        elif rule.check == "unique":
            fold = bool(rule.params.get("case_insensitive", False))
            same_group = bool(rule.params.get("ignore_same_group", False))
            # One pass keeps the first entry per value; only values seen twice get a list.
            first: dict[Any, tuple[str, Any, Any]] = {}
            repeated: dict[Any, list[tuple[str, Any, Any]]] = {}
            for index, row in enumerate(rows):
                value = row[col]
                if not _present(value):
                    continue
                key = value.casefold() if fold and isinstance(value, str) else value
                entry = (row[0], row[1] if same_group and row[1] else index, value)
                seen = first.setdefault(key, entry)
                if seen is not entry:
                    repeated.setdefault(key, [seen]).append(entry)
            for entries in repeated.values():
                entries.sort(key=lambda e: (e[0], str(e[1])))
                first_sku, first_owner, first_value = entries[0]
                for sku, owner, value in entries[1:]:
                    if owner != first_owner:
                        add(
                            rule,
                            sku,
                            f"{_show(value)} is also on {first_sku}"
                            + (f" as {_show(first_value)}" if value != first_value else ""),
                        )
        else:  # pragma: no cover - CHECKS and this function are kept in step by a test
            raise AssertionError(f"unknown cross-listing check {rule.check}")
    return out


# -- the engine ---------------------------------------------------------------------------------
def validate(
    products: Iterable[Product],
    channels: Sequence[tuple[ChannelConfig, Capabilities]],
    skus: Collection[str] | None = None,
) -> list[Finding]:
    """Check ``products`` (only ``skus`` when given) against every channel's listing rules.

    Raises :class:`ConfigError` when a channel's ``validate_as`` names an unknown rule set.
    """
    plans = [_plan(cfg, caps) for cfg, caps in channels]  # config errors before any work
    catalog = products if isinstance(products, list) else list(products)
    selected = None if skus is None else frozenset(skus)

    def wanted(sku: str) -> bool:
        return selected is None or sku in selected

    findings: list[Finding] = []
    append = findings.append

    def emitter(name: str) -> Emit:
        def emit(rule: Rule, listing: Listing, detail: str) -> None:
            append(
                Finding(
                    rule.id,
                    rule.severity,
                    name,
                    listing.sku,
                    rule.field,
                    f"{rule.message} ({detail})",
                    rule.doc,
                )
            )

        return emit

    # Channels whose rules differ only by name give a product the same listing (unless it has an
    # override for one of them): compute it once per product for each such class of channels.
    classes: dict[str, int] = {}
    steps: list[
        tuple[str, ChannelRules, int, ListingCheck, Emit, Callable[[Listing], Row] | None, list[Row]]
    ] = []
    for plan in plans:
        cls = classes.setdefault(plan.rules.model_dump_json(exclude={"name"}), len(classes))
        steps.append((plan.name, plan.rules, cls, plan.check, emitter(plan.name), plan.row, []))
    need_all = any(step[5] is not None for step in steps)
    shared = len(classes) < len(steps)
    empty: list[Listing | None] = [None] * len(classes)
    cache = list(empty)
    for product in catalog:
        chosen = selected is None or product.sku in selected
        if not chosen and not need_all:
            continue
        overrides = product.overrides
        if shared:
            cache[:] = empty
        for name, rules, cls, check_listing, emit, row, kept in steps:
            if not chosen and row is None:
                continue
            if not shared or (overrides and name in overrides):
                listing = desired(product, rules)
            else:
                cached = cache[cls]
                if cached is None:
                    cached = cache[cls] = desired(product, rules)
                listing = cached
            if listing.enabled is False:
                continue
            if row is not None:
                kept.append(row(listing))
            if chosen:
                check_listing(listing, emit)
    for plan, step in zip(plans, steps):
        if plan.row is not None:
            findings.extend(_cross_findings(plan, step[6], wanted))
    findings.sort(key=_sort_key)
    return findings


# -- results ----------------------------------------------------------------------------------
def summary(findings: Iterable[Finding]) -> dict[str, int]:
    errors = warnings = 0
    for f in findings:
        if f.severity == "error":
            errors += 1
        else:
            warnings += 1
    return {"errors": errors, "warnings": warnings}


def exit_code(findings: Iterable[Finding], strict: bool = False) -> int:
    """1 when any finding is an error (or, with ``strict``, a warning); else 0."""
    counts = summary(findings)
    if counts["errors"] or (strict and counts["warnings"]):
        return int(Exit.FAILED)
    return int(Exit.OK)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _counts_text(counts: dict[str, int]) -> str:
    return f"{_plural(counts['errors'], 'error')}, {_plural(counts['warnings'], 'warning')}"


def _sources(findings: Iterable[Finding]) -> dict[str, str]:
    """Each rule id found -> its documentation URL (rules with one only), in rule id order."""
    return {f.rule_id: f.source for f in sorted(findings, key=attrgetter("rule_id")) if f.source}


def render_text(findings: Sequence[Finding]) -> str:
    """Findings grouped per channel, one line each, then the vendor documentation page of each rule
    found (where there is one), and a summary line."""
    if not findings:
        return "No problems found: 0 errors, 0 warnings.\n"
    by_channel: dict[str, list[Finding]] = defaultdict(list)
    for f in sorted(findings, key=_sort_key):
        by_channel[f.channel].append(f)
    lines: list[str] = []
    for channel, items in by_channel.items():
        lines.append(f"{channel}: {_counts_text(summary(items))}")
        sku_w = min(max(len(f.sku) for f in items), 40)
        field_w = max(len(f.field) for f in items)
        for f in items:
            lines.append(
                f"  {f.severity:<7} {f.sku:<{sku_w}}  {f.field:<{field_w}}  {f.message}  [{f.rule_id}]"
            )
        lines.append("")
    sources = _sources(findings)
    if sources:
        lines.append("Rule documentation:")
        id_w = max(len(rid) for rid in sources)
        lines.extend(f"  {rid:<{id_w}}  {url}" for rid, url in sources.items())
        lines.append("")
    lines.append(f"{_counts_text(summary(findings))} in {_plural(len(by_channel), 'channel')}.")
    return "\n".join(lines) + "\n"


def render_json(findings: Sequence[Finding]) -> str:
    """``{"findings": [...], "summary": {"errors": n, "warnings": n}}``; each finding's ``source``
    is the vendor's documentation URL for its rule (``null`` when there is none)."""
    ordered = sorted(findings, key=_sort_key)
    doc = {"findings": [f.to_json() for f in ordered], "summary": summary(ordered)}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding], file: str | None = None) -> str:
    """GitHub Actions workflow commands, one per finding: ``::error title=RULE::text``, the text
    ending with ``(see URL)``, the vendor's documentation page for the rule, where there is one.

    ``file`` (the catalog's path in the repository) attaches each annotation to that file.
    """
    lines = []
    for f in sorted(findings, key=_sort_key):
        command = "error" if f.severity == "error" else "warning"
        props = f"title={_gh_property(f.rule_id)}"
        if file:
            props = f"file={_gh_property(file)},{props}"
        text = f"{f.channel} {f.sku} {f.field}: {f.message}"
        if f.source:
            text += f" (see {f.source})"
        lines.append(f"::{command} {props}::" + _gh_data(text))
    return "".join(line + "\n" for line in lines)


SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _artifact_uri(path: str) -> str:
    p = PurePath(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(p.as_posix())


def render_sarif(findings: Sequence[Finding], catalog_path: str | None = None) -> str:
    """A SARIF 2.1.0 log: one run of the ``omnisync`` tool, a rule per rule id found (``helpUri``:
    the vendor's documentation page for the rule, where there is one), a result per finding located
    at ``channel/sku/field`` (and in the catalog file, when given)."""
    ordered = sorted(findings, key=_sort_key)
    known = rules_by_id()
    rule_ids = sorted({f.rule_id for f in ordered})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    first = {f.rule_id: f for f in reversed(ordered)}
    descriptors: list[dict[str, Any]] = []
    for rid in rule_ids:
        rule = known.get(rid)
        severity = rule.severity if rule is not None else first[rid].severity
        descriptor: dict[str, Any] = {
            "id": rid,
            "shortDescription": {"text": rule.message if rule is not None else rid},
            "defaultConfiguration": {"level": "error" if severity == "error" else "warning"},
            "properties": {"tags": [rid.split(".", 1)[0]]},
        }
        doc = rule.doc if rule is not None else first[rid].source
        if doc:
            descriptor["helpUri"] = doc
        descriptors.append(descriptor)
    results: list[dict[str, Any]] = []
    for f in ordered:
        location: dict[str, Any] = {
            "logicalLocations": [
                {
                    "name": f.field,
                    "fullyQualifiedName": f"{f.channel}/{f.sku}/{f.field}",
                    "kind": "member",
                }
            ],
        }
        if catalog_path:
            uri = _artifact_uri(catalog_path)
            location["physicalLocation"] = {"artifactLocation": {"uri": uri}}
        fingerprint = sha256(f"{f.rule_id}\0{f.channel}\0{f.sku}\0{f.field}".encode()).hexdigest()
        results.append(
            {
                "ruleId": f.rule_id,
                "ruleIndex": index[f.rule_id],
                "level": "error" if f.severity == "error" else "warning",
                "message": {"text": f"{f.channel} {f.sku} {f.field}: {f.message}"},
                "locations": [location],
                "partialFingerprints": {"omnisyncFinding/v1": fingerprint},
                "properties": {"channel": f.channel, "sku": f.sku, "field": f.field},
            }
        )
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "omnisync",
                        "version": __version__,
                        "rules": descriptors,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# The check kinds the engine implements (a test keeps this in step with validation_rules.CHECKS).
IMPLEMENTED_CHECKS: frozenset[str] = frozenset(_COMPILERS) | {"channel_currency"} | frozenset(CROSS_CHECKS)
