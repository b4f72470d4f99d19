"""The seller's catalog: schema, opening, CSV import (all-or-nothing) and export, reading, sales."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnisync.catalog import (
    DECREMENT_STOCK_SQL,
    SCHEMA_VERSION,
    ImportReport,
    catalog_skus,
    count_products,
    decrement_stock,
    export_csv,
    gtin_valid,
    import_csv,
    init_catalog,
    open_catalog,
    read_products,
)
from omnisync.errors import CatalogError, Exit
from omnisync.models import CONDITIONS, Override, Product, frozen
from omnisync.money import MAX_MINOR, Money

HEADER = "sku,title,price,currency,quantity"


# -- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.db"
    init_catalog(path)
    return path


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_catalog(db_path)
    yield database
    database.close()


def write(tmp_path: Path, text: str, name: str = "products.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def problems(db: sqlite_utils.Database, path: Path) -> list[str]:
    with pytest.raises(CatalogError) as info:
        import_csv(db, path)
    assert info.value.exit_code == Exit.BAD_INPUT
    assert str(path) in str(info.value)
    return info.value.problems


def snapshot(db: sqlite_utils.Database) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
        for table in ("products", "stock", "overrides", "catalog_meta")
    }


def export_text(db: sqlite_utils.Database) -> str:
    buf = io.StringIO(newline="")
    export_csv(db, buf)
    return buf.getvalue()


# -- schema and opening ----------------------------------------------------------------------


def test_init_creates_the_schema_with_integer_prices_and_is_idempotent(db_path: Path) -> None:
    db = open_catalog(db_path)
    cols = {c.name: c.type for c in db.table("products").columns}
    assert cols["price_minor"] == "INTEGER"
    assert cols["currency"] == "TEXT"
    assert db.table("products").pks == ["sku"]
    assert db.table("stock").pks == ["sku", "location"]
    assert db.table("overrides").pks == ["sku", "channel"]
    assert [fk.other_table for fk in db.table("stock").foreign_keys] == ["products"]
    assert db.execute("SELECT value FROM catalog_meta WHERE key='schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    db.execute("INSERT INTO products (sku, title, price_minor, currency) VALUES ('A', 'T', 1, 'USD')")
    db.conn.commit()
    db.close()

    init_catalog(db_path)  # again: nothing lost, nothing duplicated
    db = open_catalog(db_path)
    assert catalog_skus(db) == ["A"]
    row = db.execute("SELECT description, condition, images FROM products").fetchone()
    assert row == ("", "new", "[]")
    assert db.execute("SELECT count(*) FROM catalog_meta").fetchone() == (1,)
    db.close()


def test_init_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = write(tmp_path, "sku,title\n", "catalog.db")
    with pytest.raises(CatalogError) as info:
        init_catalog(path)
    assert str(path) in str(info.value)
    assert path.read_text() == "sku,title\n"


def test_init_and_export_name_a_path_they_cannot_write(tmp_path: Path, db: sqlite_utils.Database) -> None:
    nowhere = tmp_path / "no-such-dir" / "catalog.db"
    with pytest.raises(CatalogError) as info:
        init_catalog(nowhere)
    assert str(nowhere) in str(info.value)
    with pytest.raises(CatalogError) as info:
        export_csv(db, tmp_path / "no-such-dir" / "out.csv")
    assert "out.csv" in str(info.value)
    assert not (tmp_path / "no-such-dir").exists()


def test_open_missing_file_suggests_init_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    with pytest.raises(CatalogError) as info:
        open_catalog(path)
    assert str(path) in str(info.value)
    assert "omnisync init" in str(info.value)
    assert not path.exists()


def test_open_not_a_database_names_the_file_and_leaves_it_alone(tmp_path: Path) -> None:
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not sqlite at all, just some bytes" * 100)
    before = path.read_bytes()
    with pytest.raises(CatalogError) as info:
        open_catalog(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before


def test_open_names_a_missing_table_and_a_missing_column(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(CatalogError) as info:
        open_catalog(empty)
    assert "products" in str(info.value) and str(empty) in str(info.value)

    path = tmp_path / "catalog.db"
    init_catalog(path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE products DROP COLUMN link")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError) as info:
        open_catalog(path)
    assert "link" in str(info.value) and "products" in str(info.value)


def test_open_refuses_a_catalog_from_a_newer_omnisync(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE catalog_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="newer"):
        open_catalog(db_path)


def test_opening_and_reading_never_change_the_file(db_path: Path, tmp_path: Path) -> None:
    db = open_catalog(db_path)
    import_csv(db, write(tmp_path, f"{HEADER}\nA1,Widget,19.99,USD,5\n"))
    db.close()
    before = db_path.read_bytes()
    db = open_catalog(db_path)
    list(read_products(db))
    export_text(db)
    db.close()
    assert db_path.read_bytes() == before


# -- import: one failing row per validation rule ---------------------------------------------

# (header, data row, column named in the problem, fragment of the message)
BAD_ROWS = [
    (HEADER, ",Widget,1.00,USD,1", "sku", "required"),
    (HEADER, " A1,Widget,1.00,USD,1", "sku", "spaces"),
    (HEADER, "A1 ,Widget,1.00,USD,1", "sku", "spaces"),
    (HEADER, f"{'x' * 101},Widget,1.00,USD,1", "sku", "100"),
    (HEADER, "A\x071,Widget,1.00,USD,1", "sku", "control character"),
    (HEADER, "A1,,1.00,USD,1", "title", "required"),
    (HEADER, "A1,   ,1.00,USD,1", "title", "required"),
    (HEADER, "A1,Widget,,USD,1", "price", "required"),
    (HEADER, "A1,Widget,abc,USD,1", "price", "not a price"),
    (HEADER, "A1,Widget,NaN,USD,1", "price", "finite"),
    (HEADER, "A1,Widget,Infinity,USD,1", "price", "finite"),
    (HEADER, "A1,Widget,-1.00,USD,1", "price", "negative"),
    (HEADER, "A1,Widget,1e3,USD,1", "price", "not a price"),
    (HEADER, 'A1,Widget,"1,000.00",USD,1', "price", "not a price"),
    (HEADER, "A1,Widget,$19.99,USD,1", "price", "not a price"),
    (HEADER, "A1,Widget,19.999,USD,1", "price", "decimal places"),
    (HEADER, "A1,Widget,1500.5,JPY,1", "price", "decimal places"),
    (HEADER, "A1,Widget,1.2345,KWD,1", "price", "decimal places"),
    (HEADER, "A1,Widget,100000000000.01,USD,1", "price", "too large"),
    (HEADER, f"A1,Widget,{'9' * 40},USD,1", "price", "too large"),
    (HEADER, "A1,Widget,1.00,,1", "currency", "required"),
    (HEADER, "A1,Widget,1.00,XXX,1", "currency", "ISO 4217"),
    (HEADER, "A1,Widget,1.00,usd,1", "currency", "'USD'"),
    (HEADER, "A1,Widget,1.00,USD,1.5", "quantity", "whole number"),
    (HEADER, "A1,Widget,1.00,USD,-1", "quantity", "negative"),
    (HEADER, "A1,Widget,1.00,USD,abc", "quantity", "whole number"),
    (HEADER, "A1,Widget,1.00,USD,1e3", "quantity", "whole number"),
    (HEADER, "A1,Widget,1.00,USD,1000000001", "quantity", "too large"),
    (HEADER, f"A1,Widget,1.00,USD,{'9' * 5000}", "quantity", "too large"),
    (f"{HEADER},quantity@shop-2", "A1,Widget,1.00,USD,1,-3", "quantity@shop-2", "negative"),
    (f"{HEADER},gtin", "A1,Widget,1.00,USD,1,4006381333932", "gtin", "check digit"),
    (f"{HEADER},gtin", "A1,Widget,1.00,USD,1,40063813339", "gtin", "11 digits"),
    (f"{HEADER},gtin", "A1,Widget,1.00,USD,1,ABC4006381333931", "gtin", "digits only"),
    (f"{HEADER},gtin", "A1,Widget,1.00,USD,1,4.00638E+12", "gtin", "scientific"),
    (f"{HEADER},upc", "A1,Widget,1.00,USD,1,4006381333931", "upc", "has 13 digits"),
    (f"{HEADER},ean", "A1,Widget,1.00,USD,1,036000291452", "ean", "leading 0"),
    (f"{HEADER},upc,ean", "A1,Widget,1.00,USD,1,036000291452,4006381333931", "ean", "conflicts with upc"),
    (f"{HEADER},gtin,upc", "A1,Widget,1.00,USD,1,96385074,036000291452", "upc", "conflicts with gtin"),
    (f"{HEADER},condition", "A1,Widget,1.00,USD,1,broken", "condition", "not one of"),
    (f"{HEADER},condition", "A1,Widget,1.00,USD,1,New", "condition", "did you mean 'new'"),
    (f"{HEADER},images", "A1,Widget,1.00,USD,1,ftp://example.com/a.jpg", "images", "http(s)"),
    (f"{HEADER},images", "A1,Widget,1.00,USD,1,https://a.com/1.jpg | http:///x.jpg", "images", "image 2"),
    (f"{HEADER},images", "A1,Widget,1.00,USD,1,https://a.com/1.jpg https://a.com/2.jpg", "images", "space"),
    (f"{HEADER},link", "A1,Widget,1.00,USD,1,javascript:alert(1)", "link", "http(s)"),
    (f"{HEADER},link", "A1,Widget,1.00,USD,1,https://", "link", "no host"),
    (f"{HEADER},group_key", "A1,Widget,1.00,USD,1, G1", "group_key", "spaces"),
    (f"{HEADER},ebay:price", "A1,Widget,1.00,USD,1,cheap", "ebay:price", "not a price"),
    (f"{HEADER},ebay:price", "A1,Widget,1.00,USD,1,0.999", "ebay:price", "decimal places"),
    (f"{HEADER},ebay:price", "A1,Widget,1.00,USD,1,-2", "ebay:price", "negative"),
    (f"{HEADER},ebay:enabled", "A1,Widget,1.00,USD,1,maybe", "ebay:enabled", "true/false"),
    (f"{HEADER},ebay:title", "A1,Widget,1.00,USD,1,  ", "ebay:title", "blank"),
    (f"{HEADER},shop_2:title", "A1,Widget,1.00,USD,1,Bad\x0btitle", "shop_2:title", "control"),
    (f"{HEADER},description", "A1,Widget,1.00,USD,1,Bad\x00text", "description", "control"),
]


@pytest.mark.parametrize(("header", "row", "column", "fragment"), BAD_ROWS)
def test_a_bad_cell_is_reported_with_file_row_and_column(
    db: sqlite_utils.Database, tmp_path: Path, header: str, row: str, column: str, fragment: str
) -> None:
    path = write(tmp_path, f"{header}\nOK1,Fine,1.00,USD,1{',' * header.count(',', len(HEADER))}\n{row}\n")
    found = problems(db, path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:3: {column}: "), found
    assert fragment in found[0]
    assert count_products(db) == 0


@pytest.mark.parametrize(
    ("header", "column", "fragment"),
    [
        ("sku,titel,price,currency", "titel", "did you mean 'title'"),
        ("SKU,title,price,currency", "SKU", "did you mean 'sku'"),
        ("sku,title,price,currency,colour", "colour", "unknown column"),
        ("sku,title,price,currency,ebay:titel", "ebay:titel", "ebay:title"),
        ("sku,title,price,currency,ebay:quantity", "ebay:quantity", "per-channel"),
        ("sku,title,price,currency,e bay:title", "e bay:title", "channel name"),
        ("sku,title,price,currency,quantity@", "quantity@", "empty location"),
        ("sku,title,price,currency,quantity,quantity@default", "quantity@default", "duplicate"),
        ("sku,title,price,currency,price", "price", "duplicate"),
        ("sku,title,price", "currency", "required column missing"),
        ("sku,title,,price,currency", "column 3", "empty column name"),
    ],
)
def test_a_bad_header_is_reported_on_row_1(
    db: sqlite_utils.Database, tmp_path: Path, header: str, column: str, fragment: str
) -> None:
    path = write(tmp_path, header + "\n")
    found = problems(db, path)
    assert any(p.startswith(f"{path}:1: {column}: ") and fragment in p for p in found), found


def test_a_duplicate_sku_names_both_rows(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\nA1,One,1.00,USD,1\nB2,Two,1.00,USD,1\nA1,Again,1.00,USD,1\n")
    found = problems(db, path)
    assert found == [f"{path}:4: sku: duplicate SKU 'A1': also on row 2"]


def test_a_row_with_more_cells_than_the_header(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\nA1,Widget,1.00,USD,1\nB2,Comma, in title,1.00,USD,1\n")
    found = problems(db, path)
    assert len(found) == 1 and found[0].startswith(f"{path}:3: ")
    assert "6 cells" in found[0] and "5 columns" in found[0]


@pytest.mark.parametrize("content", [b"", b"\n\n\r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_an_error_on_row_1(
    db: sqlite_utils.Database, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    found = problems(db, path)
    assert len(found) == 1 and found[0].startswith(f"{path}:1: ") and "empty" in found[0]


def test_a_file_without_a_header_is_an_error_on_row_1(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, "A1,Widget,19.99,USD,5\nB2,Gadget,5.00,USD,1\n")
    found = problems(db, path)
    assert len(found) == 1 and found[0].startswith(f"{path}:1: ") and "header" in found[0]


def test_a_semicolon_separated_file_gets_a_hint(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, "sku;title;price;currency\nA1;Widget;19,99;USD\n")
    found = problems(db, path)
    assert found[0].startswith(f"{path}:1: ") and "';'" in found[0]


def test_non_utf8_bytes_name_the_row_and_column(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(f"{HEADER}\nA1,Widget,1.00,USD,1\n".encode() + "B2,Café,1.00,USD,1\n".encode("latin-1"))
    found = problems(db, path)
    assert found == [
        f"{path}:3: title: not UTF-8 text (byte 0xE9); save the file as "
        '"CSV UTF-8" (in a spreadsheet: Save As > CSV UTF-8)'
    ]
    assert count_products(db) == 0


def test_a_utf16_file_is_named_as_such(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes(f"{HEADER}\nA1,Widget,1.00,USD,1\n".encode("utf-16"))
    found = problems(db, path)
    assert found[0].startswith(f"{path}:1: ") and "UTF-16" in found[0]


def test_an_unterminated_quote_is_reported_with_its_row(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(tmp_path, f'{HEADER}\nA1,Widget,1.00,USD,1\nB2,"Gadget,1.00,USD,1\n')
    found = problems(db, path)
    assert found[0].startswith(f"{path}:3: ") and "malformed CSV" in found[0]


def test_rows_are_spreadsheet_rows_and_the_text_line_is_added(
    db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """A quoted cell spanning lines is one row (as a spreadsheet shows it); the text line of a
    later record is added to its message."""
    path = write(
        tmp_path,
        "sku,title,description,price,currency\n"
        'A1,Widget,"line one\nline two\nline three",1.00,USD\n'
        "B2,Gadget,,1.0x,USD\n",
    )
    found = problems(db, path)
    assert found == [
        f"{path}:3: price: '1.0x' is not a price; write a plain decimal number such "
        "as 19.99 (no currency symbol, spaces, thousands separators or exponent) "
        "(text line 5)"
    ]


def test_every_problem_is_collected(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"{HEADER},colour\nA1,,abc,USD,1,red\nA2,Fine,1.00,USD,2,blue\nA3,Widget,1.00,XXX,-1,green\n",
    )
    found = problems(db, path)
    assert [p.split(": ")[0:2] for p in found] == [
        [f"{path}:1", "colour"],
        [f"{path}:2", "title"],
        [f"{path}:2", "price"],
        [f"{path}:4", "currency"],
        [f"{path}:4", "quantity"],
    ]


# -- import: all or nothing, upsert ----------------------------------------------------------


def test_nothing_is_written_when_one_row_is_bad(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, f"{HEADER},ebay:price\nA1,Widget,19.99,USD,5,18.00\n", "a.csv"))
    before = snapshot(db)
    path = write(
        tmp_path,
        f"{HEADER},ebay:price\nA1,Widget v2,29.99,USD,7,\nB2,Gadget,5.00,USD,1,\nC3,Gizmo,oops,USD,1,\n",
        "b.csv",
    )
    found = problems(db, path)
    assert found == [
        f"{path}:4: price: 'oops' is not a price; write a plain decimal number such "
        "as 19.99 (no currency symbol, spaces, thousands separators or exponent)"
    ]
    assert snapshot(db) == before


def test_import_inserts_then_upserts_by_sku(db: sqlite_utils.Database, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "sku,title,price,currency,quantity,quantity@shop,brand,ebay:title\n"
        "A1,Widget,19.99,USD,5,2,Acme,Widget on eBay\n"
        "B2,Gadget,5.00,USD,1,,Acme,\n",
        "first.csv",
    )
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert import_csv(db, first, clock=lambda: when) == ImportReport(inserted=2, updated=0, rows=2)
    assert db.execute("SELECT updated_at FROM products WHERE sku='A1'").fetchone() == (
        "2024-05-01T12:00:00+00:00",
    )

    # No brand column this time: brands stay. Stock columns replace each row's stock; the empty
    # quantity@shop cell removes that location for A1. Empty ebay:title drops the override.
    second = write(
        tmp_path,
        "sku,title,price,currency,quantity,quantity@shop,ebay:title\n"
        "A1,Widget v2,21.50,USD,4,,\n"
        "C3,Gizmo,7.00,USD,9,3,Gizmo!\n",
        "second.csv",
    )
    assert import_csv(db, second) == ImportReport(inserted=1, updated=1, rows=2)

    products = {p.sku: p for p in read_products(db)}
    assert sorted(products) == ["A1", "B2", "C3"]
    a1 = products["A1"]
    assert (a1.title, a1.price, a1.brand) == ("Widget v2", Money(2150, "USD"), "Acme")
    assert dict(a1.stock) == {"default": 4}
    assert dict(a1.overrides) == {}
    assert dict(products["B2"].stock) == {"default": 1}  # not in the file: untouched
    assert dict(products["C3"].stock) == {"default": 9, "shop": 3}
    assert products["C3"].overrides["ebay"] == Override(title="Gizmo!")
    assert products["C3"].brand is None


def test_a_file_without_stock_columns_leaves_stock_alone(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, f"{HEADER},quantity@shop\nA1,Widget,1.00,USD,5,2\n", "a.csv"))
    import_csv(db, write(tmp_path, "sku,title,price,currency\nA1,Widget,2.00,USD\n", "b.csv"))
    (a1,) = read_products(db)
    assert a1.price == Money(200, "USD")
    assert dict(a1.stock) == {"default": 5, "shop": 2}


def test_override_columns_update_only_the_fields_given(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, f"{HEADER},ebay:price,ebay:enabled\nA1,W,9.00,USD,1,8.50,no\n", "a.csv"))
    import_csv(db, write(tmp_path, f"{HEADER},ebay:title\nA1,W,9.00,USD,1,eBay title\n", "b.csv"))
    (a1,) = read_products(db)
    assert a1.overrides["ebay"] == Override(title="eBay title", price=Money(850, "USD"), enabled=False)


def test_a_currency_change_must_restate_override_prices(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, f"{HEADER},ebay:price\nA1,W,9.00,USD,1,8.50\n", "a.csv"))
    before = snapshot(db)
    path = write(tmp_path, f"{HEADER}\nA1,W,9.00,EUR,1\n", "b.csv")
    found = problems(db, path)
    assert len(found) == 1 and found[0].startswith(f"{path}:2: currency: ")
    assert "ebay:price" in found[0]
    assert snapshot(db) == before

    import_csv(db, write(tmp_path, f"{HEADER},ebay:price\nA1,W,9.00,EUR,1,8.00\n", "c.csv"))
    (a1,) = read_products(db)
    assert a1.overrides["ebay"].price == Money(800, "EUR")


def test_bom_aliases_and_defaults(db: sqlite_utils.Database, tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + b"sku,title,price,currency,upc,ean,condition,images,"
        b"ebay:enabled\r\nA1,Widget,1.00,USD,036000291452,0036000291452,,"
        b"https://img.example.com/a.jpg | http://img.example.com/b.jpg?x=1,TRUE\r\n"
        b"\r\n,,,,,,,,\r\n"
    )
    assert import_csv(db, path) == ImportReport(inserted=1, updated=0, rows=1)
    (a1,) = read_products(db)
    assert a1.gtin == "036000291452"
    assert a1.condition == "new"
    assert a1.images == ("https://img.example.com/a.jpg", "http://img.example.com/b.jpg?x=1")
    assert a1.overrides["ebay"].enabled is True
    assert dict(a1.stock) == {}


# -- export and round trips ------------------------------------------------------------------

RICH = (
    "sku,group_key,title,description,price,currency,quantity,quantity@Lager Süd,quantity@shop-2,"
    "gtin,brand,mpn,condition,images,link,ebay:title,ebay:description,ebay:price,ebay:enabled,"
    "shop_1:title,shop_1:description,shop_1:price,shop_1:enabled\r\n"
    'A-1,G1,"Widget, large","Two lines\nwith ""quotes""",19.99,USD,5,,0,4006381333931,Acme,'
    "W-L,new,https://img.example.com/a.jpg | https://img.example.com/b.jpg,"
    "https://shop.example.com/a-1,Widget L,,18.50,true,,,,false\r\n"
    "B-2,,Gadget 日本,,1500,JPY,,3,,,,,used,,,,,,,,,1400,\r\n"
    "C-3,G1,Dinar thing,,1.234,KWD,7,1,2,96385074,,,refurbished,,,,eBay text,,,,,,\r\n"
)


