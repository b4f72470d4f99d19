"""Each channel's published listing rules, as data, for ``omnisync validate``.

A :class:`Rule` names one constraint a channel documents: the listing field it reads, one of a small
set of check kinds (:data:`CHECKS`, implemented in :mod:`omnisync.validate`), the check's
parameters, a severity, a message, and the vendor's public documentation page that states it
(``doc``: an ``https://`` URL, shown by every output format of ``omnisync validate``; ``None`` where
no public vendor page for the rule is known, and for omnisync's own checks).

``trace`` records, for the tests only, where the rule's fact was read when the rule was written: a
section of the project's research notes (``channels/<file>.md § <heading> › <subheading>``) or a
vendor spec with a JSON pointer, several joined with ``" ; "``. It is never printed: users have
neither file. The tests check each ``doc`` URL against those notes when they are present, or against
the evidence recorded in ``tests/data/rule_sources_found.toml`` (the search, and an excerpt of the
vendor's page) for the pages found after the notes were written.

Rule sets are keyed by vendor name (:data:`RULE_SETS`). A channel is checked against the set named
by its ``type`` (for ``type = "feed"``: by its ``format``), plus every set its ``validate_as``
names, plus :data:`CHANNEL_RULES` (its own ``currency``).

Fields a rule can read (the desired listing, after the channel's price and content rules):

- ``sku``, ``title``, ``description``, ``gtin``, ``brand``, ``mpn``, ``condition``, ``link``,
  ``group_key``: text or ``None``;
- ``price``: :class:`~omnisync.money.Money`; ``currency``: the price's ISO 4217 code;
- ``quantity``: the total stock shown; ``quantities``: the stock shown per channel location;
- ``images``: the image URLs, the first one being the main image.

Check kinds:

- ``required``: present and not blank; ``alternatives``: other fields that also satisfy it
- ``max_length``: ``max`` characters at most (each element of ``images``)
- ``min_length``: ``min`` characters at least
- ``pattern``: the whole value matches the regular expression ``pattern``
- ``forbidden``: the regular expression ``pattern`` matches nowhere (each element of ``images``)
- ``no_html``: no HTML tags except ``allow``; no character entities when ``entities`` is false
- ``max_occurrences``: each character of ``chars`` appears at most ``max`` times
- ``unicode_classes``: only characters of the Unicode ``categories`` (prefixes) or in ``extra``
- ``gtin_checkdigit``: digits only (``ignore`` chars dropped), a length in ``lengths``, GS1 check
  digit
- ``url``: an absolute URL with a scheme in ``schemes`` (each element of ``images``)
- ``count_max``: at most ``max`` elements; ``count_min``: at least ``min``
- ``one_of``: one of ``values``
- ``range``: an integer within [``min``, ``max``] (each element of ``quantities``)
- ``money_min``: at least ``min`` (major units) or above it when ``exclusive``
- ``money_max``: at most ``max[currency]`` (major units), for the currencies listed
- ``money_whole``: no fractional part (whole currency units)
- ``channel_currency``: the channel's configured ``currency``, when it sets one
- ``group_consistent``: every listing with the same ``group_key`` has the same value of the field
- ``group_min_size``: a ``group_key`` shared by at least ``min`` listings
- ``group_max_size``: a ``group_key`` shared by at most ``max`` listings
- ``unique``: no two listings share a value (``case_insensitive``; ``ignore_same_group``: listings
  of one group may share it)

``applies_if`` names a field that must be present for the rule to apply (eBay: an MPN needs a
brand).
``example_pass`` / ``example_fail`` are listing attributes (a dict, or a list of dicts for the
kinds that compare listings) for which the rule passes or fails; the tests use them, or generate
them from the check kind where that is possible (a new rule without a test case fails the tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from types import MappingProxyType
from typing import Any, Literal

Severity = Literal["error", "warning"]
SEVERITIES: tuple[str, ...] = ("error", "warning")

TEXT_FIELDS: tuple[str, ...] = (
    "sku",
    "title",
    "description",
    "gtin",
    "brand",
    "mpn",
    "condition",
    "link",
    "group_key",
)
FIELDS: tuple[str, ...] = TEXT_FIELDS + ("price", "currency", "quantity", "quantities", "images")

# Check kinds on one listing, and kinds that compare the listings of one channel.
LISTING_CHECKS: tuple[str, ...] = (
    "required",
    "max_length",
    "min_length",
    "pattern",
    "forbidden",
    "no_html",
    "max_occurrences",
    "unicode_classes",
    "gtin_checkdigit",
    "url",
    "count_max",
    "count_min",
    "one_of",
    "range",
    "money_min",
    "money_max",
    "money_whole",
    "channel_currency",
)
CROSS_CHECKS: tuple[str, ...] = ("group_consistent", "group_min_size", "group_max_size", "unique")
CHECKS: tuple[str, ...] = LISTING_CHECKS + CROSS_CHECKS


@dataclass(frozen=True)
class Rule:
    """One documented listing constraint of one channel."""

    id: str
    severity: Severity
    field: str
    check: str
    message: str
    trace: str  # where the fact was read (tests only; never printed)
    params: Mapping[str, Any] = _field(default_factory=lambda: MappingProxyType({}), hash=False)
    applies_if: str | None = None
    doc: str | None = None  # the vendor's public documentation page (https) that states the rule
    example_pass: Any = _field(default=None, hash=False, compare=False)
    example_fail: Any = _field(default=None, hash=False, compare=False)

    @property
    def rule_set(self) -> str:
        return self.id.split(".", 1)[0]


def _r(
    id: str,
    severity: Severity,
    field: str,
    check: str,
    message: str,
    trace: str,
    *,
    applies_if: str | None = None,
    doc: str | None = None,
    example_pass: Any = None,
    example_fail: Any = None,
    **params: Any,
) -> Rule:
    return Rule(
        id=id,
        severity=severity,
        field=field,
        check=check,
        message=message,
        trace=trace,
        params=MappingProxyType(params),
        applies_if=applies_if,
        doc=doc,
        example_pass=example_pass,
        example_fail=example_fail,
    )


# -- traces (tests only) ----------------------------------------------------------------------
_MKT = "channels/marketplaces-and-social.md"
_FEEDS = "channels/feeds.md"
_STORES = "channels/storefronts.md"
_SELF = "channels/self-hosted.md"

AMAZON = f"{_MKT} § 1. Amazon Selling Partner API › Validator constraints"
EBAY = f"{_MKT} § 2. eBay Sell Inventory API v1 › Validator constraints"
EBAY_SPEC = "specs/ebay/sell_inventory_v1_oas3.json#/components/schemas"
WALMART = f"{_MKT} § 3. Walmart Marketplace API (US) › Validator constraints"
WALMART_PRICE = f"{_MKT} § 3. Walmart Marketplace API (US) › Endpoints"
ETSY = f"{_MKT} § 4. Etsy Open API v3 › Validator constraints"
GOOGLE_API = f"{_MKT} § 5. Google Merchant Center › Validator constraints (product data specification)"
GOOGLE = f"{_FEEDS} § 1. Google Merchant Center › 1b. Attributes (online products)"
GOOGLE_FILES = f"{_FEEDS} § 1. Google Merchant Center › 1a. File formats, encoding, quoting"
META_API = f"{_MKT} § 6. Meta Commerce › Fields (PRODUCT_ITEM)"
META = f"{_FEEDS} § 2. Meta catalog data feed files › 2b. Fields (products)"
TIKTOK = f"{_MKT} § 7. TikTok Shop Partner API › Validator constraints"
TIKTOK_ENDPOINTS = f"{_MKT} § 7. TikTok Shop Partner API › Endpoints"
PINTEREST_API = f"{_MKT} § 8. Pinterest Catalogs API v5 › Validator constraints"
PINTEREST = f"{_FEEDS} § 3. Pinterest catalog data source files › 3b. Attributes"
PINTEREST_FILES = f"{_FEEDS} § 3. Pinterest catalog data source files › 3a. File formats, encoding, quoting"
PINTEREST_SPEC = "specs/pinterest/openapi.json#/components/schemas/UpdatableItemAttributes/properties"
FLIPKART = f"{_MKT} § 9. Flipkart Marketplace Seller API v3 › Endpoints"
SHOPIFY = f"{_STORES} § 1. Shopify Admin API › 1.6 Validator-relevant constraints"
SHOPIFY_PRICE = f"{_STORES} § 1. Shopify Admin API › 1.2 Operations (GraphQL)"
WOO = f"{_STORES} § 2. WooCommerce REST API v3 › 2.6 Validator constraints"
BIGCOMMERCE = f"{_STORES} § 3. BigCommerce › 3.6 Validator constraints"
BC_SPEC = "specs/bigcommerce/products_catalog.v3.yml#/components/schemas/product_Base_PUT/properties"
ECWID = f"{_STORES} § 4. Ecwid REST API v3 › 4.5 Validator constraints"
SELF_PITFALLS = f"{_SELF} § Pitfalls met, and the way past each"
OMNISYNC = "omnisync: generic sanity rule (no vendor fact; see omnisync/validation_rules.py)"

# -- the vendors' public documentation pages, each cited in its rule's traced section ---------
_AMAZON_DOC = "https://sellercentral.amazon.com/gp/help/external/200390640"
_GOOGLE_DOC = "https://support.google.com/merchants/answer/"
_META_DOC = "https://developers.facebook.com/documentation/ads-commerce/commerce-platform/catalog/fields"
_META_BEST_PRACTICES = "https://developers.secure.facebook.com/docs/commerce-platform/catalog/best-practices/"
_FLIPKART_PRICE_DOC = (
    "https://beta-seller.flipkart.com/api-docs/listing-api-docs/v3/UpdateListingsPriceAPI.html"
)
_SHOPIFY_VARIANTS_DOC = (
    "https://shopify.dev/docs/api/admin-graphql/2025-04/objects/ProductVariantsBulkUpdateUserError"
)
# Pages found by search for rules the notes cite no page for (evidence: tests/data/rule_sources_found.toml).
_EBAY_GUIDE = "https://developer.ebay.com/api-docs/user-guides/static/trading-user-guide/"
_EBAY_TITLE_DOC = f"{_EBAY_GUIDE}listing-title.html"
_EBAY_FORMATTING_DOC = f"{_EBAY_GUIDE}formatting.html"
_EBAY_MULTI_VARS_DOC = f"{_EBAY_GUIDE}prod-ids-multi-vars.html"
_EBAY_BRAND_MPN_DOC = "https://developer.ebay.com/Devzone/XML/docs/Reference/ebay/types/BrandMPNType.html"
_EBAY_PICTURES_DOC = "https://developer.ebay.com/Devzone/xml/docs/Reference/eBay/types/PicturesType.html"
_TIKTOK_CREATE_PRODUCT_DOC = "https://partner.tiktokshop.com/docv2/page/6502fc8da57708028b42b18a"
_BC_CREATE_PRODUCT_DOC = (
    "https://developer.bigcommerce.com/api-reference/catalog/catalog-api/products/createproduct"
)
_BC_LIMITS_DOC = "https://support.bigcommerce.com/articles/en_US/Knowledge/Platform-Limits?language=en_US"

_NO_ACTIVE_CONTENT = (
    r"(?i)<\s*(script|iframe|object|embed|form|applet)\b"
    r"|javascript\s*:|\bon[a-z]+\s*="
)
_CHINESE = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"


# -- rule sets --------------------------------------------------------------------------------
CHANNEL_RULES: tuple[Rule, ...] = (
    _r(
        "channel.currency.matches",
        "error",
        "currency",
        "channel_currency",
        "the price's currency is not the channel's configured currency",
        "channels.toml: [channels.NAME] currency (omnisync never converts currencies)",
    ),
)

SANDBOX: tuple[Rule, ...] = (
    _r("sandbox.title.required", "error", "title", "required", "every listing needs a title", OMNISYNC),
    _r(
        "sandbox.price.positive",
        "warning",
        "price",
        "money_min",
        "a price of 0 gives the item away",
        OMNISYNC,
        min="0",
        exclusive=True,
    ),
    _r(
        "sandbox.sku.max_length",
        "error",
        "sku",
        "max_length",
        "SKUs are at most 255 characters (the longest any supported channel takes)",
        OMNISYNC,
        max=255,
    ),
    _r(
        "sandbox.sku.no_whitespace",
        "warning",
        "sku",
        "forbidden",
        "SKUs with spaces or control characters rarely match on channels",
        OMNISYNC,
        pattern=r"[\s\x00-\x1f\x7f]",
        example_pass={"sku": "TEE-RED-M"},
        example_fail={"sku": "TEE RED M"},
    ),
    _r(
        "sandbox.group.single_member",
        "warning",
        "group_key",
        "group_min_size",
        "a variant group with one member is not a variant group",
        OMNISYNC,
        min=2,
    ),
    _r(
        "sandbox.group.currency_consistent",
        "warning",
        "currency",
        "group_consistent",
        "the variants of one group should share one currency",
        OMNISYNC,
    ),
)

EBAY_RULES: tuple[Rule, ...] = (
    _r(
        "ebay.title.required",
        "error",
        "title",
        "required",
        "eBay needs a title before an offer can be published",
        f"{EBAY_SPEC}/Product/properties/title",
        doc=_EBAY_TITLE_DOC,
    ),
    _r(
        "ebay.title.max_length",
        "error",
        "title",
        "max_length",
        "eBay titles are at most 80 characters",
        f"{EBAY} ; {EBAY_SPEC}/Product/properties/title",
        max=80,
        doc=_EBAY_TITLE_DOC,
    ),
    _r(
        "ebay.description.max_length",
        "error",
        "description",
        "max_length",
        "eBay product descriptions are at most 4,000 characters",
        f"{EBAY} ; {EBAY_SPEC}/Product/properties/description",
        max=4000,
    ),
    _r(
        "ebay.description.no_active_content",
        "error",
        "description",
        "forbidden",
        "eBay descriptions allow basic HTML but no active content (scripts, frames, forms, event handlers)",
        EBAY,
        pattern=_NO_ACTIVE_CONTENT,
        example_pass={"description": "<p>A <b>blue</b> mug.</p>"},
        example_fail={"description": '<p onclick="x()">A mug</p><script>x()</script>'},
        doc=_EBAY_FORMATTING_DOC,
    ),
    _r(
        "ebay.sku.max_length",
        "error",
        "sku",
        "max_length",
        "eBay SKUs are at most 50 characters",
        EBAY,
        max=50,
    ),
    _r(
        "ebay.sku.alphanumeric",
        "warning",
        "sku",
        "pattern",
        "eBay documents SKUs as alphanumeric (error 25707 for an invalid SKU)",
        EBAY,
        pattern=r"[A-Za-z0-9]+",
        example_pass={"sku": "TEE01RED"},
        example_fail={"sku": "TEE/01 RED"},
    ),
    _r(
        "ebay.brand.max_length",
        "error",
        "brand",
        "max_length",
        "eBay brands are at most 65 characters",
        f"{EBAY_SPEC}/Product/properties/brand",
        max=65,
        doc=_EBAY_MULTI_VARS_DOC,
    ),
    _r(
        "ebay.mpn.max_length",
        "error",
        "mpn",
        "max_length",
        "eBay MPNs are at most 65 characters",
        f"{EBAY_SPEC}/Product/properties/mpn",
        max=65,
        doc=_EBAY_MULTI_VARS_DOC,
    ),
    _r(
        "ebay.mpn.needs_brand",
        "error",
        "brand",
        "required",
        "eBay pairs an MPN with a brand: a listing with an MPN needs a brand",
        f"{EBAY} ; {EBAY_SPEC}/Product/properties/mpn",
        applies_if="mpn",
        doc=_EBAY_BRAND_MPN_DOC,
    ),
    _r(
        "ebay.gtin.checkdigit",
        "error",
        "gtin",
        "gtin_checkdigit",
        "eBay takes a UPC (12 digits), EAN (8 or 13) or ISBN-13 with a valid GS1 check digit",
        f"{EBAY} ; {EBAY_SPEC}/Product/properties/upc",
        lengths=[8, 12, 13],
    ),
    _r(
        "ebay.identifiers.required",
        "warning",
        "gtin",
        "required",
        "eBay matches products by UPC/EAN/ISBN or brand + MPN; many categories require one",
        EBAY,
        alternatives=["mpn"],
    ),
    _r(
        "ebay.images.max_count",
        "error",
        "images",
        "count_max",
        "eBay listings take up to 24 pictures",
        f"{EBAY} ; {EBAY_SPEC}/Product/properties/imageUrls",
        max=24,
    ),
    _r(
        "ebay.images.max_count_in_group",
        "error",
        "images",
        "count_max",
        "eBay allows at most 12 pictures per item of a multi-variation listing",
        f"{EBAY_SPEC}/Product/properties/imageUrls",
        max=12,
        applies_if="group_key",
        doc=_EBAY_PICTURES_DOC,
    ),
    _r(
        "ebay.images.https",
        "error",
        "images",
        "url",
        "eBay image URLs must use HTTPS",
        f"{EBAY} ; {EBAY_SPEC}/Product/properties/imageUrls",
        schemes=["https"],
        doc=_EBAY_FORMATTING_DOC,
    ),
    _r(
        "ebay.price.positive",
        "error",
        "price",
        "money_min",
        "eBay needs a price above 0 before an offer can be published",
        EBAY,
        min="0",
        exclusive=True,
    ),
)

AMAZON_RULES: tuple[Rule, ...] = (
    _r(
        "amazon.title.max_length",
        "error",
        "title",
        "max_length",
        "Amazon titles are at most 200 characters including spaces",
        AMAZON,
        max=200,
        doc=_AMAZON_DOC,
    ),
    _r(
        "amazon.title.no_html",
        "error",
        "title",
        "no_html",
        "Amazon titles take no HTML",
        AMAZON,
        allow=[],
        entities=True,
        doc=_AMAZON_DOC,
        example_pass={"title": "Mug & saucer (large), 2 < 3"},
        example_fail={"title": "<b>Mug</b>"},
    ),
    _r(
        "amazon.description.no_html",
        "error",
        "description",
        "no_html",
        "Amazon detail pages take no HTML except <br> in the description",
        AMAZON,
        allow=["br"],
        entities=True,
        doc=_AMAZON_DOC,
        example_pass={"description": "A blue mug.<br>Dishwasher safe."},
        example_fail={"description": "<p>A blue mug.</p>"},
    ),
)

WALMART_RULES: tuple[Rule, ...] = (
    _r(
        "walmart.title.max_length",
        "error",
        "title",
        "max_length",
        "Walmart product names are at most 200 characters",
        WALMART,
        max=200,
    ),
    _r(
        "walmart.gtin.checkdigit",
        "error",
        "gtin",
        "gtin_checkdigit",
        "Walmart takes a GTIN (padded to 14 digits) with a valid GS1 check digit",
        WALMART,
        lengths=[8, 12, 13, 14],
    ),
    _r(
        "walmart.gtin.required",
        "warning",
        "gtin",
        "required",
        "Walmart items are identified by a GTIN/UPC (productIdentifiers)",
        WALMART_PRICE,
    ),
    _r(
        "walmart.currency.allowed",
        "error",
        "currency",
        "one_of",
        "Walmart Marketplace prices are in USD or CAD",
        f"{WALMART_PRICE} ; specs/walmart/price.json#/components/schemas/CurrentPrice/properties/currency",
        values=["USD", "CAD"],
    ),
    _r(
        "walmart.price.positive",
        "error",
        "price",
        "money_min",
        "Walmart needs a price above 0",
        WALMART_PRICE,
        min="0",
        exclusive=True,
    ),
)

ETSY_RULES: tuple[Rule, ...] = (
    _r(
        "etsy.title.characters",
        "error",
        "title",
        "unicode_classes",
        "Etsy titles take only letters, digits, punctuation, math symbols, spaces, ™, © and ®",
        f"{ETSY} ; specs/etsy/3.0.0.json#/components/schemas/ShopListing/properties/title",
        categories=["L", "Nd", "P", "Sm", "Zs"],
        extra="™©®",
        example_pass={"title": "Café mug – blue, 350 ml™"},
        example_fail={"title": "Mug $12 ^_^"},
    ),
    _r(
        "etsy.title.special_once",
        "error",
        "title",
        "max_occurrences",
        "Etsy titles use each of %, :, & and + at most once",
        f"{ETSY} ; specs/etsy/3.0.0.json#/components/schemas/ShopListing/properties/title",
        chars="%:&+",
        max=1,
    ),
    _r(
        "etsy.title.max_length",
        "warning",
        "title",
        "max_length",
        "Etsy titles are said to be at most 140 characters (not confirmed by Etsy's documentation)",
        ETSY,
        max=140,
    ),
    _r(
        "etsy.quantity.range",
        "error",
        "quantity",
        "range",
        "Etsy listing quantities are 0 to 999",
        ETSY,
        min=0,
        max=999,
    ),
    _r(
        "etsy.price.positive",
        "error",
        "price",
        "money_min",
        "Etsy prices must be above 0",
        ETSY,
        min="0",
        exclusive=True,
    ),
    _r(
        "etsy.price.max",
        "error",
        "price",
        "money_max",
        "Etsy prices are at most USD 50,000",
        ETSY,
        max={"USD": "50000"},
    ),
)

GOOGLE_RULES: tuple[Rule, ...] = (
    _r(
        "google.sku.max_length",
        "error",
        "sku",
        "max_length",
        "Google product ids are 1 to 50 characters",
        f"{GOOGLE} ; {GOOGLE_API}",
        max=50,
        doc=f"{_GOOGLE_DOC}6324405",
    ),
    _r(
        "google.sku.characters",
        "warning",
        "sku",
        "pattern",
        "Google recommends ids of ASCII letters, digits, '_' and '-'",
        GOOGLE,
        pattern=r"[A-Za-z0-9_-]+",
        doc=f"{_GOOGLE_DOC}6324405",
        example_pass={"sku": "TEE_01-RED"},
        example_fail={"sku": "TEE/01.RED"},
    ),
    _r(
        "google.title.required",
        "error",
        "title",
        "required",
        "Google needs a title",
        GOOGLE,
        doc=f"{_GOOGLE_DOC}6324415",
    ),
    _r(
        "google.title.max_length",
        "error",
        "title",
        "max_length",
        "Google titles are at most 150 characters",
        f"{GOOGLE} ; {GOOGLE_API}",
        max=150,
        doc=f"{_GOOGLE_DOC}6324415",
    ),
    _r(
        "google.description.required",
        "error",
        "description",
        "required",
        "Google needs a description",
        GOOGLE,
        doc=f"{_GOOGLE_DOC}6324468",
    ),
    _r(
        "google.description.max_length",
        "warning",
        "description",
        "max_length",
        "Google descriptions are at most 5,000 characters (longer text is truncated)",
        f"{GOOGLE} ; {GOOGLE_API}",
        max=5000,
        doc=f"{_GOOGLE_DOC}6324468",
    ),
    _r(
        "google.description.no_html",
        "warning",
        "description",
        "no_html",
        "Google's current specification shows descriptions as plain text",
        GOOGLE,
        allow=[],
        entities=True,
        doc=f"{_GOOGLE_DOC}6324468",
        example_pass={"description": "A blue mug, 350 ml."},
        example_fail={"description": "A <strong>blue</strong> mug."},
    ),
    _r(
        "google.link.required",
        "error",
        "link",
        "required",
        "Google needs a product page link",
        GOOGLE,
        doc=f"{_GOOGLE_DOC}6324416",
    ),
    _r(
        "google.link.url",
        "error",
        "link",
        "url",
        "Google links are http(s) URLs",
        GOOGLE,
        schemes=["http", "https"],
        doc=f"{_GOOGLE_DOC}6324416",
    ),
    _r(
        "google.link.max_length",
        "error",
        "link",
        "max_length",
        "Google links are at most 2,000 characters",
        GOOGLE,
        max=2000,
        doc=f"{_GOOGLE_DOC}6324416",
    ),
    _r(
        "google.images.required",
        "error",
        "images",
        "required",
        "Google needs an image link",
        GOOGLE,
        doc=f"{_GOOGLE_DOC}6324350",
    ),
    _r(
        "google.images.url",
        "error",
        "images",
        "url",
        "Google image links are http(s) URLs",
        GOOGLE,
        schemes=["http", "https"],
        doc=f"{_GOOGLE_DOC}6324350",
    ),
    _r(
        "google.images.max_length",
        "error",
        "images",
        "max_length",
        "Google image links are at most 2,000 characters",
        GOOGLE,
        max=2000,
        doc=f"{_GOOGLE_DOC}6324350",
    ),
    _r(
        "google.images.no_comma",
        "error",
        "images",
        "forbidden",
        "Google image links must encode ',' as %2C",
        f"{GOOGLE} ; {GOOGLE_FILES}",
        pattern=",",
        doc=f"{_GOOGLE_DOC}6324370",
        example_pass={"images": ("https://shop.example/i/a%2Cb.jpg",)},
        example_fail={"images": ("https://shop.example/i/a,b.jpg",)},
    ),
    _r(
        "google.images.max_count",
        "error",
        "images",
        "count_max",
        "Google takes one image link and up to 10 additional image links",
        GOOGLE,
        max=11,
        doc=f"{_GOOGLE_DOC}6324370",
    ),
    _r(
        "google.brand.required",
        "warning",
        "brand",
        "required",
        "Google needs a brand for products with a clear brand or maker",
        GOOGLE,
        doc=f"{_GOOGLE_DOC}6324351",
    ),
    _r(
        "google.brand.max_length",
        "error",
        "brand",
        "max_length",
        "Google brands are at most 70 characters",
        GOOGLE,
        max=70,
        doc=f"{_GOOGLE_DOC}6324351",
    ),
    _r(
        "google.mpn.max_length",
        "error",
        "mpn",
        "max_length",
        "Google MPNs are at most 70 characters",
        GOOGLE,
        max=70,
        doc=f"{_GOOGLE_DOC}6324482",
    ),
    _r(
        "google.gtin.checkdigit",
        "error",
        "gtin",
        "gtin_checkdigit",
        "Google GTINs are 8, 12, 13 or 14 digits with a valid GS1 check digit",
        GOOGLE,
        lengths=[8, 12, 13, 14],
        ignore=" -",
        doc=f"{_GOOGLE_DOC}6324461",
    ),
    _r(
        "google.identifiers.required",
        "warning",
        "gtin",
        "required",
        "Google needs a GTIN, or an MPN when the product has no GTIN (else identifier_exists=no)",
        f"{GOOGLE} ; {GOOGLE_API}",
        alternatives=["mpn"],
        doc=f"{_GOOGLE_DOC}6324461",
    ),
    _r(
        "google.condition.allowed",
        "error",
        "condition",
        "one_of",
        "Google conditions are new, refurbished or used",
        f"{GOOGLE} ; {GOOGLE_FILES}",
        values=["new", "refurbished", "used"],
        doc=f"{_GOOGLE_DOC}7052112",
    ),
    _r(
        "google.group_key.characters",
        "error",
        "group_key",
        "pattern",
        "Google item_group_id is 1 to 50 letters, digits, '_' or '-'",
        GOOGLE,
        pattern=r"[A-Za-z0-9_-]{1,50}",
        doc=f"{_GOOGLE_DOC}6324507",
        example_pass={"group_key": "TEE_01-RED"},
        example_fail={"group_key": "TEE 01"},
    ),
    _r(
        "google.group_key.case_distinct",
        "error",
        "group_key",
        "unique",
        "Google reads item_group_id case-insensitively: distinct groups must differ in more than letter case",
        GOOGLE,
        case_insensitive=True,
        ignore_same_group=True,
        doc=f"{_GOOGLE_DOC}6324507",
    ),
    _r(
        "google.group.single_member",
        "warning",
        "group_key",
        "group_min_size",
        "item_group_id is for variants: a group with one member is not a variant group",
        GOOGLE,
        min=2,
        doc=f"{_GOOGLE_DOC}6324507",
    ),
)

META_RULES: tuple[Rule, ...] = (
    _r(
        "meta.sku.max_length",
        "error",
        "sku",
        "max_length",
        "Meta ids are at most 100 characters",
        f"{META} ; {META_API}",
        max=100,
        doc=_META_DOC,
    ),
    _r("meta.title.required", "error", "title", "required", "Meta needs a title", META, doc=_META_DOC),
    _r(
        "meta.title.max_length",
        "error",
        "title",
        "max_length",
        "Meta titles are at most 200 characters",
        f"{META} ; {META_API}",
        max=200,
        doc=_META_DOC,
    ),
    _r(
        "meta.title.advised_length",
        "warning",
        "title",
        "max_length",
        "Meta advises titles of at most 65 characters",
        META,
        max=65,
        doc=_META_DOC,
    ),
    _r(
        "meta.description.required",
        "error",
        "description",
        "required",
        "Meta needs a description",
        META,
        doc=_META_DOC,
    ),
    _r(
        "meta.description.max_length",
        "error",
        "description",
        "max_length",
        "Meta descriptions are at most 9,999 characters",
        f"{META} ; {META_API}",
        max=9999,
        doc=_META_DOC,
    ),
    _r(
        "meta.description.no_html",
        "error",
        "description",
        "no_html",
        "Meta descriptions are plain text: no HTML and no character entities",
        f"{META} ; {META_API}",
        allow=[],
        entities=False,
        doc=_META_DOC,
        example_pass={"description": "A blue mug, 350 ml (12 oz)."},
        example_fail={"description": "A blue mug &amp; saucer"},
    ),
    _r(
        "meta.link.required",
        "error",
        "link",
        "required",
        "Meta needs a product page link",
        META,
        doc=_META_DOC,
    ),
    _r(
        "meta.images.required", "error", "images", "required", "Meta needs an image link", META, doc=_META_DOC
    ),
    _r(
        "meta.images.max_length",
        "error",
        "images",
        "max_length",
        "Meta image links are at most 2,000 characters",
        META,
        max=2000,
        doc=_META_DOC,
    ),
    _r(
        "meta.images.max_count",
        "error",
        "images",
        "count_max",
        "Meta takes an image link and up to 20 additional images",
        META,
        max=21,
        doc=_META_DOC,
    ),
    _r(
        "meta.images.advised_count",
        "warning",
        "images",
        "count_max",
        "Meta's best-practices page says up to 10 additional images",
        META,
        max=11,
        doc=_META_BEST_PRACTICES,
    ),
    _r(
        "meta.identifiers.required",
        "warning",
        "brand",
        "required",
        "Meta catalog ads need at least one of brand, MPN or GTIN",
        META,
        alternatives=["mpn", "gtin"],
        doc=_META_DOC,
    ),
    _r(
        "meta.brand.max_length",
        "error",
        "brand",
        "max_length",
        "Meta brands are at most 100 characters",
        f"{META} ; {META_API}",
        max=100,
        doc=_META_DOC,
    ),
    _r(
        "meta.condition.allowed",
        "error",
        "condition",
        "one_of",
        "Meta conditions are new, refurbished, used (or Meta's finer used grades)",
        f"{META} ; specs/meta/enum_types.json#/129/values",
        values=[
            "new",
            "refurbished",
            "used",
            "cpo",
            "open_box_new",
            "used_like_new",
            "used_good",
            "used_fair",
        ],
        doc=_META_DOC,
    ),
    _r(
        "meta.group.single_member",
        "warning",
        "group_key",
        "group_min_size",
        "item_group_id is for variants: a group with one member is not a variant group",
        META,
        min=2,
        doc=_META_BEST_PRACTICES,
    ),
)

TIKTOK_RULES: tuple[Rule, ...] = (
    _r("tiktok.title.required", "error", "title", "required", "TikTok Shop needs a title", TIKTOK),
    _r(
        "tiktok.title.max_length",
        "error",
        "title",
        "max_length",
        "TikTok Shop titles are at most 255 characters",
        TIKTOK,
        max=255,
    ),
    _r(
        "tiktok.title.min_length",
        "warning",
        "title",
        "min_length",
        "TikTok Shop titles outside the US and UK need at least 25 characters",
        TIKTOK,
        min=25,
    ),
    _r(
        "tiktok.title.no_chinese",
        "error",
        "title",
        "forbidden",
        "TikTok Shop titles take no Chinese characters",
        TIKTOK,
        pattern=_CHINESE,
        example_pass={"title": "Blue mug – Café edition"},
        example_fail={"title": "Blue mug 马克杯"},
        doc=_TIKTOK_CREATE_PRODUCT_DOC,
    ),
    _r(
        "tiktok.description.max_length",
        "error",
        "description",
        "max_length",
        "TikTok Shop descriptions are at most 10,000 characters",
        TIKTOK,
        max=10000,
        doc=_TIKTOK_CREATE_PRODUCT_DOC,
    ),
    _r(
        "tiktok.quantity.range",
        "error",
        "quantities",
        "range",
        "TikTok Shop stock is 0 to 99,999 per warehouse",
        TIKTOK,
        min=0,
        max=99999,
    ),
    _r(
        "tiktok.price.positive",
        "error",
        "price",
        "money_min",
        "TikTok Shop prices start at 0.01",
        TIKTOK,
        min="0.01",
    ),
    _r(
        "tiktok.price.max",
        "error",
        "price",
        "money_max",
        "TikTok Shop prices are at most 7,600 USD (US) and 5,600 GBP (UK local sellers)",
        TIKTOK,
        max={"USD": "7600", "GBP": "5600"},
    ),
    _r(
        "tiktok.currency.allowed",
        "error",
        "currency",
        "one_of",
        "TikTok Shop prices are in the region's currency (USD, GBP, IDR, THB, MYR, PHP, VND, SGD)",
        TIKTOK,
        values=["USD", "GBP", "IDR", "THB", "MYR", "PHP", "VND", "SGD"],
    ),
    _r(
        "tiktok.gtin.checkdigit",
        "error",
        "gtin",
        "gtin_checkdigit",
        "TikTok Shop identifier codes are GTIN-14, EAN-8/13/14, UPC-12 or ISBN-13",
        TIKTOK,
        lengths=[8, 12, 13, 14],
    ),
    _r(
        "tiktok.gtin.unique",
        "error",
        "gtin",
        "unique",
        "TikTok Shop identifier codes must be unique across SKUs",
        TIKTOK,
    ),
    _r(
        "tiktok.group.currency_consistent",
        "error",
        "currency",
        "group_consistent",
        "the SKUs of one TikTok product share one price currency (prices are updated per product)",
        f"{TIKTOK} ; {TIKTOK_ENDPOINTS}",
    ),
)

PINTEREST_RULES: tuple[Rule, ...] = (
    _r(
        "pinterest.sku.max_length",
        "error",
        "sku",
        "max_length",
        "Pinterest ids are at most 127 characters",
        f"{PINTEREST} ; {PINTEREST_SPEC}/id",
        max=127,
    ),
    _r("pinterest.title.required", "error", "title", "required", "Pinterest needs a title", PINTEREST),
    _r(
        "pinterest.title.max_length",
        "error",
        "title",
        "max_length",
        "Pinterest titles are at most 500 characters",
        f"{PINTEREST} ; {PINTEREST_SPEC}/title",
        max=500,
    ),
    _r(
        "pinterest.description.required",
        "error",
        "description",
        "required",
        "Pinterest needs a description",
        PINTEREST,
    ),
    _r(
        "pinterest.description.max_length",
        "error",
        "description",
        "max_length",
        "Pinterest descriptions are at most 10,000 characters",
        f"{PINTEREST} ; {PINTEREST_SPEC}/description",
        max=10000,
    ),
    _r(
        "pinterest.description.no_html",
        "warning",
        "description",
        "no_html",
        "Pinterest descriptions are plain text (no HTML per a secondary source)",
        PINTEREST,
        allow=[],
        entities=True,
        example_pass={"description": "A blue mug, 350 ml."},
        example_fail={"description": "<ul><li>A blue mug</li></ul>"},
    ),
    _r(
        "pinterest.link.required",
        "error",
        "link",
        "required",
        "Pinterest needs a product page link",
        PINTEREST,
    ),
    _r(
        "pinterest.link.url",
        "error",
        "link",
        "url",
        "Pinterest links are http(s) URLs",
        PINTEREST,
        schemes=["http", "https"],
    ),
    _r(
        "pinterest.link.max_length",
        "error",
        "link",
        "max_length",
        "Pinterest links are at most 511 characters",
        f"{PINTEREST} ; {PINTEREST_SPEC}/link",
        max=511,
    ),
    _r(
        "pinterest.images.required", "error", "images", "required", "Pinterest needs an image link", PINTEREST
    ),
    _r(
        "pinterest.images.url",
        "error",
        "images",
        "url",
        "Pinterest image links are http(s) URLs",
        PINTEREST,
        schemes=["http", "https"],
    ),
    _r(
        "pinterest.images.max_length",
        "error",
        "images",
        "max_length",
        "Pinterest image links are at most 2,000 characters",
        f"{PINTEREST} ; {PINTEREST_API}",
        max=2000,
    ),
    _r(
        "pinterest.images.max_count",
        "error",
        "images",
        "count_max",
        "Pinterest takes an image link and up to 10 additional images",
        f"{PINTEREST} ; {PINTEREST_API}",
        max=11,
    ),
    _r(
        "pinterest.images.no_comma",
        "warning",
        "images",
        "forbidden",
        "Pinterest image links with commas must have them encoded or removed",
        PINTEREST_FILES,
        pattern=",",
        example_pass={"images": ("https://shop.example/i/a%2Cb.jpg",)},
        example_fail={"images": ("https://shop.example/i/a,b.jpg",)},
    ),
    _r(
        "pinterest.group_key.max_length",
        "error",
        "group_key",
        "max_length",
        "Pinterest item_group_id is at most 127 characters",
        f"{PINTEREST} ; {PINTEREST_SPEC}/item_group_id",
        max=127,
    ),
    _r(
        "pinterest.condition.allowed",
        "error",
        "condition",
        "one_of",
        "Pinterest conditions are new, used or refurbished",
        PINTEREST,
        values=["new", "used", "refurbished"],
    ),
    _r(
        "pinterest.group.single_member",
        "warning",
        "group_key",
        "group_min_size",
        "item_group_id is for variants: a group with one member is not a variant group",
        PINTEREST,
        min=2,
    ),
)

FLIPKART_RULES: tuple[Rule, ...] = (
    _r(
        "flipkart.currency.allowed",
        "error",
        "currency",
        "one_of",
        "Flipkart prices are in INR",
        FLIPKART,
        values=["INR"],
        doc=_FLIPKART_PRICE_DOC,
    ),
    _r(
        "flipkart.price.whole_rupees",
        "error",
        "price",
        "money_whole",
        "Flipkart prices are whole rupees (integers)",
        FLIPKART,
        doc=_FLIPKART_PRICE_DOC,
    ),
    _r(
        "flipkart.price.positive",
        "error",
        "price",
        "money_min",
        "Flipkart selling prices must be above 0",
        FLIPKART,
        min="0",
        exclusive=True,
        doc=_FLIPKART_PRICE_DOC,
    ),
)

SHOPIFY_RULES: tuple[Rule, ...] = (
    _r(
        "shopify.title.required",
        "error",
        "title",
        "required",
        "Shopify product titles are required (String!)",
        SHOPIFY,
    ),
    _r(
        "shopify.title.max_length",
        "warning",
        "title",
        "max_length",
        "Shopify titles are commonly said to be at most 255 characters (unconfirmed)",
        SHOPIFY,
        max=255,
    ),
    _r(
        "shopify.group.max_variants",
        "error",
        "group_key",
        "group_max_size",
        "a Shopify product has at most 2,048 variants",
        SHOPIFY,
        max=2048,
        doc=_SHOPIFY_VARIANTS_DOC,
    ),
    _r(
        "shopify.group.currency_consistent",
        "error",
        "currency",
        "group_consistent",
        "Shopify prices are in the shop's one currency: the variants of a product share it",
        SHOPIFY_PRICE,
    ),
)

WOOCOMMERCE_RULES: tuple[Rule, ...] = (
    _r(
        "woocommerce.sku.unique",
        "error",
        "sku",
        "unique",
        "WooCommerce SKUs must be unique across all products and variations",
        WOO,
    ),
)

BIGCOMMERCE_RULES: tuple[Rule, ...] = (
    _r(
        "bigcommerce.title.required",
        "error",
        "title",
        "required",
        "BigCommerce product names are 1 to 250 characters",
        f"{BIGCOMMERCE} ; {BC_SPEC}/name",
    ),
    _r(
        "bigcommerce.title.max_length",
        "error",
        "title",
        "max_length",
        "BigCommerce product names are at most 250 characters",
        f"{BIGCOMMERCE} ; {BC_SPEC}/name",
        max=250,
    ),
    _r(
        "bigcommerce.title.unique",
        "error",
        "title",
        "unique",
        "BigCommerce product names must be unique (variants of one group share their product's)",
        BIGCOMMERCE,
        ignore_same_group=True,
    ),
    _r(
        "bigcommerce.sku.max_length",
        "error",
        "sku",
        "max_length",
        "BigCommerce SKUs are at most 255 characters",
        f"{BIGCOMMERCE} ; {BC_SPEC}/sku",
        max=255,
        doc=_BC_CREATE_PRODUCT_DOC,
    ),
    _r(
        "bigcommerce.sku.unique",
        "error",
        "sku",
        "unique",
        "BigCommerce SKUs are unique regardless of letter case across products and variants",
        BIGCOMMERCE,
        case_insensitive=True,
    ),
    _r(
        "bigcommerce.gtin.max_length",
        "error",
        "gtin",
        "max_length",
        "BigCommerce GTINs and UPCs are at most 14 characters",
        f"{BIGCOMMERCE} ; {BC_SPEC}/gtin",
        max=14,
    ),
    _r(
        "bigcommerce.quantity.range",
        "error",
        "quantities",
        "range",
        "BigCommerce stock is at most 2,147,483,647 per item per location",
        f"{BIGCOMMERCE} ; {BC_SPEC}/inventory_level",
        min=0,
        max=2_147_483_647,
        doc=_BC_LIMITS_DOC,
    ),
    _r(
        "bigcommerce.group.max_variants",
        "error",
        "group_key",
        "group_max_size",
        "a BigCommerce product has at most 600 SKUs",
        BIGCOMMERCE,
        max=600,
        doc=_BC_LIMITS_DOC,
    ),
)

ECWID_RULES: tuple[Rule, ...] = (
    _r(
        "ecwid.sku.unique",
        "error",
        "sku",
        "unique",
        "Ecwid SKUs must be unique (409 SKU_ALREADY_EXISTS)",
        ECWID,
    ),
)

VENDURE_RULES: tuple[Rule, ...] = (
    _r(
        "vendure.sku.unique",
        "error",
        "sku",
        "unique",
        "Vendure does not enforce unique SKUs, so a duplicate makes the SKU ambiguous to omnisync",
        SELF_PITFALLS,
    ),
)

MEDUSA_RULES: tuple[Rule, ...] = (
    _r(
        "medusa.sku.unique",
        "error",
        "sku",
        "unique",
        "Medusa rejects a variant whose SKU already exists",
        SELF_PITFALLS,
    ),
)

RULE_SETS: Mapping[str, tuple[Rule, ...]] = MappingProxyType(
    {
        "amazon": AMAZON_RULES,
        "bigcommerce": BIGCOMMERCE_RULES,
        "ebay": EBAY_RULES,
        "ecwid": ECWID_RULES,
        "etsy": ETSY_RULES,
        "flipkart": FLIPKART_RULES,
        "google": GOOGLE_RULES,
        "medusa": MEDUSA_RULES,
        "meta": META_RULES,
        "pinterest": PINTEREST_RULES,
        "sandbox": SANDBOX,
        "shopify": SHOPIFY_RULES,
        "tiktok": TIKTOK_RULES,
        "vendure": VENDURE_RULES,
        "walmart": WALMART_RULES,
        "woocommerce": WOOCOMMERCE_RULES,
    }
)

# A feed channel's ``format`` -> the rule set its listings are checked against.
FEED_FORMATS: Mapping[str, str] = MappingProxyType(
    {
        "google": "google",
        "meta": "meta",
        "pinterest": "pinterest",
    }
)


def rule_set_names() -> list[str]:
    """The names ``validate_as`` accepts."""
    return sorted(RULE_SETS)


def all_rules() -> Iterator[Rule]:
    """Every rule: the channel rules first, then each rule set in name order."""
    yield from CHANNEL_RULES
    for name in rule_set_names():
        yield from RULE_SETS[name]


def rules_by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in all_rules()}
