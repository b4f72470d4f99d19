"""A fake Vendure 3 server: the Admin GraphQL API at ``POST /admin-api`` (self-hosted.md section 1),
executed by graphql-core against a subset of Vendure 3.7's Admin schema (type, field, argument and
input names and types as in ``@vendure/core`` 3.7.3's schema files; the list-option inputs as Vendure
generates them per entity).

What it implements, as the real server answers (self-hosted.md, and Vendure's own source where
the facts are silent):

- auth, per field as Vendure checks permissions: ``login`` is public and answers the union
  ``NativeAuthenticationResult`` (``CurrentUser``, or ``InvalidCredentialsError`` with HTTP 200 and
  no ``errors``), putting the session token in the ``vendure-auth-token`` response header;
  ``Authorization: Bearer <token>`` and the ``vendure-api-key`` header authenticate; anything else
  (no, wrong, ended or revoked credentials) is a GraphQL error ``FORBIDDEN`` ("You are not currently
  authorized to perform this action") in an HTTP 200 answer, the field ``null``;
- GraphQL as Vendure's Apollo Server 4 runs it: a body without ``query`` is HTTP 400
  ``BAD_REQUEST``, a parse error 400 ``GRAPHQL_PARSE_FAILED``, a document the schema does not
  validate 400 ``GRAPHQL_VALIDATION_FAILED``, a variable that does not coerce HTTP 200
  ``BAD_USER_INPUT`` (``status400ForVariableCoercionErrors`` is off in Vendure 3.7); resolver errors
  are HTTP 200 with ``errors[].extensions.code`` and ``data`` nulled as GraphQL propagates it;
- the ``Money`` scalar: a JSON number (a string is ``BAD_USER_INPUT``: "Money cannot represent
  non numeric value"); integer minor units, and a float is rounded as JavaScript's ``Math.round``
  does (``9.99`` is stored as ``10``), silently, as the real server does;
- ``activeChannel`` (currency, language, ``pricesIncludeTax``), ``stockLocations``;
- ``productVariants(options:, productId:)`` and ``Product.variantList(options:)``: ``skip``/``take``
  (``take`` above 1000 is ``USER_INPUT_ERROR`` "Cannot take more than 1000 results from a list
  query"; no ``take`` is 1000), ``sort`` on any listed field, ``filter`` with the string, id,
  number, boolean and date operators, ``_and``/``_or`` and ``filterOperator``; ``totalItems``;
  ``eq``/``in`` are case-sensitive; several variants may share a SKU (Vendure does not enforce
  unique SKUs);
- ``updateProductVariants`` (all-or-nothing: the first bad input fails the whole mutation with
  ``ENTITY_NOT_FOUND`` 'No ProductVariant with the id "9999" could be found', and nothing is
  applied): ``price``, ``prices``, ``sku``, ``enabled``, ``translations`` (matched by
  ``languageCode``), ``stockOnHand`` (the default, i.e. first, stock location; negative is
  ``USER_INPUT_ERROR`` "stockOnHand cannot be a negative value") and ``stockLevels`` (absolute per
  stock location, a missing level is created; when both are sent ``stockLevels`` wins and
  ``stockOnHand`` is ignored, and a negative level is *not* refused: both as in Vendure 3.7's
  ``ProductVariantService.updateSingle``); ``updateProducts`` / ``updateProduct`` (translations by
  ``languageCode``: name, slug, description);
- stock: each variant has a level per stock location with ``stockOnHand`` and ``stockAllocated``; a
  shopper's order (:meth:`sell`, and the simulated sales) *allocates* units (Vendure allocates
  stock when an order is paid and only lowers ``stockOnHand`` at fulfilment), so what can still be
  sold is ``stockOnHand - stockAllocated``.

Also checked against a real Vendure 3.7.3 (sql.js): an unknown ``stockLocationId`` in ``stockLevels``
fails the mutation with "FOREIGN KEY constraint failed" and no ``extensions``; a product
translation in a language the product does not have yet, sent without a ``name``, fails with
``INTERNAL_SERVER_ERROR`` "NOT NULL constraint failed: product_translation.name" (the fake says the
same of a variant's translation, by analogy).

Chosen here, not verified against a real server: a new translation with a name starts with empty
other fields; ``priceWithTax`` (and ``price`` when prices include tax) is computed with one flat
``tax_rate`` percentage and rounded half up; a rejected SKU (:meth:`reject`) fails the mutation with
``USER_INPUT_ERROR`` and the given message.

Vendure publishes no limit on the number of inputs of one mutation (an ``in`` list of 2,001 SKUs
worked, self-hosted.md); :attr:`VendureFake.batch_limit` is the adapter's own ceiling, for the
contract suite's consistency checks, and nothing here refuses a longer input list.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    parse,
    validate,
)
from graphql.execution import execute_sync
from graphql.execution.values import get_variable_values
from graphql.language import (
    DocumentNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    VariableNode,
    print_ast,
)

from .base import (
    FakeMarketplace,
    FakeRequest,
    FakeResponse,
    Faults,
    Sales,
    Stored,
    json_body,
)

ADMIN_PATH = "/admin-api"
TAKE_MAX = 1000  # Vendure's default adminListQueryLimit
INPUT_CEILING = 1000  # no vendor limit: the adapter's own MAX_BATCH (see the module docstring)
FORBIDDEN = "You are not currently authorized to perform this action"
INVALID_CREDENTIALS = "The provided credentials are invalid"
WRITE_FIELDS = frozenset({"updateProductVariants", "updateProducts", "updateProduct", "updateProductVariant"})

_LANGUAGES = (
    "af ak sq am ar hy as az bm bn eu be bs br bg my ca ce zh zh_Hans zh_Hant cu kw co hr cs da nl nl_BE "
    "dz en en_AU en_CA en_GB en_US eo et ee fo fi fr fr_CA fr_CH ff gl lg ka de de_AT de_CH el gu ht ha "
    "he hi hu is ig id ia ga it ja jv kl kn ks kk km ki rw ko ku ky lo la lv ln lt lu lb mk mg ms ml mt "
    "gv mi mr mn ne nd se nb nn ny or om os ps fa fa_AF pl pt pt_BR pt_PT pa qu ro ro_MD rm rn ru sm sg "
    "sa gd sr sn ii sd si sk sl so st es es_ES es_MX su sw sw_CD sv tg ta tt te th bo ti to tr tk uk ur "
    "ug uz vi vo cy fy wo xh yi yo zu"
)
_CURRENCIES = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP "
    "GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD "
    "KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO "
    "NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLL SOS "
    "SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF "
    "XCD XOF XPF YER ZAR ZMW ZWL"
)

# -- the schema subset ------------------------------------------------------------------------------
_SDL = """
scalar Money
scalar DateTime
scalar JSON