def test_export_writes_the_import_format_sorted_by_sku(db: sqlite_utils.Database, tmp_path: Path) -> None:
    shuffled = RICH.split("\r\n")
    path = write(tmp_path, "\r\n".join([shuffled[0], shuffled[3], shuffled[1], shuffled[2]]))
    assert import_csv(db, path).inserted == 3
    assert export_text(db) == RICH


def test_round_trip_is_byte_identical(db: sqlite_utils.Database, tmp_path: Path) -> None:
    import_csv(db, write(tmp_path, RICH, "in.csv"))
    out1 = tmp_path / "out1.csv"
    assert export_csv(db, out1) == 3
    import_csv(db, out1)  # into the same catalog: an update that changes nothing
    fresh_path = tmp_path / "fresh.db"
    init_catalog(fresh_path)
    fresh = open_catalog(fresh_path)
    import_csv(fresh, out1)
    out2 = tmp_path / "out2.csv"
    export_csv(fresh, out2)
    assert out1.read_bytes() == out2.read_bytes() == RICH.encode()
    assert export_text(db) == RICH
    assert list(read_products(fresh)) == list(read_products(db))
    fresh.close()


def test_export_of_an_empty_catalog_is_a_header_template(db: sqlite_utils.Database) -> None:
    assert export_text(db) == (
        "sku,group_key,title,description,price,currency,quantity,gtin,brand,mpn,condition,images,link\r\n"
    )


