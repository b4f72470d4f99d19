"""The channel protocol (batch-first), its capabilities, and the config every channel shares.

An adapter is one file in ``omnisync/channels/`` with a ``Config`` model (a subclass of
:class:`ChannelConfig`) and a class implementing :class:`Channel`, registered by one line in
``omnisync/channels/__init__.py``. Adapters never sleep, retry or build their own HTTP client:
they get one from :mod:`omnisync.http` through the :class:`ChannelContext`.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import inspect
import os
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar, cast, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigError, Kind, OmnisyncError, ResponseError
from ..models import (
    FIELD_KINDS,
    PRICE,
    QUANTITY,
    RemoteListing,
    WriteItem,
    WriteResult,
    field_kind,
    field_location,
)
from ..money import Money, is_currency
from ..rules import ChannelRules, ContentRules, PriceRules, StockRules

if TYPE_CHECKING:  # the client is built on first use: importing this module loads no httpx
    import httpx

    from ..http import ApiClient

FieldKind = Literal["quantity", "price", "title", "description"]
# a write route: (the kind of vendor request a field goes in, the unit it takes there)
Route = tuple[str, Literal["sku", "field", "product"]]


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do, as data. The engine, the contract suite and the benchmarks read it."""

    fields: frozenset[str]  # field kinds it can write
    read_page_size: int  # the largest page the vendor allows
    max_write_batch: int  # the most SKUs one write call may carry
    compare_and_set: bool = False  # stock writes carry the expected old value
    async_writes: bool = False  # writes are accepted as a job and reported by poll()
    # async_writes as feed jobs the engine follows (Amazon's JSON_LISTINGS_FEED, Walmart's bulk
    # feeds): write() answers WriteResult.accepted(sku, job) per SKU, the job carrying the
    # client-side key job_key(item keys); the engine journals the job, polls it (with backoff, up
    # to the config's feed_wait_seconds) and records each SKU's own result; jobs(keys) finds the
    # job a killed run submitted, so a feed is never submitted twice.
    feed_jobs: bool = False
    changed_since: bool = False  # read() honours ``since``
    create: bool = False  # can create a listing that is missing
    multi_location: bool = False  # stock per remote location ("quantity@<id>")
    idempotency_keys: bool = False  # applied() can tell which journalled writes took effect
    rate_limit_per_second: float | None = None  # the vendor's published limit
    feed: bool = False  # writes a whole file; the engine sends every listing in one batch
    # write batches the engine may have in flight at once (the pacer still spaces the requests to
    # rate_limit_per_second); 1: one after the other. Raise it only for a thread-safe adapter of a
    # vendor whose limit allows more requests per second than one connection's round trips.
    max_in_flight: int = 1