enum SortOrder { ASC DESC }
enum LogicalOperator { AND OR }
enum GlobalFlag { TRUE FALSE INHERIT }
enum LanguageCode { %(languages)s }
enum CurrencyCode { %(currencies)s }
enum ErrorCode { UNKNOWN_ERROR NATIVE_AUTH_STRATEGY_ERROR INVALID_CREDENTIALS_ERROR }
enum Permission { Authenticated SuperAdmin Owner Public ReadCatalog UpdateCatalog ReadProduct UpdateProduct
  ReadStockLocation UpdateStockLocation ReadSettings UpdateSettings ReadChannel }

interface Node { id: ID! }
interface PaginatedList { items: [Node!]! totalItems: Int! }
interface ErrorResult { errorCode: ErrorCode! message: String! }

type CurrentUserChannel { id: ID! token: String! code: String! permissions: [Permission!]! }
type CurrentUser { id: ID! identifier: String! channels: [CurrentUserChannel!]! }
type InvalidCredentialsError implements ErrorResult {
  errorCode: ErrorCode!
  message: String!
  authenticationError: String!
}
type NativeAuthStrategyError implements ErrorResult { errorCode: ErrorCode! message: String! }
union NativeAuthenticationResult = CurrentUser | InvalidCredentialsError | NativeAuthStrategyError
type Success { success: Boolean! }

type Channel implements Node {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  code: String!
  token: String!
  defaultLanguageCode: LanguageCode!
  availableLanguageCodes: [LanguageCode!]
  currencyCode: CurrencyCode!
  defaultCurrencyCode: CurrencyCode!
  availableCurrencyCodes: [CurrencyCode!]!
  trackInventory: Boolean
  outOfStockThreshold: Int
  pricesIncludeTax: Boolean!
}

type StockLocation implements Node {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  name: String!
  description: String!
}
type StockLocationList implements PaginatedList { items: [StockLocation!]! totalItems: Int! }
type StockLevel implements Node {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  stockLocationId: ID!
  stockOnHand: Int!
  stockAllocated: Int!
  stockLocation: StockLocation!
}

type ProductTranslation {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  languageCode: LanguageCode!
  name: String!
  slug: String!
  description: String!
}
type ProductVariantTranslation {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  languageCode: LanguageCode!
  name: String!
}
type ProductVariantPrice { currencyCode: CurrencyCode! price: Money! }

type Product implements Node {
  id: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  languageCode: LanguageCode!
  name: String!
  slug: String!
  description: String!
  enabled: Boolean!
  variants: [ProductVariant!]!
  variantList(options: ProductVariantListOptions): ProductVariantList!
  translations: [ProductTranslation!]!
}
type ProductList implements PaginatedList { items: [Product!]! totalItems: Int! }

type ProductVariant implements Node {
  id: ID!
  product: Product!
  productId: ID!
  createdAt: DateTime!
  updatedAt: DateTime!
  languageCode: LanguageCode!
  sku: String!
  name: String!
  price: Money!
  currencyCode: CurrencyCode!
  priceWithTax: Money!
  stockLevel: String!
  translations: [ProductVariantTranslation!]!
  enabled: Boolean!
  trackInventory: GlobalFlag!
  stockOnHand: Int! @deprecated(reason: "use stockLevels")
  stockAllocated: Int! @deprecated(reason: "use stockLevels")
  outOfStockThreshold: Int!
  useGlobalOutOfStockThreshold: Boolean!
  prices: [ProductVariantPrice!]!
  stockLevels: [StockLevel!]!
}
type ProductVariantList implements PaginatedList { items: [ProductVariant!]! totalItems: Int! }

input StringOperators {
  eq: String notEq: String contains: String notContains: String in: [String!] notIn: [String!]
  regex: String isNull: Boolean
}
input IDOperators { eq: String notEq: String in: [String!] notIn: [String!] isNull: Boolean }
input NumberRange { start: Float! end: Float! }
input NumberOperators { eq: Float lt: Float lte: Float gt: Float gte: Float between: NumberRange isNull: Boolean }
input BooleanOperators { eq: Boolean isNull: Boolean }
input DateRange { start: DateTime! end: DateTime! }
input DateOperators { eq: DateTime before: DateTime after: DateTime between: DateRange isNull: Boolean }