@pytest.mark.parametrize(
    ("price", "currency", "minor"),
    [
        ("19.99", "USD", 1999),
        ("1500", "JPY", 1500),
        ("1.234", "KWD", 1234),
        ("0.10", "EUR", 10),
        ("100000000000.00", "USD", MAX_MINOR),
    ],
)
def test_prices_are_exact_integers_and_round_trip(
    db: sqlite_utils.Database, tmp_path: Path, price: str, currency: str, minor: int
) -> None:
    import_csv(db, write(tmp_path, f"{HEADER},ebay:price\nA1,Widget,{price},{currency},1,{price}\n"))
    assert db.execute("SELECT price_minor, typeof(price_minor) FROM products").fetchone() == (
        minor,
        "integer",
    )
    (a1,) = read_products(db)
    assert a1.price == Money(minor, currency)
    assert a1.overrides["ebay"].price == Money(minor, currency)
    row = next(csv.DictReader(io.StringIO(export_text(db), newline="")))
    assert row["price"] == price and row["currency"] == currency and row["ebay:price"] == price


# -- reading ---------------------------------------------------------------------------------


def _seed(db: sqlite_utils.Database, tmp_path: Path, n: int) -> None:
    lines = [f"{HEADER},quantity@b,ebay:price"]
    lines += [
        f"S{i:03d},Item {i},{i}.50,USD,{i},{i % 3 or ''},{'1.00' if i % 4 == 0 else ''}" for i in range(n)
    ]
    import_csv(db, write(tmp_path, "\n".join(lines) + "\n", "seed.csv"))


