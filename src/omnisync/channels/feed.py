"""The ``feed`` channel: a product file in Google Merchant Center, Meta or Pinterest format.

omnisync writes the whole file; the vendor fetches it on its own schedule. Every fact about the
formats (columns, quoting, availability words, price text, required attributes, TSV vs CSV vs XML)
comes from ``shared/channels/feeds.md``; comments cite its sections as "feeds.md 1a" and so on.

How the channel behaves:

- ``read()`` parses the file the channel last wrote (if any) back into :class:`RemoteListing`
  values, so the planner sees exactly what the feed publishes now. A file that does not parse is a
  :class:`~omnisync.errors.ResponseError` naming the file; it is never overwritten.
- ``write()`` merges the batch into the rows of the current file (rows not in the batch are kept
  as they are, a disabled listing is removed), renders the whole file with rows sorted by id, and
  replaces the file atomically (temporary file in the same folder, fsync, ``os.replace``), and only
  when the bytes changed. A listing that cannot be rendered fails alone.

Stock: the vendors publish stock as an availability word. Google and Meta also accept a number
(``sell_on_google_quantity``, ``quantity_to_sell_on_facebook``; feeds.md 1d, 2d), which the feed
carries so the exact quantity round-trips. Pinterest has no quantity attribute (feeds.md 3d); its
item schema does accept five free integer attributes, ``custom_number_0``..``custom_number_4``
(``shared/specs/pinterest/openapi.json`` ``UpdatableItemAttributes``, the schema feeds.md 3b takes
its column names from), so the quantity goes into ``custom_number_4``. Without it, "in stock" could
only be read back as some guessed number, and the planner would take the gap between that guess
and the last written quantity for sales.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import string
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

from pydantic import field_validator, model_validator

from ..errors import ConfigError, Kind, PermanentError, ResponseError
from ..models import (
    CONDITIONS,
    DESCRIPTION,
    PRICE,
    QUANTITY,
    TITLE,
    RemoteListing,
    Value,
    WriteItem,
    WriteResult,
    field_kind,
)
from ..money import Money, MoneyError
from .base import BaseChannel, Capabilities, Channel, ChannelConfig, ChannelContext

FeedFormat = Literal["google", "meta", "pinterest"]
FileFormat = Literal["tsv", "csv", "xml"]

G_NS = "http://base.google.com/ns/1.0"  # feeds.md 1a (Google), 2a (Meta), 3a (Pinterest)

Row = dict[str, str]  # column / element name -> cell text, exactly as in the file

# A multi-valued attribute: comma-separated in one cell of a delimited file, the element repeated
# in XML (feeds.md 1a "Repeated attributes in XML", 1b additional_image_link).
MULTI_VALUED = frozenset({"additional_image_link"})

# Characters XML 1.0 cannot carry at all, even as character references.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_PRICE_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]{3})?\s*$")
LINK_TEMPLATE_FIELDS = ("sku", "group_key")


@dataclass(frozen=True)
class Vendor:
    """What one vendor's file looks like (all of it from feeds.md)."""

    key: FeedFormat
    label: str
    section: str  # the feeds.md section of this vendor
    columns: tuple[str, ...]  # header order, as in the vendor's example header
    required: tuple[str, ...]  # attributes that may not be blank
    in_stock: str
    out_of_stock: str
    quantity_column: str
    legacy_quantity_columns: tuple[str, ...]  # read, never written (dropped on rewrite)
    id_max: int
    file_formats: tuple[FileFormat, ...]
    default_file_format: FileFormat
    quote_whitespace: bool  # quote every cell holding whitespace or a comma
    currency_optional: bool  # a price without a code means USD
    metadata_comments: bool  # "# ..." lines may precede the header
    max_additional_images: int


