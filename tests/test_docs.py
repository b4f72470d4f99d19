"""README, channels.toml.example, --help, the registry and .ci/run must not drift apart."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from omnisync import channels
from omnisync.cli import app
from omnisync.config import load_config

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
EXAMPLE = (REPO / "channels.toml.example").read_text()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_cmd = "python -m pytest"
    assert f"pip install '.[test]' && {test_cmd}" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line.strip() and not line.startswith("#")][-1] == test_cmd


def test_readme_has_the_two_setup_commands() -> None:
    assert "pip install . && omnisync demo" in README


def test_every_exit_code_is_documented_in_readme_and_help() -> None:
    from omnisync.errors import Exit

    help_text = CliRunner().invoke(app, ["--help"]).stdout
    for code in Exit:
        assert re.search(rf"^\| {int(code)} \|", README, re.M), code
        assert str(int(code)) in help_text


def test_every_channel_type_is_in_the_example_and_the_readme() -> None:
    for type_name in channels.types():
        assert f'type = "{type_name}"' in EXAMPLE, type_name
        assert f"| `{type_name}` |" in README, type_name
        assert f"### {type_name}" in README, type_name


def test_example_config_loads(tmp_path: Path) -> None:
    target = tmp_path / "channels.toml"
    shutil.copy(REPO / "channels.toml.example", target)
    env = {var: "x" for var in re.findall(r'_env = "([A-Z0-9_]+)"', EXAMPLE)}
    config = load_config(target, env=env)
    assert {c.type for c in config.channels.values()} == set(channels.types())


def test_every_command_in_readme_exists() -> None:
    help_text = CliRunner().invoke(app, ["--help"]).stdout
    for cmd in set(re.findall(r"^omnisync (\w+)", README, re.M)):
        assert cmd in help_text, cmd


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


def test_readme_says_per_channel_which_read_it_uses(tmp_path: Path) -> None:
    """The README's incremental-reads table names every channel type, and says "yes" exactly for
    the types whose adapter reads only what changed (Capabilities.changed_since)."""
    target = tmp_path / "channels.toml"
    shutil.copy(REPO / "channels.toml.example", target)
    config = load_config(target, env={})
    rows = dict(re.findall(r"^\| `([a-z]+)` \| [^|]+ \| (yes|no) \|", README, re.M))
    for cfg in config.channels.values():
        caps = channels.load(cfg.type).capabilities_for(cfg)
        assert cfg.type in rows, cfg.type
        assert rows[cfg.type] == ("yes" if caps.changed_since else "no"), cfg.type
