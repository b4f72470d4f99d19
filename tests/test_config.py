"""channels.toml loading: every bad config names the file, the line and the dotted key."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync import channels as registry
from omnisync.channels.base import BaseChannel, ChannelConfig
from omnisync.config import (
    Config,
    ConfigProblems,
    KeyLocator,
    check_secrets,
    dotted,
    insecure_permissions_warning,
    load_config,
)
from omnisync.errors import ConfigError, Exit


class FakeConfig(ChannelConfig):
    """A test-only channel type: a file path and an optional secret named by env var."""

    path: str
    token_env: str | None = None


class FakeChannel(BaseChannel):
    Config = FakeConfig


class NoConfigChannel:
    """Registered to check that a type without a ChannelConfig model is refused cleanly."""

    Config = dict


@pytest.fixture(autouse=True, scope="module")
def fake_types() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(registry.REGISTRY, "fake", f"{__name__}:FakeChannel")
        mp.setitem(registry.REGISTRY, "noconfig", f"{__name__}:NoConfigChannel")
        mp.setitem(registry.REGISTRY, "ghost", "omnisync.channels.no_such_module:Ghost")
        yield


def doc(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def write(tmp_path: Path, text: str, name: str = "channels.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = doc("""
    [channels.shop]
    type = "fake"
    path = "shop.db"
    """)


# -- loading good files ------------------------------------------------------------------------


def test_the_documented_layout_loads_with_exact_amounts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        doc("""
        catalog = "catalog.db"        # optional
        state = "data/state.db"

        [channels.shop]               # the table key is the channel's name
        type = "fake"
        path = "sandbox-shop.db"
        token_env = "SHOP_TOKEN"
        [channels.shop.price]
        markup_percent = 10
        ending = 0.99
        add = 0.5
        [channels.shop.stock]
        buffer = 2

        [channels.another]
        type = "fake"
        path = "b.db"
        enabled = false
        """),
    )
    config = load_config(path, env={})
    assert list(config.channels) == ["shop", "another"]
    shop = config.channels["shop"]
    assert isinstance(shop, FakeConfig)
    assert shop.name == "shop" and shop.path == "sandbox-shop.db"
    assert shop.price.ending == Decimal("0.99") and shop.price.add == Decimal("0.5")
    assert shop.price.markup_percent == Decimal(10)
    assert shop.stock.buffer == 2
    assert config.catalog == tmp_path / "catalog.db"
    assert config.state == tmp_path / "data" / "state.db"
    assert config.path == path and config.config_dir == tmp_path
    assert [c.name for c in config.enabled_channels()] == ["shop"]
    assert config.line_of("channels.shop.token_env") == 7


def test_defaults_sit_beside_the_config_and_absolute_paths_are_kept(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), env={})
    assert config.catalog == tmp_path / "catalog.db"
    assert config.state == tmp_path / "state.db"
    elsewhere = tmp_path / "elsewhere" / "cat.db"
    config = load_config(write(tmp_path, f'catalog = "{elsewhere.as_posix()}"\n' + GOOD), env={})
    assert config.catalog == elsewhere


def test_inline_tables_and_dotted_keys_mean_the_same(tmp_path: Path) -> None:
    a = load_config(
        write(tmp_path, GOOD + "price = { markup_percent = 12.5, ending = 0.95 }\n", "a.toml"), env={}
    )
    b = load_config(
        write(tmp_path, GOOD + "price.markup_percent = 12.5\nprice.ending = 0.95\n", "b.toml"), env={}
    )
    assert a.channels["shop"] == b.channels["shop"]
    assert a.channels["shop"].price.markup_percent == Decimal("12.5")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert list(load_config(path, env={}).channels) == ["shop"]


# -- bad files: table-driven -------------------------------------------------------------------

# (id, file text, environment for check_secrets, line, dotted key, text the message must contain)
BAD: list[tuple[str, str, Mapping[str, str], int, str, str]] = [
    (
        "malformed-value",
        doc("""
        [channels.shop]
        type = "fake"
        path = "shop.db"
        [channels.shop.price]
        markup_percent =
        """),
        {},
        5,
        "channels.shop.price.markup_percent",
        "TOML syntax error",
    ),
    (
        "unclosed-header",
        doc("""
        [channels.shop
        type = "fake"
        """),
        {},
        1,
        "channels.shop",
        "Expected ']'",
    ),
    (
        "unterminated-string",
        doc("""
        [channels.shop]
        type = "fake
        path = "x"
        """),
        {},
        2,
        "channels.shop.type",
        "TOML syntax error",
    ),
    (
        "duplicate-key",
        doc("""
        [channels.shop]
        type = "fake"
        path = "a.db"
        path = "b.db"
        """),
        {},
        4,
        "channels.shop.path",
        "set twice (first set on line 3)",
    ),
    (
        "duplicate-channel",
        doc("""
        [channels.shop]
        type = "fake"
        path = "a.db"

        [channels.shop]
        type = "fake"
        path = "b.db"
        """),
        {},
        5,
        "channels.shop",
        "duplicate channel name shop",
    ),
    (
        "unknown-type",
        GOOD.replace('"fake"', '"fak"'),
        {},
        2,
        "channels.shop.type",
        "unknown channel type 'fak'; did you mean 'fake'?",
    ),
    (
        "missing-type",
        doc("""
        [channels.shop]
        path = "shop.db"
        """),
        {},
        1,
        "channels.shop",
        "missing required key 'type' (one of:",
    ),
    ("type-not-a-string", GOOD.replace('"fake"', "3"), {}, 2, "channels.shop.type", "should be a string"),
    (
        "type-not-installed",
        GOOD.replace('"fake"', '"ghost"'),
        {},
        2,
        "channels.shop.type",
        "cannot be loaded",
    ),
    (
        "type-without-config-model",
        GOOD.replace('"fake"', '"noconfig"'),
        {},
        2,
        "channels.shop.type",
        "has no config model",
    ),
    (
        "unknown-key-channel-level",
        GOOD + 'pth = "x"\n',
        {},
        4,
        "channels.shop.pth",
        "unknown key 'pth'; did you mean 'path'?",
    ),
    (
        "rule-key-one-table-too-high",
        GOOD + "markup = 10\n",
        {},
        4,
        "channels.shop.markup",
        "did you mean 'markup_percent' in [channels.shop.price]?",
    ),
    (
        "unknown-key-rule-level",
        GOOD + "[channels.shop.price]\nmarkup = 10\n",
        {},
        5,
        "channels.shop.price.markup",
        "unknown key 'markup'; did you mean 'markup_percent'?",
    ),
    (
        "unknown-key-inline-table",
        GOOD + "stock = { bufer = 2 }\n",
        {},
        4,
        "channels.shop.stock.bufer",
        "did you mean 'buffer'?",
    ),
    ("unknown-top-level-key", 'catlog = "c.db"\n' + GOOD, {}, 1, "catlog", "did you mean 'catalog'?"),
    (
        "missing-required-key",
        doc("""
        [channels.shop]
        type = "fake"
        """),
        {},
        1,
        "channels.shop.path",
        "missing required key 'path'",
    ),
    (
        "wrong-type-buffer",
        GOOD + '[channels.shop.stock]\nbuffer = "two"\n',
        {},
        5,
        "channels.shop.stock.buffer",
        "valid integer",
    ),
    (
        "wrong-type-datetime-for-path",
        GOOD.replace('"shop.db"', "1979-05-27"),
        {},
        3,
        "channels.shop.path",
        "valid string",
    ),
    ("wrong-type-enabled", GOOD + 'enabled = "maybe"\n', {}, 4, "channels.shop.enabled", "valid boolean"),
    (
        "fractional-buffer",
        GOOD + "stock.buffer = 2.5\n",
        {},
        4,
        "channels.shop.stock.buffer",
        "fractional part",
    ),
    (
        "negative-buffer",
        GOOD + "[channels.shop.stock]\nbuffer = -1\n",
        {},
        5,
        "channels.shop.stock.buffer",
        "greater than or equal to 0 (got -1)",
    ),
    (
        "allocation-over-100",
        GOOD + "[channels.shop.stock]\nallocation_percent = 150\n",
        {},
        5,
        "channels.shop.stock.allocation_percent",
        "less than or equal to 100",
    ),
    (
        "floor-above-ceiling",
        GOOD + "[channels.shop.price]\nfloor = 20\nceiling = 10.00\n",
        {},
        4,
        "channels.shop.price",
        "floor is above ceiling",
    ),
    (
        "markup-not-a-number",
        GOOD + 'price = { markup_percent = "ten" }\n',
        {},
        4,
        "channels.shop.price.markup_percent",
        "'ten' is not a decimal number",
    ),
    ("price-not-a-table", GOOD + "price = 5\n", {}, 4, "channels.shop.price", "should be a table"),
    (
        "unknown-template-field",
        GOOD + '[channels.shop.content]\ntitle_template = "{brand} {nme}"\n',
        {},
        5,
        "channels.shop.content.title_template",
        "unknown template field {nme}",
    ),
    (
        "sync-unknown-field",
        GOOD + 'sync = [\n  "price",\n  "stock",\n]\n',
        {},
        6,
        "channels.shop.sync[1]",
        "'quantity', 'price', 'title' or 'description'",
    ),
    ("sync-twice", GOOD + 'sync = ["price", "price"]\n', {}, 1, "channels.shop", "sync lists a field twice"),
    (
        "base-url-ftp",
        GOOD + 'base_url = "ftp://shop.example.com"\n',
        {},
        4,
        "channels.shop.base_url",
        "is not an http(s) URL",
    ),
    (
        "name-written-by-user",
        GOOD + 'name = "other"\n',
        {},
        4,
        "channels.shop.name",
        "a channel's name is its table key",
    ),
    (
        "bad-channel-name",
        GOOD.replace("[channels.shop]", '[channels."my shop"]'),
        {},
        1,
        'channels."my shop"',
        "letters, digits",
    ),
    (
        "inline-secret",
        GOOD + 'token = "shpat_0123456789abcdef"\n',
        {},
        4,
        "channels.shop.token",
        'set token_env = "NAME_OF_ENV_VAR"',
    ),
    (
        "inline-secret-nested",
        GOOD + '[channels.shop.content]\nconsumer_secret = "cs_abcdef"\n',
        {},
        5,
        "channels.shop.content.consumer_secret",
        "secrets are never read from the config file",
    ),
    (
        "env-key-holding-the-secret",
        GOOD + 'token_env = "shpat/0123456789+abc="\n',
        {},
        4,
        "channels.shop.token_env",
        "not the secret itself",
    ),
    (
        "missing-secret-env",
        GOOD + 'token_env = "SHOP_TOKEN"\n',
        {},
        4,
        "channels.shop.token_env",
        "SHOP_TOKEN is not set",
    ),
    (
        "empty-secret-env",
        GOOD + 'token_env = "SHOP_TOKEN"\n',
        {"SHOP_TOKEN": "  "},
        4,
        "channels.shop.token_env",
        "SHOP_TOKEN is empty",
    ),
    (
        "timeout-zero",
        GOOD + "timeout_seconds = 0\n",
        {},
        4,
        "channels.shop.timeout_seconds",
        "greater than 0",
    ),
    (
        "zero-share-over-1",
        GOOD + "max_zero_share = 1.5\n",
        {},
        4,
        "channels.shop.max_zero_share",
        "less than or equal to 1",
    ),
    (
        "currency-lowercase",
        GOOD + 'currency = "usd"\n',
        {},
        4,
        "channels.shop.currency",
        "did you mean 'USD'?",
    ),
    (
        "both-location-styles",
        GOOD + 'stock_locations = ["a"]\nlocations = { L1 = ["a"] }\n',
        {},
        4,
        "channels.shop.stock_locations",
        "not both",
    ),
    (
        "location-not-a-string",
        GOOD + '[channels.shop.locations]\nL1 = ["a", 2]\n',
        {},
        5,
        "channels.shop.locations.L1[1]",
        "valid string",
    ),
    (
        "array-of-tables-for-sync",
        GOOD + "[[channels.shop.sync]]\nx = 1\n",
        {},
        4,
        "channels.shop.sync[0]",
        "(got a table)",
    ),
    ("channels-not-a-table", "channels = 3\n", {}, 1, "channels", "one per channel"),
    ("channel-not-a-table", "[channels]\nshop = 5\n", {}, 2, "channels.shop", "should be a table"),
    ("empty-file", "", {}, 1, "channels", "no channels configured"),
    ("comments-only", "# my shops\n\n", {}, 1, "channels", "no channels configured"),
    ("catalog-not-a-string", "catalog = 5\n" + GOOD, {}, 1, "catalog", "should be a file path"),
]


def _error(path: Path, env: Mapping[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config = load_config(path, env=env)
        check_secrets(config, env)
    return info.value


@pytest.mark.parametrize(
    ("text", "env", "line", "key", "fragment"), [case[1:] for case in BAD], ids=[case[0] for case in BAD]
)
def test_bad_config_names_file_line_and_key(
    tmp_path: Path, text: str, env: Mapping[str, str], line: int, key: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    err = _error(path, env)
    message = str(err)
    assert f"{path}:{line}: {key}:" in message, message
    assert fragment in message
    assert err.where.file == str(path) and err.where.line == line and err.where.field == key
    assert err.exit_code == Exit.BAD_INPUT


def test_an_inline_secret_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + 'access_token = "shpat_do_not_print_me"\napi_key = "k_0000_x"\n')
    message = str(_error(path, {}))
    assert "shpat_do_not_print_me" not in message and "k_0000_x" not in message
    assert "channels.shop.access_token" in message and "channels.shop.api_key" in message
    assert "export the secret" in message


def test_missing_file_names_it_and_the_example(tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    err = _error(path, {})
    assert str(path) in str(err) and "channels.toml.example" in str(err)


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "channels.toml"
    path.write_bytes(GOOD.encode() + b'path = "caf\xe9"\n')
    assert str(_error(path, {})).startswith(f"{path}:4:")


def test_every_problem_of_a_file_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        doc("""
        [channels.shop]
        type = "fake"
        path = "shop.db"
        stock.buffer = -1
        [channels.shop.price]
        markup = 10

        [channels.feed]
        type = "fak"

        [channels.third]
        type = "fake"
        base_url = "ftp://x"
        """),
    )
    err = _error(path, {})
    message = str(err)
    assert message.splitlines()[0] == f"{path}: 5 problems"
    expected = [
        (4, "channels.shop.stock.buffer"),
        (6, "channels.shop.price.markup"),
        (9, "channels.feed.type"),
        (11, "channels.third.path"),
        (13, "channels.third.base_url"),
    ]
    assert isinstance(err, ConfigProblems)
    assert [(p.line, p.field) for p in err.details] == expected
    for line, key in expected:
        assert f"{path}:{line}: {key}:" in message
    assert err.problems and len(err.problems) == 5
    assert (err.where.line, err.where.field) == expected[0]


# -- the line locator --------------------------------------------------------------------------

LAYOUTS: list[tuple[str, str, dict[tuple[str | int, ...], int]]] = [
    (
        "tables",
        doc("""
        catalog = "c.db"
        [channels.shop]
        type = "fake"

        [channels.shop.price]
        markup_percent = 10
        """),
        {
            ("catalog",): 1,
            ("channels",): 2,
            ("channels", "shop"): 2,
            ("channels", "shop", "type"): 3,
            ("channels", "shop", "price"): 5,
            ("channels", "shop", "price", "markup_percent"): 6,
            # not defined: the nearest enclosing table
            ("channels", "shop", "price", "ending"): 5,
            ("channels", "shop", "path"): 2,
            ("nowhere",): 1,
        },
    ),
    (
        "dotted-keys",
        doc("""
        [channels]
        shop.type = "fake"
        shop.price.markup_percent = 10
          shop . stock . buffer = 2
        """),
        {
            ("channels",): 1,
            ("channels", "shop"): 2,
            ("channels", "shop", "type"): 2,
            ("channels", "shop", "price"): 3,
            ("channels", "shop", "price", "markup_percent"): 3,
            ("channels", "shop", "stock", "buffer"): 4,
        },
    ),
    (
        "inline-tables",
        doc("""
        [channels.shop]
        type = "fake"
        price = { markup_percent = 10, ending = 0.99 }
        stock = {buffer = 2, nested = { deep = 1 }}
        """),
        {
            ("channels", "shop", "price"): 3,
            ("channels", "shop", "price", "ending"): 3,
            ("channels", "shop", "stock", "buffer"): 4,
            ("channels", "shop", "stock", "nested", "deep"): 4,
            ("channels", "shop", "price", "floor"): 3,
        },
    ),
    (
        "multiline-strings-and-arrays",
        doc('''
        [channels.shop]
        description = """
        [not.a.table]
        fake = 1 """
        literal = \'\'\'
        [also.not]\'\'\'
        sync = [
          "price",  # a comment ] with a bracket
          "title",
        ]
        after = 'C:\\path # not a comment'
        last = "quote \\" # still a string"
        '''),
        {
            ("channels", "shop", "description"): 2,
            ("channels", "shop", "literal"): 5,
            ("channels", "shop", "sync"): 7,
            ("channels", "shop", "sync", 0): 8,
            ("channels", "shop", "sync", 1): 9,
            ("channels", "shop", "after"): 11,
            ("channels", "shop", "last"): 12,
            ("not", "a", "table"): 1,
            ("channels", "shop", "fake"): 1,
        },
    ),
    (
        "arrays-of-tables",
        doc("""
        [[channels.shop.rules]]
        a = 1
        [[channels.shop.rules]]
        a = 2
        [channels.shop.rules.sub]
        b = 3
        [[channels.shop.rules]]
        items = [ { a = 1 },
          { a = 2 } ]
        """),
        {
            ("channels", "shop", "rules"): 1,
            ("channels", "shop", "rules", 0): 1,
            ("channels", "shop", "rules", 0, "a"): 2,
            ("channels", "shop", "rules", 1): 3,
            ("channels", "shop", "rules", 1, "a"): 4,
            ("channels", "shop", "rules", 1, "sub"): 5,
            ("channels", "shop", "rules", 1, "sub", "b"): 6,
            ("channels", "shop", "rules", 2, "items", 1, "a"): 9,
            ("channels", "shop", "rules", 2, "items", 0): 8,
        },
    ),
    (
        "quoted-keys",
        doc("""
        [channels."my shop"]
        "odd.key" = 1
        'literal key' = 2
        "esc\\u0041ped" = 3
        """),
        {
            ("channels", "my shop"): 1,
            ("channels", "my shop", "odd.key"): 2,
            ("channels", "my shop", "literal key"): 3,
            ("channels", "my shop", "escAped"): 4,
        },
    ),
    (
        "sub-table-before-its-parent",
        doc("""
        [channels.shop.price]
        ending = 0.99
        [channels.shop]
        type = "fake"
        """),
        {
            ("channels", "shop", "price"): 1,
            ("channels", "shop"): 3,
            ("channels", "shop", "type"): 4,
            ("channels", "shop", "path"): 3,
        },
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in LAYOUTS], ids=[c[0] for c in LAYOUTS])
def test_locator_finds_the_line_of_each_key(text: str, expected: dict[tuple[str | int, ...], int]) -> None:
    import tomllib

    tomllib.loads(text)  # every layout is valid TOML
    locator = KeyLocator.scan(text)
    for path, line in expected.items():
        assert locator.line(path) == line, path


def test_dotted_quotes_odd_keys_and_brackets_indexes() -> None:
    assert dotted(("channels", "shop", "sync", 1)) == "channels.shop.sync[1]"
    assert dotted(("channels", "my shop", "odd.key")) == 'channels."my shop"."odd.key"'


# -- secrets -----------------------------------------------------------------------------------

TWO = doc("""
    [channels.shop]
    type = "fake"
    path = "a.db"
    token_env = "SHOP_TOKEN"

    [channels.other]
    type = "fake"
    path = "b.db"
    token_env = "OTHER_TOKEN"

    [channels.off]
    type = "fake"
    path = "c.db"
    enabled = false
    token_env = "OFF_TOKEN"
    """)


def test_check_secrets_lists_every_missing_variable_of_enabled_channels(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={})
    with pytest.raises(ConfigError) as info:
        check_secrets(config, {"OFF_TOKEN": "x"})
    message = str(info.value)
    assert f"{tmp_path / 'channels.toml'}:4: channels.shop.token_env:" in message
    assert ":9: channels.other.token_env: environment variable OTHER_TOKEN is not set" in message
    assert "OFF_TOKEN" not in message  # disabled channels need no secret
    check_secrets(config, {"SHOP_TOKEN": "s", "OTHER_TOKEN": "o"})


def test_check_secrets_only_for_the_named_channels(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={})
    check_secrets(config, {"SHOP_TOKEN": "s"}, channels=["shop"])
    with pytest.raises(ConfigError, match="OTHER_TOKEN is not set"):
        check_secrets(config, {"SHOP_TOKEN": "s"}, channels=["other"])


SECRET_PLACES = [
    'base_url = "ftp://{secret}"',
    'token = "{secret}"',
    '[channels.shop.content]\ntitle_template = "{{{secret}}}"',
    '[channels.shop.stock]\nbuffer = "{secret}"',
    'sync = ["{secret}"]',
    'price = {{ markup_percent = "{secret}" }}',
    'currency = "{secret}"',
    '[channels.shop.locations]\n"{secret}" = [1]',
    'sync = ["x{secret}x{secret}x{secret}x{secret}x{secret}"]',  # longer than any "got" hint
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tail=st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=6, max_size=60
    ),
    place=st.sampled_from(SECRET_PLACES),
)
def test_secret_values_from_the_environment_never_appear_in_errors(
    tmp_path: Path, tail: str, place: str
) -> None:
    secret = "sk_live_" + tail
    env = {"SHOP_TOKEN": secret, "OTHER_TOKEN": secret[::-1]}
    text = (
        GOOD + 'token_env = "SHOP_TOKEN"\n' + place.format(secret=secret) + "\n"
        '[channels.other]\ntype = "fake"\npath = "b.db"\ntoken_env = "MISSING"\n'
    )
    path = write(tmp_path, text)
    err = _error(path, env)
    assert secret not in str(err) and secret[:20] not in str(err)
    assert secret[::-1] not in str(err)


def test_a_secret_pasted_on_a_line_of_its_own_is_not_echoed(tmp_path: Path) -> None:
    secret = "shpat_0f9e8d7c6b5a4f3e2d1c"
    path = write(tmp_path, GOOD + f'token_env = "SHOP_TOKEN"\n{secret}\n')
    err = _error(path, {"SHOP_TOKEN": secret})
    assert secret not in str(err)
    assert f"{path}:5:" in str(err) and "TOML syntax error" in str(err)


def test_no_secret_value_in_missing_or_empty_variable_errors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={})
    env = {"SHOP_TOKEN": "hunter2-very-secret", "OTHER_TOKEN": "   "}
    with pytest.raises(ConfigError) as info:
        check_secrets(config, env)
    assert "hunter2-very-secret" not in str(info.value)
    assert "OTHER_TOKEN is empty" in str(info.value)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_permissions_warning_when_readable_by_others_and_naming_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, TWO)
    config = load_config(path, env={})
    path.chmod(0o644)
    warning = insecure_permissions_warning(path, config)
    assert warning is not None
    assert "chmod 600" in warning and str(path) in warning and "SHOP_TOKEN" in warning
    path.chmod(0o640)
    assert "its group" in (insecure_permissions_warning(path, config) or "")
    path.chmod(0o600)
    assert insecure_permissions_warning(path, config) is None
    plain = write(tmp_path, GOOD, "plain.toml")
    plain.chmod(0o644)
    assert insecure_permissions_warning(plain, load_config(plain, env={})) is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- choosing channels -------------------------------------------------------------------------


def test_enabled_channels_in_file_order_and_by_name(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={})
    assert [c.name for c in config.enabled_channels()] == ["shop", "other"]
    assert [c.name for c in config.enabled_channels(["other", "shop"])] == ["shop", "other"]
    assert [c.name for c in config.enabled_channels(["other"])] == ["other"]


def test_an_unknown_channel_name_suggests_the_closest(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={})
    with pytest.raises(ConfigError) as info:
        config.enabled_channels(["shpo"])
    assert "unknown channel 'shpo'; did you mean 'shop'?" in str(info.value)
    assert str(config.path) in str(info.value)


def test_naming_a_disabled_channel_is_an_error(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, TWO), env={})
    with pytest.raises(ConfigError) as info:
        config.enabled_channels(["off"])
    assert f"{config.path}:14: channels.off:" in str(info.value)
    assert "disabled" in str(info.value)


def test_a_config_built_in_code_needs_no_locator(tmp_path: Path) -> None:
    cfg = FakeConfig(name="shop", type="fake", path="x.db", token_env="T")
    config = Config(
        path=tmp_path / "c.toml", catalog=tmp_path / "c.db", state=tmp_path / "s.db", channels={"shop": cfg}
    )
    with pytest.raises(ConfigError, match="T is not set"):
        check_secrets(config, {})


# -- fuzzing: anything either loads or is a ConfigError ----------------------------------------

SNIPPETS = [
    "[channels.shop]",
    "[channels.shop.price]",
    "[channels.shop.stock]",
    "[[channels.shop]]",
    "[channels]",
    "[[channels.x.y]]",
    'type = "fake"',
    'type = "sandbox"',
    'path = "a.db"',
    "markup_percent = 10",
    "ending = 0.99",
    "buffer = -1",
    "price = { markup_percent = 1e3 }",
    'token = "abc"',
    'token_env = "T"',
    "name = 1",
    'sync = ["price", "x"]',
    "enabled = false",
    'catalog = "c.db"',
    "state = 5",
    "channels = []",
    'base_url = "http://127.0.0.1:1"',
    "floor = inf",
    "ceiling = nan",
    "timeout_seconds = 1979-05-27T07:32:00Z",
    'x = """',
    "'''",
    "a.b.c = {",
    "]",
    "= 1",
    "#",
    "\\",
    '"',
    "stock.buffer = 2",
    "[channels.shop.content]",
    'title_template = "{title"',
    "locations = { a = [] }",
    "stock_locations = []",
]