VENDORS: dict[str, Vendor] = {
    "google": Vendor(
        key="google",
        label="Google Merchant Center",
        section="1",
        # feeds.md 1c header, minus the columns omnisync has no value for (sale_price,
        # sale_price_effective_date, identifier_exists, color, size), plus additional_image_link
        # (1b) after image_link.
        columns=(
            "id",
            "title",
            "description",
            "link",
            "image_link",
            "additional_image_link",
            "availability",
            "price",
            "brand",
            "gtin",
            "mpn",
            "condition",
            "item_group_id",
            "sell_on_google_quantity",
        ),
        # feeds.md 1b: required for every online product.
        required=("id", "title", "description", "link", "image_link", "availability", "price"),
        in_stock="in_stock",  # feeds.md 1b availability: underscores
        out_of_stock="out_of_stock",
        quantity_column="sell_on_google_quantity",  # feeds.md 1d: the online stock number
        legacy_quantity_columns=(),
        id_max=50,  # feeds.md 1b
        # feeds.md 1a: tab-delimited text or XML; comma-separated files are not accepted. The
        # tab-delimited "text feed" is the default.
        file_formats=("tsv", "xml"),
        default_file_format="tsv",
        quote_whitespace=False,  # feeds.md 1a: quote values holding tabs, line breaks or quotes
        currency_optional=False,  # feeds.md 1b price: number + ISO 4217 code
        metadata_comments=False,
        max_additional_images=10,  # feeds.md 1b: up to 10
    ),
    "meta": Vendor(
        key="meta",
        label="Meta catalog",
        section="2",
        # feeds.md 2c header order, without the columns omnisync has no value for, plus
        # additional_image_link, gtin and mpn (2b).
        columns=(
            "id",
            "title",
            "description",
            "availability",
            "condition",
            "price",
            "link",
            "image_link",
            "additional_image_link",
            "brand",
            "gtin",
            "mpn",
            "item_group_id",
            "quantity_to_sell_on_facebook",
        ),
        # feeds.md 2b: required for Advantage+ catalog ads (brand/mpn/gtin "one of" is left to
        # `omnisync validate`; the file itself is valid without them).
        required=("id", "title", "description", "availability", "condition", "price", "link", "image_link"),
        in_stock="in stock",  # feeds.md 2b/2d: US-English words with spaces
        out_of_stock="out of stock",
        quantity_column="quantity_to_sell_on_facebook",  # feeds.md 2b/2d
        legacy_quantity_columns=("inventory",),  # feeds.md 2b: deprecated name, still read
        id_max=100,  # feeds.md 2b
        # feeds.md 2a: CSV, TSV, RSS XML. Meta's own template is a .csv file (2b price source).
        file_formats=("csv", "tsv", "xml"),
        default_file_format="csv",
        # feeds.md 2a: "a field containing whitespace or commas goes in double quotes"; TSV
        # follows the CSV rules.
        quote_whitespace=True,
        currency_optional=False,  # feeds.md 2b price: number, space, ISO 4217 code
        metadata_comments=True,  # feeds.md 2a: "# ref_application_id ..." lines before the header
        max_additional_images=10,  # feeds.md 2b: 20 per a mirror, 10 per Meta's own page
    ),
    "pinterest": Vendor(
        key="pinterest",
        label="Pinterest catalog",
        section="3",
        # feeds.md 3c header order, without sale_price, plus additional_image_link, gtin, mpn
        # (3b) and the quantity column (see the module docstring).
        columns=(
            "id",
            "title",
            "description",
            "link",
            "image_link",
            "additional_image_link",
            "price",
            "availability",
            "condition",
            "brand",
            "gtin",
            "mpn",
            "item_group_id",
            "custom_number_4",
        ),
        # feeds.md 3b: required columns.
        required=("id", "title", "description", "link", "image_link", "price", "availability"),
        in_stock="in stock",  # feeds.md 3b/3d
        out_of_stock="out of stock",
        # feeds.md 3d: no quantity attribute. custom_number_4 is one of the item schema's free
        # integer attributes (0..4,294,967,295) [spec: pinterest/openapi.json
        # UpdatableItemAttributes]; it carries the quantity so that read() gives back exactly
        # what was written.
        quantity_column="custom_number_4",
        legacy_quantity_columns=(),
        id_max=127,  # feeds.md 3b
        # feeds.md 3a: CSV, TSV or XML. The example header in 3c is tab-delimited, and TSV lets
        # one file layout serve Google and Pinterest alike.
        file_formats=("tsv", "csv", "xml"),
        default_file_format="tsv",
        quote_whitespace=False,
        currency_optional=True,  # feeds.md 3b price: "24.99" alone means USD
        metadata_comments=False,
        max_additional_images=10,  # feeds.md 3b: up to 10
    ),
}