input ProductVariantFilterParameter {
  facetValueId: IDOperators
  enabled: BooleanOperators
  trackInventory: StringOperators
  stockOnHand: NumberOperators
  stockAllocated: NumberOperators
  outOfStockThreshold: NumberOperators
  useGlobalOutOfStockThreshold: BooleanOperators
  id: IDOperators
  productId: IDOperators
  createdAt: DateOperators
  updatedAt: DateOperators
  languageCode: StringOperators
  sku: StringOperators
  name: StringOperators
  price: NumberOperators
  currencyCode: StringOperators
  priceWithTax: NumberOperators
  stockLevel: StringOperators
  _and: [ProductVariantFilterParameter!]
  _or: [ProductVariantFilterParameter!]
}
input ProductVariantSortParameter {
  stockOnHand: SortOrder stockAllocated: SortOrder outOfStockThreshold: SortOrder id: SortOrder
  productId: SortOrder createdAt: SortOrder updatedAt: SortOrder name: SortOrder sku: SortOrder
  price: SortOrder priceWithTax: SortOrder stockLevel: SortOrder
}
input ProductVariantListOptions {
  skip: Int
  take: Int
  sort: ProductVariantSortParameter
  filter: ProductVariantFilterParameter
  filterOperator: LogicalOperator
}
input StockLocationFilterParameter {
  id: IDOperators
  createdAt: DateOperators
  updatedAt: DateOperators
  name: StringOperators
  description: StringOperators
  _and: [StockLocationFilterParameter!]
  _or: [StockLocationFilterParameter!]
}
input StockLocationSortParameter {
  id: SortOrder createdAt: SortOrder updatedAt: SortOrder name: SortOrder description: SortOrder
}
input StockLocationListOptions {
  skip: Int
  take: Int
  sort: StockLocationSortParameter
  filter: StockLocationFilterParameter
  filterOperator: LogicalOperator
}

input ProductVariantTranslationInput { id: ID languageCode: LanguageCode! name: String }
input StockLevelInput { stockLocationId: ID! stockOnHand: Int! }
input UpdateProductVariantPriceInput { currencyCode: CurrencyCode! price: Money! delete: Boolean }
input UpdateProductVariantInput {
  id: ID!
  enabled: Boolean
  translations: [ProductVariantTranslationInput!]
  facetValueIds: [ID!]
  optionIds: [ID!]
  sku: String
  taxCategoryId: ID
  price: Money
  prices: [UpdateProductVariantPriceInput!]
  featuredAssetId: ID
  assetIds: [ID!]
  stockOnHand: Int
  stockLevels: [StockLevelInput!]
  outOfStockThreshold: Int
  useGlobalOutOfStockThreshold: Boolean
  trackInventory: GlobalFlag
}
input ProductTranslationInput {
  id: ID
  languageCode: LanguageCode!
  name: String
  slug: String
  description: String
}
input UpdateProductInput {
  id: ID!
  enabled: Boolean
  featuredAssetId: ID
  assetIds: [ID!]
  facetValueIds: [ID!]
  translations: [ProductTranslationInput!]
}

type Query {
  activeChannel: Channel!
  stockLocations(options: StockLocationListOptions): StockLocationList!
  stockLocation(id: ID!): StockLocation
  productVariants(options: ProductVariantListOptions, productId: ID): ProductVariantList!
  productVariant(id: ID!): ProductVariant
  product(id: ID, slug: String): Product
}

type Mutation {
  login(username: String!, password: String!, rememberMe: Boolean): NativeAuthenticationResult!
  logout: Success!
  updateProductVariants(input: [UpdateProductVariantInput!]!): [ProductVariant]!
  updateProductVariant(input: UpdateProductVariantInput!): ProductVariant!
  updateProducts(input: [UpdateProductInput!]!): [Product!]!
  updateProduct(input: UpdateProductInput!): Product!
}
"""


def _money_value(value: Any) -> Any:
    """Vendure's ``Money`` scalar: any finite JSON number (rounded when stored), nothing else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GraphQLError(f"Money cannot represent non numeric value: {json.dumps(value, default=str)}")
    return value


def _money_literal(node: Any, _variables: Any = None) -> Any:
    if not isinstance(node, (IntValueNode, FloatValueNode)):
        raise GraphQLError(f"Money cannot represent non numeric value: {print_ast(node)}")
    return float(node.value)


@functools.lru_cache(maxsize=1)
def vendure_schema() -> GraphQLSchema:
    schema = build_schema(_SDL % {"languages": _LANGUAGES, "currencies": _CURRENCIES})
    money = schema.type_map["Money"]
    # graphql-core 3.2 calls parse_value/parse_literal/serialize; 3.3 coerce_input_value,
    # coerce_input_literal and coerce_output_value (set whichever this version has)
    for names, fn in (
        (("parse_value", "coerce_input_value"), _money_value),
        (("parse_literal", "coerce_input_literal"), _money_literal),
        (("serialize", "coerce_output_value"), lambda v: v),
    ):
        for name in names:
            if hasattr(money, name):
                setattr(money, name, fn)
    return schema


@functools.lru_cache(maxsize=256)
def _document(query: str) -> tuple[DocumentNode | None, list[dict[str, Any]], str | None]:
    """(document, errors, code) for a query string; parsed and validated once per text."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return (
            None,
            [{**exc.formatted, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}],
            "GRAPHQL_PARSE_FAILED",
        )
    problems = validate(vendure_schema(), document)
    if problems:
        return (
            None,
            [{**e.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for e in problems],
            "GRAPHQL_VALIDATION_FAILED",
        )
    return document, [], None


def js_round(value: Any) -> int:
    """JavaScript's ``Math.round`` (half up, towards +infinity) of a number."""
    return int((Decimal(str(value)) + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR))


def _floats(value: Any) -> Any:
    """JSON as Node parses it: every number with a fraction is a double."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _floats(v) for k, v in value.items()}
    return value


class _Refused(GraphQLError):
    """A resolver error as Vendure reports it: the message, and ``extensions.code`` when it has one
    (a database constraint error from sql.js comes without)."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message, extensions={"code": code} if code else None)


