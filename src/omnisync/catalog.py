"""The seller's catalog: an SQLite file any SQLite tool can edit, plus CSV import and export.

Schema (created by :func:`init_catalog` through sqlite-utils; version in ``catalog_meta``):

- ``products``: one row per sellable SKU. Prices are ``price_minor`` (INTEGER minor units) plus
  ``currency``; never REAL. ``images`` is a JSON array of URLs.
- ``stock``: ``(sku, location) -> quantity``; location ``"default"`` is the ``quantity`` column.
- ``overrides``: ``(sku, channel) -> title, description, price_minor, enabled``; NULL means "no
  override". An override price is in the product's currency.

CSV format (UTF-8, with or without BOM; header row required; names case-sensitive)::

    sku,group_key,title,description,price,currency,quantity,quantity@LOC,...,gtin,brand,mpn,
    condition,images,link,CHANNEL:title,CHANNEL:description,CHANNEL:price,CHANNEL:enabled,...

``upc`` and ``ean`` are accepted on import as aliases feeding ``gtin``. ``images`` are URLs
separated by ``" | "``. Import is all-or-nothing: every row is checked first, every problem is
reported (``FILE:ROW: COLUMN: message``), and nothing is written unless there are none.

Row numbers are *spreadsheet rows*: the header is row 1 and each CSV record (an empty line too)
is one row, so a cell with a line break inside still counts as one row, as a spreadsheet shows it.
Where that differs from the line in a text editor, the message ends with ``(text line N)``.

Columns absent from an imported file leave those values alone on existing SKUs. When the file has
stock columns, each imported row replaces all of that SKU's stock rows with the cells given (an
empty cell means "no stock row for that location"). Override columns update only the override
fields present; an override left with every field empty is deleted.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import re
import sqlite3
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TextIO
from urllib.parse import urlsplit

import sqlite_utils

from .errors import DEFAULT_BUSY_TIMEOUT_SECONDS, CatalogError, DatabaseLocked, is_busy
from .models import CONDITIONS, Override, Product, frozen
from .money import CURRENCIES, MAX_MINOR, Money, MoneyError

__all__ = [
    "DECREMENT_STOCK_SQL",
    "DEFAULT_LOCATION",
    "MAX_QUANTITY",
    "SCHEMA_VERSION",
    "ImportReport",
    "catalog_skus",
    "count_products",
    "decrement_stock",
    "export_csv",
    "gtin_valid",
    "import_csv",
    "init_catalog",
    "open_catalog",
    "read_products",
]

SCHEMA_VERSION = 1
DEFAULT_LOCATION = "default"
MAX_QUANTITY = 10**9
MAX_SKU_LENGTH = 100

# The columns omnisync needs in each table (a seller may add more of their own).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "products": (
        "sku",
        "group_key",
        "title",
        "description",
        "price_minor",
        "currency",
        "gtin",
        "brand",
        "mpn",
        "condition",
        "images",
        "link",
        "updated_at",
    ),
    "stock": ("sku", "location", "quantity"),
    "overrides": ("sku", "channel", "title", "description", "price_minor", "enabled"),
    "catalog_meta": ("key", "value"),
}

# Taking sold units out of the catalog, from state.db with the catalog ATTACHed AS catalog.
# Parameters: (units, sku, location). Relative, so a seller's edit made at the same moment is kept;
# never below 0 (an oversell is recorded in the sales ledger, not as negative stock).
DECREMENT_STOCK_SQL = (
    "UPDATE catalog.stock SET quantity = MAX(quantity - ?, 0) WHERE sku = ? AND location = ?"
)

_PRODUCT_SELECT = (
    "SELECT sku, group_key, title, description, price_minor, currency, gtin, brand, mpn, "
    "condition, images, link FROM products"
)
_IN_CHUNK = 500  # bound parameters per IN (...) list, well under every SQLite build's limit

_CHANNEL_RE = re.compile(r"[A-Za-z0-9_-]+")
_SCHEMA_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_INT_RE = re.compile(r"[0-9]+")
_IMAGE_SEPARATOR = " | "
_OVERRIDE_FIELDS = ("title", "description", "price", "enabled")
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})

# CSV columns, in export order (stock and override columns are placed by _export_header).
_PRODUCT_CSV = ("sku", "group_key", "title", "description", "price", "currency")
_DETAIL_CSV = ("gtin", "brand", "mpn", "condition", "images", "link")
_ALIAS_CSV = ("upc", "ean")
_REQUIRED_CSV = ("sku", "title", "price", "currency")
_KNOWN_CSV = (*_PRODUCT_CSV, "quantity", *_DETAIL_CSV, *_ALIAS_CSV)


# --------------------------------------------------------------------------------------------
# schema


def init_catalog(path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> None:
    """Create the catalog schema in ``path`` (the file too, if missing). Safe to run again.

    Raises :class:`CatalogError` when ``path`` is not an SQLite database, was made by a newer
    omnisync, or has an omnisync table lacking a column; :class:`DatabaseLocked` when another
    program holds it locked for longer than ``busy_timeout`` seconds.
    """
    path = Path(path)
    if path.is_dir():
        raise CatalogError("is a directory, not a catalog file", file=str(path))
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise CatalogError(f"cannot create the catalog: {exc}", file=str(path)) from None
    db = sqlite_utils.Database(conn)
    try:
        _read_version(db, str(path), missing_ok=True)
        with db.atomic():
            db.table("products").create(
                {
                    "sku": str,
                    "group_key": str,
                    "title": str,
                    "description": str,
                    "price_minor": int,
                    "currency": str,
                    "gtin": str,
                    "brand": str,
                    "mpn": str,
                    "condition": str,
                    "images": str,
                    "link": str,
                    "updated_at": str,
                },
                pk="sku",
                not_null=["title", "description", "price_minor", "currency", "condition", "images"],
                defaults={"description": "", "condition": "new", "images": "[]"},
                if_not_exists=True,
            )
            db.table("stock").create(
                {"sku": str, "location": str, "quantity": int},
                pk=("sku", "location"),
                not_null=["quantity"],
                foreign_keys=[("sku", "products", "sku")],
                if_not_exists=True,
            )
            db.table("overrides").create(
                {
                    "sku": str,
                    "channel": str,
                    "title": str,
                    "description": str,
                    "price_minor": int,
                    "enabled": int,
                },
                pk=("sku", "channel"),
                foreign_keys=[("sku", "products", "sku")],
                if_not_exists=True,
            )
            db.table("catalog_meta").create(
                {"key": str, "value": str},
                pk="key",
                not_null=["value"],
                if_not_exists=True,
            )
            db.execute(
                "INSERT OR IGNORE INTO catalog_meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        _check_schema(db, str(path))
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise DatabaseLocked(path, busy_timeout, "the catalog was not changed") from None
        raise CatalogError(f"not a usable SQLite database ({exc})", file=str(path)) from None
    finally:
        db.close()


def open_catalog(path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT_SECONDS) -> sqlite_utils.Database:
    """Open an existing catalog. Never creates or changes the file.

    Every statement on the connection waits up to ``busy_timeout`` seconds for a lock another
    program holds on the file. Raises :class:`CatalogError` naming the file when it is missing, is
    not an SQLite database, lacks a table or column omnisync needs, or was made by a newer
    omnisync; :class:`DatabaseLocked` when it stays locked by another program past the timeout.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise CatalogError("no catalog here; create one with `omnisync init` (or pass --catalog)", file=name)
    if not path.is_file():
        raise CatalogError("is not a file; expected the catalog's SQLite file", file=name)
    uri = path.absolute().as_uri() + "?mode=rw"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise CatalogError(f"cannot open the catalog: {exc}", file=name) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        db = sqlite_utils.Database(conn)
        _check_schema(db, name)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_busy(exc):
            raise DatabaseLocked(name, busy_timeout) from None
        raise CatalogError(f"cannot read it as an SQLite database ({exc})", file=name) from None
    except CatalogError:
        conn.close()
        raise
    return db


