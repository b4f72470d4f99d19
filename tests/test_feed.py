"""The feed channel: Google Merchant Center, Meta and Pinterest product files (feeds.md).

Every format is written, read back by omnisync and, independently, by the standard library's CSV
or XML parser (standing in for the vendor's fetcher), and checked against what feeds.md says the
vendor requires.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pydantic
import pytest

from omnisync.channels import load
from omnisync.channels.base import ChannelContext
from omnisync.channels.feed import FeedChannel, FeedConfig
from omnisync.errors import ChannelError, ResponseError
from omnisync.models import Listing, RemoteListing, Value, WriteItem, WriteResult
from omnisync.money import Money

G = "{http://base.google.com/ns/1.0}"

# (format, file_format, file name) for every file layout the channel writes.
LAYOUTS = [
    ("google", "tsv", "google.txt"),
    ("google", "xml", "google.xml"),
    ("meta", "csv", "meta.csv"),
    ("meta", "tsv", "meta.tsv"),
    ("meta", "xml", "meta.xml"),
    ("pinterest", "tsv", "pinterest.tsv"),
    ("pinterest", "csv", "pinterest.csv"),
    ("pinterest", "xml", "pinterest.xml"),
]
IDS = [f"{fmt}-{ff}" for fmt, ff, _ in LAYOUTS]

# feeds.md 1b, 2b, 3b: attributes each vendor requires.
REQUIRED = {
    "google": ["id", "title", "description", "link", "image_link", "availability", "price"],
    "meta": ["id", "title", "description", "availability", "condition", "price", "link", "image_link"],
    "pinterest": ["id", "title", "description", "link", "image_link", "price", "availability"],
}
# feeds.md 1b, 2b/2d, 3b: availability words.
IN_STOCK = {"google": "in_stock", "meta": "in stock", "pinterest": "in stock"}
OUT_OF_STOCK = {"google": "out_of_stock", "meta": "out of stock", "pinterest": "out of stock"}
QUANTITY_COLUMN = {
    "google": "sell_on_google_quantity",  # feeds.md 1d
    "meta": "quantity_to_sell_on_facebook",  # feeds.md 2b
    "pinterest": "custom_number_4",  # no quantity attribute (3d); a free integer attribute
}

TRICKY = 'Say "hi",\tthen\nnew line\r\nand CRLF, <b>&amp;</b>  two  spaces '


def make_listing(
    sku: str,
    *,
    price: str | None = "19.99",
    currency: str = "USD",
    quantity: int = 5,
    title: str | None = None,
    description: str = "A plain description.",
    enabled: bool = True,
    images: tuple[str, ...] | None = None,
    link: str | None = None,
    group_key: str | None = None,
    brand: str | None = "ExampleCo",
    gtin: str | None = None,
    mpn: str | None = None,
    condition: str = "new",
) -> Listing:
    money = Money.parse(price, currency) if price is not None else None
    title = title if title is not None else f"Product {sku}"
    values: dict[str, Value] = {"quantity": quantity, "title": title, "description": description}
    if money is not None:
        values["price"] = money
    return Listing(
        sku=sku,
        values=values,
        enabled=enabled,
        title=title,
        description=description,
        price=money,
        quantity=quantity,
        group_key=group_key,
        gtin=gtin,
        brand=brand,
        mpn=mpn,
        condition=condition,
        images=images if images is not None else (f"https://shop.example/img/{sku}.jpg",),
        link=link,
    )


def item(listing: Listing) -> WriteItem:
    return WriteItem(sku=listing.sku, values=listing.values, listing=listing, key=f"key-{listing.sku}")


def channel(tmp_path: Path, fmt: str, file_format: str | None, name: str, **extra: object) -> FeedChannel:
    cfg = FeedConfig.model_validate(
        {
            "name": f"{fmt}-feed",
            "type": "feed",
            "format": fmt,
            "path": f"out/{name}",
            "file_format": file_format,
            "link_template": "https://shop.example/p/{sku}",
            **extra,
        }
    )
    (tmp_path / "out").mkdir(exist_ok=True)
    return FeedChannel(cfg, ChannelContext(config_dir=tmp_path))


def by_sku(ch: FeedChannel) -> dict[str, RemoteListing]:
    return {r.sku: r for r in ch.read()}


def vendor_rows(path: Path, file_format: str) -> tuple[list[str], list[dict[str, str | list[str]]]]:
    """The file as a vendor's parser sees it: the header (or element names) and the rows."""
    raw = path.read_bytes()
    if file_format == "xml":
        root = ET.fromstring(raw)
        rows: list[dict[str, str | list[str]]] = []
        names: list[str] = []
        for it in root.iter("item"):
            row: dict[str, str | list[str]] = {}
            for el in it:
                assert el.tag.startswith(G), f"item field {el.tag} is not in the g: namespace"
                local = el.tag[len(G) :]
                names.append(local)
                if local == "additional_image_link":
                    extra = row.setdefault(local, [])
                    assert isinstance(extra, list)
                    extra.append(el.text or "")
                else:
                    row[local] = el.text or ""
            rows.append(row)
        return sorted(set(names)), rows
    delimiter = "\t" if file_format == "tsv" else ","
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""), delimiter=delimiter)
    header = list(reader.fieldnames or [])
    return header, [dict(r) for r in reader]


