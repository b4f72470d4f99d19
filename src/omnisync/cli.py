"""The ``omnisync`` command line (Typer). Options, wiring, rendering and exit codes only.

Data goes to stdout (plans, results, JSON); progress, logs and warnings to stderr. Heavy modules
and adapters are imported inside the commands, so ``omnisync --help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from .config import Config

HELP = """Keep a seller's listings true on every sales channel.

omnisync reads your catalog (SQLite) and channels.toml, shows the plan (stock, price and content
changes per channel), applies exactly that plan, and reports per channel and SKU.

Exit codes: 0 ok or nothing to do; 1 some listings failed, a guard refused the plan, or validation
found errors; 2 bad input (usage, config, catalog, CSV) and nothing was sent; 3 a whole channel
failed (auth, unreachable after retries); 4 changes pending (plan --detailed-exitcode); 75 another
run holds the lock, or another program kept catalog.db or state.db locked past busy_timeout_seconds.
"""

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class Globals:
    def __init__(self) -> None:
        self.config: Path = Path("channels.toml")
        self.catalog: Path | None = None
        self.state: Path | None = None
        self.quiet = False
        self.verbose = False
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, soft_wrap=True)
        return self._err

    def info(self, message: str) -> None:
        if not self.quiet:
            self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        self.err.print(f"warning: {message}", markup=False)


G = Globals()


@app.callback()
def main_options(
    config: Annotated[
        Path, typer.Option("--config", "-c", envvar="OMNISYNC_CONFIG", help="Channel config (TOML).")
    ] = Path("channels.toml"),
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            envvar="OMNISYNC_CATALOG",
            help="Catalog SQLite file [default: the config's `catalog`, else ./catalog.db].",
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            envvar="OMNISYNC_STATE",
            help="omnisync's state file [default: the config's `state`, else state.db beside it].",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only problems (for cron).")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every API request and count calls.")
    ] = False,
) -> None:
    G.config, G.catalog, G.state, G.quiet, G.verbose = config, catalog, state, quiet, verbose
    G._out = G._err = None


def main() -> None:
    """Console-script entry point."""
    app()


# -- error handling --------------------------------------------------------------------------
@contextmanager
def handled() -> Iterator[None]:
    from .errors import Exit, InputError, OmnisyncError, is_busy

    try:
        yield
    except typer.Exit:
        raise
    except InputError as exc:
        G.err.print(f"error: {exc}", markup=False)
        raise typer.Exit(int(Exit.BAD_INPUT)) from None
    except OmnisyncError as exc:
        G.err.print(f"error: {exc}", markup=False)
        raise typer.Exit(int(exc.exit_code)) from None
    except Exception as exc:
        if not is_busy(exc):
            raise
        # the catalog and state code name the busy file; this is the net under anything they missed
        G.err.print(
            f"error: the catalog or state.db is locked by another program ({exc}); "
            "run again when it has finished, or raise busy_timeout_seconds in the config",
            markup=False,
        )
        raise typer.Exit(int(Exit.LOCKED)) from None
    except KeyboardInterrupt:
        G.err.print("interrupted; the next run reconciles what was in flight", markup=False)
        raise typer.Exit(130) from None


class Resolved:
    """The loaded config with the command line's path overrides applied."""

    def __init__(self, config: Config) -> None:
        self.loaded = config  # the config as loaded, for the functions of config.py that take one
        self.path = Path(config.path)
        self.catalog = G.catalog or Path(config.catalog)
        self.state = G.state or Path(config.state)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loaded, name)


def load() -> Resolved:
    from .config import insecure_permissions_warning, load_config

    config = load_config(G.config, env=os.environ)
    warning = insecure_permissions_warning(G.config, config)
    if warning:
        G.warn(warning)
    return Resolved(config)