def _fuzz_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "fuzz-channels.toml"


def _loads_or_config_error(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    try:
        config = load_config(path, env={"T": "tok"})
    except ConfigError as err:
        assert str(err) and err.where.file == str(path)
        assert err.where.line is not None and err.where.line >= 1
        for problem in err.details if isinstance(err, ConfigProblems) else []:
            assert problem.line is not None and problem.line >= 1
        return
    assert isinstance(config, Config) and config.channels


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_fuzz_random_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    _loads_or_config_error(_fuzz_path(tmp_path_factory), text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.one_of(st.sampled_from(SNIPPETS), st.text(alphabet="[]{}=.,\"' abcxyz01_-#\n", max_size=20)),
        max_size=25,
    )
)
def test_fuzz_tomlish_lines(tmp_path_factory: pytest.TempPathFactory, lines: list[str]) -> None:
    _loads_or_config_error(_fuzz_path(tmp_path_factory), "\n".join(lines))


# Structured documents: valid TOML in random layouts, with keys the models know and keys they do not.
KEYS = [
    "type",
    "path",
    "enabled",
    "base_url",
    "sync",
    "currency",
    "price",
    "stock",
    "content",
    "markup_percent",
    "ending",
    "floor",
    "ceiling",
    "buffer",
    "allocation_percent",
    "title_template",
    "token_env",
    "token",
    "name",
    "max_zero_share",
    "locations",
    "zz",
]
scalars = st.one_of(
    st.integers(-1000, 1000),
    st.booleans(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6),
    st.sampled_from(["fake", "sandbox", "a.db", "price", "USD", "http://127.0.0.1", "{title}", ""]),
    st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
    ),
    max_leaves=8,
)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, Decimal)):
        return str(v) if not isinstance(v, Decimal) or "." in str(v) else str(v) + ".0"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    assert isinstance(v, dict)
    return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _dump(channels: dict[str, dict[str, object]], layout: str) -> str:
    out: list[str] = []
    for name, table in channels.items():
        if layout == "dotted":
            out.append("[channels]")
            out += [f"{name}.{k} = {_toml_value(v)}" for k, v in table.items()]
            continue
        out.append(f"[channels.{name}]")
        subtables = {k: v for k, v in table.items() if isinstance(v, dict) and v and layout == "tables"}
        out += [f"{k} = {_toml_value(v)}" for k, v in table.items() if k not in subtables]
        for k, v in subtables.items():
            assert isinstance(v, dict)
            out.append(f"[channels.{name}.{k}]")
            out += [f"{kk} = {_toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(out) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    channels=st.dictionaries(
        st.sampled_from(["shop", "b", "c-1"]),
        st.dictionaries(st.sampled_from(KEYS), values, max_size=6),
        min_size=1,
        max_size=2,
    ),
    layout=st.sampled_from(["tables", "inline", "dotted"]),
)
def test_fuzz_structured_documents(
    tmp_path_factory: pytest.TempPathFactory, channels: dict[str, dict[str, object]], layout: str
) -> None:
    import tomllib

    if layout == "dotted" and len(channels) > 1:
        layout = "inline"  # "[channels]" may be declared only once
    text = _dump(channels, layout)
    parsed = tomllib.loads(text, parse_float=Decimal)  # the generator writes valid TOML
    locator = KeyLocator.scan(text)
    lines = text.split("\n")
    for name, table in parsed["channels"].items():
        for key in table:
            line = locator.defined(("channels", name, key))
            assert line is not None and key in lines[line - 1]
    _loads_or_config_error(_fuzz_path(tmp_path_factory), text)