def test_read_products_reads_in_chunks_in_sku_order(db: sqlite_utils.Database, tmp_path: Path) -> None:
    _seed(db, tmp_path, 25)
    selects: list[str] = []
    db.conn.set_trace_callback(lambda sql: selects.append(sql) if "SELECT" in sql else None)
    products = list(read_products(db, chunk_size=10))
    db.conn.set_trace_callback(None)
    assert [p.sku for p in products] == [f"S{i:03d}" for i in range(25)]
    assert len(selects) <= 9  # three chunks, three queries each: never one query per SKU
    s004 = products[4]
    assert dict(s004.stock) == {"default": 4, "b": 1}
    assert s004.overrides["ebay"].price == Money(100, "USD")
    assert dict(products[3].stock) == {"default": 3} and dict(products[3].overrides) == {}
    assert count_products(db) == 25
    assert catalog_skus(db) == [p.sku for p in products]


def test_read_products_for_given_skus(db: sqlite_utils.Database, tmp_path: Path) -> None:
    _seed(db, tmp_path, 12)
    got = list(read_products(db, ["S011", "nope", "S002", "S002", "S007"], chunk_size=2))
    assert [p.sku for p in got] == ["S002", "S007", "S011"]
    assert dict(got[1].stock) == {"default": 7, "b": 1}