def catalog_target() -> tuple[Path, float]:
    """For init/import/export: --catalog, else the config's catalog when there is a config; and
    how long to wait for another program's lock on it (the config's busy_timeout_seconds when the
    config is read, else the default)."""
    from .errors import DEFAULT_BUSY_TIMEOUT_SECONDS

    if G.catalog is not None:
        return G.catalog, DEFAULT_BUSY_TIMEOUT_SECONDS
    if G.config.exists():
        config = load()
        return Path(config.catalog), config.busy_timeout_seconds
    return Path("catalog.db"), DEFAULT_BUSY_TIMEOUT_SECONDS


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- catalog commands ------------------------------------------------------------------------
@app.command()
def init() -> None:
    """Create the catalog's tables (safe to run again)."""
    with handled():
        from .catalog import init_catalog

        path, busy_timeout = catalog_target()
        init_catalog(path, busy_timeout=busy_timeout)
        G.info(f"catalog ready: {path}")


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="CSV file to upsert by SKU.")]) -> None:
    """Import a CSV into the catalog: all rows or none, every bad row reported."""
    with handled():
        from .catalog import import_csv, open_catalog

        path, busy_timeout = catalog_target()
        report = import_csv(open_catalog(path, busy_timeout=busy_timeout), file)
        G.info(f"imported {file}: {report.inserted} new, {report.updated} updated")


@app.command()
def export(file: Annotated[str, typer.Argument(help="CSV file to write, or - for stdout.")] = "-") -> None:
    """Export the catalog as CSV (the import format; round-trips exactly)."""
    with handled():
        from .catalog import export_csv, open_catalog

        path, busy_timeout = catalog_target()
        db = open_catalog(path, busy_timeout=busy_timeout)
        if file == "-":
            export_csv(db, sys.stdout)
        else:
            n = export_csv(db, Path(file))
            G.info(f"exported {n} SKU(s) to {file}")


# -- plan and push ---------------------------------------------------------------------------
ChannelOpt = Annotated[list[str] | None, typer.Option("--channel", help="Only this channel (repeatable).")]
SkuOpt = Annotated[list[str] | None, typer.Option("--sku", help="Only this SKU (repeatable).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only problems (for cron).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log every API request and count calls.")]


def _flags(quiet: bool, verbose: bool) -> None:
    """-q and -v work before or after the command name."""
    G.quiet = G.quiet or quiet
    G.verbose = G.verbose or verbose


def _env(config: Resolved) -> dict[str, str]:
    """The environment secrets come from (plus the OS keyring when the config names a service)."""
    from .config import secret_env

    return secret_env(config.loaded, os.environ)


def _engine(config: Resolved, progress: Any = None) -> Any:
    from .engine import Engine

    def log(message: str) -> None:
        if G.verbose:
            G.err.print(message, markup=False)

    return Engine(config, env=_env(config), log=log, verbose=G.verbose, progress=progress)


@contextmanager
def _progress_bars() -> Iterator[Any]:
    """Progress bars on stderr, only on a terminal and never with -q."""
    if G.quiet or not G.err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bars: dict[str, Any] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=G.err, transient=True
    ) as progress:

        def update(channel: str, done: int, total: int) -> None:
            if channel not in bars:
                bars[channel] = progress.add_task(f"writing {channel}", total=total)
            progress.update(bars[channel], completed=done)

        yield update


def _show_plan(as_json: bool) -> Callable[[Any], None]:
    def show(plan: Any) -> None:
        if as_json:
            return
        from .render import render_plan

        if G.quiet and plan.empty:
            return
        if not G.quiet:
            G.out.print(render_plan(plan))

    return show


def _pending_feeds(config: Resolved, names: Sequence[str] | None) -> list[dict[str, Any]]:
    """The feed jobs of asynchronous channels still processing, from state.db (none without it)."""
    from .state import State

    if not Path(config.state).exists():
        return []
    st = State(Path(config.state), readonly=True, busy_timeout=config.busy_timeout_seconds)
    try:
        feeds = st.pending_jobs()
    finally:
        st.close()
    return [f for f in feeds if not names or f["channel"] in names]