def _read_version(db: sqlite_utils.Database, name: str, *, missing_ok: bool) -> int | None:
    if "catalog_meta" not in db.table_names():
        if missing_ok:
            return None
        raise CatalogError(
            "lacks the table catalog_meta; create the catalog with `omnisync init`",
            file=name,
            field="catalog_meta",
        )
    row = db.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'").fetchone()
    if row is None:
        if missing_ok:
            return None
        raise CatalogError(
            "catalog_meta has no schema_version; run `omnisync init`",
            file=name,
            field="catalog_meta.schema_version",
        )
    try:
        version = int(row[0])
    except (TypeError, ValueError):
        raise CatalogError(
            f"schema_version {row[0]!r} is not a number", file=name, field="catalog_meta.schema_version"
        ) from None
    if version > SCHEMA_VERSION:
        raise CatalogError(
            f"catalog schema version {version} is newer than this omnisync understands "
            f"({SCHEMA_VERSION}); upgrade omnisync",
            file=name,
            field="catalog_meta.schema_version",
        )
    return version


def _check_schema(db: sqlite_utils.Database, name: str) -> None:
    tables = set(db.table_names())
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise CatalogError(
                f"lacks the table {table}; create the catalog with `omnisync init`",
                file=name,
                field=table,
            )
        have = {row[1] for row in db.execute(f"PRAGMA table_info([{table}])").fetchall()}
        for column in columns:
            if column not in have:
                raise CatalogError(
                    f"table {table} lacks the column {column}", file=name, field=f"{table}.{column}"
                )
    _read_version(db, name, missing_ok=False)


def _db_file(db: sqlite_utils.Database) -> str:
    for row in db.execute("PRAGMA database_list").fetchall():
        if row[1] == "main":
            return str(row[2]) or ":memory:"
    return "catalog"