class ChannelConfig(BaseModel):
    """Keys every channel accepts in ``[channels.NAME]``. Vendor configs add their own keys.

    Secrets are never in the file: a key ending in ``_env`` names the environment variable that
    holds the secret.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str
    enabled: bool = True
    base_url: str | None = None
    sync: list[FieldKind] | None = None  # which fields to keep true (default: all it supports)
    currency: str | None = None  # the channel's currency; must match the catalog's
    stock_locations: list[str] | None = None  # catalog locations summed into the channel's stock
    locations: dict[str, list[str]] | None = None  # remote location id -> catalog locations
    price: PriceRules = PriceRules()
    stock: StockRules = StockRules()
    content: ContentRules = ContentRules()
    max_zero_share: float = Field(default=0.5, ge=0, le=1)  # guard: --yes needed above this
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    retry_attempts: int = Field(default=6, ge=1, le=20)  # tries per request, the first included
    retry_max_seconds: float = Field(default=180.0, gt=0, le=3600)  # retry budget per request
    # A channel that can read only what changed since a time (Capabilities.changed_since) is read
    # that way, with a full read at least this often: a duration ("1h", "30m", "1d", "90s") or a
    # number of runs (6: every 6th run is a full one; 1: always full).
    full_read_every: str | int = "1h"
    # extra vendors' listing rules to check this channel against in `omnisync validate`
    # (e.g. a sandbox channel rehearsing an eBay listing); the channel's own type always applies
    validate_as: list[str] = []

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")

    @field_validator("full_read_every", mode="before")
    @classmethod
    def _full_read_every(cls, v: object) -> object:
        if isinstance(v, bool):
            raise ValueError('a duration such as "1h" or a number of runs')
        if isinstance(v, int):
            if v < 1:
                raise ValueError("a number of runs must be at least 1")
            return v
        if not isinstance(v, str):
            raise ValueError('a duration such as "1h" or a number of runs')
        parse_duration(v)
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or not all(c.isalnum() or c in "-_" for c in v):
            raise ValueError("channel names use letters, digits, '-' and '_'")
        return v

    @model_validator(mode="after")
    def _sync_unique(self) -> ChannelConfig:
        if self.sync is not None and len(set(self.sync)) != len(self.sync):
            raise ValueError("sync lists a field twice")
        return self

    # -- derived -----------------------------------------------------------------------------
    def secret_fields(self) -> dict[str, str]:
        """config key -> environment variable name, for every ``*_env`` key that is set."""
        out = {}
        for key, value in self.model_dump().items():
            if key.endswith("_env") and isinstance(value, str) and value:
                out[key] = value
        return out

    def rules(self, capabilities: Capabilities) -> ChannelRules:
        wanted = set(self.sync) if self.sync is not None else set(FIELD_KINDS)
        return ChannelRules(
            name=self.name,
            fields=frozenset(wanted & set(capabilities.fields)),
            currency=self.currency,
            price=self.price,
            stock=self.stock,
            content=self.content,
            locations={k: tuple(v) for k, v in self.locations.items()} if self.locations else None,
            stock_locations=tuple(self.stock_locations) if self.stock_locations is not None else None,
        )


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1d"`` -> seconds (ValueError otherwise)."""
    t = text.strip().lower()
    if len(t) < 2 or t[-1] not in _UNITS or not t[:-1].isdigit() or int(t[:-1]) < 1:
        raise ValueError(f'{text!r} is not a duration: a whole number and s, m, h or d (e.g. "1h")')
    return float(int(t[:-1]) * _UNITS[t[-1]])


@dataclass
class ChannelContext:
    """What an adapter receives from the engine: no module-level state anywhere."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    config_dir: Path = field(default_factory=Path.cwd)
    state_dir: Path = field(default_factory=Path.cwd)
    transport: Any = None  # an httpx transport to use instead of the network (tests, fakes)
    verbose: bool = False
    log: Callable[[str], None] = lambda message: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] | None = None  # injected into retries and pacing (tests)
    counters: dict[str, int] = field(default_factory=dict)  # API calls per channel, for --verbose

    def secret(self, cfg: ChannelConfig, key: str) -> str:
        """The secret the config key ``key`` (``..._env``) names, from the environment."""
        var = getattr(cfg, key, None)
        if not var:
            raise ConfigError(
                f"{key} is not set (name the environment variable holding the secret)",
                field=f"channels.{cfg.name}.{key}",
            )
        value = self.env.get(var, "")
        if not value.strip():
            raise ConfigError(
                f"environment variable {var} is missing or empty", field=f"channels.{cfg.name}.{key}"
            )
        return value

    def path(self, p: str | Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        path = Path(p).expanduser()
        return path if path.is_absolute() else self.config_dir / path


@runtime_checkable
class Channel(Protocol):
    """What the engine needs from a channel adapter."""

    name: str
    capabilities: Capabilities

    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """The channel's listings (only ``skus`` when given; changed since ``since`` if supported)."""
        ...

    def write(self, batch: Sequence[WriteItem]) -> list[WriteResult]:
        """Absolute writes, as :meth:`write_batches` grouped them; one result per item."""
        ...

    def write_batches(self, writes: Sequence[tuple[str, Collection[str]]]) -> list[list[int]]:
        """How one push's writes (each a SKU and the field keys it changes) are split into write()
        calls: lists of indices into ``writes``."""
        ...

    def poll(self, jobs: Sequence[str]) -> list[WriteResult]:
        """Outcomes of writes accepted as jobs (async channels); [] while still processing.

        With ``feed_jobs``: one final result per SKU of each finished job, ``job`` set to the
        job's id; nothing for a job still processing."""
        ...

    def applied(self, keys: Collection[str]) -> set[str] | None:
        """Which idempotency keys took effect, or None when the channel cannot tell."""
        ...

    def check(self) -> str:
        """Auth and reachability; a one-line description, or raise a ChannelError."""
        ...

    def close(self) -> None: ...