@app.command()
def plan(
    channel: ChannelOpt = None,
    sku: SkuOpt = None,
    as_json: JsonOpt = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 4 when there are changes, 0 when none.")
    ] = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Show what push would change. Reads channels; never writes anything."""
    _flags(quiet, verbose)
    with handled():
        config = load()
        engine = _engine(config)
        report = engine.run("plan", names=channel, skus=sku, apply=False, show_plan=_show_plan(as_json))
        feeds = _pending_feeds(config, channel)
        if as_json:
            _emit_json({**report.plan.to_json(), **({"pending_feeds": feeds} if feeds else {})})
        elif feeds and not G.quiet:
            from .render import render_pending

            G.out.print(render_pending(feeds))
        code = report.exit_code
        if code == 0 and detailed_exitcode and not report.plan.empty:
            code = 4
        for r in report.channels.values():
            if r.error:
                G.err.print(f"error: {r.error}", markup=False)
        raise typer.Exit(code)


@app.command()
def push(
    channel: ChannelOpt = None,
    sku: SkuOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; send nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Allow a plan that zeroes many listings.")] = False,
    max_changes: Annotated[
        int | None, typer.Option("--max-changes", min=0, help="Refuse a plan with more changes than this.")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Only the SKUs whose last write failed.")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Plan, apply exactly that plan, verify, and report per channel and SKU."""
    _flags(quiet, verbose)
    with handled():
        from .render import render_report
        from .state import Lock

        config = load()
        if dry_run:
            report = _engine(config).run(
                "push --dry-run",
                names=channel,
                skus=sku,
                apply=False,
                retry_failed=retry_failed,
                show_plan=_show_plan(as_json),
            )
            if as_json:
                _emit_json(report.to_json())
            raise typer.Exit(report.exit_code)
        with Lock(Path(str(config.state) + ".lock")) as lock, _progress_bars() as bars:
            if lock.previous_pid:
                G.info(f"took over the lock left by pid {lock.previous_pid} (no longer running)")
            engine = _engine(config, progress=bars)
            report = engine.run(
                "push",
                names=channel,
                skus=sku,
                apply=True,
                max_changes=max_changes,
                yes=yes,
                retry_failed=retry_failed,
                show_plan=_show_plan(as_json),
            )
        if as_json:
            _emit_json(report.to_json())
        elif not (G.quiet and report.exit_code == 0):
            text = render_report(report, verbose=G.verbose)
            if text:
                (G.err if G.quiet else G.out).print(text)
        raise typer.Exit(report.exit_code)


# -- reporting -------------------------------------------------------------------------------
@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Per channel: last run, its result, pending writes and drift."""
    with handled():
        from .render import render_status
        from .state import State

        config = load()
        names = list(config.channels)
        if not Path(config.state).exists():
            rows: list[dict[str, Any]] = []
            pending: dict[str, int] = {}
            feeds: list[dict[str, Any]] = []
        else:
            st = State(Path(config.state), readonly=True, busy_timeout=config.busy_timeout_seconds)
            try:
                rows = st.channel_status()
                pending = {}
                for e in st.open_intents():
                    pending[e.channel] = pending.get(e.channel, 0) + 1
                feeds = st.pending_jobs()
            finally:
                st.close()
        if as_json:
            by = {r["channel"]: r for r in rows}
            _emit_json(
                [
                    {
                        "channel": n,
                        "last_run": by.get(n, {}).get("finished_at"),
                        "result": by.get(n, {}).get("status"),
                        "applied": by.get(n, {}).get("applied"),
                        "failed": by.get(n, {}).get("failed"),
                        "pending": pending.get(n, 0),
                        "drift": by.get(n, {}).get("drift"),
                        "read": by.get(n, {}).get("read_mode"),
                        "pending_feeds": [
                            {"job": f["job"], "skus": f["skus"], "since": f["since"]}
                            for f in feeds
                            if f["channel"] == n
                        ],
                    }
                    for n in names
                ]
            )
        else:
            G.out.print(render_status(rows, pending, names))
            if feeds:
                from .render import render_pending

                G.out.print(render_pending(feeds))


@app.command()
def history(
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    sku: Annotated[str | None, typer.Option("--sku", help="Only this SKU.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent N writes.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Every write: when, channel, SKU, field, old -> new, outcome."""
    with handled():
        from .render import history_json, render_history
        from .state import State

        config = load()
        if not Path(config.state).exists():
            entries = []
        else:
            st = State(Path(config.state), readonly=True, busy_timeout=config.busy_timeout_seconds)
            try:
                entries = st.history(channel=channel, sku=sku, limit=limit)
            finally:
                st.close()
        if as_json:
            sys.stdout.write(history_json(entries) + "\n")
        else:
            G.out.print(render_history(entries))