# -- the store ----------------------------------------------------------------------------------------
@dataclass
class VLocation:
    id: int
    name: str
    created: str


@dataclass
class VLevel:
    id: int
    on_hand: int
    allocated: int = 0


@dataclass
class VVariant:
    id: int
    product_id: int
    sku: str
    names: dict[str, str]  # language code -> name
    price: int  # as stored (gross when the channel's prices include tax), minor units
    levels: dict[int, VLevel] = field(default_factory=dict)  # stock location id -> level
    other_prices: dict[str, int] = field(default_factory=dict)  # currency -> price
    enabled: bool = True
    created: str = ""
    updated: str = ""


@dataclass
class VProduct:
    id: int
    translations: dict[str, dict[str, str]]  # language code -> {name, slug, description}
    variants: list[int] = field(default_factory=list)
    enabled: bool = True
    created: str = ""
    updated: str = ""


def _truthy(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes")


class VendureFake(FakeMarketplace):
    vendor = "vendure"
    api_prefix = ADMIN_PATH
    batch_limit = INPUT_CEILING
    page_size_max = TAKE_MAX
    oauth_refresh = False  # sessions and API keys have no refresh flow (a new login is a new session)

    def __init__(
        self,
        *,
        api_key: str = "fakelookup0000:fakesecret00000000000000000000",
        username: str = "superadmin",
        password: str = "superadmin",
        currency: str = "USD",
        language: str = "en",
        locations: Iterable[str] | str = ("Default Stock Location",),
        prices_include_tax: bool | str = False,
        tax_rate: Decimal | str | int = 0,
        seed: int = 0,
        faults: Faults | None = None,
        sales: Sales | None = None,
    ) -> None:
        self.api_key = api_key
        self.username = username
        self.password = password
        self.currency = currency
        self.language = language
        self.prices_include_tax = _truthy(prices_include_tax)
        self.tax_rate = Decimal(str(tax_rate))
        self.channel_token = "fakechanneltoken"
        self.stock_locations: dict[int, VLocation] = {}
        self.products: dict[int, VProduct] = {}
        self.variants: dict[int, VVariant] = {}
        self.sessions: set[str] = set()
        self.revoked = False
        self.key_expired = False
        self.rejections: dict[str, str] = {}
        self._clock = datetime(2026, 1, 1, tzinfo=UTC)
        self._next = {"product": 0, "variant": 0, "location": 0, "level": 0}
        self._singles = 0
        self._groups = 0
        super().__init__(seed=seed, faults=faults, sales=sales)
        names = [n.strip() for n in locations.split(",")] if isinstance(locations, str) else list(locations)
        for name in names or ["Default Stock Location"]:
            self.add_location(name)

    # -- helpers --
    def _id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @property
    def default_location(self) -> int:
        return min(self.stock_locations)

    def routes(self) -> None:
        self.router.add("POST", ADMIN_PATH, self.graphql)

    # -- store API (vendor-neutral, used by the contract suite) --
    def add_location(self, name: str) -> int:
        loc = VLocation(self._id("location"), name, self._now())
        self.stock_locations[loc.id] = loc
        return loc.id

    def add_product(
        self,
        name: str,
        variants: list[tuple[str, str]],
        *,
        description: str = "",
        price: str = "19.99",
        quantity: int = 10,
    ) -> VProduct:
        """A product with ``variants`` as (sku, variant name), stock at the default location."""
        with self.lock:
            now = self._now()
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
            product = VProduct(
                self._id("product"),
                {self.language: {"name": name, "slug": slug, "description": description}},
                created=now,
                updated=now,
            )
            self.products[product.id] = product
            for sku, vname in variants:
                self.add_variant(product.id, sku, vname, price=price, quantity=quantity)
            return product

    def add_variant(
        self, product_id: int, sku: str, name: str, *, price: str = "19.99", quantity: int = 10
    ) -> VVariant:
        """A variant (also one whose SKU another variant has: Vendure allows it)."""
        with self.lock:
            now = self._now()
            minor = int(Decimal(price).scaleb(2))
            v = VVariant(
                self._id("variant"),
                product_id,
                sku,
                {self.language: name},
                minor,
                levels={self.default_location: VLevel(self._id("level"), quantity)},
                created=now,
                updated=now,
            )
            self.variants[v.id] = v
            self.products[product_id].variants.append(v.id)
            return v

    def seed(
        self,
        n: int,
        *,
        variable: int = 0,
        per_parent: int = 3,
        quantity: int = 10,
        price: str = "19.99",
        prefix: str = "VE",
    ) -> list[str]:
        out: list[str] = []
        with self.lock:
            for _ in range(n):
                self._singles += 1
                k = self._singles
                sku = f"{prefix}-{k:04d}"
                self.add_product(
                    f"Product {k}",
                    [(sku, f"Product {k}")],
                    description=f"Description of product {k}.",
                    price=price,
                    quantity=quantity,
                )
                out.append(sku)
            for _ in range(variable):
                self._groups += 1
                g = self._groups
                skus = [(f"{prefix}-V{g:03d}-{j}", f"Group {g} - Size {j}") for j in range(1, per_parent + 1)]
                self.add_product(
                    f"Group {g}", skus, description=f"Grouped product {g}.", price=price, quantity=quantity
                )
                out.extend(s for s, _ in skus)
        return out

    def variants_of(self, sku: str) -> list[VVariant]:
        return [v for v in self.variants.values() if v.sku == sku]

    def variant(self, sku: str) -> VVariant | None:
        found = self.variants_of(sku)
        return found[0] if found else None

    def skus(self) -> list[str]:
        return list(dict.fromkeys(v.sku for v in self.variants.values() if v.sku))

    def _name(self, names: Mapping[str, str], lang: str | None = None) -> str:
        for code in (lang, self.language):
            if code and code in names:
                return names[code]
        return next(iter(names.values()), "")

    def _product_tr(self, product: VProduct, lang: str | None = None) -> dict[str, str]:
        for code in (lang, self.language):
            if code and code in product.translations:
                return product.translations[code]
        return next(iter(product.translations.values()))

    def stored(self, sku: str) -> Stored | None:
        v = self.variant(sku)
        if v is None:
            return None
        product = self.products[v.product_id]
        level = v.levels.get(self.default_location)
        quantity = level.on_hand - level.allocated if level is not None else 0
        title = self._product_tr(product)["name"] if len(product.variants) == 1 else self._name(v.names)
        return Stored(
            sku, quantity, str(Decimal(v.price).scaleb(-2)), title, self._product_tr(product)["description"]
        )

    def level(self, sku: str, location: int) -> tuple[int, int] | None:
        """(stockOnHand, stockAllocated) of ``sku`` at ``location``; None without a level."""
        v = self.variant(sku)
        lv = v.levels.get(location) if v is not None else None
        return (lv.on_hand, lv.allocated) if lv is not None else None

    def set_level(self, sku: str, location: int, on_hand: int, allocated: int = 0) -> None:
        v = self.variant(sku)
        assert v is not None, sku
        v.levels[location] = VLevel(self._id("level"), on_hand, allocated)

    def sell(self, sku: str, units: int, location: int | None = None) -> int:
        """An order is placed and paid: ``units`` are allocated (never more than can be sold)."""
        with self.lock:
            v = self.variant(sku)
            if v is None:
                return 0
            lv = v.levels.get(location or self.default_location)
            if lv is None:
                return 0
            sold = max(0, min(units, lv.on_hand - lv.allocated))
            lv.allocated += sold
            if sold:
                self.sold[sku] = self.sold.get(sku, 0) + sold
            return sold

    def delete(self, sku: str) -> None:
        for v in self.variants_of(sku):
            del self.variants[v.id]
            self.products[v.product_id].variants.remove(v.id)

    def reject(self, sku: str, message: str = "This product cannot be edited.") -> None:
        """Every mutation that touches ``sku``'s variant or product fails (until :meth:`allow`)."""
        self.rejections[sku] = message

    def allow(self, sku: str) -> None:
        self.rejections.pop(sku, None)

    def revoke_credentials(self) -> None:
        """The administrator is removed: sessions, the API key and the login all stop working."""
        self.revoked = True

    def expire_token(self) -> None:
        """Sessions end and the API key stops working (deleted, or past its expiry); logging in
        again still works. Neither credential has a refresh flow."""
        self.sessions.clear()
        self.key_expired = True

    def batch_sizes(self) -> list[int]:
        out = []
        for r in self.requests:
            if r.method == "POST" and r.path == ADMIN_PATH and isinstance(r.json, dict):
                n = write_inputs(r.json)
                if n is not None:
                    out.append(n)
        return out

    def oversized_write(self, n: int) -> tuple[str, str, Any]:
        ids = sorted(self.variants) or [1]
        query = (
            "mutation Oversized($input: [UpdateProductVariantInput!]!) { "
            "updateProductVariants(input: $input) { id } }"
        )
        return (
            "POST",
            ADMIN_PATH.lstrip("/"),
            {
                "query": query,
                "variables": {"input": [{"id": str(ids[k % len(ids)]), "stockOnHand": 1} for k in range(n)]},
            },
        )

    def error(self, status: int, code: str, message: str, **data: Any) -> FakeResponse:
        """Apollo's error body (``code`` goes to ``extensions.code``)."""
        return FakeResponse(
            status, {"errors": [{"message": message, "extensions": {"code": code or "BAD_REQUEST"}}]}
        )

    def _route(self, req: FakeRequest) -> FakeResponse:
        if self.router.match(req.method, req.path) is None:  # Express's own 404 for a path it does not serve
            body = (
                f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
                f"</head>\n<body>\n<pre>Cannot {req.method} {req.path}</pre>\n</body>\n</html>\n"
            )
            return FakeResponse(404, body.encode(), {"Content-Type": "text/html; charset=utf-8"})
        return super()._route(req)

    # -- GraphQL --
    def _authenticated(self, req: FakeRequest) -> bool:
        if self.revoked:
            return False
        key = req.headers.get("vendure-api-key", "")
        if key and not self.key_expired and hmac.compare_digest(key, self.api_key):
            return True
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() in self.sessions
        return False

    def graphql(self, req: FakeRequest) -> FakeResponse:
        body = json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
            return self.error(
                400,
                "BAD_REQUEST",
                "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.",
            )
        variables = _floats(body.get("variables") or {})
        if not isinstance(variables, dict):
            return self.error(
                400, "BAD_REQUEST", "`variables` in a POST body should be provided as an object."
            )
        document, errors, _ = _document(body["query"])
        if document is None:
            return FakeResponse(400, {"errors": errors})
        name = body.get("operationName")
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        op = next((o for o in ops if name is None or (o.name is not None and o.name.value == name)), None)
        if op is None or (name is None and len(ops) > 1):
            message = (
                f'Unknown operation named "{name}".'
                if name
                else "Must provide operation name if query contains multiple operations."
            )
            return FakeResponse(
                400,
                {"errors": [{"message": message, "extensions": {"code": "OPERATION_RESOLUTION_FAILURE"}}]},
            )
        schema = vendure_schema()
        coerced = get_variable_values(schema, op.variable_definitions or (), variables)
        if isinstance(coerced, list):
            return FakeResponse(
                200, {"errors": [{**e.formatted, "extensions": {"code": "BAD_USER_INPUT"}} for e in coerced]}
            )
        lang = req.param("languageCode") or self.language
        context: dict[str, Any] = {
            "authed": self._authenticated(req),
            "lang": lang,
            "listed": [],
            "lookup": False,
            "token": None,
            "req": req,
        }
        result = execute_sync(
            schema,
            document,
            root_value=self._root(),
            context_value=context,
            variable_values=variables,
            operation_name=name,
        )
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [_formatted(e) for e in result.errors]
        out["data"] = result.data
        headers = {"vendure-auth-token": context["token"]} if context["token"] else {}
        if context["listed"]:
            self.list_items_hook(context["listed"], lookup=context["lookup"])
        return FakeResponse(200, out, headers)

    def _root(self) -> dict[str, Any]:
        return {
            "activeChannel": self._active_channel,
            "stockLocations": self._stock_locations,
            "stockLocation": self._stock_location,
            "productVariants": self._product_variants,
            "productVariant": self._product_variant,
            "product": self._product,
            "login": self._login,
            "logout": self._logout,
            "updateProductVariants": self._update_variants,
            "updateProductVariant": lambda info, input: self._update_variants(info, [input])[0],
            "updateProducts": self._update_products,
            "updateProduct": lambda info, input: self._update_products(info, [input])[0],
        }

    @staticmethod
    def _require(info: Any) -> None:
        if not info.context["authed"]:
            raise _Refused(FORBIDDEN, "FORBIDDEN")

    # -- views --
    def _channel_view(self) -> dict[str, Any]:
        return {
            "id": "1",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z",
            "code": "__default_channel__",
            "token": self.channel_token,
            "defaultLanguageCode": self.language,
            "availableLanguageCodes": [self.language],
            "currencyCode": self.currency,
            "defaultCurrencyCode": self.currency,
            "availableCurrencyCodes": [self.currency],
            "trackInventory": True,
            "outOfStockThreshold": 0,
            "pricesIncludeTax": self.prices_include_tax,
        }

    def _location_view(self, loc: VLocation) -> dict[str, Any]:
        return {
            "id": str(loc.id),
            "createdAt": loc.created,
            "updatedAt": loc.created,
            "name": loc.name,
            "description": "",
        }

    def _prices(self, stored: int) -> tuple[int, int]:
        """(price, priceWithTax) of a stored price."""
        rate = 1 + self.tax_rate / 100
        if self.prices_include_tax:
            return int((Decimal(stored) / rate).quantize(Decimal(1), ROUND_HALF_UP)), stored
        return stored, int((Decimal(stored) * rate).quantize(Decimal(1), ROUND_HALF_UP))

    def _record(self, v: VVariant, lang: str) -> dict[str, Any]:
        """The variant's filterable and sortable columns."""
        price, with_tax = self._prices(v.price)
        on_hand = sum(lv.on_hand for lv in v.levels.values())
        allocated = sum(lv.allocated for lv in v.levels.values())
        return {
            "id": str(v.id),
            "productId": str(v.product_id),
            "sku": v.sku,
            "name": self._name(v.names, lang),
            "price": price,
            "priceWithTax": with_tax,
            "currencyCode": self.currency,
            "stockOnHand": on_hand,
            "stockAllocated": allocated,
            "enabled": v.enabled,
            "createdAt": v.created,
            "updatedAt": v.updated,
            "languageCode": lang,
            "outOfStockThreshold": 0,
            "useGlobalOutOfStockThreshold": True,
            "trackInventory": "INHERIT",
            "stockLevel": "IN_STOCK" if on_hand - allocated > 0 else "OUT_OF_STOCK",
            "facetValueId": None,
        }

    def _variant_view(self, v: VVariant, lang: str) -> dict[str, Any]:
        rec = self._record(v, lang)
        levels = [(loc, lv) for loc, lv in sorted(v.levels.items())]
        return {
            **rec,
            "prices": [{"currencyCode": self.currency, "price": rec["price"]}]
            + [{"currencyCode": c, "price": p} for c, p in sorted(v.other_prices.items())],
            "stockLevels": lambda info: [
                {
                    "id": str(lv.id),
                    "createdAt": v.created,
                    "updatedAt": v.updated,
                    "stockLocationId": str(loc),
                    "stockOnHand": lv.on_hand,
                    "stockAllocated": lv.allocated,
                    "stockLocation": self._location_view(self.stock_locations[loc]),
                }
                for loc, lv in levels
                if loc in self.stock_locations
            ],
            "product": lambda info: self._product_view(self.products[v.product_id], info.context["lang"]),
            "translations": lambda info: [
                {
                    "id": f"{v.id}{code}",
                    "createdAt": v.created,
                    "updatedAt": v.updated,
                    "languageCode": code,
                    "name": name,
                }
                for code, name in v.names.items()
            ],
        }

    def _product_view(self, p: VProduct, lang: str) -> dict[str, Any]:
        tr = self._product_tr(p, lang)
        return {
            "id": str(p.id),
            "createdAt": p.created,
            "updatedAt": p.updated,
            "languageCode": lang,
            "name": tr["name"],
            "slug": tr["slug"],
            "description": tr["description"],
            "enabled": p.enabled,
            "variants": lambda info: [
                self._variant_view(self.variants[i], info.context["lang"]) for i in p.variants
            ],
            "variantList": lambda info, options=None: self._variant_list(
                info, [self.variants[i] for i in p.variants], options
            ),
            "translations": lambda info: [
                {
                    "id": f"{p.id}{code}",
                    "createdAt": p.created,
                    "updatedAt": p.updated,
                    "languageCode": code,
                    **t,
                }
                for code, t in p.translations.items()
            ],
        }

    # -- queries --
    def _active_channel(self, info: Any) -> dict[str, Any]:
        self._require(info)
        return self._channel_view()

    def _stock_locations(self, info: Any, options: dict[str, Any] | None = None) -> dict[str, Any]:
        self._require(info)
        items, total = _listed([self._location_view(loc) for loc in self.stock_locations.values()], options)
        return {"items": items, "totalItems": total}

    def _stock_location(self, info: Any, id: str) -> dict[str, Any] | None:
        self._require(info)
        loc = self.stock_locations.get(_int_id(id))
        return self._location_view(loc) if loc is not None else None

    def _product_variants(
        self, info: Any, options: dict[str, Any] | None = None, productId: str | None = None
    ) -> dict[str, Any]:
        self._require(info)
        variants = list(self.variants.values())
        if productId is not None:
            variants = [v for v in variants if str(v.product_id) == str(productId)]
        page = self._variant_list(info, variants, options)
        info.context["listed"].extend(item["sku"] for item in page["items"])
        info.context["lookup"] = info.context["lookup"] or bool((options or {}).get("filter"))
        return page

    def _variant_list(
        self, info: Any, variants: list[VVariant], options: dict[str, Any] | None
    ) -> dict[str, Any]:
        lang = info.context["lang"]
        items, total = _listed([{**self._record(v, lang), "__variant": v} for v in variants], options)
        return {"items": [self._variant_view(r["__variant"], lang) for r in items], "totalItems": total}

    def _product_variant(self, info: Any, id: str) -> dict[str, Any] | None:
        self._require(info)
        v = self.variants.get(_int_id(id))
        return self._variant_view(v, info.context["lang"]) if v is not None else None

    def _product(self, info: Any, id: str | None = None, slug: str | None = None) -> dict[str, Any] | None:
        self._require(info)
        for p in self.products.values():
            if (id is not None and str(p.id) == str(id)) or (
                slug is not None and any(t["slug"] == slug for t in p.translations.values())
            ):
                return self._product_view(p, info.context["lang"])
        return None

    # -- mutations --
    def _login(
        self, info: Any, username: str, password: str, rememberMe: bool | None = None
    ) -> dict[str, Any]:
        if self.revoked or not (
            hmac.compare_digest(username, self.username) and hmac.compare_digest(password, self.password)
        ):
            return {
                "__typename": "InvalidCredentialsError",
                "errorCode": "INVALID_CREDENTIALS_ERROR",
                "message": INVALID_CREDENTIALS,
                "authenticationError": "",
            }
        token = f"{self.rng.getrandbits(256):064x}"
        self.sessions.add(token)
        info.context["token"] = token
        info.context["authed"] = True
        return {
            "__typename": "CurrentUser",
            "id": "1",
            "identifier": username,
            "channels": [
                {
                    "id": "1",
                    "token": self.channel_token,
                    "code": "__default_channel__",
                    "permissions": ["SuperAdmin"],
                }
            ],
        }

    def _logout(self, info: Any) -> dict[str, Any]:
        auth = info.context["req"].headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            self.sessions.discard(auth[7:].strip())
        return {"success": True}

    def _rejection(self, variants: Iterable[VVariant]) -> str | None:
        for v in variants:
            if v.sku in self.rejections:
                return self.rejections[v.sku]
        return None

    def _update_variants(self, info: Any, input: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._require(info)
        # validate every input first: the mutation is one transaction
        for entry in input:
            v = self.variants.get(_int_id(entry["id"]))
            if v is None:
                raise _Refused(
                    f'No ProductVariant with the id "{entry["id"]}" could be found', "ENTITY_NOT_FOUND"
                )
            rejected = self._rejection([v])
            if rejected:
                raise _Refused(rejected, "USER_INPUT_ERROR")
            if entry.get("stockOnHand") and entry["stockOnHand"] < 0:  # `input.stockOnHand && ...` as Vendure
                raise _Refused("stockOnHand cannot be a negative value", "USER_INPUT_ERROR")
            for level in entry.get("stockLevels") or []:
                if _int_id(level["stockLocationId"]) not in self.stock_locations:
                    raise _Refused("FOREIGN KEY constraint failed", None)  # a level for no location
            for tr in entry.get("translations") or []:
                if tr["languageCode"] not in v.names and tr.get("name") is None:
                    raise _Refused(
                        "NOT NULL constraint failed: product_variant_translation.name",
                        "INTERNAL_SERVER_ERROR",
                    )
        out = []
        for entry in input:
            v = self.variants[_int_id(entry["id"])]
            if entry.get("sku") is not None:
                v.sku = entry["sku"]
            if entry.get("enabled") is not None:
                v.enabled = bool(entry["enabled"])
            for tr in entry.get("translations") or []:
                if tr.get("name") is not None:
                    v.names[tr["languageCode"]] = tr["name"]
            levels = entry.get("stockLevels")
            if levels is None and entry.get("stockOnHand") is not None:
                levels = [{"stockLocationId": self.default_location, "stockOnHand": entry["stockOnHand"]}]
            for level in levels or []:
                loc = _int_id(level["stockLocationId"])
                lv = v.levels.get(loc)
                if lv is None:
                    lv = v.levels[loc] = VLevel(self._id("level"), 0)
                lv.on_hand = int(level["stockOnHand"])
            if entry.get("price") is not None:
                v.price = js_round(entry["price"])
            for p in entry.get("prices") or []:
                code = p["currencyCode"]
                if p.get("delete"):
                    v.other_prices.pop(code, None)
                elif code == self.currency:
                    v.price = js_round(p["price"])
                else:
                    v.other_prices[code] = js_round(p["price"])
            v.updated = self._now()
            out.append(self._variant_view(v, info.context["lang"]))
        return out

    def _update_products(self, info: Any, input: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._require(info)
        for entry in input:
            p = self.products.get(_int_id(entry["id"]))
            if p is None:
                raise _Refused(f'No Product with the id "{entry["id"]}" could be found', "ENTITY_NOT_FOUND")
            rejected = self._rejection(self.variants[i] for i in p.variants)
            if rejected:
                raise _Refused(rejected, "USER_INPUT_ERROR")
            for tr in entry.get("translations") or []:
                if tr["languageCode"] not in p.translations and tr.get("name") is None:
                    raise _Refused(
                        "NOT NULL constraint failed: product_translation.name", "INTERNAL_SERVER_ERROR"
                    )
        out = []
        for entry in input:
            p = self.products[_int_id(entry["id"])]
            if entry.get("enabled") is not None:
                p.enabled = bool(entry["enabled"])
            for tr in entry.get("translations") or []:
                code = tr["languageCode"]
                current = p.translations.setdefault(code, {"name": "", "slug": "", "description": ""})
                for key in ("name", "slug", "description"):
                    if tr.get(key) is not None:
                        current[key] = tr[key]
            p.updated = self._now()
            out.append(self._product_view(p, info.context["lang"]))
        return out


def _int_id(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def _formatted(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = dict(error.formatted)
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        out["extensions"] = {**(out.get("extensions") or {}), "code": "INTERNAL_SERVER_ERROR"}  # a crash
    return out


# -- list options: filter, sort, skip/take, as Vendure's ListQueryBuilder ------------------------------
def _listed(
    records: list[dict[str, Any]], options: Mapping[str, Any] | None
) -> tuple[list[dict[str, Any]], int]:
    options = options or {}
    take = options.get("take")
    if take is not None and take > TAKE_MAX:
        raise _Refused(f"Cannot take more than {TAKE_MAX} results from a list query", "USER_INPUT_ERROR")
    flt = options.get("filter")
    if flt:
        mode = options.get("filterOperator") or "AND"
        records = [r for r in records if _matches(r, flt, mode)]
    rows = sorted(records, key=lambda r: _sort_key(r, "id"))
    for key, order in reversed(list((options.get("sort") or {}).items())):
        if order is not None:
            rows.sort(key=functools.partial(_sort_key, key=key), reverse=order == "DESC")
    skip = max(0, options.get("skip") or 0)
    limit = TAKE_MAX if take is None else max(0, take)
    return rows[skip : skip + limit], len(rows)


def _sort_key(record: Mapping[str, Any], key: str) -> tuple[int, Any]:
    value = record.get(key)
    if key in ("id", "productId"):
        return (0, _int_id(value))
    if value is None:
        return (1, "")
    return (0, value)


def _matches(record: Mapping[str, Any], flt: Mapping[str, Any], mode: str) -> bool:
    results: list[bool] = []
    for key, ops in flt.items():
        if ops is None:
            continue
        if key == "_and":
            results.append(all(_matches(record, sub, "AND") for sub in ops))
        elif key == "_or":
            results.append(any(_matches(record, sub, "AND") for sub in ops))
        else:
            results.append(_operators(record.get(key), ops))
    if not results:
        return True
    return all(results) if mode == "AND" else any(results)


def _operators(value: Any, ops: Mapping[str, Any]) -> bool:
    def same(a: Any, b: Any) -> bool:
        return str(a) == str(b) if isinstance(b, str) else a == b

    for op, arg in ops.items():
        if arg is None:
            continue
        text = "" if value is None else str(value)
        if op == "eq":
            ok = value is not None and same(value, arg)
        elif op == "notEq":
            ok = not same(value, arg)
        elif op == "in":
            ok = value is not None and text in [str(a) for a in arg]
        elif op == "notIn":
            ok = text not in [str(a) for a in arg]
        elif op == "contains":
            ok = str(arg).lower() in text.lower()
        elif op == "notContains":
            ok = str(arg).lower() not in text.lower()
        elif op == "regex":
            ok = re.search(str(arg), text) is not None
        elif op == "isNull":
            ok = (value is None) == bool(arg)
        elif op in ("lt", "before"):
            ok = value is not None and value < arg
        elif op == "lte":
            ok = value is not None and value <= arg
        elif op in ("gt", "after"):
            ok = value is not None and value > arg
        elif op == "gte":
            ok = value is not None and value >= arg
        elif op == "between":
            ok = value is not None and arg["start"] <= value <= arg["end"]
        else:
            ok = False
        if not ok:
            return False
    return True


# -- the request log -------------------------------------------------------------------------------------
def write_inputs(body: Mapping[str, Any]) -> int | None:
    """How many objects one request body writes (the inputs of its update mutations), or None when
    it is not a write (a query, a login, or not GraphQL at all)."""
    query = body.get("query")
    if not isinstance(query, str):
        return None
    document, _, _ = _document(query)
    if document is None:
        try:
            document = parse(query)
        except GraphQLError:
            return None
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    total: int | None = None
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode) or op.operation is not OperationType.MUTATION:
            continue
        for sel in op.selection_set.selections:
            if not isinstance(sel, FieldNode) or sel.name.value not in WRITE_FIELDS:
                continue
            n = 0
            for arg in sel.arguments or ():
                if arg.name.value != "input":
                    continue
                value = arg.value
                if isinstance(value, VariableNode):
                    got = variables.get(value.name.value) if isinstance(variables, dict) else None
                    n = len(got) if isinstance(got, list) else 1
                elif isinstance(value, ListValueNode):
                    n = len(value.values)
                else:
                    n = 1
            total = (total or 0) + n
    return total