def listed_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_every_value_round_trips_exactly(tmp_path: Path, fmt: str, file_format: str, name: str) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    listings = [
        make_listing(
            "TEE-RED-M", price="19.99", quantity=12, title="Tee, red, M", group_key="TEE", description=TRICKY
        ),
        make_listing(
            "MUG-1",
            price="1500",
            currency="JPY",
            quantity=0,
            title="Café ☕ マグカップ — “Ünïcødé”",
            description="Ligne 1\nLigne 2 — naïve",
        ),
        make_listing(
            "KW-1",
            price="1.005",
            currency="KWD",
            quantity=1,
            title='12" Teflon Frying Pan',
            description='"quoted" at both ends"',
        ),
        make_listing(
            "ZERO",
            price="0.10",
            quantity=3,
            title="  padded title ",
            description="tab\tseparated\tand\ttrailing tab\t",
        ),
    ]
    results = ch.write([item(x) for x in listings])
    assert all(r.ok for r in results), results
    assert [r.sku for r in results] == [x.sku for x in listings]
    assert dict(results[0].applied) == dict(listings[0].values)

    seen = by_sku(ch)
    assert set(seen) == {x.sku for x in listings}
    for x in listings:
        assert dict(seen[x.sku].values) == {
            "quantity": x.quantity,
            "price": x.price,
            "title": x.title,
            "description": x.description,
        }, x.sku
    assert seen["TEE-RED-M"].values["price"] == Money(1999, "USD")
    assert str(seen["KW-1"].values["price"]) == "1.005 KWD"

    # The vendor's own parser sees the same values (no omnisync-only escaping).
    _, rows = vendor_rows(ch.path, file_format)
    vendor_by_id = {r["id"]: r for r in rows}
    assert vendor_by_id["TEE-RED-M"]["description"] == TRICKY
    assert vendor_by_id["TEE-RED-M"]["price"] == "19.99 USD"
    assert vendor_by_id["MUG-1"]["price"] == "1500 JPY"
    assert vendor_by_id["KW-1"]["price"] == "1.005 KWD"
    assert vendor_by_id["MUG-1"]["title"] == "Café ☕ マグカップ — “Ünïcødé”"
    assert vendor_by_id["TEE-RED-M"]["item_group_id"] == "TEE"
    assert vendor_by_id["TEE-RED-M"]["availability"] == IN_STOCK[fmt]
    assert vendor_by_id["MUG-1"]["availability"] == OUT_OF_STOCK[fmt]
    assert vendor_by_id["TEE-RED-M"][QUANTITY_COLUMN[fmt]] == "12"
    assert vendor_by_id["TEE-RED-M"]["link"] == "https://shop.example/p/TEE-RED-M"
    assert ch.path.read_bytes().decode("utf-8")  # UTF-8 (feeds.md 0)


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_file_has_the_columns_the_vendor_requires(
    tmp_path: Path, fmt: str, file_format: str, name: str
) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    ch.write(
        [
            item(
                make_listing(
                    "SKU-1",
                    gtin="4006381333931",
                    mpn="MPN-1",
                    images=("https://shop.example/a.jpg", "https://shop.example/b.jpg"),
                )
            )
        ]
    )
    names, rows = vendor_rows(ch.path, file_format)
    for column in REQUIRED[fmt]:
        assert column in names, column
        assert rows[0][column], column
    assert QUANTITY_COLUMN[fmt] in names
    assert "quantity" not in names  # no invented column
    assert rows[0]["gtin"] == "4006381333931"
    assert rows[0]["brand"] == "ExampleCo"
    assert rows[0]["mpn"] == "MPN-1"
    assert rows[0]["condition"] == "new"
    assert rows[0]["image_link"] == "https://shop.example/a.jpg"
    extra = rows[0]["additional_image_link"]
    assert extra == (["https://shop.example/b.jpg"] if file_format == "xml" else "https://shop.example/b.jpg")

    text = ch.path.read_text(encoding="utf-8")
    if file_format == "xml":
        # feeds.md 1a: RSS 2.0 + g: namespace; 2a: the file starts with the XML declaration.
        assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
        root = ET.fromstring(ch.path.read_bytes())
        assert root.tag == "rss" and root.get("version") == "2.0"
        channel_el = root.find("channel")
        assert channel_el is not None
        for required in ("title", "link", "description"):
            assert (channel_el.findtext(required) or "").strip(), required
        assert channel_el.findtext("link") == "https://shop.example"
    else:
        first = text.split("\n", 1)[0]
        assert first.split("\t" if file_format == "tsv" else ",")[0] == "id"
        # header names: lowercase with underscores (feeds.md 1a, 3a)
        assert all(n == n.lower() and " " not in n for n in names)