def test_a_real_price_typed_into_the_db_is_refused_on_read(db: sqlite_utils.Database, tmp_path: Path) -> None:
    _seed(db, tmp_path, 2)
    db.execute("UPDATE products SET price_minor = 19.99 WHERE sku = 'S001'")
    db.conn.commit()
    with pytest.raises(CatalogError) as info:
        list(read_products(db))
    assert "S001" in str(info.value) and "price_minor" in str(info.value)


# -- sales -----------------------------------------------------------------------------------


def test_decrement_stock_is_relative_and_never_negative(
    db: sqlite_utils.Database, tmp_path: Path, db_path: Path
) -> None:
    import_csv(db, write(tmp_path, f"{HEADER},quantity@b\nA1,Widget,1.00,USD,5,1\n"))
    decrement_stock(db.conn, "main", "A1", "default", 2)
    db.conn.commit()
    assert dict(next(read_products(db)).stock) == {"default": 3, "b": 1}

    state = sqlite3.connect(tmp_path / "state.db")
    state.execute("ATTACH DATABASE ? AS catalog", (str(db_path),))
    with state:
        # the seller sets 10 meanwhile; the sale of 1 is still taken off: 9
        db.execute("UPDATE stock SET quantity = 10 WHERE sku = 'A1' AND location = 'default'")
        db.conn.commit()
        state.execute(DECREMENT_STOCK_SQL, (1, "A1", "default"))
        decrement_stock(state, "catalog", "A1", "b", 4)
    state.execute("DETACH DATABASE catalog")
    state.close()
    assert dict(next(read_products(db)).stock) == {"default": 9, "b": 0}

    with pytest.raises(CatalogError, match="no stock row"):
        decrement_stock(db.conn, "main", "A1", "elsewhere", 1)
    with pytest.raises(ValueError):
        decrement_stock(db.conn, "main; DROP TABLE stock", "A1", "b", 1)


