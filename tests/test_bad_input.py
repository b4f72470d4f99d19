"""The bad-input matrix: every case exits 2 with a message naming the file, the line or row, and
the field, and sends nothing to any channel (asserted on a WooCommerce fake served on 127.0.0.1,
and on a sandbox channel that must not even be created)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.fakes.server import FakeServer
from tests.fakes.woocommerce import WooCommerceFake
from tests.workspace import CSV, Workspace

ENV = {"WOO_KEY": "ck_matrix_key_0123456789", "WOO_SECRET": "cs_matrix_secret_0123456789"}


def config(url: str) -> str:
    return f"""catalog = "catalog.db"
state = "state.db"

[channels.shop]
type = "sandbox"
path = "shop.db"

[channels.shop.stock]
buffer = 1

[channels.shop.price]
markup_percent = 10

[channels.store]
type = "woocommerce"
base_url = "{url}"
consumer_key_env = "WOO_KEY"
consumer_secret_env = "WOO_SECRET"
"""


@dataclass
class Case:
    id: str
    where: str  # "config", "catalog" or "csv"
    mutate: Callable[[str], str] | None = None  # config text -> bad config text
    csv: str | None = None
    catalog_sql: str | None = None
    catalog_bytes: bytes | None = None
    env: dict[str, str] | None = None
    args: tuple[str, ...] = ("push",)
    expect: tuple[str, ...] = ()  # substrings of stderr (file, line/row, field)
    line_of: str | None = None  # expect "channels.toml:<line of this text>"


def sub(old: str, new: str) -> Callable[[str], str]:
    def f(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return f


def add(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


HEADER = "sku,title,price,currency,quantity\n"

CASES = [
    # -- channels.toml --------------------------------------------------------------------
    Case("toml-syntax", "config", sub('path = "shop.db"', 'path = "shop.db'), expect=("channels.toml:6",)),
    Case(
        "toml-unclosed-table",
        "config",
        sub("[channels.shop.stock]", "[channels.shop.stock"),
        expect=("channels.toml:8",),
    ),
    Case(
        "unknown-type",
        "config",
        sub('type = "woocommerce"', 'type = "woocomerce"'),
        expect=("woocommerce", "channels.store.type"),
        line_of='type = "woocomerce"',
    ),
    Case("missing-type", "config", sub('type = "sandbox"\n', ""), expect=("channels.shop", "type")),
    Case(
        "unknown-key",
        "config",
        sub("buffer = 1", "bufer = 1"),
        expect=("bufer", "buffer"),
        line_of="bufer = 1",
    ),
    Case(
        "unknown-rule-key",
        "config",
        sub("markup_percent = 10", "markup = 10"),
        expect=("markup", "markup_percent"),
        line_of="markup = 10",
    ),
    Case(
        "wrong-type",
        "config",
        sub("buffer = 1", 'buffer = "one"'),
        expect=("channels.shop.stock.buffer",),
        line_of='buffer = "one"',
    ),
    Case(
        "negative-buffer",
        "config",
        sub("buffer = 1", "buffer = -1"),
        expect=("channels.shop.stock.buffer",),
        line_of="buffer = -1",
    ),
    Case(
        "allocation-over-100",
        "config",
        sub("buffer = 1", "allocation_percent = 150"),
        expect=("allocation_percent",),
        line_of="allocation_percent = 150",
    ),
    Case(
        "floor-above-ceiling",
        "config",
        sub("markup_percent = 10", "floor = 10\nceiling = 5"),
        expect=("floor", "ceiling"),
    ),
    Case(
        "markup-not-a-number",
        "config",
        sub("markup_percent = 10", 'markup_percent = "ten"'),
        expect=("markup_percent",),
        line_of='markup_percent = "ten"',
    ),
    Case(
        "nan-markup",
        "config",
        sub("markup_percent = 10", "markup_percent = nan"),
        expect=("markup_percent",),
        line_of="markup_percent = nan",
    ),
    Case(
        "unknown-template-field",
        "config",
        add('\n[channels.shop.content]\ntitle_template = "{colour} {title}"\n'),
        expect=("title_template", "colour"),
        line_of='title_template = "{colour} {title}"',
    ),
    Case(
        "duplicate-channel",
        "config",
        add('\n[channels.shop]\ntype = "sandbox"\npath = "x.db"\n'),
        expect=("duplicate channel name shop",),
    ),
    Case(
        "inline-secret",
        "config",
        sub('consumer_secret_env = "WOO_SECRET"', 'consumer_secret = "cs_pasted_secret_value"'),
        expect=("consumer_secret", "never read from the config file"),
        line_of='consumer_secret = "cs_pasted_secret_value"',
    ),
    Case(
        "missing-secret",
        "config",
        env={"WOO_KEY": "", "WOO_SECRET": "x"},
        expect=("WOO_KEY", "consumer_key_env"),
    ),
    Case(
        "secret-env-not-a-name",
        "config",
        sub('consumer_key_env = "WOO_KEY"', 'consumer_key_env = "ck live 123"'),
        expect=("consumer_key_env",),
        line_of='consumer_key_env = "ck live 123"',
    ),
    Case(
        "base-url-ftp",
        "config",
        lambda t: t.replace('base_url = "http://', 'base_url = "ftp://'),
        expect=("base_url", "http"),
        line_of='base_url = "ftp://',
    ),
    Case(
        "base-url-no-scheme",
        "config",
        lambda t: t.replace('base_url = "http://', 'base_url = "'),
        expect=("base_url",),
    ),
    Case(
        "name-key-written",
        "config",
        sub('path = "shop.db"', 'path = "shop.db"\nname = "other"'),
        expect=("name",),
        line_of='name = "other"',
    ),
    Case("empty-config", "config", lambda t: "", expect=("channels.toml", "channel")),
    Case(
        "sync-unknown-field",
        "config",
        sub('path = "shop.db"', 'path = "shop.db"\nsync = ["stock"]'),
        expect=("sync",),
        line_of='sync = ["stock"]',
    ),
    Case(
        "currency-lowercase",
        "config",
        sub('path = "shop.db"', 'path = "shop.db"\ncurrency = "usd"'),
        expect=("currency", "USD"),
        line_of='currency = "usd"',
    ),
    Case(
        "enabled-not-bool",
        "config",
        sub('path = "shop.db"', 'path = "shop.db"\nenabled = 3'),
        expect=("enabled",),
        line_of="enabled = 3",
    ),
    Case("missing-config-file", "config", args=("--config", "nope.toml", "push"), expect=("nope.toml",)),
    Case("unknown-channel-flag", "config", args=("push", "--channel", "shpo"), expect=("shop",)),
    # -- catalog.db ---------------------------------------------------------------------------
    Case("catalog-not-sqlite", "catalog", catalog_bytes=b"not a database\n" * 200, expect=("catalog.db",)),
    Case("catalog-missing", "catalog", catalog_bytes=b"", expect=("catalog.db", "omnisync init")),
    Case(
        "catalog-wrong-schema",
        "catalog",
        catalog_sql="ALTER TABLE products RENAME COLUMN price_minor TO price",
        expect=("catalog.db", "price_minor"),
    ),
    Case(
        "catalog-real-price",
        "catalog",
        catalog_sql="UPDATE products SET price_minor = 19.99 WHERE sku='MUG'",
        expect=("catalog.db", "MUG", "price"),
    ),
    Case(
        "catalog-unknown-currency",
        "catalog",
        catalog_sql="UPDATE products SET currency = 'XXZ' WHERE sku='MUG'",
        expect=("catalog.db", "MUG", "currency"),
    ),
    Case(
        "catalog-bad-images",
        "catalog",
        catalog_sql="UPDATE products SET images = '[broken' WHERE sku='MUG'",
        expect=("catalog.db", "MUG", "images"),
    ),
    # -- CSV import ---------------------------------------------------------------------------
    Case(
        "csv-latin1",
        "csv",
        csv="sku,title,price,currency,quantity\nA,Caf\xe9,1.00,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "title", "UTF-8"),
    ),
    Case(
        "csv-duplicate-sku",
        "csv",
        csv=HEADER + "A,a,1.00,USD,1\nA,b,1.00,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:3", "sku", "row 2"),
    ),
    Case(
        "csv-empty-sku",
        "csv",
        csv=HEADER + ",a,1.00,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "sku"),
    ),
    Case(
        "csv-nan-price",
        "csv",
        csv=HEADER + "A,a,NaN,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "price"),
    ),
    Case(
        "csv-negative-price",
        "csv",
        csv=HEADER + "A,a,-1.00,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "price"),
    ),
    Case(
        "csv-huge-price",
        "csv",
        csv=HEADER + "A,a,1e20,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "price"),
    ),
    Case(
        "csv-too-many-decimals",
        "csv",
        csv=HEADER + "A,a,1.999,USD,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "price"),
    ),
    Case(
        "csv-negative-quantity",
        "csv",
        csv=HEADER + "A,a,1.00,USD,-3\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "quantity"),
    ),
    Case(
        "csv-fractional-quantity",
        "csv",
        csv=HEADER + "A,a,1.00,USD,1.5\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "quantity"),
    ),
    Case(
        "csv-huge-quantity",
        "csv",
        csv=HEADER + "A,a,1.00,USD,99999999999\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "quantity"),
    ),
    Case(
        "csv-unknown-currency",
        "csv",
        csv=HEADER + "A,a,1.00,XXZ,1\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "currency"),
    ),
    Case(
        "csv-bad-gtin",
        "csv",
        csv="sku,title,price,currency,gtin\nA,a,1.00,USD,4006381333932\n",
        args=("import", "bad.csv"),
        expect=("bad.csv:2", "gtin"),
    ),
    Case(
        "csv-unknown-column",
        "csv",
        csv="sku,titel,price,currency\nA,a,1.00,USD\n",
        args=("import", "bad.csv"),
        expect=("bad.csv", "titel", "title"),
    ),
]


@pytest.fixture(scope="module")
def store() -> Iterator[tuple[WooCommerceFake, str]]:
    fake = WooCommerceFake()
    fake.seed(5)
    with FakeServer(fake) as server:
        yield fake, server.url


def test_matrix_has_at_least_30_cases() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_names_the_place_and_sends_nothing(
    case: Case, tmp_path: Path, store: tuple[WooCommerceFake, str]
) -> None:
    fake, url = store
    ws = Workspace(tmp_path)
    good = config(url)
    ws.config.write_text(good)
    (tmp_path / "catalog.csv").write_text(CSV)
    assert ws.cli("init").code == 0 and ws.cli("import", "catalog.csv").code == 0
    if case.mutate is not None:
        ws.config.write_text(case.mutate(good))
    if case.csv is not None:
        (tmp_path / "bad.csv").write_bytes(case.csv.encode("latin-1"))
    if case.catalog_bytes is not None:
        if case.catalog_bytes:
            ws.catalog.write_bytes(case.catalog_bytes)
        else:
            ws.catalog.unlink()
    if case.catalog_sql is not None:
        conn = sqlite3.connect(ws.catalog)
        conn.execute(case.catalog_sql)
        conn.commit()
        conn.close()
    before = len(fake.requests)

    r = ws.run(*case.args, env={**ENV, **(case.env or {})})

    assert r.code == 2, r
    assert "Traceback" not in r.stderr
    for text in case.expect:
        assert text in r.stderr, (text, r.stderr)
    if case.line_of is not None:
        text = ws.config.read_text()
        line = text[: text.index(case.line_of)].count("\n") + 1
        assert f"channels.toml:{line}" in r.stderr, (line, r.stderr)
    assert len(fake.requests) == before, "a request reached the channel"
    assert not (tmp_path / "shop.db").exists(), "the sandbox channel was written"
    if case.where == "csv":
        assert ws.stock("A") == 0  # all or nothing: no row of the bad file was imported
    for secret in ENV.values():
        assert secret not in r.stdout + r.stderr