def test_google_text_feed_quotes_like_the_vendor_example(tmp_path: Path) -> None:
    # feeds.md 1a: tab-delimited; a value with a tab or a line break is quoted and a quote inside
    # it doubled, e.g. "12"" Teflon Frying Pan".
    ch = channel(tmp_path, "google", None, "feed.txt")
    ch.write([item(make_listing("PAN", title='12" Teflon Frying Pan', description="one\ttwo\nthree"))])
    assert ch.path.name == "feed.txt"
    lines = ch.path.read_text(encoding="utf-8").split("\n")
    assert lines[0].startswith("id\ttitle\tdescription\t")
    assert '\t"12"" Teflon Frying Pan"\t' in lines[1]
    assert '\t"one\ttwo' in lines[1]
    # no comma delimiter anywhere in the header (feeds.md 1a: .csv is not accepted)
    assert "," not in lines[0]
    assert lines[2].startswith('three"\thttps://shop.example/p/PAN\t')  # the quoted value ends
    assert "\tin_stock\t19.99 USD\t" in lines[2]


def test_meta_csv_quotes_whitespace_and_commas(tmp_path: Path) -> None:
    # feeds.md 2a: a field containing whitespace or commas goes in double quotes.
    ch = channel(tmp_path, "meta", None, "meta.csv")
    ch.write(
        [
            item(
                make_listing(
                    "TEE-1",
                    title="Tee, red, M",
                    description="Cotton",
                    images=(
                        "https://shop.example/a.jpg",
                        "https://shop.example/b.jpg",
                        "https://shop.example/c.jpg",
                    ),
                )
            )
        ]
    )
    header, data = ch.path.read_text(encoding="utf-8").split("\n")[:2]
    assert header.startswith("id,title,description,availability,condition,price,link,image_link")
    assert data.startswith('TEE-1,"Tee, red, M",Cotton,"in stock",new,"19.99 USD",')
    assert '"https://shop.example/b.jpg,https://shop.example/c.jpg"' in data  # list quoted whole


def test_image_urls_with_commas_are_encoded(tmp_path: Path) -> None:
    # feeds.md 1b (image_link, additional_image_link) and 3a: commas in image URLs are %2C.
    ch = channel(tmp_path, "google", "tsv", "feed.txt")
    ch.write(
        [
            item(
                make_listing(
                    "A",
                    images=(
                        "https://i.example/w=1,h=2.jpg",
                        "https://i.example/x,y.jpg",
                        "https://i.example/z.jpg",
                    ),
                )
            )
        ]
    )
    _, rows = vendor_rows(ch.path, "tsv")
    assert rows[0]["image_link"] == "https://i.example/w=1%2Ch=2.jpg"
    assert rows[0]["additional_image_link"] == "https://i.example/x%2Cy.jpg,https://i.example/z.jpg"