PINTEREST_QUANTITY_MAX = 4_294_967_295  # the custom_number_N range [spec: pinterest/openapi.json]


class FeedConfig(ChannelConfig):
    """``[channels.NAME]`` keys of a ``type = "feed"`` channel."""

    format: FeedFormat
    path: str  # the output file, relative to the config file's folder
    file_format: FileFormat | None = None  # default: the vendor's most common one (see VENDORS)
    link_template: str | None = None  # e.g. "https://shop.example/p/{sku}", for products without a link
    store_name: str | None = None  # XML: the RSS <channel><title> (default: the channel name)
    store_url: str | None = None  # XML: the RSS <channel><link> (default: link_template's site)

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("path is empty (name the feed file to write)")
        return v

    @field_validator("link_template")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
        except ValueError as exc:
            raise ValueError(f"bad link_template: {exc}") from None
        for name in names:
            if name not in LINK_TEMPLATE_FIELDS:
                raise ValueError(f"unknown link_template field {{{name}}}; use {{sku}} or {{group_key}}")
        parts = urlsplit(v.replace("{", "").replace("}", ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"link_template {v!r} is not an http(s) URL")  # feeds.md 1b link
        return v

    @field_validator("store_url")
    @classmethod
    def _store_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"store_url {v!r} is not an http(s) URL")
        return v

    @model_validator(mode="after")
    def _file_format_fits(self) -> FeedConfig:
        vendor = VENDORS[self.format]
        if self.file_format is not None and self.file_format not in vendor.file_formats:
            raise ValueError(
                f"file_format {self.file_format!r} is not accepted by {vendor.label}; use "
                + " or ".join(repr(f) for f in vendor.file_formats)
            )
        if self.resolved_file_format == "xml" and self.site_url is None:
            raise ValueError("an XML feed needs store_url (the RSS channel link) or a link_template")
        return self

    @property
    def vendor(self) -> Vendor:
        return VENDORS[self.format]

    @property
    def resolved_file_format(self) -> FileFormat:
        return self.file_format or VENDORS[self.format].default_file_format

    @property
    def site_url(self) -> str | None:
        if self.store_url:
            return self.store_url
        if self.link_template:
            parts = urlsplit(self.link_template)
            return f"{parts.scheme}://{parts.netloc}"
        return None


class Unrenderable(Exception):
    """One listing cannot become a feed row; the message says why."""


@dataclass
class FeedFile:
    """A feed file as rows. ``extra_columns`` are columns omnisync does not write itself, kept as
    they were; ``preamble`` is Meta's metadata comment lines before the header (feeds.md 2a)."""

    rows: dict[str, Row] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    raw: bytes | None = None


