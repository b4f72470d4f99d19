"""Human views of plans, results, status and history (rich markup; JSON views live on the values).

Renderers take values and return markup strings; the CLI prints them. User content is escaped, so
a title with ``[brackets]`` prints as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.markup import escape

from .diff import Plan
from .engine import RunReport
from .models import value_to_text
from .state import JournalEntry


def _v(value: Any) -> str:
    return escape(value_to_text(value))


def render_plan(plan: Plan, *, show_unchanged: bool = False) -> str:
    lines: list[str] = []
    if plan.sales:
        lines.append("[bold]Sales seen on channels since the last run[/] (taken out of the catalog once):")
        for s in plan.sales:
            where = ", ".join(f"{units} from {escape(loc)}" for loc, units in s.allocation.items())
            extra = f" [red](oversold by {s.oversold})[/]" if s.oversold else ""
            lines.append(
                f"  [yellow]-[/] {escape(s.channel)}  {escape(s.sku)}  sold {s.units} "
                f"({s.field} {s.base} -> {s.observed}){'; ' + where if where else ''}{extra}"
            )
        lines.append("")
    hidden = 0
    for cp in plan.channels:
        if cp.error:
            lines.append(f"[bold]{escape(cp.channel)}[/]: [red]not planned: {escape(cp.error)}[/]")
            continue
        creates = sum(1 for w in cp.writes if w.create)
        updates = len(cp.writes) - creates
        lines.append(
            f"[bold]{escape(cp.channel)}[/]: {updates} to update, {creates} to create, "
            f"{cp.unchanged} unchanged"
        )
        for w in cp.writes:
            if w.create:
                values = "  ".join(f"{escape(c.field)}={_v(c.new)}" for c in w.changes)
                lines.append(f"  [green]+[/] {escape(w.sku)}  {values}")
                continue
            lines.append(f"  [yellow]~[/] {escape(w.sku)}")
            for c in w.changes:
                lines.append(f"      {escape(c.field):<12} {_v(c.old)} -> {_v(c.new)}")
        hidden += cp.unchanged
        if cp.missing:
            lines.append(
                f"  [red]![/] {len(cp.missing)} in the catalog but not on the channel "
                f"(it cannot create listings): {escape(_few(cp.missing))}"
            )
        for sku, reason in cp.invalid:
            lines.append(f"  [red]![/] {escape(sku)} not planned: {escape(reason)}")
        if cp.unknown:
            lines.append(
                f"  [dim]{len(cp.unknown)} on the channel but not in the catalog, left "
                f"alone: {escape(_few(cp.unknown))}[/]"
            )
    lines.append("")
    units = sum(s.units for s in plan.sales)
    summary = (
        f"[bold]Plan:[/] {plan.change_count} change(s) in {plan.write_count} listing(s) on "
        f"{sum(1 for c in plan.channels if c.writes)} channel(s)"
    )
    if plan.sales:
        summary += f", {len(plan.sales)} sale(s) ({units} unit(s)) to take out of the catalog"
    if hidden and not show_unchanged:
        summary += f"; {hidden} unchanged hidden"
    lines.append(summary + ".")
    if plan.empty:
        lines.append("No changes. Every channel matches the catalog.")
    return "\n".join(lines)


def _few(items: Sequence[str], n: int = 5) -> str:
    head = ", ".join(items[:n])
    return head + (f" and {len(items) - n} more" if len(items) > n else "")


def render_report(report: RunReport, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for r in report.channels.values():
        ok, failed = r.count("ok"), r.count("failed") + r.count("conflict")
        unknown, pending = r.count("unknown"), r.count("pending")
        colour = {"ok": "green", "partial": "yellow", "failed": "red"}.get(r.status, "white")
        line = f"[bold]{escape(r.name)}[/]: [{colour}]{r.status}[/] - {ok} applied, {failed} failed"
        if unknown:
            line += f", {unknown} unconfirmed (reconciled next run)"
        if pending:
            line += f", {pending} pending"
        if verbose:
            a = r.api or {"calls": r.calls}
            line += f" ({a['calls']} API calls"
            if a.get("reads") or a.get("writes"):
                line += (
                    f": {a.get('reads', 0)} reads, {a.get('writes', 0)} writes, "
                    f"{a.get('retries', 0)} retries, {a.get('throttled', 0)} throttled"
                )
            line += ")"
        lines.append(line)
        if r.error:
            lines.append(f"  [red]{escape(r.error)}[/]")
        for note in r.reconciled:
            lines.append(f"  [dim]interrupted write reconciled: {escape(note)}[/]")
        for o in r.outcomes:
            if o.status != "ok":
                lines.append(
                    f"  [red]x[/] {escape(o.sku)} {escape(o.field)} {_v(o.old)} -> {_v(o.new)}: "
                    f"{o.status}{': ' + escape(o.error) if o.error else ''}"
                )
    for note in report.notes:
        lines.append(escape(note))
    return "\n".join(lines)


def render_status(
    rows: Sequence[Mapping[str, Any]], pending: Mapping[str, int], configured: Iterable[str]
) -> str:
    by_name = {r["channel"]: r for r in rows}
    lines = [
        f"{'channel':<20} {'last run':<26} {'result':<8} {'applied':>7} {'failed':>6} "
        f"{'pending':>7} {'drift':>5}"
    ]
    for name in configured:
        r = by_name.get(name)
        if r is None:
            lines.append(
                f"{escape(name):<20} {'never':<26} {'-':<8} {'-':>7} {'-':>6} "
                f"{pending.get(name, 0):>7} {'-':>5}"
            )
            continue
        lines.append(
            f"{escape(name):<20} {r['finished_at'] or r['started_at']:<26} {r['status']:<8} "
            f"{r['applied']:>7} {r['failed']:>6} {pending.get(name, 0):>7} {r['drift']:>5}"
        )
    return "\n".join(lines)


def render_pending(jobs: Sequence[Mapping[str, Any]]) -> str:
    """Feed jobs still processing (asynchronous channels), one line each."""
    lines = []
    for j in jobs:
        job = j["job"] or "submission not confirmed yet"
        lines.append(
            f"{escape(j['channel'])}: feed {escape(job)} pending since {j['since']}: "
            f"{escape(_few(j['skus']))} (the next push collects its result)"
        )
    return "\n".join(lines)


def render_history(entries: Sequence[JournalEntry]) -> str:
    if not entries:
        return "No writes yet."
    lines = []
    for e in entries:
        err = f"  ({escape(e.error)})" if e.error and e.status != "ok" else ""
        lines.append(
            f"{e.updated_at}  {escape(e.channel)}  {escape(e.sku)}  {escape(e.field)}  "
            f"{_v(e.old)} -> {_v(e.new)}  {e.status}{err}"
        )
    return "\n".join(lines)


def history_json(entries: Sequence[JournalEntry]) -> str:
    from .models import value_to_json

    return json.dumps(
        [
            {
                "id": e.id,
                "run_id": e.run_id,
                "when": e.updated_at,
                "channel": e.channel,
                "sku": e.sku,
                "field": e.field,
                "old": value_to_json(e.old),
                "new": value_to_json(e.new),
                "outcome": e.status,
                "error": e.error,
            }
            for e in entries
        ],
        indent=2,
    )