# -- writes that change nothing, crashes, removals, failures -----------------------------------


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_second_write_with_same_listings_leaves_the_file_untouched(
    tmp_path: Path, fmt: str, file_format: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    batch = [item(make_listing(s, description=TRICKY)) for s in ("B", "A", "C")]
    ch.write(batch)
    before = ch.path.stat()
    content = ch.path.read_bytes()

    def no_replace(src: object, dst: object) -> None:
        raise AssertionError("the file was rewritten")

    monkeypatch.setattr(os, "replace", no_replace)
    results = ch.write(list(reversed(batch)))  # other order, same file
    again = channel(tmp_path, fmt, file_format, name).write(batch[:1])  # a fresh instance, one SKU
    assert all(r.ok for r in results + again)
    after = ch.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert ch.path.read_bytes() == content
    assert listed_files(ch.path.parent) == [name]


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_crash_during_replace_keeps_the_old_file_and_no_temp_file(
    tmp_path: Path, fmt: str, file_format: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    ch.write([item(make_listing("A", price="10.00"))])
    old = ch.path.read_bytes()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(ChannelError) as info:
        ch.write([item(make_listing("A", price="12.00")), item(make_listing("B"))])
    assert str(ch.path) in str(info.value)
    assert ch.path.read_bytes() == old
    assert listed_files(ch.path.parent) == [name]

    def killed(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        ch.write([item(make_listing("A", price="12.00"))])
    assert ch.path.read_bytes() == old
    assert listed_files(ch.path.parent) == [name]
    assert by_sku(ch)["A"].values["price"] == Money(1000, "USD")


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_disabled_listing_is_removed_and_others_are_kept(
    tmp_path: Path, fmt: str, file_format: str, name: str
) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    ch.write([item(make_listing(s)) for s in ("A", "B", "C")])
    off = make_listing("B", enabled=False)
    results = ch.write([item(off), item(make_listing("D", price="4.50"))])
    assert [(r.sku, r.ok) for r in results] == [("B", True), ("D", True)]
    assert sorted(by_sku(ch)) == ["A", "C", "D"]
    # removing a SKU the feed does not have is not an error and changes nothing
    before = ch.path.read_bytes()
    assert ch.write([item(make_listing("NOPE", enabled=False))])[0].ok
    assert ch.path.read_bytes() == before


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_a_bad_listing_fails_alone(tmp_path: Path, fmt: str, file_format: str, name: str) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    ch.write([item(make_listing("OLD", price="3.00")), item(make_listing("NOIMG", price="8.00"))])
    batch = [
        item(make_listing("GOOD", price="5.00")),
        item(make_listing("NOPRICE", price=None)),
        item(make_listing("X" * 200)),  # longer than every vendor's id limit
        item(make_listing("NOIMG", price="9.00", images=())),  # image_link is required by all three
    ]
    results = {r.sku: r for r in ch.write(batch)}
    assert results["GOOD"].ok
    assert not results["NOPRICE"].ok and "no price" in (results["NOPRICE"].error or "")
    assert not results["X" * 200].ok and "at most" in (results["X" * 200].error or "")
    assert not results["NOIMG"].ok and "image_link" in (results["NOIMG"].error or "")
    assert results["NOPRICE"].error_kind == "permanent"
    seen = by_sku(ch)
    assert sorted(seen) == ["GOOD", "NOIMG", "OLD"]
    assert seen["NOIMG"].values["price"] == Money(800, "USD")  # the old row stays as it was


def test_listing_without_link_or_template_fails_with_a_hint(tmp_path: Path) -> None:
    cfg = FeedConfig(name="g", type="feed", format="google", path="feed.txt")
    ch = FeedChannel(cfg, ChannelContext(config_dir=tmp_path))
    results = ch.write([item(make_listing("A")), item(make_listing("B", link="https://b.example/b"))])
    assert not results[0].ok and "link_template" in (results[0].error or "")
    assert results[1].ok
    assert list(by_sku(ch)) == ["B"]


def test_rows_are_sorted_and_rows_outside_the_batch_are_kept(tmp_path: Path) -> None:
    ch = channel(tmp_path, "pinterest", "csv", "p.csv")
    ch.write([item(make_listing(s)) for s in ("c", "A", "b")])
    ch.write([item(make_listing("B2", price="1.00"))])
    _, rows = vendor_rows(ch.path, "csv")
    assert [r["id"] for r in rows] == sorted(["c", "A", "b", "B2"])


def test_written_file_is_readable_by_the_vendor_fetcher(tmp_path: Path) -> None:
    ch = channel(tmp_path, "google", "tsv", "feed.txt")
    ch.write([item(make_listing("A"))])
    assert stat.S_IMODE(ch.path.stat().st_mode) & 0o044 == 0o044
    os.chmod(ch.path, 0o640)
    ch.write([item(make_listing("A", price="2.00"))])
    assert stat.S_IMODE(ch.path.stat().st_mode) == 0o640  # an existing file keeps its mode


# -- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_no_file_reads_as_nothing(tmp_path: Path, fmt: str, file_format: str, name: str) -> None:
    assert list(channel(tmp_path, fmt, file_format, name).read()) == []


@pytest.mark.parametrize(("fmt", "file_format", "name"), LAYOUTS, ids=IDS)
def test_unparseable_file_is_a_response_error_naming_it(
    tmp_path: Path, fmt: str, file_format: str, name: str
) -> None:
    ch = channel(tmp_path, fmt, file_format, name)
    ch.path.write_bytes(b'\xff\xfe<not a feed \x00 at all\n"unterminated')
    with pytest.raises(ResponseError) as info:
        list(ch.read())
    assert str(ch.path) in str(info.value)
    garbage = ch.path.read_bytes()
    with pytest.raises(ResponseError):
        ch.write([item(make_listing("A"))])
    assert ch.path.read_bytes() == garbage  # never overwritten


@pytest.mark.parametrize(
    ("file_format", "content", "problem"),
    [
        ("tsv", "id\ttitle\tprice\nA\tT\t19.99\n", "no currency code"),
        ("tsv", "id\ttitle\tprice\nA\tT\tcheap USD\n", "not 'amount CURRENCY'"),
        ("tsv", "id\ttitle\nA\tT\nA\tT2\n", "appears twice"),
        ("tsv", "id\ttitle\nA\tT\textra\n", "3 cells"),
        ("tsv", "title\tprice\nT\t1.00 USD\n", "no id column"),
        ("tsv", "id\tsell_on_google_quantity\nA\tmany\n", "whole number"),
        ("xml", '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>', "RSS 2.0"),
        ("xml", '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss><channel/></rss>', "DTD"),
    ],
)
def test_bad_google_files_say_what_is_wrong(
    tmp_path: Path, file_format: str, content: str, problem: str
) -> None:
    ch = channel(tmp_path, "google", file_format, f"feed.{file_format}")
    ch.path.write_text(content, encoding="utf-8")
    with pytest.raises(ResponseError) as info:
        list(ch.read())
    assert problem in str(info.value)
    assert str(ch.path) in str(info.value)


def test_line_numbers_in_read_errors(tmp_path: Path) -> None:
    ch = channel(tmp_path, "meta", "csv", "m.csv")
    ch.path.write_text('# ref_application_id 1\nid,price\nA,"1.00 USD"\nB,"x USD"\n', encoding="utf-8")
    with pytest.raises(ResponseError) as info:
        list(ch.read())
    assert "line 4" in str(info.value)


def test_meta_metadata_comments_and_legacy_inventory_are_read(tmp_path: Path) -> None:
    # feeds.md 2a: "# ref_..." lines before the header; 2b: the deprecated `inventory` is read.
    ch = channel(tmp_path, "meta", "csv", "m.csv")
    ch.path.write_text(
        "# ref_application_id 12345\n"
        "id,title,description,availability,price,inventory,custom_label_0\n"
        'A,"Old tee",Cotton,"in stock","9.99 GBP",7,summer\n',
        encoding="utf-8",
    )
    assert dict(by_sku(ch)["A"].values) == {
        "quantity": 7,
        "price": Money(999, "GBP"),
        "title": "Old tee",
        "description": "Cotton",
    }
    ch.write([item(make_listing("A", price="9.99", currency="GBP", quantity=6))])
    text = ch.path.read_text(encoding="utf-8")
    assert text.startswith("# ref_application_id 12345\nid,")
    header, rows = vendor_rows_after_comments(text)
    assert "inventory" not in header  # replaced by quantity_to_sell_on_facebook
    assert rows[0]["quantity_to_sell_on_facebook"] == "6"
    assert rows[0]["custom_label_0"] == "summer"  # a column omnisync does not write is kept
    assert by_sku(ch)["A"].values["quantity"] == 6


def vendor_rows_after_comments(text: str) -> tuple[list[str], list[dict[str, str]]]:
    body = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    reader = csv.DictReader(io.StringIO(body, newline=""))
    return list(reader.fieldnames or []), [dict(r) for r in reader]


def test_read_without_a_quantity_number(tmp_path: Path) -> None:
    # A hand-made feed with only availability: out of stock is 0; in stock is not guessed.
    ch = channel(tmp_path, "pinterest", "tsv", "p.tsv")
    ch.path.write_text(
        "id\ttitle\tdescription\tprice\tavailability\n"
        "A\tT\tD\t24.99USD\tIn Stock\n"
        "B\tT\tD\t24.99\tout of stock\n",
        encoding="utf-8",
    )
    seen = by_sku(ch)
    assert "quantity" not in seen["A"].values
    assert seen["B"].values["quantity"] == 0
    assert seen["A"].values["price"] == Money(2499, "USD")  # feeds.md 3b: "24.99USD"
    assert seen["B"].values["price"] == Money(2499, "USD")  # feeds.md 3b: bare amount is USD


def test_read_filters_by_sku(tmp_path: Path) -> None:
    ch = channel(tmp_path, "google", "xml", "g.xml")
    ch.write([item(make_listing(s)) for s in ("A", "B", "C")])
    assert [r.sku for r in ch.read(skus=["C", "A", "Z"])] == ["A", "C"]
    assert all(r.remote_id == r.sku for r in ch.read())


# -- content ------------------------------------------------------------------------------------


def test_link_template_encodes_the_sku(tmp_path: Path) -> None:
    ch = channel(tmp_path, "meta", "tsv", "m.tsv", link_template="https://shop.example/p/{group_key}?v={sku}")
    ch.write(
        [
            item(make_listing("A/B 1&2", group_key="TEE")),
            item(make_listing("SOLO")),
            item(make_listing("OWN", link="https://elsewhere.example/own")),
        ]
    )
    _, rows = vendor_rows(ch.path, "tsv")
    links = {r["id"]: r["link"] for r in rows}
    assert links == {
        "A/B 1&2": "https://shop.example/p/TEE?v=A%2FB%201%262",
        "SOLO": "https://shop.example/p/SOLO?v=SOLO",
        "OWN": "https://elsewhere.example/own",
    }


def test_fields_not_synced_keep_what_the_feed_has(tmp_path: Path) -> None:
    ch = channel(tmp_path, "google", "tsv", "g.txt")
    ch.write([item(make_listing("A", quantity=4, title="Original"))])
    # A channel with sync = ["price"]: the listing's values carry only the price.
    full = make_listing("A", price="7.00", quantity=99, title="Changed")
    price = Money.parse("7.00", "USD")
    only_price = dataclasses.replace(full, values={"price": price})
    assert ch.write([WriteItem("A", {"price": price}, only_price, "k")])[0].ok
    assert dict(by_sku(ch)["A"].values) == {
        "quantity": 4,
        "price": Money(700, "USD"),
        "title": "Original",
        "description": "A plain description.",
    }


def test_multi_location_quantities_are_summed(tmp_path: Path) -> None:
    ch = channel(tmp_path, "google", "tsv", "g.txt")
    base = make_listing("A", quantity=0)
    values: dict[str, Value] = {"quantity@north": 2, "quantity@south": 3}
    listing = dataclasses.replace(base, values=values, quantity=5)
    ch.write([WriteItem("A", values, listing, "k")])
    assert by_sku(ch)["A"].values["quantity"] == 5


def test_xml_refuses_characters_xml_cannot_carry(tmp_path: Path) -> None:
    ch = channel(tmp_path, "pinterest", "xml", "p.xml")
    results = ch.write([item(make_listing("A", description="bell \x07")), item(make_listing("B"))])
    assert not results[0].ok and "control character" in (results[0].error or "")
    assert results[1].ok


# -- config, registry, check ---------------------------------------------------------------------


def test_registry_and_config_model() -> None:
    cls = load("feed")
    assert cls is FeedChannel
    assert cls.Config is FeedConfig
    caps = FeedChannel.capabilities
    assert caps.feed and caps.create
    assert caps.fields == frozenset({"quantity", "price", "title", "description"})
    assert caps.max_write_batch >= 1_000_000 and caps.read_page_size >= 1_000_000


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"format": "google", "file_format": "csv"}, "not accepted by Google"),
        ({"format": "amazon"}, "format"),
        ({"format": "meta", "file_format": "xml", "link_template": None}, "store_url"),
        ({"format": "meta", "link_template": "https://shop.example/p/{id}"}, "unknown link_template field"),
        ({"format": "meta", "link_template": "shop.example/p/{sku}"}, "http(s)"),
        ({"format": "meta", "colour": "red"}, "colour"),
    ],
)
def test_config_errors(keys: dict[str, object], message: str) -> None:
    data: dict[str, object] = {
        "name": "f",
        "type": "feed",
        "path": "feed.txt",
        "link_template": "https://shop.example/p/{sku}",
        **keys,
    }
    with pytest.raises(pydantic.ValidationError) as info:
        FeedConfig.model_validate(data)
    assert message in str(info.value)