def job_key(keys: Iterable[str]) -> str:
    """The client-side idempotency key of a feed job carrying the writes journalled under
    ``keys``: the engine journals it before submitting, a ``feed_jobs`` adapter sends it as the
    vendor's feed reference, and :meth:`BaseChannel.jobs` looks it up after a kill."""
    import hashlib

    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    return f"feed-{digest[:32]}"


# What a parser raises when a channel's answer does not have the documented shape.
_SHAPE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, ArithmeticError)


def _shape_error(channel: BaseChannel, method: str, exc: Exception) -> ResponseError:
    text = f"{type(exc).__name__}: {exc}"
    client = getattr(channel, "client", None)
    redactor = getattr(client, "redactor", None)
    if callable(redactor):
        text = str(redactor(text))
    if len(text) > 200:
        text = text[:197] + "..."
    return ResponseError(
        f"the channel's answer does not have the documented shape ({method}: {text})",
        channel=getattr(channel, "name", None),
    )


def _guard(method: str, fn: Callable[..., Any], generator: bool) -> Callable[..., Any]:
    """Adapters raise only omnisync's errors: a parser tripping over an answer of the wrong shape
    (garbage, truncated or wrongly typed JSON) becomes a ResponseError naming the channel, never a
    traceback. Errors omnisync raises on purpose pass through untouched."""
    if generator:

        @functools.wraps(fn)
        def gen(self: BaseChannel, *args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from fn(self, *args, **kwargs)
            except OmnisyncError:
                raise
            except _SHAPE_ERRORS as exc:
                raise _shape_error(self, method, exc) from None

        return gen

    @functools.wraps(fn)
    def call(self: BaseChannel, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except OmnisyncError:
            raise
        except _SHAPE_ERRORS as exc:
            raise _shape_error(self, method, exc) from None

    return call


_C = TypeVar("_C", bound=ChannelConfig)


class BaseChannel:
    """Defaults for the optional parts of the protocol."""

    Config: ClassVar[type[ChannelConfig]] = ChannelConfig
    capabilities: Capabilities

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for method in ("read", "write", "poll", "jobs", "applied", "check"):
            fn = cls.__dict__.get(method)
            if fn is not None and not getattr(fn, "__omnisync_guarded__", False):
                guarded = _guard(method, fn, inspect.isgeneratorfunction(fn))
                guarded.__omnisync_guarded__ = True  # type: ignore[attr-defined]
                setattr(cls, method, guarded)

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        self.cfg = cfg
        self.ctx = ctx
        self.name = cfg.name

    @classmethod
    def from_config(cls, cfg: ChannelConfig, ctx: ChannelContext) -> Channel:
        """The adapter for ``cfg``, typed by what the engine uses of it: the :class:`Channel` protocol
        (checked here, so an adapter missing a method fails when it is opened, not mid-run)."""
        channel = cls(cfg, ctx)
        if not isinstance(channel, Channel):
            raise TypeError(f"{cls.__name__} does not implement the Channel protocol")
        return channel

    @staticmethod
    def own_config(cfg: ChannelConfig, model: type[_C]) -> _C:
        """``cfg`` as the adapter's own config model (validated again when built as the base)."""
        return cfg if isinstance(cfg, model) else model.model_validate(cfg.model_dump())

    @classmethod
    def capabilities_for(cls, cfg: ChannelConfig) -> Capabilities:
        """The capabilities a channel with this config has, without connecting or reading secrets
        (``omnisync validate`` and the planner's offline views use it)."""
        return cls.capabilities

    def write_batches(self, writes: Sequence[tuple[str, Collection[str]]]) -> list[list[int]]:
        """Runs of ``max_write_batch`` writes in plan order. An adapter whose write() sends a
        separate request per kind of field, each with its own limit, overrides this with
        :func:`pack`, so that every request it sends is as full as the vendor allows."""
        size = max(1, self.capabilities.max_write_batch)
        n = len(writes)
        return [list(range(start, min(start + size, n))) for start in range(0, n, size)]

    def poll(self, jobs: Sequence[str]) -> list[WriteResult]:
        return []

    def jobs(self, keys: Collection[str]) -> dict[str, str]:
        """``feed_jobs`` channels: the jobs submitted under client-side keys (:func:`job_key`),
        key -> job id; a key no job has is left out (that feed never arrived)."""
        return {}

    def applied(self, keys: Collection[str]) -> set[str] | None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> BaseChannel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_R = TypeVar("_R")
_S = TypeVar("_S")
_T = TypeVar("_T")


class HttpChannel(BaseChannel, Generic[_C, _R], metaclass=abc.ABCMeta):
    """What every adapter talking HTTP to a vendor shares, so its own file holds only the vendor's
    endpoints, field mapping and quirks.

    ``__init__`` takes the config as the adapter's own model (``self.cfg``, a ``_C``), its
    capabilities (:meth:`capabilities_for`), the currency the config names, and the client:
    :func:`omnisync.http.make_client` with :meth:`make_auth` and the vendor's defaults below (at
    once, or on first use of :attr:`client` with ``lazy_client``, so that a channel is built
    without reading its secrets). An adapter sets up its own state after ``super().__init__``.

    Hooks (class attributes, or methods where the config decides):

    - ``Config``: the config model; ``batch_limit_key``: its key for ``max_write_batch``;
      ``default_base_url``, ``base_path`` (or :meth:`client_options`
      for one made from the config), ``error_overrides``;
    - :meth:`make_auth` (required): the auth flow from the config's secrets (:meth:`secret`);
    - :meth:`client_options`: more :func:`make_client` arguments (rate-limit headers, error and body
      parsers, a base path from the config);
    - :meth:`store_currency`: the currency the store reports, when the config names none;
    - :meth:`ref_of`: where a write's SKU lives (``_R``), by default what a read this session
      learnt (``self._refs``, SKU -> ``_R``, filled by the adapter's read).
    """

    lazy_client: ClassVar[bool] = False
    default_base_url: ClassVar[str] = ""
    base_path: ClassVar[str] = ""
    error_overrides: ClassVar[Mapping[int, Kind] | None] = None

    batch_limit_key: ClassVar[str | None] = None  # a config key that sets max_write_batch

    cfg: _C

    @classmethod
    def capabilities_for(cls, cfg: ChannelConfig) -> Capabilities:
        """``capabilities``, with ``max_write_batch`` from the config key ``batch_limit_key``."""
        limit = getattr(cfg, cls.batch_limit_key, None) if cls.batch_limit_key else None
        if not isinstance(limit, int) or limit == cls.capabilities.max_write_batch:
            return cls.capabilities
        return dataclasses.replace(cls.capabilities, max_write_batch=limit)

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        super().__init__(cfg, ctx)
        self.cfg = cast(_C, self.own_config(cfg, self.Config))
        self.capabilities = self.capabilities_for(self.cfg)
        self._currency: str | None = self.cfg.currency
        self._refs: dict[str, _R] = {}
        self._client: ApiClient | None = None
        if not self.lazy_client:
            self._client = self.build_client()

    # -- hooks -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def make_auth(self) -> httpx.Auth | None:
        """The auth flow, from the config's secrets (:meth:`secret`)."""

    def client_options(self) -> dict[str, Any]:
        """More :func:`omnisync.http.make_client` arguments than the class attributes give."""
        return {}

    def store_currency(self) -> object:
        """The currency code the store reports (asked once, when the config names none). A vendor
        whose API does not say needs the config's ``currency``."""
        raise ConfigError(
            "set currency: this channel's API does not report the store's currency",
            field=f"channels.{self.name}.currency",
        )

    def ref_of(self, item: WriteItem) -> _R | None:
        """Where ``item``'s SKU lives (None: unknown, to be read)."""
        return self._refs.get(item.sku)

    # -- shared ----------------------------------------------------------------------------------
    def secret(self, key: str) -> str:
        """The secret the config key ``key`` (``..._env``) names."""
        return self.ctx.secret(self.cfg, key)

    def build_client(self) -> ApiClient:
        from ..http import make_client

        options: dict[str, Any] = {
            "default_base_url": self.default_base_url,
            "base_path": self.base_path,
            "error_overrides": self.error_overrides,
            **self.client_options(),
        }
        return make_client(
            self.cfg, self.ctx, capabilities=self.capabilities, auth=self.make_auth(), **options
        )

    @property
    def client(self) -> ApiClient:
        if self._client is None:
            self._client = self.build_client()
        return self._client

    def currency(self) -> str:
        """The channel's currency: the config's, else asked once from the store."""
        if self._currency is None:
            code = self.store_currency()
            if not isinstance(code, str) or not is_currency(code):
                raise ResponseError(
                    f"the store reported currency {code!r}, not an ISO 4217 code", channel=self.name
                )
            self._currency = code
        return self._currency

    def _learn(self, skus: Sequence[str]) -> None:
        """Read the SKUs the cache does not place yet, so that the read fills ``self._refs``."""
        unknown = [sku for sku in skus if sku not in self._refs]
        if unknown:
            for _ in self.read(skus=unknown):
                pass

    def _resolve(self, items: Sequence[WriteItem]) -> None:
        """Learn where the SKUs of ``items`` live that were not read in this session (one read of
        them all; a listing to create has no place yet)."""
        self._learn([it.sku for it in items if not it.create and self.ref_of(it) is None])

    @abc.abstractmethod
    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """The channel's listings (the :class:`Channel` protocol's ``read``)."""

    # -- write grouping (declarative) ---------------------------------------------------------------
    # field kind -> (the kind of vendor request it goes in, the unit it takes there): "sku" (one per
    # SKU), "field" (one per SKU and field key) or "product" (one per :meth:`product_of`). With
    # routes, write_batches packs every kind of request full (:func:`pack_writes`).
    write_routes: ClassVar[Mapping[str, Route]] = {}

    def routes_for(self, ref: _R | None) -> Mapping[str, Route]:
        """The routes for a SKU placed at ``ref`` (None: not read yet); ``write_routes`` by default."""
        return self.write_routes

    def product_of(self, ref: _R) -> Hashable:
        """The "product" unit of a SKU placed at ``ref``."""
        return cast(Hashable, getattr(ref, "product_id"))  # noqa: B009  (an adapter's _R has one)

    def request_capacity(self) -> dict[str, int]:
        """Units per call of each kind of request: ``max_write_batch`` for every one by default."""
        limit = self.capabilities.max_write_batch
        kinds = {kind for kind, _ in self.write_routes.values()} | {"other"}
        return {kind: limit for kind in sorted(kinds)}

    def write_batches(self, writes: Sequence[tuple[str, Collection[str]]]) -> list[list[int]]:
        if not self.write_routes:
            return super().write_batches(writes)

        def request(sku: str, key: str) -> tuple[str, Hashable] | None:
            ref = self._refs.get(sku)
            route = self.routes_for(ref).get(field_kind(key))
            if route is None:
                return None
            kind, unit = route
            if unit == "sku":
                return kind, sku
            if unit == "field":
                return kind, (sku, key)
            return kind, (self.product_of(ref) if ref is not None else ("sku", sku))

        return pack_writes(writes, request, self.request_capacity())

    # -- all-or-nothing batches ------------------------------------------------------------------
    def split_refused(
        self,
        units: Sequence[_T],
        send: Callable[[int, list[_T]], object],
        refusal: Callable[[Exception], str | None],
        vendor: str,
        what: str,
    ) -> dict[int, str]:
        """Send ``units`` in one call (``send(offset, part)``); when the vendor refuses it as a whole
        (``refusal(exc)`` gives its reason; None: not a refusal, raised), send each half again, down
        to single units, so only the units it cannot take fail. Returns index -> reason."""
        failed: dict[int, str] = {}

        def go(lo: int, hi: int) -> None:
            try:
                send(lo, list(units[lo:hi]))
            except Exception as exc:
                reason = refusal(exc)
                if reason is None:
                    raise
                if hi - lo == 1:
                    failed[lo] = reason
                    return
                if lo == 0 and hi == len(units):
                    self.ctx.log(
                        f"{self.name}: {vendor} refused a batch of {hi - lo} ({reason}); "
                        f"splitting it to find {what}"
                    )
                mid = (lo + hi) // 2
                go(lo, mid)
                go(mid, hi)

        if units:
            go(0, len(units))
        return failed

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            if self.lazy_client:
                self._client = None


class ShopChannel(HttpChannel[_C, _R], Generic[_C, _R, _S]):
    """An HTTP adapter of a self-hosted store (Medusa, Vendure) whose secrets are read on first use,
    whose ``max_write_batch`` is the config's, and which describes the store once (:meth:`load_shop`,
    cached by :meth:`shop`). :meth:`read` hands the SKUs wanted to :meth:`read_skus`."""

    lazy_client = True  # secrets are read, and a session opened, on the first request
    batch_limit_key = "max_write_batch"

    def __init__(self, cfg: ChannelConfig, ctx: ChannelContext) -> None:
        super().__init__(cfg, ctx)
        self._shop: _S | None = None

    @abc.abstractmethod
    def load_shop(self) -> _S:
        """Ask the store what it is (currency, locations, ...)."""

    def shop(self) -> _S:
        if self._shop is None:
            self._shop = self.load_shop()
        return self._shop

    def fresh_shop(self) -> _S:
        """The store asked now: a cached answer says nothing about reachability."""
        self._shop = None
        return self.shop()

    def read(
        self, skus: Collection[str] | None = None, since: datetime | None = None
    ) -> Iterator[RemoteListing]:
        """Every listing (or only ``skus``); ``since`` is ignored (no changed_since)."""
        wanted = sorted({s for s in skus if s}) if skus is not None else None
        if wanted == []:
            return
        yield from self.read_skus(wanted)

    @abc.abstractmethod
    def read_skus(self, skus: list[str] | None) -> Iterator[RemoteListing]:
        """The listings of ``skus`` (sorted, distinct; None: all)."""

    def object_answer(self, method: str, path: str, data: object) -> dict[str, Any]:
        """``data`` when it is a JSON object, else a ResponseError naming the request."""
        if not isinstance(data, dict):
            raise ResponseError(f"{method} {path}: the answer is not a JSON object", channel=self.name)
        return data


def sku_chunks(skus: Sequence[str] | None, size: int) -> list[list[str] | None]:
    """``skus`` in runs of ``size`` for a vendor's SKU filter; ``[None]`` (no filter) for all."""
    if skus is None:
        return [None]
    return [list(skus[i : i + size]) for i in range(0, len(skus), size)]


def key_or_login(cfg: ChannelConfig, user_key: str, *, server: str, missing: str) -> None:
    """A config validator's check: a base_url, and either ``api_key_env`` or ``user_key`` +
    ``password_env`` (ValueError otherwise)."""
    if not cfg.base_url:
        raise ValueError(f"base_url is required: {server}")
    api_key, user, password = (getattr(cfg, k) for k in ("api_key_env", user_key, "password_env"))
    if api_key is not None and (user is not None or password is not None):
        raise ValueError(f"use either api_key_env or {user_key} + password_env, not both")
    if api_key is None and (user is None or password is None):
        raise ValueError(missing)


def no_variant(sku: str, where: str, vendor: str) -> WriteResult:
    """The result of a write to a SKU no variant has (the adapter updates, never creates)."""
    return WriteResult.failure(
        sku,
        f"no variant has this SKU {where}; create the product and its variant in {vendor} first "
        "(omnisync updates existing listings)",
        Kind.NOT_FOUND.value,
    )


@dataclass(frozen=True)
class ValueChecks:
    """The per-field value checks adapters share, worded as the adapter words them (``{key}``,
    ``{value}``, ``{got}``, ``{want}``, ``{where}`` are filled in). :meth:`problem` is None for a
    value the adapter can send."""

    quantity: str = "quantity must be an integer, not {value!r}"
    money: str = "price must be money, not {value!r}"
    currency: str = "price is in {got} but the store sells in {want}"
    negative: bool = True  # quantities below zero pass
    by_kind: bool = False  # "quantity@<loc>" keys are checked as quantities
    location: str = "{key}: {where} is not a stock location this channel writes"
    default_location: str = ""  # {where} for a plain "quantity" key

    @classmethod
    def of_variants(cls, sells: str, default_location: str) -> ValueChecks:
        """The checks of a variant store's adapter (Medusa, Vendure): "quantity@<loc>" keys, no
        negative quantities, messages led by the field key; ``sells``: "this channel" (sells in)."""
        return cls(
            quantity="{key}: {value!r} is not a quantity",
            money="price: {value!r} is not money",
            currency="price is in {got}, " + sells + " sells in {want}",
            negative=False,
            by_kind=True,
            default_location=default_location,
        )

    def problem(
        self, key: str, value: object, currency: str, stock_keys: Mapping[str, str] | None = None
    ) -> str | None:
        """What is wrong with writing ``value`` to ``key`` (``stock_keys``: the quantity keys the
        channel writes, when it checks them), or None."""
        kind = field_kind(key) if self.by_kind else key
        if kind == QUANTITY:
            if stock_keys is not None and key not in stock_keys:
                where = field_location(key) or self.default_location
                return self.location.format(key=key, where=where)
            if not isinstance(value, int) or isinstance(value, bool) or (value < 0 and not self.negative):
                return self.quantity.format(key=key, value=value)
        elif kind == PRICE:
            if not isinstance(value, Money):
                return self.money.format(key=key, value=value)
            if value.currency != currency:
                return self.currency.format(got=value.currency, want=currency)
        return None


def description_conflicts(wants: Iterable[tuple[Hashable, str, str]], vendor: str) -> dict[str, str]:
    """(product, SKU, description) of a batch's writes -> SKU -> error, for the SKUs whose catalog
    descriptions differ although they are variants of one product (which has one description)."""
    by_product: dict[Hashable, dict[str, set[str]]] = {}
    for pid, sku, text in wants:
        by_product.setdefault(pid, {}).setdefault(text, set()).add(sku)
    out: dict[str, str] = {}
    for options in by_product.values():
        if len(options) > 1:
            skus = sorted(s for group in options.values() for s in group)
            for sku in skus:
                out[sku] = (
                    f"description: SKUs {', '.join(skus)} are variants of one {vendor} product, "
                    "which has one description, but the catalog gives them different ones; "
                    "make them equal"
                )
    return out


def json_int(value: Any, *, signed: bool = False) -> int | None:
    """An integer (an id, a count) from a vendor's JSON: an int, a string of digits (a leading "-"
    when ``signed``) or an integral Decimal; None for anything else, booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        return int(text) if (text.lstrip("-") if signed else text).isdigit() else None
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def pack(
    demands: Sequence[Mapping[str, Collection[Hashable]]], capacity: Mapping[str, int]
) -> list[list[int]]:
    """Group writes into write() calls so that each of the vendor's write requests goes out full.

    ``demands[i]`` says what write ``i`` needs of each kind of request: the units it occupies there
    (an inventory row, a product, ...; a unit several writes share is counted once). A call holds
    at most ``capacity[kind]`` units of each kind. First fit, in plan order: a write goes to the
    earliest call with room for all it needs, so every kind's calls fill one after the other and a
    push of ``n`` units of one kind takes ceil(n / capacity) requests of that kind. Returns lists of
    indices, each in plan order.
    """
    calls: list[list[int]] = []
    held: list[dict[str, set[Hashable]]] = []
    first_open: dict[str, int] = {}  # kind -> the earliest call that may still have room for it
    where: dict[tuple[str, Hashable], int] = {}  # (kind, unit) -> the earliest call holding it

    def fits(j: int, need: Mapping[str, Collection[Hashable]]) -> bool:
        for kind, units in need.items():
            have = held[j].get(kind)
            if not have:
                continue  # an empty call takes any write, even one larger than a request
            extra = sum(1 for u in units if u not in have)
            if extra and len(have) + extra > capacity[kind]:
                return False
        return True

    for i, need in enumerate(demands):
        need = {k: u for k, u in need.items() if u}
        # per kind, the earliest call that can take it: one with room, or one that already holds
        # every unit it needs there (a product's variants share the product's request)
        lows = []
        for k, units in need.items():
            low = first_open.get(k, 0)
            at = {where.get((k, u)) for u in units}
            if len(at) == 1 and (held_at := next(iter(at))) is not None:
                low = min(low, held_at)
            lows.append(low)
        j = max(lows, default=len(calls) - 1 if calls else 0)
        while j < len(calls) and not fits(j, need):
            j += 1
        if j == len(calls):
            calls.append([])
            held.append({})
        calls[j].append(i)
        for kind, units in need.items():
            held[j].setdefault(kind, set()).update(units)
            for u in units:
                where.setdefault((kind, u), j)
            c = first_open.get(kind, 0)
            while c < len(calls) and len(held[c].get(kind, ())) >= capacity[kind]:
                c += 1
            first_open[kind] = c
    return calls


def pack_writes(
    writes: Sequence[tuple[str, Collection[str]]],
    request: Callable[[str, str], tuple[str, Hashable] | None],
    capacity: Mapping[str, int],
) -> list[list[int]]:
    """:func:`pack` for an adapter's ``write_batches``: ``request(sku, key)`` names the kind of
    vendor request a field goes in and the unit it takes there, or None for a field write()
    refuses without a request (counted by SKU under "other", so a call stays bounded)."""
    demands: list[dict[str, set[Hashable]]] = []
    for sku, keys in writes:
        need: dict[str, set[Hashable]] = {}
        for key in keys:
            kind, unit = request(sku, key) or ("other", sku)
            need.setdefault(kind, set()).add(unit)
        demands.append(need)
    return pack(demands, capacity)


def pack_groups(groups: Sequence[Hashable], size: int) -> list[list[int]]:
    """write() calls for an adapter that sends one request per group of writes, of at most ``size``
    writes each (WooCommerce: one for products, one per variable product for its variations):
    ``groups[i]`` names the request write ``i`` goes in.

    Each group is cut into runs of ``size`` in plan order and the runs are packed, first fit and
    never split, into calls of at most ``size`` writes: a push takes the fewest requests, the sum
    over groups of ceil(its writes / size), with no group straddling two calls. Returns lists of
    indices, each in plan order."""
    size = max(1, size)
    members: dict[Hashable, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    runs = sorted(
        (m[start : start + size] for m in members.values() for start in range(0, len(m), size)),
        key=lambda run: run[0],
    )
    calls: list[list[int]] = []
    first_open = 0  # calls before it are full
    for run in runs:
        j = first_open
        while j < len(calls) and len(calls[j]) + len(run) > size:
            j += 1
        if j == len(calls):
            calls.append([])
        calls[j].extend(run)
        while first_open < len(calls) and len(calls[first_open]) >= size:
            first_open += 1
    return [sorted(call) for call in calls]