# -- gtin ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("4006381333931", True),
        ("036000291452", True),
        ("96385074", True),
        ("10012345678902", True),
        ("00036000291452", True),
        ("4006381333932", False),
        ("036000291453", False),
        ("96385075", False),
        ("40063813339", False),
        ("400638133393100", False),
        ("", False),
        ("ABCDEFGH", False),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", False),
        ("4006381333931 ", False),
    ],
)
def test_gtin_valid(code: str, ok: bool) -> None:
    assert gtin_valid(code) is ok


# -- properties ------------------------------------------------------------------------------

_LINE_TEXT = st.characters(blacklist_categories=("Cc", "Cs"))
_SKU = st.text(st.sampled_from("ABCXYZabc0189-_./#é日"), min_size=1, max_size=12)
_TITLE = st.text(_LINE_TEXT, min_size=1, max_size=20).filter(lambda t: bool(t.strip()))
_TEXT = st.text(st.one_of(_LINE_TEXT, st.sampled_from('\t\n\r,"')), max_size=30)
_OPT = st.none() | st.text(_LINE_TEXT, min_size=1, max_size=12)
_URL = st.builds(
    lambda scheme, path: f"{scheme}://img.example.com/{path}",
    st.sampled_from(["http", "https"]),
    st.text(st.sampled_from("abcXYZ019-._~/?=&%|"), max_size=10),
)
_CURRENCY = st.sampled_from(["USD", "JPY", "KWD", "CLF", "EUR"])
_LOCATIONS = ["default", "shop-2", "Lager Süd"]
_CHANNELS = ["ebay", "shop_1"]