def test_default_file_formats() -> None:
    def fmt(vendor: str) -> str:
        return FeedConfig(name="f", type="feed", format=vendor, path="x").resolved_file_format  # type: ignore[arg-type]

    assert (fmt("google"), fmt("meta"), fmt("pinterest")) == ("tsv", "csv", "tsv")


def test_xml_channel_title_and_link_from_config(tmp_path: Path) -> None:
    ch = channel(
        tmp_path,
        "google",
        "xml",
        "g.xml",
        store_name="Ünïcorn & Co <Shop>",
        store_url="https://unicorn.example",
    )
    ch.write([item(make_listing("A"))])
    channel_el = ET.fromstring(ch.path.read_bytes()).find("channel")
    assert channel_el is not None
    assert channel_el.findtext("title") == "Ünïcorn & Co <Shop>"
    assert channel_el.findtext("link") == "https://unicorn.example"


def test_check(tmp_path: Path) -> None:
    ch = channel(tmp_path, "google", "tsv", "feed.txt")
    line = ch.check()
    assert "not written yet" in line and "\n" not in line
    ch.write([item(make_listing("A")), item(make_listing("B"))])
    assert "2 products" in ch.check()

    cfg = FeedConfig(name="g", type="feed", format="google", path="missing/feed.txt")
    with pytest.raises(ChannelError) as info:
        FeedChannel(cfg, ChannelContext(config_dir=tmp_path)).check()
    assert "does not exist" in str(info.value)


