"""README, docs/, channels.toml.example, --help, the registry and .ci/run must not drift apart.

The README keeps what a newcomer reads first and links the rest: one page per channel type in
docs/channels/, the common config keys in docs/configuration.md, and docs/how-it-works.md,
docs/failure-modes.md, docs/performance.md. :func:`check_docs` is the checker for the channel pages;
it is run over the real docs and, once, over a deliberately broken page (tests/fixtures/docs_broken).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel
from typer.testing import CliRunner

from omnisync import channels
from omnisync.channels.base import ChannelConfig
from omnisync.cli import app
from omnisync.config import TOP_LEVEL_KEYS, load_config
from omnisync.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
BROKEN_DOCS = Path(__file__).resolve().parent / "fixtures" / "docs_broken"
README = (REPO / "README.md").read_text()
EXAMPLE = (REPO / "channels.toml.example").read_text()
HOW_IT_WORKS = (DOCS / "how-it-works.md").read_text()

TOML_BLOCK = re.compile(r"^```toml\n(.*?)^```", re.M | re.S)
CODE_BLOCK = re.compile(r"^\s*```[a-z]*\n(.*?)^\s*```", re.M | re.S)
ENV_VAR = re.compile(r'^\s*[a-z_]+_env\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)"', re.M)
READ_LINE = re.compile(r"^\*\*Read:\*\* (full|incremental)\b", re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _key_row(key: str) -> re.Pattern[str]:
    """A markdown table row whose first cell is the key, e.g. ``| `batch_limit` | ... |``."""
    return re.compile(rf"^\|\s*`{re.escape(key)}`\s*\|", re.M)


def _sub_models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields of ``model`` that are tables of their own ([channels.NAME.price] ...)."""
    out: dict[str, type[BaseModel]] = {}
    for key, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            out[key] = info.annotation
    return out


def check_docs(docs: Path, types: list[str] | None = None) -> list[str]:
    """Every problem of the channel docs under ``docs``, one line each (empty: all is well).

    - every registered channel type has a page ``docs/channels/<type>.md``;
    - every ```toml block of a page loads with omnisync's config loader (the ``*_env`` variables it
      names set to dummy values) and configures a channel of the page's type;
    - every key of the type's Config model (its own and those inherited from ChannelConfig) is the
      first cell of a table row on the page;
    - the page says which read the channel uses (``**Read:** full`` or ``**Read:** incremental``),
      matching the adapter's capabilities (``changed_since``);
    - docs/configuration.md has a row for every top-level key of channels.toml and every key of the
      [price], [stock] and [content] tables.
    """
    problems: list[str] = []
    for type_name in types if types is not None else channels.types():
        page = docs / "channels" / f"{type_name}.md"
        if not page.is_file():
            problems.append(f"{type_name}: no page (expected {page})")
            continue
        text = page.read_text()
        model = channels.load(type_name).Config
        blocks = TOML_BLOCK.findall(text)
        if not blocks:
            problems.append(f"{type_name}: no ```toml config block in {page.name}")
        loaded: list[ChannelConfig] = []
        for i, block in enumerate(blocks, 1):
            env = {var: "dummy" for var in ENV_VAR.findall(block)}
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "channels.toml"
                target.write_text(block)
                try:
                    config = load_config(target, env=env)
                except ConfigError as exc:
                    problems.append(f"{type_name}: toml block {i} does not load: {exc.render()}")
                    continue
            ours = [cfg for cfg in config.channels.values() if cfg.type == type_name]
            if not ours:
                problems.append(f"{type_name}: toml block {i} configures no {type_name} channel")
            loaded.extend(ours)
        for key in model.model_fields:
            if not _key_row(key).search(text):
                problems.append(f"{type_name}: config key {key!r} is not in the keys table of {page.name}")
        reads = READ_LINE.findall(text)
        if not reads:
            problems.append(f"{type_name}: {page.name} does not say which read it uses (**Read:** ...)")
        elif loaded:
            caps = channels.load(type_name).capabilities_for(loaded[0])
            want = "incremental" if caps.changed_since else "full"
            if reads[0] != want:
                problems.append(f"{type_name}: {page.name} says **Read:** {reads[0]}, the adapter: {want}")
    configuration = docs / "configuration.md"
    if not configuration.is_file():
        problems.append(f"no {configuration}")
    else:
        text = configuration.read_text()
        for key in TOP_LEVEL_KEYS:
            if not _key_row(key).search(text):
                problems.append(f"configuration.md: top-level key {key!r} has no table row")
        for table, sub in _sub_models(ChannelConfig).items():
            for key in sub.model_fields:
                if not _key_row(key).search(text):
                    problems.append(f"configuration.md: [{table}] key {key!r} has no table row")
    return problems


def test_every_channel_page_is_complete_and_its_config_loads() -> None:
    assert check_docs(DOCS) == []


def test_the_checker_reports_a_broken_page() -> None:
    """Shown failing once: the fixture's woocommerce page has no row for ``batch_limit`` and a
    config block that does not load (``consumer_secret_env`` is missing); the other registered
    types have no page there at all."""
    problems = check_docs(BROKEN_DOCS)
    text = "\n".join(problems)
    assert "woocommerce: config key 'batch_limit' is not in the keys table of woocommerce.md" in problems
    assert re.search(r"^woocommerce: toml block 1 does not load: .*consumer_secret_env", text, re.M)
    assert not [p for p in problems if p.startswith("woocommerce: config key 'consumer_key_env'")]
    assert "woocommerce: no page" not in text
    for type_name in channels.types():
        if type_name != "woocommerce":
            assert f"{type_name}: no page" in text, type_name