def _gtin(body: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


_GTIN = st.none() | st.builds(
    _gtin,
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text(st.sampled_from("0123456789"), min_size=n, max_size=n)
    ),
)


@st.composite
def _products(draw: st.DrawFn) -> list[Product]:
    skus = draw(st.lists(_SKU, max_size=6, unique=True))
    out = []
    for sku in sorted(skus):
        currency = draw(_CURRENCY)
        overrides = {}
        for channel in draw(st.lists(st.sampled_from(_CHANNELS), unique=True)):
            price_minor = draw(st.none() | st.integers(0, MAX_MINOR))
            ov = Override(
                title=draw(st.none() | _TITLE),
                description=draw(st.none() | _TEXT.filter(bool)),
                price=None if price_minor is None else Money(price_minor, currency),
                enabled=draw(st.none() | st.booleans()),
            )
            if ov != Override():
                overrides[channel] = ov
        out.append(
            Product(
                sku=sku,
                title=draw(_TITLE),
                price=Money(draw(st.integers(0, MAX_MINOR)), currency),
                description=draw(_TEXT),
                group_key=draw(st.none() | _SKU),
                stock=frozen(draw(st.dictionaries(st.sampled_from(_LOCATIONS), st.integers(0, 10**9)))),
                gtin=draw(_GTIN),
                brand=draw(_OPT),
                mpn=draw(_OPT),
                condition=draw(st.sampled_from(CONDITIONS)),
                images=tuple(draw(st.lists(_URL, max_size=3))),
                link=draw(st.none() | _URL),
                overrides=frozen(overrides),
            )
        )
    return out