def test_write_into_a_missing_folder_is_a_channel_error(tmp_path: Path) -> None:
    cfg = FeedConfig(
        name="g",
        type="feed",
        format="google",
        path="missing/feed.txt",
        link_template="https://shop.example/p/{sku}",
    )
    ch = FeedChannel(cfg, ChannelContext(config_dir=tmp_path))
    with pytest.raises(ChannelError) as info:
        ch.write([item(make_listing("A"))])
    assert "missing" in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_results_are_write_results(tmp_path: Path) -> None:
    ch = channel(tmp_path, "meta", None, "m.csv")
    results = ch.write([item(make_listing("A"))])
    assert isinstance(results[0], WriteResult)
    assert results[0].pending is None and results[0].error is None


def test_xml_with_plain_rss_elements_and_extra_attributes(tmp_path: Path) -> None:
    # feeds.md 1a: the older Google example uses plain <title>/<link>/<description>; a g: element
    # omnisync does not write (here g:color) is kept when the item is rewritten.
    ch = channel(tmp_path, "google", "xml", "g.xml")
    ch.path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>'
        "<title>Shop</title><link>https://shop.example</link><description>d</description>"
        "<item><g:id>A</g:id><title>Plain title</title><description>Plain &amp; simple</description>"
        "<link>https://shop.example/a</link><guid>ignored</guid><g:price>5.00 EUR</g:price>"
        "<g:availability>out_of_stock</g:availability><g:color>Red</g:color></item>"
        "</channel></rss>\n",
        encoding="utf-8",
    )
    assert dict(by_sku(ch)["A"].values) == {
        "quantity": 0,
        "price": Money(500, "EUR"),
        "title": "Plain title",
        "description": "Plain & simple",
    }
    ch.write([item(make_listing("A", price="6.00", currency="EUR", quantity=2))])
    _, rows = vendor_rows(ch.path, "xml")
    assert rows[0]["color"] == "Red"
    assert rows[0]["price"] == "6.00 EUR"
    assert "guid" not in rows[0]