def test_every_other_toml_block_in_the_docs_loads(tmp_path: Path) -> None:
    """The config examples outside the channel pages (checked by check_docs) load too."""
    pages = [p for p in sorted(DOCS.rglob("*.md")) if p.parent != DOCS / "channels"]
    blocks = [(page, block) for page in pages for block in TOML_BLOCK.findall(page.read_text())]
    assert blocks
    for i, (page, block) in enumerate(blocks):
        target = tmp_path / f"{i}.toml"
        target.write_text(block)
        config = load_config(target, env={var: "dummy" for var in ENV_VAR.findall(block)})
        assert config.channels, page


def test_every_relative_link_points_to_an_existing_file() -> None:
    pages = [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL (https:, mailto:) or an anchor on the same page
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert broken == []


def test_readme_links_every_page() -> None:
    for page in sorted(DOCS.rglob("*.md")):
        assert f"({page.relative_to(REPO)})" in README, page
    assert "(docs/scaling.md)" in README


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_cmd = "python -m pytest"
    assert f"pip install '.[test]' && {test_cmd}" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line.strip() and not line.startswith("#")][-1] == test_cmd


def test_readme_names_the_checks_ci_runs() -> None:
    """The README's Development section lists the type check and lint commands of .ci/run."""
    ci = (REPO / ".ci" / "run").read_text()
    section = README[README.index("## Development") :]
    for cmd in ("mypy src", "ruff check .", "ruff format --check ."):
        assert re.search(rf"^{re.escape(cmd)}$", ci, re.M), cmd
        assert cmd in section, cmd


def test_readme_has_the_two_setup_commands() -> None:
    assert "pip install . && omnisync demo" in README


def test_every_exit_code_is_documented_in_readme_and_help() -> None:
    from omnisync.errors import Exit

    help_text = CliRunner().invoke(app, ["--help"]).stdout
    for code in Exit:
        assert re.search(rf"^\| {int(code)} \|", README, re.M), code
        assert str(int(code)) in help_text


def test_every_channel_type_is_in_the_example_the_readme_and_its_page() -> None:
    for type_name in channels.types():
        assert f'type = "{type_name}"' in EXAMPLE, type_name
        assert f"| `{type_name}` |" in README, type_name
        assert f"(docs/channels/{type_name}.md)" in README, type_name
        page = (DOCS / "channels" / f"{type_name}.md").read_text()
        assert page.startswith(f"# {type_name}"), type_name


def test_example_config_loads(tmp_path: Path) -> None:
    target = tmp_path / "channels.toml"
    shutil.copy(REPO / "channels.toml.example", target)
    env = {var: "x" for var in re.findall(r'_env = "([A-Z0-9_]+)"', EXAMPLE)}
    config = load_config(target, env=env)
    assert {c.type for c in config.channels.values()} == set(channels.types())


def test_every_command_in_the_docs_exists() -> None:
    """Every ``omnisync CMD`` at the start of a README line, or of a line in a code block of a
    docs page, is a command of ``omnisync --help``."""
    help_text = CliRunner().invoke(app, ["--help"]).stdout
    found = {("README.md", cmd) for cmd in re.findall(r"^omnisync (\w+)", README, re.M)}
    for page in [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]:
        for block in CODE_BLOCK.findall(page.read_text()):
            found |= {(page.name, cmd) for cmd in re.findall(r"^\s*omnisync (\w+)", block, re.M)}
    assert found
    for page_name, cmd in sorted(found):
        assert cmd in help_text, (page_name, cmd)


def test_readme_names_every_validate_rule_set() -> None:
    from omnisync.validation_rules import RULE_SETS

    section = README[README.index("## Use in CI") : README.index("## The catalog")]
    for name in RULE_SETS:
        assert name in section, name


def test_every_channel_type_states_its_capabilities_offline(tmp_path: Path) -> None:
    """`omnisync validate` needs each channel's capabilities without connecting or secrets."""
    target = tmp_path / "channels.toml"
    shutil.copy(REPO / "channels.toml.example", target)
    config = load_config(target, env={})
    for cfg in config.channels.values():
        caps = channels.load(cfg.type).capabilities_for(cfg)
        assert caps.fields and caps.max_write_batch >= 1 and caps.read_page_size >= 1, cfg.type


def test_docs_say_per_channel_which_read_it_uses(tmp_path: Path) -> None:
    """The incremental-reads table (docs/how-it-works.md) names every channel type, and says "yes"
    exactly for the types whose adapter reads only what changed (Capabilities.changed_since)."""
    target = tmp_path / "channels.toml"
    shutil.copy(REPO / "channels.toml.example", target)
    config = load_config(target, env={})
    rows = dict(re.findall(r"^\| `([a-z]+)` \| [^|]+ \| (yes|no) \|", HOW_IT_WORKS, re.M))
    for cfg in config.channels.values():
        caps = channels.load(cfg.type).capabilities_for(cfg)
        assert cfg.type in rows, cfg.type
        assert rows[cfg.type] == ("yes" if caps.changed_since else "no"), cfg.type