def _csv_of(products: list[Product]) -> bytes:
    """The products as an import file, written independently of export_csv."""
    header = [
        "sku",
        "title",
        "price",
        "currency",
        "description",
        "group_key",
        "gtin",
        "brand",
        "mpn",
        "condition",
        "images",
        "link",
    ]
    header += ["quantity" if loc == "default" else f"quantity@{loc}" for loc in _LOCATIONS]
    header += [f"{ch}:{f}" for ch in _CHANNELS for f in ("title", "description", "price", "enabled")]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for p in products:
        row = [
            p.sku,
            p.title,
            p.price.to_str(),
            p.price.currency,
            p.description,
            p.group_key or "",
            p.gtin or "",
            p.brand or "",
            p.mpn or "",
            p.condition,
            " | ".join(p.images),
            p.link or "",
        ]
        row += [str(p.stock[loc]) if loc in p.stock else "" for loc in _LOCATIONS]
        for ch in _CHANNELS:
            ov = p.overrides.get(ch, Override())
            row += [
                ov.title or "",
                ov.description or "",
                ov.price.to_str() if ov.price else "",
                "" if ov.enabled is None else ("yes" if ov.enabled else "no"),
            ]
        writer.writerow(row)
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def _fresh(directory: Path, name: str) -> sqlite_utils.Database:
    path = directory / name
    init_catalog(path)
    return open_catalog(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_products())
def test_valid_rows_round_trip_import_export_import(products: list[Product]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "in.csv").write_bytes(_csv_of(products))
        first = _fresh(d, "one.db")
        report = import_csv(first, d / "in.csv")
        assert report == ImportReport(inserted=len(products), updated=0, rows=len(products))
        assert list(read_products(first)) == products
        export_csv(first, d / "out1.csv")

        second = _fresh(d, "two.db")
        import_csv(second, d / "out1.csv")
        assert list(read_products(second)) == products
        export_csv(second, d / "out2.csv")
        assert (d / "out1.csv").read_bytes() == (d / "out2.csv").read_bytes()
        first.close()
        second.close()


_HEADER_LINE = f"{HEADER},quantity@b,ebay:price,gtin,images\n"
_VALID_CELLS = [
    ["A", "B", "C", "D", "x/1"],
    ["T", "Two words", '"Quoted, with comma"'],
    ["1.00", "7", "0", "12.5"],
    ["USD"],
    ["1", "", "0", "3"],
    ["", "2"],
    ["", "5.00"],
    ["", "4006381333931"],
    ["", "https://a.example/1.jpg"],
]
_BAD_CELLS = [
    ["", " A", "A\tB"],
    ["", "x\x01y"],
    ["19.999", "-1", "abc", "1e3"],
    ["usd", "", "XYZ"],
    ["1.5", "-1"],
    ["x"],
    ["5.001"],
    ["4006381333932"],
    ["a.jpg"],
]


@st.composite
def _mostly_valid_files(draw: st.DrawFn) -> bytes:
    """Files of valid rows, sometimes with one cell spoiled, so that whole files import too."""
    row_strategy = st.tuples(*(st.sampled_from(c) for c in _VALID_CELLS)).map(list)
    rows: list[list[str]] = draw(st.lists(row_strategy, max_size=5, unique_by=lambda r: r[0]))
    spoil: bool = draw(st.booleans())
    if rows and spoil:
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(_BAD_CELLS) - 1))
        rows[r][c] = draw(st.sampled_from(_BAD_CELLS[c]))
    return (_HEADER_LINE + "".join(",".join(r) + "\n" for r in rows)).encode()


_GARBAGE = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(st.sampled_from(list('A1B2,.,"\n\r -x9é\x00\tUSDJPY|:/@e')), max_size=200).map(
        lambda t: (_HEADER_LINE + t).encode()
    ),
    _mostly_valid_files(),
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "catalog.db"
    init_catalog(path)
    db = open_catalog(path)
    import_csv(db, write(path.parent, f"{HEADER},quantity@b,ebay:price\nA,Old,9.00,USD,3,1,8.00\n"))
    db.close()
    return path


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_GARBAGE)
def test_garbage_is_imported_whole_or_refused_whole(template: Path, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        shutil.copy(template, d / "catalog.db")
        (d / "in.csv").write_bytes(data)
        db = open_catalog(d / "catalog.db")
        before = snapshot(db)
        try:
            report = import_csv(db, d / "in.csv")
        except CatalogError as exc:
            assert exc.problems or exc.message
            assert all(p.startswith(f"{d / 'in.csv'}:") for p in exc.problems)
            assert snapshot(db) == before
        else:
            assert count_products(db) == 1 + report.inserted
            list(read_products(db))  # whatever was written reads back as valid products
        db.close()