@app.command()
def channels(
    check: Annotated[bool, typer.Option("--check", help="Check auth and reachability.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the configured channels (and with --check, test each one)."""
    with handled():
        from .config import check_secrets
        from .errors import ChannelError, Exit

        config = load()
        engine = _engine(config)
        rows = []
        worst = 0
        cfgs = list(config.channels.values())
        if check:
            check_secrets(config.loaded, engine.env, [c.name for c in cfgs if c.enabled])
        for cfg in cfgs:
            row: dict[str, Any] = {"channel": cfg.name, "type": cfg.type, "enabled": cfg.enabled}
            if check and cfg.enabled:
                chans = engine.open_channels([cfg])
                try:
                    row["check"] = "ok"
                    row["detail"] = chans[cfg.name].check()
                except ChannelError as exc:
                    row["check"], row["detail"] = "failed", str(exc)
                    worst = int(Exit.CHANNEL_FAILED)
                finally:
                    chans[cfg.name].close()
            rows.append(row)
        if as_json:
            _emit_json(rows)
        else:
            for row in rows:
                line = f"{row['channel']:<20} {row['type']:<12} {'enabled' if row['enabled'] else 'disabled'}"
                if "check" in row:
                    line += f"  {row['check']}: {row['detail']}"
                G.out.print(line, markup=False)
        raise typer.Exit(worst)


# -- demo ------------------------------------------------------------------------------------
@app.command()
def demo(
    directory: Annotated[
        Path | None, typer.Argument(help="Folder for the demo's files [default: a new temporary folder].")
    ] = None,
) -> None:
    """Run the whole push offline: two sandbox channels and a feed, sales, and a second push."""
    with handled():
        from .demo import run_demo

        raise typer.Exit(run_demo(directory, out=G.out, err=G.err))


class Fmt(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


@app.command()
def validate(
    channel: ChannelOpt = None,
    sku: SkuOpt = None,
    fmt: Annotated[
        Fmt,
        typer.Option("--format", help="text, json, github (workflow annotations) or sarif (SARIF 2.1.0)."),
    ] = Fmt.text,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 on warnings too.")] = False,
) -> None:
    """Check the catalog against every channel's listing rules, offline (for CI before publish).

    What is checked is what would be sent: the listing after each channel's price and content
    rules. Exit 1 on any error (and on warnings with --strict), 0 otherwise, 2 on bad input.
    """
    with handled():
        from . import channels as registry
        from . import validate as v
        from .catalog import open_catalog, read_products

        config = load()
        cfgs = config.enabled_channels(channel)
        pairs = [(cfg, registry.load(cfg.type).capabilities_for(cfg)) for cfg in cfgs]
        db = open_catalog(Path(config.catalog), busy_timeout=config.busy_timeout_seconds)
        products = read_products(db, sku)
        findings = v.validate(products, pairs, skus=sku)
        if fmt is Fmt.json:
            text = v.render_json(findings)
        elif fmt is Fmt.github:
            text = v.render_github(findings, file=str(config.catalog))
        elif fmt is Fmt.sarif:
            text = v.render_sarif(findings, catalog_path=str(config.catalog))
        else:
            text = v.render_text(findings)
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        raise typer.Exit(v.exit_code(findings, strict))


if __name__ == "__main__":  # pragma: no cover
    main()