def _busy_timeout(conn: sqlite3.Connection) -> float:
    """The connection's busy timeout in seconds (what a statement waited before SQLITE_BUSY)."""
    return int(conn.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000


def _locked(db: sqlite_utils.Database, name: str | None = None, outcome: str | None = None) -> DatabaseLocked:
    return DatabaseLocked(name or _db_file(db), _busy_timeout(db.conn), outcome)


# --------------------------------------------------------------------------------------------
# values shared by import and read


def gtin_valid(code: str) -> bool:
    """True when ``code`` is a GTIN-8/12/13/14 (ASCII digits) with a correct GS1 check digit."""
    if len(code) not in (8, 12, 13, 14) or not code.isascii() or not code.isdigit():
        return False
    return _gtin_check_digit(code[:-1]) == int(code[-1])


def _gtin_check_digit(body: str) -> int:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def _bad_char(text: str, allow: str = "") -> str | None:
    """The first control character in ``text`` that is not in ``allow``, or None."""
    for ch in text:
        if ch not in allow and unicodedata.category(ch) == "Cc":
            return ch
    return None


def _url_problem(url: str) -> str | None:
    if not url:
        return "empty URL"
    if any(ch.isspace() for ch in url) or _bad_char(url):
        return f"{url!r} is not a URL (it contains a space or control character)"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return f"{url!r} is not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"{url!r} is not an http(s) URL"
    if not host:
        return f"{url!r} has no host"
    return None


# --------------------------------------------------------------------------------------------
# import


@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``updated`` counts SKUs that were already in the catalog (their rows
    were rewritten from the file); ``rows`` counts the data rows read (empty rows skipped)."""

    inserted: int
    updated: int
    rows: int


@dataclass(frozen=True)
class _Column:
    index: int
    name: str
    kind: str  # a product column name, "stock" or "override"
    location: str = ""
    channel: str = ""
    field: str = ""


@dataclass
class _Row:
    row: int
    suffix: str
    product: dict[str, Any]
    stock: dict[str, int]
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Problems:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: list[str] = []

    def add(self, row: int, column: str | None, message: str, suffix: str = "") -> None:
        where = f"{self.file}:{row}: " + (f"{column}: " if column else "")
        self.lines.append(where + message + suffix)


def _surrogate(text: str) -> int | None:
    """The byte value of the first undecodable byte (kept by surrogateescape), or None."""
    for ch in text:
        if "\udc80" <= ch <= "\udcff":
            return ord(ch) - 0xDC00
    return None


def _not_utf8(byte: int) -> str:
    return (
        f'not UTF-8 text (byte 0x{byte:02X}); save the file as "CSV UTF-8" '
        "(in a spreadsheet: Save As > CSV UTF-8)"
    )


def _suggest(name: str, candidates: Iterable[str]) -> str | None:
    options = list(candidates)
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _location_problem(location: str) -> str | None:
    if not location:
        return "empty location after '@' (write quantity@LOCATION)"
    if location != location.strip():
        return f"location {location!r} has leading or trailing spaces"
    if _bad_char(location):
        return f"location {location!r} contains a control character"
    if len(location) > MAX_SKU_LENGTH:
        return f"location name is longer than {MAX_SKU_LENGTH} characters"
    return None


def _looks_like_header(name: str) -> bool:
    return (
        name in _KNOWN_CSV
        or name.startswith("quantity@")
        or ":" in name
        or _suggest(name, _KNOWN_CSV) is not None
    )


def _parse_header(header: Sequence[str], problems: _Problems) -> list[_Column]:
    """The columns the rows are read by; problems with the header go to ``problems``."""
    if not any(_looks_like_header(name) for name in header):
        shown = ", ".join(repr(n) for n in header[:4]) + (", ..." if len(header) > 4 else "")
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            problems.add(
                1,
                None,
                f"the header {header[0]!r} is separated by ';' or tabs; "
                "omnisync reads comma-separated files (sku,title,price,currency)",
            )
        else:
            problems.add(
                1,
                None,
                f"row 1 must be the header naming the columns (such as "
                f"sku,title,price,currency,quantity), but it has {shown}",
            )
        return []
    columns: list[_Column] = []
    seen: dict[tuple[str, ...], int] = {}
    for i, raw in enumerate(header):
        # a name that would garble a terminal is shown as a Python literal
        name = raw if raw.isprintable() else repr(raw)
        label = name if raw else f"column {i + 1}"
        bad = _surrogate(raw)
        if bad is not None:
            problems.add(1, f"column {i + 1}", _not_utf8(bad))
            continue
        if not raw:
            problems.add(1, label, "empty column name in the header")
            continue
        if raw in _KNOWN_CSV and raw != "quantity":
            col = _Column(i, raw, raw)
            key: tuple[str, ...] = (raw,)
        elif raw == "quantity" or raw.startswith("quantity@"):
            location = raw.partition("@")[2] if "@" in raw else DEFAULT_LOCATION
            problem = _location_problem(location)
            if problem:
                problems.add(1, name, problem)
                continue
            col = _Column(i, raw, "stock", location=location)
            key = ("stock", location)
        elif ":" in raw:
            channel, _, fld = raw.partition(":")
            if not _CHANNEL_RE.fullmatch(channel):
                problems.add(
                    1,
                    name,
                    f"{channel!r} is not a channel name (use letters, digits, "
                    "'-' and '_'); per-channel columns look like ebay:price",
                )
                continue
            if fld not in _OVERRIDE_FIELDS:
                hint = _suggest(fld, _OVERRIDE_FIELDS)
                problems.add(
                    1,
                    name,
                    "unknown per-channel column; "
                    + (f"did you mean {channel}:{hint}? " if hint else "")
                    + "per-channel columns are "
                    + ", ".join(f"{channel}:{f}" for f in _OVERRIDE_FIELDS),
                )
                continue
            col = _Column(i, raw, "override", channel=channel, field=fld)
            key = ("override", channel, fld)
        else:
            hint = _suggest(raw, _KNOWN_CSV)
            message = f"unknown column {raw!r}"
            if hint:
                message += f"; did you mean {hint!r}?"
            else:
                message += (
                    "; known columns are "
                    + ", ".join(_KNOWN_CSV)
                    + ", quantity@LOCATION and CHANNEL:title|description|price|enabled"
                )
            problems.add(1, name, message)
            continue
        if key in seen:
            first = seen[key]
            what = "the same location as" if key[0] == "stock" else "the same column as"
            problems.add(
                1, name, f"duplicate column: column {i + 1} is {what} column {first + 1} ({header[first]!r})"
            )
            continue
        seen[key] = i
        columns.append(col)
    missing = [c for c in _REQUIRED_CSV if (c,) not in seen]
    for name in missing:
        problems.add(
            1,
            name,
            "required column missing from the header (row 1 must be the "
            "header, e.g. sku,title,price,currency,quantity)",
        )
    return columns


def _char_problem(value: str, allow: str) -> str | None:
    ch = _bad_char(value, allow)
    if ch is not None:
        return f"contains the control character U+{ord(ch):04X}"
    return None


def _price_problem(cell: str, currency: str) -> tuple[int | None, str | None]:
    """(minor units, None) or (None, message) for a price cell in ``currency``."""
    if _DECIMAL_RE.fullmatch(cell):
        if len(cell.partition(".")[0].lstrip("0")) > 16:
            return None, f"{cell!r} is too large (the most is {Money(MAX_MINOR, currency).to_str()})"
        try:
            return Money.parse(cell, currency).minor, None
        except MoneyError as exc:
            text = str(exc)
            if "decimal places" in text:
                exp = CURRENCIES[currency]
                places = "no decimal places" if exp == 0 else f"{exp} decimal places"
                return None, f"{cell!r} has too many decimal places: {currency} has {places}"
            if "too large" in text:
                return None, (f"{cell!r} is too large (the most is {Money(MAX_MINOR, currency).to_str()})")
            return None, f"{cell!r}: {text}"
    lowered = cell.strip().lower().lstrip("+-")
    if lowered in ("nan", "snan", "inf", "infinity"):
        return None, f"{cell!r} is not a finite number"
    if cell.startswith("-") and _DECIMAL_RE.fullmatch(cell[1:]):
        return None, f"{cell!r} is negative; prices are 0 or more"
    return None, (
        f"{cell!r} is not a price; write a plain decimal number such as 19.99 "
        "(no currency symbol, spaces, thousands separators or exponent)"
    )


def _quantity_problem(cell: str) -> tuple[int | None, str | None]:
    if _INT_RE.fullmatch(cell):
        if len(cell.lstrip("0")) > 10 or int(cell) > MAX_QUANTITY:
            return None, f"{cell!r} is too large (the most is {MAX_QUANTITY})"
        return int(cell), None
    if cell.startswith("-") and _DECIMAL_RE.fullmatch(cell[1:]):
        return None, f"{cell!r} is negative; stock is 0 or more"
    return None, f"{cell!r} is not a whole number of units (0 to {MAX_QUANTITY})"


def _gtin_problem(cell: str, column: str) -> str | None:
    lengths = {"gtin": (8, 12, 13, 14), "upc": (12,), "ean": (13,)}[column]
    if not (cell.isascii() and cell.isdigit()):
        if re.fullmatch(r"[0-9.,]+[eE]\+?[0-9]+", cell):
            return (
                f"{cell!r} is a number in scientific notation, not a {column.upper()}; "
                "format the column as text in the spreadsheet and re-enter it"
            )
        return f"{cell!r} is not a {column.upper()}: use digits only"
    if len(cell) not in lengths:
        want = ", ".join(str(n) for n in lengths[:-1]) + " or " if len(lengths) > 1 else ""
        want += str(lengths[-1])
        hint = ""
        if len(cell) + 1 in lengths:
            hint = " (a spreadsheet may have dropped a leading 0)"
        return f"{cell!r} has {len(cell)} digits; a {column.upper()} has {want}{hint}"
    if not gtin_valid(cell):
        return f"{cell!r} has a wrong check digit (the last digit should be {_gtin_check_digit(cell[:-1])})"
    return None


def _check_row(
    record: Sequence[str], row: int, suffix: str, columns: Sequence[_Column], problems: _Problems
) -> _Row | None:
    before = len(problems.lines)

    def bad(column: str, message: str) -> None:
        problems.add(row, column, message, suffix)

    cells: dict[str, str] = {}
    stock_cells: list[tuple[_Column, str]] = []
    override_cells: list[tuple[_Column, str]] = []
    for col in columns:
        cell = record[col.index] if col.index < len(record) else ""
        byte = _surrogate(cell)
        if byte is not None:
            bad(col.name, _not_utf8(byte))
            continue
        if col.kind == "stock":
            stock_cells.append((col, cell))
        elif col.kind == "override":
            override_cells.append((col, cell))
        else:
            cells[col.kind] = cell

    product: dict[str, Any] = {}

    sku = cells.get("sku")
    if sku is not None:
        if not sku:
            bad("sku", "required; the cell is empty")
        elif sku != sku.strip():
            bad("sku", f"{sku!r} has leading or trailing spaces")
        elif len(sku) > MAX_SKU_LENGTH:
            bad("sku", f"longer than {MAX_SKU_LENGTH} characters ({len(sku)})")
        elif (msg := _char_problem(sku, "")) is not None:
            bad("sku", msg)
        else:
            product["sku"] = sku

    if "group_key" in cells:
        gk = cells["group_key"]
        if gk and gk != gk.strip():
            bad("group_key", f"{gk!r} has leading or trailing spaces")
        elif len(gk) > MAX_SKU_LENGTH:
            bad("group_key", f"longer than {MAX_SKU_LENGTH} characters ({len(gk)})")
        elif (msg := _char_problem(gk, "")) is not None:
            bad("group_key", msg)
        else:
            product["group_key"] = gk or None

    title = cells.get("title")
    if title is not None:
        if not title.strip():
            bad("title", "required; the cell is empty")
        elif (msg := _char_problem(title, "")) is not None:
            bad("title", msg)
        else:
            product["title"] = title

    if "description" in cells:
        desc = cells["description"]
        if (msg := _char_problem(desc, "\t\n\r")) is not None:
            bad("description", msg)
        else:
            product["description"] = desc

    currency = cells.get("currency")
    currency_ok = False
    if currency is not None:
        if not currency:
            bad("currency", "required; the cell is empty")
        elif currency not in CURRENCIES:
            upper = currency.strip().upper()
            if upper in CURRENCIES:
                bad("currency", f"{currency!r}: write the ISO 4217 code exactly, as {upper!r}")
            else:
                bad("currency", f"{currency!r} is not an ISO 4217 currency code (such as USD)")
        else:
            product["currency"] = currency
            currency_ok = True

    price = cells.get("price")
    if price is not None:
        if not price:
            bad("price", "required; the cell is empty")
        elif currency_ok:
            assert currency is not None
            minor, msg = _price_problem(price, currency)
            if msg is not None:
                bad("price", msg)
            else:
                product["price_minor"] = minor

    gtins: list[tuple[str, str]] = []
    for name in ("gtin", "upc", "ean"):
        cell = cells.get(name, "")
        if not cell:
            continue
        msg = _gtin_problem(cell, name)
        if msg is not None:
            bad(name, msg)
        else:
            for other, value in gtins:
                if value.zfill(14) != cell.zfill(14):
                    bad(name, f"{cell!r} conflicts with {other} {value!r}")
                    break
            else:
                gtins.append((name, cell))
    if any(name in cells for name in ("gtin", "upc", "ean")):
        product["gtin"] = gtins[0][1] if gtins else None

    for name in ("brand", "mpn"):
        if name in cells:
            value = cells[name]
            if (msg := _char_problem(value, "")) is not None:
                bad(name, msg)
            else:
                product[name] = value or None

    if "condition" in cells:
        cond = cells["condition"] or "new"
        if cond not in CONDITIONS:
            hint = _suggest(cond, CONDITIONS)
            bad(
                "condition",
                f"{cond!r} is not one of {', '.join(CONDITIONS)}"
                + (f"; did you mean {hint!r}?" if hint else ""),
            )
        else:
            product["condition"] = cond

    if "images" in cells:
        urls = cells["images"].split(_IMAGE_SEPARATOR) if cells["images"] else []
        url_ok = True
        for n, url in enumerate(urls, 1):
            msg = _url_problem(url)
            if msg is not None:
                bad("images", f"image {n}: {msg} (separate URLs with ' | ')")
                url_ok = False
        if url_ok:
            product["images"] = json.dumps(urls, ensure_ascii=False)

    if "link" in cells:
        link = cells["link"]
        if link and (msg := _url_problem(link)) is not None:
            bad("link", msg)
        else:
            product["link"] = link or None

    stock: dict[str, int] = {}
    for col, cell in stock_cells:
        if not cell:
            continue
        qty, msg = _quantity_problem(cell)
        if msg is not None:
            bad(col.name, msg)
        else:
            assert qty is not None
            stock[col.location] = qty

    overrides: dict[str, dict[str, Any]] = {}
    for col, cell in override_cells:
        values = overrides.setdefault(col.channel, {})
        key = "price_minor" if col.field == "price" else col.field
        if not cell:
            values[key] = None
        elif col.field == "title":
            if not cell.strip():
                bad(col.name, "blank title; leave the cell empty for no override")
            elif (msg := _char_problem(cell, "")) is not None:
                bad(col.name, msg)
            else:
                values[key] = cell
        elif col.field == "description":
            if (msg := _char_problem(cell, "\t\n\r")) is not None:
                bad(col.name, msg)
            else:
                values[key] = cell
        elif col.field == "price":
            if currency_ok:
                assert currency is not None
                minor, msg = _price_problem(cell, currency)
                if msg is not None:
                    bad(col.name, msg + f" (in the row's currency, {currency})")
                else:
                    values[key] = minor
        else:  # enabled
            flag = cell.strip().lower()
            if flag in _TRUE:
                values[key] = 1
            elif flag in _FALSE:
                values[key] = 0
            else:
                bad(col.name, f"{cell!r} is not true/false (or yes/no, 1/0)")

    if len(problems.lines) > before:
        return None
    return _Row(row, suffix, product, stock, overrides)


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CatalogError(
            'the file is UTF-16; save it as "CSV UTF-8"',
            file=name,
            line=1,
            problems=[f"{name}:1: not UTF-8 text (the file is UTF-16); save it as CSV UTF-8"],
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="surrogateescape")


def _records(text: str, problems: _Problems) -> Iterator[tuple[int, str, list[str]]]:
    """(spreadsheet row, "(text line N)" suffix or "", cells) for every CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row = 0
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row += 1
            suffix = f" (text line {reader.line_num})" if reader.line_num != row else ""
            problems.add(row, None, f"malformed CSV: {exc}; the rest of the file was not read", suffix)
            return
        row += 1
        yield row, (f" (text line {start})" if start != row else ""), record


def import_csv(
    db: sqlite_utils.Database, csv_path: Path, *, clock: Callable[[], datetime] | None = None
) -> ImportReport:
    """Import ``csv_path`` into the catalog ``db``: all or nothing, upserting by SKU.

    Every row is checked first. If anything is wrong, one :class:`CatalogError` is raised whose
    ``problems`` holds one ``FILE:ROW: COLUMN: message`` line per problem, and nothing is written.
    Otherwise every row is written in one transaction. ``clock`` gives ``updated_at`` (UTC).
    """
    name = str(csv_path)
    try:
        data = Path(csv_path).read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read the file: {exc.strerror or exc}", file=name) from None
    text = _decode(data, name)
    problems = _Problems(name)

    records = _records(text, problems)
    header: list[str] | None = None
    for _row, _suffix, record in records:
        if any(record):  # empty lines before the header are skipped (they keep their numbers)
            header = record
            break
    if header is None:
        if not problems.lines:
            problems.add(
                1, None, "the file is empty; expected a header row such as sku,title,price,currency,quantity"
            )
        raise _import_error(name, problems)

    columns = _parse_header(header, problems)
    rows: list[_Row] = []
    seen_skus: dict[str, int] = {}
    data_rows = 0
    sku_index = header.index("sku") if "sku" in header else None
    for row, suffix, record in records:
        if not any(record):
            continue  # an empty line or a row of empty cells
        data_rows += 1
        if len(record) > len(header):
            problems.add(
                row,
                None,
                f"the row has {len(record)} cells but the header has "
                f"{len(header)} columns (a stray comma, or a cell with an unquoted "
                "comma?)",
                suffix,
            )
            continue
        sku = record[sku_index] if sku_index is not None and sku_index < len(record) else ""
        duplicate = bool(sku) and sku in seen_skus
        if duplicate:
            problems.add(row, "sku", f"duplicate SKU {sku!r}: also on row {seen_skus[sku]}", suffix)
        elif sku:
            seen_skus[sku] = row
        checked = _check_row(record, row, suffix, columns, problems)
        if checked is not None and not duplicate:
            rows.append(checked)

    if problems.lines:
        raise _import_error(name, problems)
    now = (clock or _utcnow)().astimezone(UTC).isoformat(timespec="seconds")
    conn = db.conn
    try:
        # The write lock first (IMMEDIATE): a transaction that read before asking for it could
        # not wait for another program's write (SQLite refuses at once to avoid a deadlock).
        conn.execute("BEGIN IMMEDIATE")
        try:
            report = _write_rows(db, name, rows, columns, data_rows, now, problems)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return report
    except sqlite3.Error as exc:
        if is_busy(exc):
            raise _locked(db, outcome="nothing was imported") from None
        raise CatalogError(
            f"could not write to the catalog ({exc}); nothing was imported", file=_db_file(db)
        ) from None


def _import_error(name: str, problems: _Problems) -> CatalogError:
    n = len(problems.lines)
    return CatalogError(
        f"{n} problem{'s' if n != 1 else ''}; nothing was imported", file=name, problems=problems.lines
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_rows(
    db: sqlite_utils.Database,
    name: str,
    rows: Sequence[_Row],
    columns: Sequence[_Column],
    data_rows: int,
    now: str,
    problems: _Problems,
) -> ImportReport:
    conn = db.conn
    skus = [r.product["sku"] for r in rows]
    existing: dict[str, str] = {}
    for chunk in _chunks(skus, _IN_CHUNK):
        marks = ",".join("?" * len(chunk))
        for sku, cur in conn.execute(
            f"SELECT sku, currency FROM products WHERE sku IN ({marks})", list(chunk)
        ):
            existing[sku] = cur

    # An override price is stored in the product's currency: refuse a currency change that would
    # silently re-denominate an override price the file does not restate.
    price_channels = {c.channel for c in columns if c.kind == "override" and c.field == "price"}
    moved = [
        r
        for r in rows
        if r.product["sku"] in existing and existing[r.product["sku"]] != r.product["currency"]
    ]
    if moved:
        by_sku = {r.product["sku"]: r for r in moved}
        for chunk in _chunks(list(by_sku), _IN_CHUNK):
            marks = ",".join("?" * len(chunk))
            for sku, channel in conn.execute(
                f"SELECT sku, channel FROM overrides WHERE price_minor IS NOT NULL "
                f"AND sku IN ({marks}) ORDER BY sku, channel",
                list(chunk),
            ):
                if channel not in price_channels:
                    r = by_sku[sku]
                    problems.add(
                        r.row,
                        "currency",
                        (
                            f"changes {existing[sku]} to {r.product['currency']}, but the override "
                            f"price for channel {channel!r} is in {existing[sku]}; add a "
                            f"{channel}:price column to restate it (or leave it empty to drop it)"
                        ),
                        r.suffix,
                    )
        if problems.lines:
            raise _import_error(name, problems)

    present = {c.kind for c in columns}
    if present & {"upc", "ean"}:
        present.add("gtin")
    product_cols = (
        ["sku", "title", "price_minor", "currency"]
        + [
            c
            for c in ("group_key", "description", "gtin", "brand", "mpn", "condition", "images", "link")
            if c in present
        ]
        + ["updated_at"]
    )
    updates = ", ".join(f"{c} = excluded.{c}" for c in product_cols if c != "sku")
    conn.executemany(
        f"INSERT INTO products ({', '.join(product_cols)}) "
        f"VALUES ({', '.join('?' * len(product_cols))}) "
        f"ON CONFLICT(sku) DO UPDATE SET {updates}",
        ([*(r.product.get(c) for c in product_cols[:-1]), now] for r in rows),
    )

    if any(c.kind == "stock" for c in columns):
        conn.executemany("DELETE FROM stock WHERE sku = ?", ((s,) for s in skus))
        conn.executemany(
            "INSERT INTO stock (sku, location, quantity) VALUES (?, ?, ?)",
            ((r.product["sku"], loc, qty) for r in rows for loc, qty in r.stock.items()),
        )

    channels: dict[str, list[str]] = {}
    for c in columns:
        if c.kind == "override":
            channels.setdefault(c.channel, []).append("price_minor" if c.field == "price" else c.field)
    for channel, fields in channels.items():
        sets = ", ".join(f"{f} = excluded.{f}" for f in fields)
        conn.executemany(
            f"INSERT INTO overrides (sku, channel, {', '.join(fields)}) "
            f"VALUES (?, ?, {', '.join('?' * len(fields))}) "
            f"ON CONFLICT(sku, channel) DO UPDATE SET {sets}",
            ([r.product["sku"], channel, *(r.overrides[channel][f] for f in fields)] for r in rows),
        )
        conn.executemany(
            "DELETE FROM overrides WHERE sku = ? AND channel = ? AND title IS NULL "
            "AND description IS NULL AND price_minor IS NULL AND enabled IS NULL",
            ((s, channel) for s in skus),
        )

    updated = sum(1 for s in skus if s in existing)
    return ImportReport(inserted=len(skus) - updated, updated=updated, rows=data_rows)


# --------------------------------------------------------------------------------------------
# read


def catalog_skus(db: sqlite_utils.Database) -> list[str]:
    """Every SKU in the catalog, sorted."""
    return [r[0] for r in db.execute("SELECT sku FROM products ORDER BY sku").fetchall()]


def count_products(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM products").fetchone()[0])


def read_products(
    db: sqlite_utils.Database, skus: Collection[str] | None = None, chunk_size: int = 1000
) -> Iterator[Product]:
    """The catalog's products (all, or those in ``skus`` that exist) in SKU order.

    Reads ``chunk_size`` products at a time with their stock and overrides (three queries per
    chunk), so memory stays flat for large catalogs. A value a seller's edit made unusable (a REAL
    price, an unknown currency, bad images JSON) raises :class:`CatalogError` naming the SKU and
    the column.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    name = _db_file(db)
    try:
        yield from _read_products(db.conn, name, skus, chunk_size)
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise _locked(db, name) from None
        raise


def _read_products(
    conn: sqlite3.Connection, name: str, skus: Collection[str] | None, chunk_size: int
) -> Iterator[Product]:
    shared = _Shared()
    if skus is not None:
        wanted = sorted(set(skus))
        for chunk in _chunks(wanted, min(chunk_size, _IN_CHUNK)):
            marks = ",".join("?" * len(chunk))
            args = list(chunk)
            products = conn.execute(f"{_PRODUCT_SELECT} WHERE sku IN ({marks}) ORDER BY sku", args).fetchall()
            stock = conn.execute(
                f"SELECT sku, location, quantity FROM stock WHERE sku IN ({marks}) ORDER BY sku, location",
                args,
            ).fetchall()
            overrides = conn.execute(
                f"SELECT sku, channel, title, description, price_minor, enabled FROM overrides "
                f"WHERE sku IN ({marks}) ORDER BY sku, channel",
                args,
            ).fetchall()
            yield from _build(products, stock, overrides, name, shared)
        return

    last: str | None = None
    while True:
        if last is None:
            products = conn.execute(f"{_PRODUCT_SELECT} ORDER BY sku LIMIT ?", (chunk_size,)).fetchall()
        else:
            products = conn.execute(
                f"{_PRODUCT_SELECT} WHERE sku > ? ORDER BY sku LIMIT ?", (last, chunk_size)
            ).fetchall()
        if not products:
            return
        for p in products:
            if not isinstance(p[0], str) or not p[0]:
                raise CatalogError(
                    f"a product has the SKU {p[0]!r}; every SKU must be text", file=name, field="products.sku"
                )
        first: str = products[0][0]
        last = products[-1][0]
        stock = conn.execute(
            "SELECT sku, location, quantity FROM stock WHERE sku >= ? AND sku <= ? ORDER BY sku, location",
            (first, last),
        ).fetchall()
        overrides = conn.execute(
            "SELECT sku, channel, title, description, price_minor, enabled FROM overrides "
            "WHERE sku >= ? AND sku <= ? ORDER BY sku, channel",
            (first, last),
        ).fetchall()
        yield from _build(products, stock, overrides, name, shared)
        if len(products) < chunk_size:
            return


class _Shared:
    """Values many products of one read hold equal, made once and shared (they are immutable):
    a price per (minor units, currency), a stock mapping per (location, units) set. At a million
    SKUs a private ``Money`` and a private one-location mapping cost ~380 bytes per product."""

    __slots__ = ("prices", "stocks")

    def __init__(self) -> None:
        self.prices: dict[tuple[int, str], Money] = {}
        self.stocks: dict[tuple[tuple[str, int], ...], Mapping[str, int]] = {}

    def stock(self, stock: dict[str, int] | None) -> Mapping[str, int]:
        """The read-only mapping equal to ``stock`` (which nothing else may hold)."""
        if not stock:
            return _NO_STOCK
        key = tuple(stock.items())
        found = self.stocks.get(key)
        if found is None:
            found = self.stocks[key] = MappingProxyType(stock)
        return found


def _build(
    products: Sequence[tuple[Any, ...]],
    stock: Sequence[tuple[Any, ...]],
    overrides: Sequence[tuple[Any, ...]],
    name: str,
    shared: _Shared | None = None,
) -> Iterator[Product]:
    stock_by: dict[str, dict[str, int]] = {}
    for sku, location, qty in stock:
        if not isinstance(location, str) or not location:
            raise CatalogError(
                f"SKU {sku!r} has a stock row with location {location!r}", file=name, field="stock.location"
            )
        if isinstance(qty, bool) or not isinstance(qty, int):
            raise CatalogError(
                f"SKU {sku!r} at {location!r}: quantity {qty!r} is not a whole number",
                file=name,
                field="stock.quantity",
            )
        stock_by.setdefault(sku, {})[location] = qty
    over_by: dict[str, list[tuple[Any, ...]]] = {}
    for row in overrides:
        over_by.setdefault(row[0], []).append(row)
    if shared is None:
        shared = _Shared()
    for row in products:
        sku = row[0]
        ovs = over_by.get(sku)
        product = None if ovs else _plain_product(row, stock_by.get(sku), shared)
        yield product if product is not None else _product(row, stock_by.get(sku, {}), ovs or [], name)


_NO_STOCK: Mapping[str, int] = frozen()
_NO_OVERRIDES: Mapping[str, Override] = frozen()
_OPTIONAL_TEXT = (str, type(None))


def _plain_product(row: tuple[Any, ...], stock: dict[str, int] | None, shared: _Shared) -> Product | None:
    """The common row (no overrides, every value of its expected type) built without the checks'
    overhead; None when anything needs :func:`_product`'s checks (which name the problem)."""
    (sku, group_key, title, description, price_minor, currency, gtin, brand, mpn, condition, images, link) = (
        row
    )
    if (
        type(price_minor) is not int
        or not 0 <= price_minor <= MAX_MINOR
        or type(title) is not str
        or not title
        or type(description) is not str
        or type(currency) is not str
        or currency not in CURRENCIES
        or type(group_key) not in _OPTIONAL_TEXT
        or type(gtin) not in _OPTIONAL_TEXT
        or type(brand) not in _OPTIONAL_TEXT
        or type(mpn) not in _OPTIONAL_TEXT
        or type(link) not in _OPTIONAL_TEXT
    ):
        return None
    if condition is None or condition == "":
        condition = "new"
    elif condition not in CONDITIONS:
        return None
    if images is None or images == "" or images == "[]":
        urls: tuple[str, ...] = ()
    elif (
        type(images) is str
        and images.startswith('["')
        and images.endswith('"]')
        and "\\" not in images
        and images.count('"') == 2
    ):
        urls = (images[2:-2],)  # one URL, nothing escaped: what JSON would give
    elif type(images) is str and images.startswith("["):
        try:
            parsed = json.loads(images)
        except ValueError:
            return None
        if type(parsed) is not list or not all(type(u) is str for u in parsed):
            return None
        urls = tuple(parsed)
    else:
        return None
    key = (price_minor, currency)
    prices = shared.prices
    price = prices.get(key)
    if price is None:
        price = prices[key] = Money(price_minor, currency)
    return Product(
        sku=sku,
        title=title,
        price=price,
        description=description,
        # texts many SKUs repeat (a variant group, a brand, the condition) are kept once
        group_key=sys.intern(group_key) if group_key else None,
        stock=shared.stock(stock),  # _build made ``stock`` for this row
        gtin=gtin or None,
        brand=sys.intern(brand) if brand else None,
        mpn=mpn or None,
        condition=sys.intern(condition),
        images=urls,
        link=link or None,
        overrides=_NO_OVERRIDES,
    )


def _product(
    row: tuple[Any, ...], stock: Mapping[str, int], overrides: Sequence[tuple[Any, ...]], name: str
) -> Product:
    (sku, group_key, title, description, price_minor, currency, gtin, brand, mpn, condition, images, link) = (
        row
    )

    def fail(column: str, message: str) -> CatalogError:
        return CatalogError(f"SKU {sku!r}: {message}", file=name, field=column)

    def text(value: Any, column: str) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise fail(column, f"{column.split('.')[1]} {value!r} is not text")
        return value

    def minor(value: Any, column: str, cur: str) -> Money:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(
                column,
                f"{column.split('.')[1]} {value!r} is not an integer number of "
                f"minor units (e.g. 1999 for 19.99 {cur})",
            )
        if not 0 <= value <= MAX_MINOR:
            raise fail(column, f"{column.split('.')[1]} {value} is out of range")
        return Money(value, cur)

    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise fail("products.currency", f"currency {currency!r} is not an ISO 4217 code")
    price = minor(price_minor, "products.price_minor", currency)
    if not isinstance(title, str) or not title:
        raise fail("products.title", f"title {title!r} is empty or not text")
    cond = condition if condition not in (None, "") else "new"
    if cond not in CONDITIONS:
        raise fail("products.condition", f"condition {cond!r} is not one of {', '.join(CONDITIONS)}")
    urls: tuple[str, ...] = ()
    if images not in (None, ""):
        try:
            parsed = json.loads(images) if isinstance(images, str) else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, list) or not all(isinstance(u, str) for u in parsed):
            raise fail("products.images", f"images {images!r} is not a JSON array of URLs")
        urls = tuple(parsed)

    ovs: dict[str, Override] = {}
    for _, channel, o_title, o_desc, o_price, enabled in overrides:
        if not isinstance(channel, str) or not channel:
            raise fail("overrides.channel", f"override with channel {channel!r}")
        if enabled not in (None, 0, 1) or isinstance(enabled, float):
            raise fail(
                "overrides.enabled", f"override for {channel!r}: enabled {enabled!r} is not 0, 1 or NULL"
            )
        ov = Override(
            title=text(o_title, "overrides.title"),
            description=text(o_desc, "overrides.description"),
            price=None if o_price is None else minor(o_price, "overrides.price_minor", currency),
            enabled=None if enabled is None else bool(enabled),
        )
        if ov != Override():
            ovs[channel] = ov

    return Product(
        sku=sku,
        title=title,
        price=price,
        description=(
            description if isinstance(description, str) else text(description, "products.description") or ""
        ),
        group_key=text(group_key, "products.group_key"),
        stock=frozen(stock),
        gtin=text(gtin, "products.gtin"),
        brand=text(brand, "products.brand"),
        mpn=text(mpn, "products.mpn"),
        condition=cond,
        images=urls,
        link=text(link, "products.link"),
        overrides=frozen(ovs),
    )


# --------------------------------------------------------------------------------------------
# export


def _export_header(db: sqlite_utils.Database) -> tuple[list[str], list[str], list[str]]:
    locations = sorted(
        r[0]
        for r in db.execute(
            "SELECT DISTINCT location FROM stock WHERE sku IN (SELECT sku FROM products)"
        ).fetchall()
        if isinstance(r[0], str) and r[0]
    )
    channels = sorted(
        r[0]
        for r in db.execute(
            "SELECT DISTINCT channel FROM overrides WHERE sku IN (SELECT sku FROM products) AND "
            "(NULLIF(title, '') IS NOT NULL OR NULLIF(description, '') IS NOT NULL "
            "OR price_minor IS NOT NULL OR enabled IS NOT NULL)"
        ).fetchall()
        if isinstance(r[0], str) and r[0]
    )
    others = [loc for loc in locations if loc != DEFAULT_LOCATION]
    header = [
        *_PRODUCT_CSV,
        "quantity",
        *(f"quantity@{loc}" for loc in others),
        *_DETAIL_CSV,
        *(f"{ch}:{f}" for ch in channels for f in _OVERRIDE_FIELDS),
    ]
    return header, [DEFAULT_LOCATION, *others], channels


def _export_row(p: Product, locations: Sequence[str], channels: Sequence[str]) -> list[str]:
    cells = [p.sku, p.group_key or "", p.title, p.description, p.price.to_str(), p.price.currency]
    cells += [str(p.stock[loc]) if loc in p.stock else "" for loc in locations]
    cells += [
        p.gtin or "",
        p.brand or "",
        p.mpn or "",
        p.condition,
        _IMAGE_SEPARATOR.join(p.images),
        p.link or "",
    ]
    for ch in channels:
        ov = p.overrides.get(ch, Override())
        cells += [
            ov.title if ov.title is not None else "",
            ov.description if ov.description is not None else "",
            ov.price.to_str() if ov.price is not None else "",
            "" if ov.enabled is None else ("true" if ov.enabled else "false"),
        ]
    return cells


def export_csv(db: sqlite_utils.Database, out: Path | TextIO) -> int:
    """Write the catalog as CSV (the import format), rows sorted by SKU; returns the row count.

    The header has ``quantity``, a ``quantity@LOCATION`` column per other location in use, and
    four ``CHANNEL:...`` columns per channel with an override. Lines end with CRLF (RFC 4180), so
    pass a text stream opened with ``newline=""``. A path is written atomically (a temporary file
    renamed into place). Importing the output and exporting again gives the same bytes.
    """
    if isinstance(out, (str, os.PathLike)):
        target = Path(out)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
        except OSError as exc:
            raise CatalogError(f"cannot write the file: {exc.strerror or exc}", file=str(target)) from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                count = _write_csv(db, fh)
            os.replace(tmp, target)
        except BaseException as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise CatalogError(
                    f"cannot write the file: {exc.strerror or exc}", file=str(target)
                ) from None
            raise
        return count
    return _write_csv(db, out)


def _write_csv(db: sqlite_utils.Database, fh: TextIO) -> int:
    try:
        header, locations, channels = _export_header(db)
    except sqlite3.OperationalError as exc:
        if is_busy(exc):
            raise _locked(db, outcome="nothing was exported") from None
        raise
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for product in read_products(db):
        writer.writerow(_export_row(product, locations, channels))
        count += 1
    return count


# --------------------------------------------------------------------------------------------
# sales


def decrement_stock(conn: sqlite3.Connection, schema: str, sku: str, location: str, units: int) -> None:
    """Take ``units`` sold out of ``schema.stock`` for ``(sku, location)``, relatively.

    ``schema`` is the name the catalog is ATTACHed as (``"catalog"``) or ``"main"``. Runs inside
    the caller's transaction and does not commit. Raises :class:`CatalogError` when there is no
    such stock row (the seller removed it since the sale was allocated): the caller's transaction
    should then roll back and the sale be allocated again on the next run.
    """
    if not _SCHEMA_RE.fullmatch(schema):
        raise ValueError(f"{schema!r} is not a schema name")
    if isinstance(units, bool) or not isinstance(units, int) or units < 0:
        raise ValueError(f"units must be a non-negative int, got {units!r}")
    sql = DECREMENT_STOCK_SQL.replace("catalog.stock", f'"{schema}".stock', 1)
    cur = conn.execute(sql, (units, sku, location))
    if cur.rowcount == 0:
        raise CatalogError(f"no stock row for SKU {sku!r} at location {location!r}", field="stock.quantity")