class FeedChannel(BaseChannel):
    """Writes the product feed of one vendor to a file."""

    Config = FeedConfig
    capabilities = Capabilities(
        fields=frozenset({QUANTITY, PRICE, TITLE, DESCRIPTION}),
        read_page_size=100_000_000,
        max_write_batch=100_000_000,  # the engine sends every changed listing in one batch
        create=True,
        feed=True,
    )

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        if not isinstance(cfg, FeedConfig):
            raise ConfigError(
                "a feed channel needs the feed keys (format, path)", field=f"channels.{cfg.name}"
            )
        super().__init__(cfg, ctx)
        self.feed_cfg: FeedConfig = cfg
        self.vendor = cfg.vendor
        self.file_format: FileFormat = cfg.resolved_file_format
        self.path = ctx.path(cfg.path)

    # -- protocol ------------------------------------------------------------------------------
    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """What the file publishes now, one listing per row (``since`` is not supported)."""
        feed = self._load()
        wanted = set(skus) if skus is not None else None
        out = [
            self._to_remote(sku, row)
            for sku, row in sorted(feed.rows.items())
            if wanted is None or sku in wanted
        ]
        return iter(out)

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        feed = self._load()
        rows = dict(feed.rows)
        results: list[WriteResult] = []
        for item in batch:
            if not item.listing.enabled:
                rows.pop(item.sku, None)  # a full snapshot: a missing item is removed (feeds.md 0)
                results.append(WriteResult.success(item.sku, applied=item.values))
                continue
            try:
                row = self._render_row(item, rows.get(item.sku))
            except Unrenderable as exc:
                results.append(WriteResult.failure(item.sku, str(exc), Kind.PERMANENT.value))
                continue
            rows[item.sku] = row
            results.append(WriteResult.success(item.sku, applied=item.values))

        data = self._render_file(rows, feed)
        if data == feed.raw:
            self.ctx.log(f"{self.name}: {self.path} unchanged ({len(rows)} products)")
            return results
        try:
            _atomic_write(self.path, data)
        except OSError as exc:
            raise PermanentError(
                f"cannot write the feed file {self.path}: {exc.strerror or exc}", channel=self.name
            ) from exc
        self.ctx.log(f"{self.name}: wrote {self.path} ({len(rows)} products)")
        return results

    def check(self) -> str:
        folder = self.path.parent
        if not folder.is_dir():
            raise PermanentError(f"the feed folder {folder} does not exist", channel=self.name)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermanentError(f"the feed folder {folder} is not writable", channel=self.name)
        if self.path.is_dir():
            raise PermanentError(f"the feed path {self.path} is a folder", channel=self.name)
        what = f"{self.vendor.label} {self.file_format.upper()} feed {self.path}"
        if not self.path.exists():
            return f"{what} (not written yet; folder writable)"
        return f"{what}: {len(self._load().rows)} products"

    # -- reading -------------------------------------------------------------------------------
    def _load(self) -> FeedFile:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return FeedFile()
        except IsADirectoryError:
            raise PermanentError(f"the feed path {self.path} is a folder", channel=self.name) from None
        except OSError as exc:
            raise PermanentError(
                f"cannot read the feed file {self.path}: {exc.strerror or exc}", channel=self.name
            ) from exc
        if self.file_format == "xml":
            feed = self._parse_xml(raw)
        else:
            feed = self._parse_delimited(raw)
        feed.raw = raw
        return feed

    def _bad_file(self, message: str, line: int | None = None) -> ResponseError:
        where = f"{self.path}: line {line}" if line is not None else str(self.path)
        return ResponseError(
            f"{where}: {message} (expected a {self.vendor.label} {self.file_format.upper()} feed; "
            "if the format or file_format changed, move the old file away)",
            channel=self.name,
        )

    def _parse_delimited(self, raw: bytes) -> FeedFile:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self._bad_file(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        feed = FeedFile()
        if self.vendor.metadata_comments:
            # feeds.md 2a: optional "# ref_application_id ..." lines before the header.
            while text.startswith("#"):
                comment, nl, text = text.partition("\n")
                feed.preamble.append(comment.rstrip("\r"))
                if not nl:
                    break
        skipped = len(feed.preamble)
        delimiter = "\t" if self.file_format == "tsv" else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header: list[str] | None = None
        try:
            for cells in reader:
                line = reader.line_num + skipped
                if header is None:
                    header = [c.strip() for c in cells]
                    if "id" not in header:
                        raise self._bad_file("the header has no id column", line)
                    dupes = sorted({c for c in header if header.count(c) > 1})
                    if dupes:
                        raise self._bad_file(f"the header repeats {', '.join(dupes)}", line)
                    known = set(self.vendor.columns)
                    feed.extra_columns = [c for c in header if c not in known and c]
                    continue
                if not any(cells):
                    continue  # a blank line
                if len(cells) != len(header):
                    raise self._bad_file(f"{len(cells)} cells where the header has {len(header)}", line)
                row = {name: value for name, value in zip(header, cells) if name}
                sku = row["id"]
                if not sku:
                    raise self._bad_file("the id is empty", line)
                if sku in feed.rows:
                    raise self._bad_file(f"id {sku!r} appears twice", line)
                self._check_row(row, line)
                feed.rows[sku] = row
        except csv.Error as exc:
            raise self._bad_file(f"bad quoting ({exc})", reader.line_num + skipped) from None
        if header is None and text.strip():
            raise self._bad_file("no header row")
        return feed

    def _parse_xml(self, raw: bytes) -> FeedFile:
        if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
            raise self._bad_file("declares a DTD or entities, which a product feed does not use")
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as exc:
            line = exc.position[0] if exc.position else None
            raise self._bad_file(f"not well-formed XML ({exc})", line) from None
        channel = root.find("channel")
        if root.tag != "rss" or channel is None:
            raise self._bad_file(f"the root is <{root.tag}>, not an RSS 2.0 <rss><channel>")
        feed = FeedFile()
        extra: dict[str, None] = {}
        for index, item in enumerate(channel.findall("item"), start=1):
            row: Row = {}
            from_plain: set[str] = set()
            for el in item:
                namespace, _, local = el.tag.rpartition("}")
                namespace = namespace.lstrip("{")
                if namespace not in ("", G_NS) or len(el):
                    continue  # other vocabularies and nested groups are not omnisync's
                text = el.text or ""
                if namespace == "":
                    # The older Google example uses plain RSS <title>/<link>/<description>
                    # (feeds.md 1a); a g: element of the same name wins. Other plain RSS
                    # elements (<guid>, <pubDate>) are not product attributes.
                    if local in row or local not in self.vendor.columns:
                        continue
                    from_plain.add(local)
                elif local in from_plain:
                    from_plain.discard(local)
                    row.pop(local)
                if local in row:
                    row[local] = f"{row[local]},{text}"  # a repeated element (feeds.md 1a)
                else:
                    row[local] = text
            sku = row.get("id", "")
            if not sku:
                raise self._bad_file(f"item {index} has no <g:id>")
            if sku in feed.rows:
                raise self._bad_file(f"item {index}: id {sku!r} appears twice")
            self._check_row(row, None, f"item {index} ({sku})")
            for name in row:
                if name not in self.vendor.columns:
                    extra[name] = None
            feed.rows[sku] = row
        feed.extra_columns = list(extra)
        return feed

    def _check_row(self, row: Row, line: int | None, where: str = "") -> None:
        """Parse the values read() reports, so a bad cell fails at load time with its place."""
        try:
            self._values(row)
        except ValueError as exc:
            raise self._bad_file(f"{where + ': ' if where else ''}{exc}", line) from None

    def _values(self, row: Row) -> dict[str, Value]:
        values: dict[str, Value] = {}
        quantity = self._quantity(row)
        if quantity is not None:
            values[QUANTITY] = quantity
        price = row.get("price", "").strip()
        if price:
            values[PRICE] = self._parse_price(price)
        if "title" in row:
            values[TITLE] = row["title"]
        if "description" in row:
            values[DESCRIPTION] = row["description"]
        return values

    def _quantity(self, row: Row) -> int | None:
        for column in (self.vendor.quantity_column, *self.vendor.legacy_quantity_columns):
            text = row.get(column, "").strip()
            if text:
                if not text.isdigit():
                    raise ValueError(f"{column} {text!r} is not a whole number of units")
                return int(text)
        # No number in the row: "out of stock" says 0; "in stock" says nothing exact, so the
        # quantity is left unknown (the planner then writes it) rather than guessed.
        availability = row.get("availability", "").strip().lower().replace("_", " ")
        if availability == "out of stock":
            return 0
        return None

    def _parse_price(self, text: str) -> Money:
        match = _PRICE_TEXT.match(text)
        if not match:
            raise ValueError(f"price {text!r} is not 'amount CURRENCY' (e.g. '19.99 USD')")
        amount, code = match.group(1), match.group(2)
        if code is None:
            if not self.vendor.currency_optional:
                raise ValueError(f"price {text!r} has no currency code")
            code = "USD"  # feeds.md 3b: Pinterest reads a bare amount as USD
        try:
            return Money.parse(amount, code.upper())
        except MoneyError as exc:
            raise ValueError(f"price {text!r}: {exc}") from None

    def _to_remote(self, sku: str, row: Row) -> RemoteListing:
        return RemoteListing(sku=sku, values=self._values(row), remote_id=sku)

    # -- writing -------------------------------------------------------------------------------
    def _render_row(self, item: WriteItem, existing: Row | None) -> Row:
        """The feed row of one listing, or :class:`Unrenderable` saying every problem at once."""
        vendor = self.vendor
        listing = item.listing
        wanted: dict[str, Value] = {**listing.values, **item.values}
        synced = {field_kind(key) for key in wanted}
        problems: list[str] = []
        bad_columns: set[str] = set()

        def problem(column: str, message: str) -> None:
            problems.append(message)
            bad_columns.add(column)

        sku = item.sku

        row: Row = {}
        if existing:
            # Columns omnisync does not write stay as they were (not the legacy quantity column,
            # which the current one replaces).
            row.update(
                {
                    k: v
                    for k, v in existing.items()
                    if k not in vendor.columns and k not in vendor.legacy_quantity_columns
                }
            )

        if not sku.strip():
            problem("id", "the SKU is empty")
        elif len(sku) > vendor.id_max:
            problem(
                "id",
                f"the SKU is {len(sku)} characters; {vendor.label} ids take at most "
                f"{vendor.id_max} (feeds.md {vendor.section}b id)",
            )
        row["id"] = sku

        # A field omnisync is not told to keep true (sync = [...]) keeps what the file has.
        def keep(kind: str, column: str) -> bool:
            return kind not in synced and existing is not None and bool(existing.get(column, ""))

        for kind, attr, column in (
            (TITLE, listing.title, "title"),
            (DESCRIPTION, listing.description, "description"),
        ):
            if keep(kind, column):
                assert existing is not None
                row[column] = existing[column]
                continue
            text = wanted.get(kind, attr)
            if not isinstance(text, str):
                problem(column, f"{column} is not text")
                text = ""
            row[column] = text

        if keep(PRICE, "price"):
            assert existing is not None
            row["price"] = existing["price"]
        else:
            price = wanted.get(PRICE, listing.price)
            if price is None:
                problem("price", "no price")
                row["price"] = ""
            elif not isinstance(price, Money):
                problem("price", "the price is not an amount of money")
                row["price"] = ""
            else:
                # feeds.md 1b/2b/3b: exact amount, a space, the ISO 4217 code ("19.99 USD").
                row["price"] = f"{price.to_str()} {price.currency}"

        if QUANTITY not in synced and existing is not None and existing.get("availability"):
            row["availability"] = existing["availability"]
            for column in (vendor.quantity_column, *vendor.legacy_quantity_columns):
                if existing.get(column):
                    row[vendor.quantity_column] = existing[column]
                    break
        else:
            quantity = self._wanted_quantity(wanted, listing.quantity)
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
                problem("availability", f"quantity {quantity!r} is not a whole number of units")
            elif vendor.key == "pinterest" and quantity > PINTEREST_QUANTITY_MAX:
                problem("availability", f"quantity {quantity} is above what {vendor.quantity_column} holds")
            else:
                row["availability"] = vendor.in_stock if quantity > 0 else vendor.out_of_stock
                row[vendor.quantity_column] = str(quantity)

        link = listing.link or self._templated_link(sku, listing.group_key)
        row["link"] = link or ""

        # feeds.md 1b image_link/additional_image_link, 3a: a comma inside an image URL is
        # written %2C, so the comma-separated list of additional images stays unambiguous.
        images = [url.strip().replace(",", "%2C") for url in listing.images if url.strip()]
        row["image_link"] = images[0] if images else ""
        row["additional_image_link"] = ",".join(images[1 : 1 + vendor.max_additional_images])

        if listing.condition not in CONDITIONS:
            problem("condition", f"condition {listing.condition!r} is not one of {', '.join(CONDITIONS)}")
        row["condition"] = listing.condition
        row["brand"] = listing.brand or ""
        row["gtin"] = listing.gtin or ""
        row["mpn"] = listing.mpn or ""
        row["item_group_id"] = listing.group_key or ""  # variants share it (feeds.md 1b, 2b, 3b)

        for column in vendor.required:
            if not row.get(column, "").strip() and column not in bad_columns:
                hint = " (set the product's link or the channel's link_template)" if column == "link" else ""
                problem(
                    column,
                    f"{column} is empty; {vendor.label} requires it (feeds.md {vendor.section}b){hint}",
                )

        if self.file_format == "xml":
            for column, text in row.items():
                if _XML_INVALID.search(text):
                    problems.append(f"{column} holds a control character an XML feed cannot carry")

        if problems:
            raise Unrenderable("; ".join(problems))
        return row

    @staticmethod
    def _wanted_quantity(wanted: Mapping[str, Value], fallback: int) -> Value:
        if QUANTITY in wanted:
            return wanted[QUANTITY]
        located = [v for k, v in wanted.items() if field_kind(k) == QUANTITY]
        if located and all(isinstance(v, int) and not isinstance(v, bool) for v in located):
            return sum(v for v in located if isinstance(v, int))
        return fallback

    def _templated_link(self, sku: str, group_key: str | None) -> str | None:
        template = self.feed_cfg.link_template
        if not template:
            return None
        # feeds.md 1b link: reserved characters in the URL are percent-encoded.
        return template.format(sku=quote(sku, safe=""), group_key=quote(group_key or sku, safe=""))

    def _render_file(self, rows: Mapping[str, Row], feed: FeedFile) -> bytes:
        ordered = [rows[sku] for sku in sorted(rows)]  # deterministic: a no-change run is a no-op
        if self.file_format == "xml":
            return self._render_xml(ordered, feed.extra_columns)
        return self._render_delimited(ordered, feed)

    def _render_delimited(self, rows: list[Row], feed: FeedFile) -> bytes:
        vendor = self.vendor
        delimiter = "\t" if self.file_format == "tsv" else ","
        dropped = set(vendor.legacy_quantity_columns)
        header = list(vendor.columns)
        header += [c for c in feed.extra_columns if c not in dropped]
        for row in rows:
            header += [c for c in row if c not in header and c not in dropped]

        def line(cells: Sequence[str]) -> str:
            return delimiter.join(self._cell(c, delimiter) for c in cells)

        lines = list(feed.preamble)
        lines.append(line(header))
        lines.extend(line([row.get(column, "") for column in header]) for row in rows)
        return ("\n".join(lines) + "\n").encode("utf-8")  # UTF-8 is accepted by all three (feeds.md 0)

    def _cell(self, value: str, delimiter: str) -> str:
        # feeds.md 1a (Google): a value holding a tab or a line break is wrapped in double quotes,
        # a quote inside it doubled; quoted fields are on by default. feeds.md 2a (Meta, CSV and
        # TSV alike): a value holding whitespace or a comma is quoted, quotes doubled. Pinterest
        # (no vendor text): the same CSV convention, minimal quoting. A value with a quote in it
        # is always quoted, or a parser would read its quote as the start of a quoted value.
        special = delimiter in value or '"' in value or "\n" in value or "\r" in value
        if self.vendor.quote_whitespace:
            special = special or "," in value or any(ch.isspace() for ch in value)
        if special:
            return '"' + value.replace('"', '""') + '"'
        return value

    def _render_xml(self, rows: list[Row], extra_columns: list[str]) -> bytes:
        cfg = self.feed_cfg
        columns = list(self.vendor.columns)
        columns += [c for c in extra_columns if c not in columns]
        for row in rows:
            columns += [c for c in row if c not in columns]
        columns = [c for c in columns if c not in self.vendor.legacy_quantity_columns]
        # feeds.md 1a/1c: RSS 2.0 with the g: namespace, every item field under g: (the current
        # Google example; Meta 2a and Pinterest 3a read the same vocabulary). feeds.md 2a: the
        # file starts with the <?xml declaration and has one field per line.
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<rss version="2.0" xmlns:g="{G_NS}">',
            " <channel>",
            f"  <title>{_xml_text(cfg.store_name or cfg.name)}</title>",
            f"  <link>{_xml_text(cfg.site_url or '')}</link>",
            f"  <description>{_xml_text(f'{self.vendor.label} product feed written by omnisync')}</description>",
        ]
        for row in rows:
            out.append("  <item>")
            for column in columns:
                value = row.get(column, "")
                if value == "":
                    continue  # an absent attribute is left out, not written empty
                # feeds.md 1a: a repeated attribute repeats the element.
                values = value.split(",") if column in MULTI_VALUED else [value]
                for v in values:
                    out.append(f"   <g:{column}>{_xml_text(v)}</g:{column}>")
            out.append("  </item>")
        out += [" </channel>", "</rss>"]
        return ("\n".join(out) + "\n").encode("utf-8")


def _xml_text(text: str) -> str:
    """Element text escaped so that a parser gives back exactly ``text``. A carriage return is a
    character reference, since XML parsers turn a literal one into a line feed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a reader (or the vendor's fetch) sees the old file
    or the new one, never a part: a temporary file in the same folder, fsync, ``os.replace``."""
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644  # the vendor fetches the file through a web server: readable by others
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable (POSIX); not possible on every platform.
    with contextlib.suppress(OSError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_: type[Channel] = FeedChannel
