"""``channels.toml`` -> validated channel configs.

The file names a catalog, a state database and one ``[channels.NAME]`` table per channel. Each
table's ``type`` picks the adapter (through :data:`omnisync.channels.REGISTRY`), and that adapter's
``Config`` model (a :class:`~omnisync.channels.base.ChannelConfig`) validates the table. Floats are
read as ``Decimal``, so ``ending = 0.99`` is exact.

Every problem names the file, the line and the dotted key (``channels.shop.price.markup_percent``),
and all problems of a file are reported together. tomllib gives no line numbers for values, so
:class:`KeyLocator` scans the raw text and maps key paths to the lines that define them.

Secrets never live in the file: a key that looks like one (``token``, ``api_key``, ...) is refused
without echoing its value, and ``*_env`` keys name environment variables that
:func:`check_secrets` checks before a run needs them.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import stat
import tomllib
import types
import typing
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from . import channels as registry
from .channels.base import ChannelConfig
from .errors import DEFAULT_BUSY_TIMEOUT_SECONDS, ConfigError, Where
from .money import CURRENCIES

__all__ = [
    "Config",
    "ConfigProblems",
    "KeyLocator",
    "Problem",
    "check_secrets",
    "dotted",
    "insecure_permissions_warning",
    "load_config",
]

KeyPath = tuple[str | int, ...]

DEFAULT_CATALOG = "catalog.db"
DEFAULT_STATE = "state.db"
TOP_LEVEL_KEYS = ("catalog", "state", "keyring_service", "busy_timeout_seconds", "channels")
MAX_BUSY_TIMEOUT_SECONDS = 86_400  # a day; SQLite's busy timeout is a 32-bit count of milliseconds
EXAMPLE_FILE = "channels.toml.example"

# Words that make a key look like a secret. A key equal to one, or ending in "_<word>" / "-<word>",
# is refused (unless it ends in "_env": those name environment variables). The long words also
# match glued forms such as "apitoken" or "clientsecret".
_SECRET_WORDS = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "api_key",
    "apikey",
    "key",
    "private_key",
    "client_secret",
    "consumer_secret",
    "consumer_key",
    "access_token",
    "refresh_token",
    "credential",
    "credentials",
    "auth_token",
    "bearer",
)
_GLUED_SECRET_WORDS = ("token", "secret", "password", "passwd", "passphrase", "apikey")

SECRET_HINT = (
    'secrets are never read from the config file: set {env_key} = "NAME_OF_ENV_VAR" and export '
    "the secret in that variable"
)

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")


# -- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the config: where it is and what to do about it."""

    line: int | None
    field: str | None
    message: str

    def render(self, file: str | None) -> str:
        where = str(Where(file, self.line, self.field))
        return f"{where}: {self.message}" if where else self.message


class ConfigProblems(ConfigError):
    """Every problem found in one config file, as one :class:`ConfigError`.

    ``where`` (file, line, field) is the first problem's; ``problems`` holds each problem rendered
    as ``file:line: key: message``, sorted by line; ``details`` holds them as :class:`Problem`.
    """

    def __init__(self, file: str | None, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("ConfigProblems needs at least one problem")
        self.details = sorted(problems, key=lambda p: p.line if p.line is not None else 0)
        first = self.details[0]
        rendered = [p.render(file) for p in self.details] if len(self.details) > 1 else []
        super().__init__(first.message, file=file, line=first.line, field=first.field, problems=rendered)

    def render(self) -> str:
        if len(self.problems) <= 1:
            return super().render()
        head = f"{self.where.file}: " if self.where.file else ""
        return f"{head}{len(self.problems)} problems\n" + "\n".join(f"  {p}" for p in self.problems)


def dotted(path: Iterable[str | int]) -> str:
    """``("channels", "shop", "sync", 1)`` -> ``channels.shop.sync[1]``; odd keys are quoted."""
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
            continue
        text = seg if _BARE_KEY.fullmatch(seg) else '"' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out = f"{out}.{text}" if out else text
    return out


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    best = _suggest(word, candidates)
    return f"; did you mean {best!r}?" if best else ""


# -- the line locator -------------------------------------------------------------------------


class KeyLocator:
    """Where each key path of a TOML document is defined (tomllib gives no positions).

    Handles table headers ``[a.b]``, dotted keys ``a.b = 1``, inline tables
    ``price = { markup_percent = 10 }``, arrays (each element gets its index) and arrays of tables
    ``[[a.b]]`` (``("a", "b", 0)``, ``("a", "b", 1)``...). :meth:`line` falls back to the nearest
    enclosing key or table header, and to line 1 for the document itself.
    """

    def __init__(
        self,
        explicit: Mapping[KeyPath, int] | None = None,
        implicit: Mapping[KeyPath, int] | None = None,
        *,
        root_line: int | None = None,
        table: KeyPath = (),
    ) -> None:
        self._explicit = dict(explicit or {})
        self._implicit = dict(implicit or {})
        self._root_line = root_line
        self.table = table  # the table in force at the end of the scanned text

    @classmethod
    def scan(cls, text: str) -> KeyLocator:
        scanner = _Scanner(text)
        scanner.run()
        return cls(scanner.explicit, scanner.implicit, root_line=1, table=scanner.table)

    def defined(self, path: Sequence[str | int]) -> int | None:
        """The line where exactly ``path`` is defined, or None."""
        key = tuple(path)
        return self._explicit.get(key, self._implicit.get(key))

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line defining ``path``, else the line of its nearest enclosing key or table."""
        key = tuple(path)
        while key:
            found = self.defined(key)
            if found is not None:
                return found
            key = key[:-1]
        return self._root_line


class _Scanner:
    """A tolerant single-pass TOML scanner that records the line of every key it meets.

    It is run on text tomllib has accepted, and never raises on anything else: where the text is
    not TOML it skips to the end of the line.
    """

    MAX_DEPTH = 100

    def __init__(self, text: str) -> None:
        self.s = text
        self.n = len(text)
        self.i = 0
        self.lineno = 1
        self.explicit: dict[KeyPath, int] = {}
        self.implicit: dict[KeyPath, int] = {}
        self.arrays_of_tables: dict[KeyPath, int] = {}
        self.table: KeyPath = ()

    # recording
    def record(self, path: KeyPath, line: int, start: int) -> None:
        for k in range(start, len(path)):
            self.implicit.setdefault(path[:k], line)
        self.explicit.setdefault(path, line)

    def resolve(self, keys: Sequence[str]) -> KeyPath:
        """A header's keys, with the current index inserted after each array of tables."""
        out: list[str | int] = []
        for k in keys:
            out.append(k)
            count = self.arrays_of_tables.get(tuple(out))
            if count:
                out.append(count - 1)
        return tuple(out)

    # low-level movement
    def skip_ws(self) -> None:
        while self.i < self.n and self.s[self.i] in " \t\r":
            self.i += 1

    def skip_blank(self) -> None:
        """Whitespace, newlines and comments."""
        while self.i < self.n:
            ch = self.s[self.i]
            if ch in " \t\r":
                self.i += 1
            elif ch == "\n":
                self.lineno += 1
                self.i += 1
            elif ch == "#":
                self.skip_comment()
            else:
                return

    def skip_comment(self) -> None:
        end = self.s.find("\n", self.i)
        self.i = self.n if end < 0 else end

    def skip_line(self) -> None:
        end = self.s.find("\n", self.i)
        if end < 0:
            self.i = self.n
        else:
            self.i = end + 1
            self.lineno += 1

    def end_statement(self) -> None:
        self.skip_ws()
        if self.i < self.n and self.s[self.i] == "#":
            self.skip_comment()
        if self.i < self.n:
            self.skip_line()  # the newline (or, in text that is not TOML, the rest of the line)

    # pieces
    def string(self, delim: str, escapes: bool) -> str:
        """Skip a string starting at ``self.i``; return its raw text including the quotes."""
        start = self.i
        multiline = len(delim) == 3
        self.i += len(delim)
        while self.i < self.n:
            ch = self.s[self.i]
            if escapes and ch == "\\":
                self.i += 1
                if self.i < self.n:
                    if self.s[self.i] == "\n":
                        if not multiline:
                            return self.s[start : self.i]
                        self.lineno += 1
                    self.i += 1
                continue
            if self.s.startswith(delim, self.i):
                self.i += len(delim)
                if multiline:  # up to two more quotes belong to the content
                    extra = 0
                    while extra < 2 and self.i < self.n and self.s[self.i] == delim[0]:
                        self.i += 1
                        extra += 1
                return self.s[start : self.i]
            if ch == "\n":
                if not multiline:
                    return self.s[start : self.i]
                self.lineno += 1
            self.i += 1
        return self.s[start : self.i]

    def keys(self) -> list[str] | None:
        """A dotted key at ``self.i`` (bare or quoted parts), or None if there is none."""
        parts: list[str] = []
        while True:
            self.skip_ws()
            if self.i >= self.n:
                return None
            ch = self.s[self.i]
            if ch in "\"'":
                raw = self.string(ch, escapes=ch == '"')
                parts.append(_decode_quoted_key(raw))
            else:
                m = _BARE_KEY.match(self.s, self.i)
                if not m:
                    return None
                parts.append(m.group())
                self.i = m.end()
            self.skip_ws()
            if self.i < self.n and self.s[self.i] == ".":
                self.i += 1
                continue
            return parts

    def value(self, path: KeyPath, depth: int) -> None:
        if self.i >= self.n:
            return
        if depth > self.MAX_DEPTH:
            self.skip_line()
            return
        s, i = self.s, self.i
        if s.startswith('"""', i):
            self.string('"""', escapes=True)
        elif s.startswith("'''", i):
            self.string("'''", escapes=False)
        elif s[i] == '"':
            self.string('"', escapes=True)
        elif s[i] == "'":
            self.string("'", escapes=False)
        elif s[i] == "[":
            self.array(path, depth)
        elif s[i] == "{":
            self.inline_table(path, depth)
        else:
            while self.i < self.n and s[self.i] not in ",]}\n#":
                self.i += 1

    def array(self, path: KeyPath, depth: int) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip_blank()
            if self.i >= self.n:
                return
            ch = self.s[self.i]
            if ch == "]":
                self.i += 1
                return
            if ch == ",":
                self.i += 1
                index += 1
                continue
            if ch in "}=":  # not TOML; do not loop on it
                self.i += 1
                continue
            self.record(path + (index,), self.lineno, len(path))
            before = self.i
            self.value(path + (index,), depth + 1)
            if self.i == before:
                self.i += 1

    def inline_table(self, path: KeyPath, depth: int) -> None:
        self.i += 1
        while True:
            self.skip_blank()
            if self.i >= self.n:
                return
            ch = self.s[self.i]
            if ch == "}":
                self.i += 1
                return
            if ch == ",":
                self.i += 1
                continue
            line = self.lineno
            before = self.i
            keys = self.keys()
            if keys is None or self.i >= self.n or self.s[self.i] != "=":
                if self.i == before:
                    self.i += 1
                continue
            self.i += 1
            sub = path + tuple(keys)
            self.record(sub, line, len(path))
            self.skip_ws()
            self.value(sub, depth + 1)

    def header(self) -> None:
        line = self.lineno
        is_array = self.s.startswith("[[", self.i)
        self.i += 2 if is_array else 1
        keys = self.keys()
        closing = "]]" if is_array else "]"
        if not keys or not self.s.startswith(closing, self.i):
            self.skip_line()
            return
        self.i += len(closing)
        if is_array:
            base = self.resolve(keys[:-1]) + (keys[-1],)
            index = self.arrays_of_tables.get(base, 0)
            self.arrays_of_tables[base] = index + 1
            self.record(base, line, 1)
            self.table = base + (index,)
        else:
            self.table = self.resolve(keys)
        self.record(self.table, line, 1)
        self.end_statement()

    def run(self) -> None:
        while True:
            self.skip_blank()
            if self.i >= self.n:
                return
            if self.s[self.i] == "[":
                self.header()
                continue
            line = self.lineno
            keys = self.keys()
            if keys is None or self.i >= self.n or self.s[self.i] != "=":
                self.skip_line()
                continue
            self.i += 1
            path = self.table + tuple(keys)
            self.record(path, line, len(self.table) + 1)
            self.skip_ws()
            self.value(path, 0)
            self.end_statement()


def _decode_quoted_key(raw: str) -> str:
    try:
        value = tomllib.loads(f"k = {raw}")["k"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return raw.strip("\"'")
    return value if isinstance(value, str) else raw.strip("\"'")


# -- the config -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """A loaded ``channels.toml``: where the catalog and state live, and each channel's config."""

    path: Path
    catalog: Path
    state: Path
    channels: dict[str, ChannelConfig]
    locator: KeyLocator = field(default_factory=KeyLocator, repr=False, compare=False)
    # When set, a secret whose environment variable is unset or empty is looked up in the OS
    # keyring under (keyring_service, that variable's name).
    keyring_service: str | None = None
    # How long each statement on catalog.db or state.db waits for a lock another program holds.
    busy_timeout_seconds: float = DEFAULT_BUSY_TIMEOUT_SECONDS

    @property
    def config_dir(self) -> Path:
        """The folder relative paths in the config are resolved against."""
        return self.path.parent

    def line_of(self, path: str | Sequence[str | int]) -> int | None:
        """The line defining a key path (``"channels.shop.token_env"`` or a tuple)."""
        key = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
        return self.locator.line(key)

    def enabled_channels(self, names: Collection[str] | None = None) -> list[ChannelConfig]:
        """The enabled channels in file order, or only ``names`` (from ``--channel``).

        A name that is not configured, or names a disabled channel, is a :class:`ConfigError`.
        """
        if names is None:
            return [c for c in self.channels.values() if c.enabled]
        wanted = set(names)
        problems: list[Problem] = []
        configured = ", ".join(self.channels) or "(none)"
        for name in dict.fromkeys(names):
            cfg = self.channels.get(name)
            if cfg is None:
                problems.append(
                    Problem(
                        None,
                        None,
                        f"unknown channel {name!r}"
                        f"{_did_you_mean(name, self.channels)} "
                        f"(configured channels: {configured})",
                    )
                )
            elif not cfg.enabled:
                problems.append(
                    Problem(
                        self.locator.line(("channels", name, "enabled")),
                        dotted(("channels", name)),
                        f"channel {name!r} is disabled (enabled = false); set enabled = true to use it",
                    )
                )
        if problems:
            raise ConfigProblems(str(self.path), problems)
        return [c for n, c in self.channels.items() if n in wanted]


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate ``channels.toml``; raise one :class:`ConfigError` listing every problem.

    ``env`` (default: the process environment) is only used to make sure that no value of a
    variable the file names in a ``*_env`` key ever appears in an error message.
    """
    path = Path(path)
    file = str(path)
    environ: Mapping[str, str] = os.environ if env is None else env
    text = _read_text(path)
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, text, file, _secret_values_in_text(text, environ)) from None
    except RecursionError:
        raise ConfigError("arrays or tables are nested too deeply", file=file, line=1) from None

    loader = _Loader(file, KeyLocator.scan(text), _secret_values(doc, environ))
    return loader.load(path, doc)


def _read_text(path: Path) -> str:
    file = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found; copy {EXAMPLE_FILE} to {path.name} and edit it, "
            "or point --config at your file",
            file=file,
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a directory, not a config file", file=file) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", file=file) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError("the file is not UTF-8 text", file=file, line=line) from None


def _syntax_error(
    exc: tomllib.TOMLDecodeError, text: str, file: str, secrets: Sequence[str] = ()
) -> ConfigError:
    error = _syntax_error_unredacted(exc, text, file)
    rendered = str(error)
    if not any(secret in rendered for secret in secrets):
        return error
    field_name = error.where.field
    message = error.message
    for secret in secrets:
        message = message.replace(secret, "***")
        field_name = field_name.replace(secret, "***") if field_name else field_name
    return ConfigError(message, file=file, line=error.where.line, field=field_name)


def _syntax_error_unredacted(exc: tomllib.TOMLDecodeError, text: str, file: str) -> ConfigError:
    message = str(exc)
    m = _TOML_POSITION.search(message)
    if m:
        message = message[: m.start()]
    if m and m.group(1):
        line, column = int(m.group(1)), int(m.group(2))
    else:  # at end of document
        line, column = text.count("\n") + (0 if text.endswith("\n") else 1), 0
        line = max(line, 1)
    lines = text.split("\n")
    before = KeyLocator.scan("\n".join(lines[: line - 1]))
    here = _Scanner(lines[line - 1] if line - 1 < len(lines) else "")
    here.skip_ws()
    key: KeyPath | None
    if here.i < here.n and here.s[here.i] == "[":
        here.i += 2 if here.s.startswith("[[", here.i) else 1
        parts = here.keys()
        key = tuple(parts) if parts else None
    else:
        parts = here.keys()
        key = before.table + tuple(parts) if parts else (before.table or None)

    declared = re.fullmatch(r"Cannot declare (\(.*\)) twice", message)
    if declared:
        try:
            table = ast.literal_eval(declared.group(1))
        except (ValueError, SyntaxError):
            table = None
        if isinstance(table, tuple) and all(isinstance(k, str) for k in table):
            first = before.defined(table)
            also = f" (first defined on line {first})" if first else ""
            if len(table) == 2 and table[0] == "channels":
                text_msg = f"duplicate channel name {table[1]}{also}; each channel needs its own name"
            else:
                text_msg = f"table [{dotted(table)}] is defined twice{also}"
            return ConfigError(text_msg, file=file, line=line, field=dotted(table))
    if message == "Cannot overwrite a value" and key:
        first = before.defined(key)
        also = f" (first set on line {first})" if first else ""
        return ConfigError(f"key {dotted(key)} is set twice{also}", file=file, line=line, field=dotted(key))
    where = f" (column {column})" if column else " (at the end of the file)"
    return ConfigError(
        f"TOML syntax error: {message}{where}", file=file, line=line, field=dotted(key) if key else None
    )


_ENV_KEY_IN_TEXT = re.compile(r"""[A-Za-z0-9_-]*_env["']?\s*=\s*["']([^"'\n]+)["']""")


def _secret_values_in_text(text: str, env: Mapping[str, str]) -> list[str]:
    """Values of the variables named by ``*_env`` keys in text that is not valid TOML."""
    values = {env.get(name, "") for name in _ENV_KEY_IN_TEXT.findall(text)}
    return sorted((v for v in values if len(v.strip()) >= 4), key=len, reverse=True)


def _secret_values(doc: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """Values of the environment variables the document names in ``*_env`` keys."""
    values: set[str] = set()
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if isinstance(k, str) and k.endswith("_env") and isinstance(v, str):
                    secret = env.get(v, "")
                    if len(secret.strip()) >= 4:
                        values.add(secret)
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return sorted(values, key=len, reverse=True)


def looks_like_secret(key: str) -> bool:
    """True for a key such as ``token``, ``api_key`` or ``consumer_secret`` (not ``token_env``)."""
    k = key.strip().lower()
    if k.endswith("_env"):
        return False
    for word in _SECRET_WORDS:
        if k == word or k.endswith("_" + word) or k.endswith("-" + word):
            return True
    return any(k.endswith(word) for word in _GLUED_SECRET_WORDS)


def _env_key_for(key: str, model: type[BaseModel]) -> str:
    """The ``*_env`` key of the channel's model to use instead of the secret key ``key``."""
    env_keys = [f for f in model.model_fields if f.endswith("_env")]
    if f"{key}_env" in env_keys:
        return f"{key}_env"
    if len(env_keys) == 1:
        return env_keys[0]
    return _suggest(f"{key}_env", env_keys) or "token_env"


def _field_model(model: type[BaseModel] | None, key: str | int) -> type[BaseModel] | None:
    """The model the value of ``key`` is validated with (unwrapping Optional and lists)."""
    if model is None or not isinstance(key, str) or key not in model.model_fields:
        return None
    return _model_in(model.model_fields[key].annotation)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, list, tuple, set, frozenset, Sequence, Collection):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _short(value: Any) -> str | None:
    """A short TOML-ish rendering of a scalar input, for 'got ...' hints."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        text = str(value)
    elif isinstance(value, str):
        text = '"' + value + '"'
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, list):
        return "an array"
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Loader:
    """Collects every problem of one file while turning its document into a :class:`Config`."""

    def __init__(self, file: str, locator: KeyLocator, secrets: Sequence[str]) -> None:
        self.file = file
        self.locator = locator
        self.secrets = secrets
        self.problems: list[Problem] = []

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append(
            Problem(self.locator.line(path), self.redact(dotted(path)) or None, self.redact(message))
        )

    def load(self, path: Path, doc: dict[str, Any]) -> Config:
        for key in doc:
            if key in TOP_LEVEL_KEYS:
                continue
            if looks_like_secret(key):
                self.add((key,), SECRET_HINT.format(env_key="token_env"))
            else:
                self.add(
                    (key,),
                    f"unknown key {key!r}{_did_you_mean(key, TOP_LEVEL_KEYS)}"
                    f" (top-level keys: {', '.join(TOP_LEVEL_KEYS)})",
                )
        catalog = self.path_value(doc, "catalog", DEFAULT_CATALOG, path.parent)
        state = self.path_value(doc, "state", DEFAULT_STATE, path.parent)
        keyring_service = doc.get("keyring_service")
        if keyring_service is not None and (
            not isinstance(keyring_service, str) or not keyring_service.strip()
        ):
            self.add(("keyring_service",), 'should be the keyring service name (a string such as "omnisync")')
            keyring_service = None
        busy_timeout = self.busy_timeout(doc)
        channels: dict[str, ChannelConfig] = {}
        raw = doc.get("channels")
        if raw is None or raw == {}:
            self.add(
                ("channels",),
                f"no channels configured: add a [channels.NAME] table with a type (see {EXAMPLE_FILE})",
            )
        elif not isinstance(raw, dict):
            self.add(("channels",), "should be tables, one per channel: [channels.NAME]")
        else:
            for name, table in raw.items():
                cfg = self.channel(name, table)
                if cfg is not None:
                    channels[name] = cfg
        if self.problems:
            raise ConfigProblems(self.file, self.problems)
        assert catalog is not None and state is not None
        return Config(
            path=path,
            catalog=catalog,
            state=state,
            channels=channels,
            locator=self.locator,
            keyring_service=keyring_service,
            busy_timeout_seconds=busy_timeout,
        )

    def busy_timeout(self, doc: Mapping[str, Any]) -> float:
        value = doc.get("busy_timeout_seconds", DEFAULT_BUSY_TIMEOUT_SECONDS)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, Decimal))
            or not Decimal(value).is_finite()
            or not 0 <= value <= MAX_BUSY_TIMEOUT_SECONDS
        ):
            got = _short(value)
            self.add(
                ("busy_timeout_seconds",),
                f"should be a number of seconds from 0 to {MAX_BUSY_TIMEOUT_SECONDS} (such as "
                f"{DEFAULT_BUSY_TIMEOUT_SECONDS}): how long to wait for another program's lock on "
                f"the catalog or state.db" + (f" (got {got})" if got else ""),
            )
            return DEFAULT_BUSY_TIMEOUT_SECONDS
        return float(value)

    def path_value(self, doc: Mapping[str, Any], key: str, default: str, base: Path) -> Path | None:
        value = doc.get(key, default)
        if not isinstance(value, str) or not value.strip() or "\x00" in value:
            self.add((key,), f'should be a file path (a string such as "{default}")')
            return None
        try:
            p = Path(value).expanduser()
        except RuntimeError:
            self.add((key,), "the home directory in this path cannot be found")
            return None
        return p if p.is_absolute() else base / p

    def channel(self, name: str, table: Any) -> ChannelConfig | None:
        base: KeyPath = ("channels", name)
        known = ", ".join(registry.types())
        if not isinstance(table, dict):
            self.add(
                base, f'should be a table: [channels.{dotted((name,))}] with type = "..." (one of: {known})'
            )
            return None
        table = dict(table)
        if "name" in table:
            del table["name"]
            self.add(
                base + ("name",),
                f"remove this key: a channel's name is its table key ([channels.{dotted((name,))}])",
            )
        type_name = table.get("type")
        if type_name is None:
            self.add(base, f"missing required key 'type' (one of: {known})")
            return None
        if not isinstance(type_name, str):
            self.add(base + ("type",), f"should be a string naming a channel type (one of: {known})")
            return None
        if type_name not in registry.REGISTRY:
            self.add(
                base + ("type",),
                f"unknown channel type {type_name!r}"
                f"{_did_you_mean(type_name, registry.REGISTRY)} "
                f"(known types: {known})",
            )
            return None
        try:
            adapter = registry.load(type_name)
        except (ImportError, AttributeError) as exc:
            self.add(
                base + ("type",),
                f"channel type {type_name!r} cannot be loaded in this "
                f"installation ({type(exc).__name__}: {exc})",
            )
            return None
        model = getattr(adapter, "Config", None)
        if not (isinstance(model, type) and issubclass(model, ChannelConfig)):
            self.add(base + ("type",), f"channel type {type_name!r} has no config model")
            return None

        table = self.strip_secrets(table, model, base, model)
        try:
            cfg = model.model_validate({**table, "name": name})
        except ValidationError as exc:
            for err in exc.errors():
                self.pydantic_error(base, table, model, err)
            return None

        for key, var in cfg.secret_fields().items():
            if not _ENV_NAME.fullmatch(var):
                self.add(
                    base + (key,),
                    "should be the NAME of an environment variable (letters, "
                    "digits and '_'), not the secret itself",
                )
        if cfg.currency is not None and cfg.currency not in CURRENCIES:
            hint = (
                f"; did you mean {cfg.currency.upper()!r}?"
                if cfg.currency.upper() in CURRENCIES
                else _did_you_mean(cfg.currency, CURRENCIES)
            )
            self.add(
                base + ("currency",),
                f"unknown currency {cfg.currency!r}{hint} (an ISO 4217 code such as USD)",
            )
        if cfg.locations and cfg.stock_locations is not None:
            self.add(
                base + ("stock_locations",),
                "set either stock_locations (one stock pool) or "
                "locations (stock per remote location), not both",
            )
        return cfg

    def strip_secrets(
        self,
        data: Mapping[str, Any],
        model: type[BaseModel] | None,
        path: KeyPath,
        channel_model: type[BaseModel],
    ) -> dict[str, Any]:
        """``data`` without keys that look like secrets, each reported (never with its value).

        Descends into sub-tables that are models (price, stock...) or unknown; the keys of a
        declared dict field (such as ``locations``) are data, not config keys.
        """
        clean: dict[str, Any] = {}
        fields = model.model_fields if model is not None else {}
        for key, value in data.items():
            if looks_like_secret(key):
                self.add(path + (key,), SECRET_HINT.format(env_key=_env_key_for(key, channel_model)))
                continue
            sub = _field_model(model, key)
            declared_data = key in fields and sub is None
            if isinstance(value, dict) and not declared_data:
                value = self.strip_secrets(value, sub, path + (key,), channel_model)
            elif isinstance(value, list) and not declared_data:
                value = [
                    self.strip_secrets(v, sub, path + (key, i), channel_model) if isinstance(v, dict) else v
                    for i, v in enumerate(value)
                ]
            clean[key] = value
        return clean

    def pydantic_error(
        self, base: KeyPath, table: Mapping[str, Any], model: type[BaseModel], err: Mapping[str, Any]
    ) -> None:
        loc: tuple[str | int, ...] = tuple(err.get("loc", ()))
        kind = str(err.get("type", ""))
        msg = str(err.get("msg", "invalid value"))
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if loc[:1] == ("name",):
            self.add(base, f"bad channel name {base[-1]!r}: {msg}")
            return
        # Keep the parts of the location that exist in the table (drop pydantic's union tags).
        real: list[str | int] = []
        node: Any = table
        for i, seg in enumerate(loc):
            if isinstance(node, dict) and seg in node:
                real.append(seg)
                node = node[seg]
            elif isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
                real.append(seg)
                node = node[seg]
            elif kind == "missing" and i == len(loc) - 1 and isinstance(seg, str):
                real.append(seg)
        path = base + tuple(real)

        if kind == "extra_forbidden":
            key = str(real[-1]) if real else "?"
            owner: type[BaseModel] | None = model
            for seg in real[:-1]:
                if isinstance(seg, int):
                    continue
                owner = _field_model(owner, seg)
            candidates = [
                f for f in (owner.model_fields if owner else {}) if f != "name" or owner is not model
            ]
            hint = _did_you_mean(key, candidates)
            if not hint and owner is not None:  # a rule key one table too high: markup_percent
                nested: dict[str, str] = {}
                for f in owner.model_fields:
                    sub_model = _field_model(owner, f)
                    for g in sub_model.model_fields if sub_model is not None else ():
                        nested.setdefault(g, f)
                best = _suggest(key, nested)
                if best is not None:
                    hint = f"; did you mean {best!r} in [{dotted(path[:-1] + (nested[best],))}]?"
            if not hint and candidates:
                hint = f" (keys here: {', '.join(candidates)})"
            self.add(path, f"unknown key {key!r}{hint}")
        elif kind == "missing":
            self.add(path, f"missing required key {str(real[-1]) if real else ''!r}")
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            self.add(path, "should be a table, e.g. " + (f"[{dotted(path)}]" if path else "[channels.NAME]"))
        else:
            got = (
                _short(self.redact(err["input"]) if isinstance(err["input"], str) else err["input"])
                if kind != "value_error" and "input" in err
                else None
            )
            self.add(path, f"{msg} (got {got})" if got else msg)


# -- secrets ----------------------------------------------------------------------------------


def check_secrets(config: Config, env: Mapping[str, str], channels: Collection[str] | None = None) -> None:
    """Every ``*_env`` key of the enabled channels (or the named ones) must name a variable that
    is set and not empty. One :class:`ConfigError` lists them all; no value is ever shown."""
    problems: list[Problem] = []
    for cfg in config.enabled_channels(channels):
        for key, var in cfg.secret_fields().items():
            if env.get(var, "").strip():
                continue
            state = "is empty" if var in env else "is not set"
            key_path = ("channels", cfg.name, key)
            where = (
                f" and the keyring (service {config.keyring_service!r}) has no {var}"
                if config.keyring_service
                else ""
            )
            problems.append(
                Problem(
                    config.locator.line(key_path),
                    dotted(key_path),
                    f"environment variable {var} {state}{where}: export {var} with the secret before "
                    "running omnisync" + (", or store it in the keyring" if config.keyring_service else ""),
                )
            )
    if problems:
        raise ConfigProblems(str(config.path), problems)


def secret_env(config: Config, env: Mapping[str, str]) -> dict[str, str]:
    """The environment adapters read secrets from: ``env``, plus, when the config sets
    ``keyring_service``, each secret variable that is unset or empty there, looked up in the OS
    keyring under (service, variable name). Values stay in memory; none is ever shown."""
    out = dict(env)
    service = config.keyring_service
    if not service:
        return out
    wanted = sorted(
        {
            var
            for cfg in config.channels.values()
            if cfg.enabled
            for var in cfg.secret_fields().values()
            if not out.get(var, "").strip()
        }
    )
    if not wanted:
        return out
    line = config.locator.line(("keyring_service",))
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        raise ConfigError(
            "keyring_service is set but the keyring package is not installed: "
            "pip install 'omnisync[keyring]'",
            file=str(config.path),
            line=line,
            field="keyring_service",
        ) from None
    for var in wanted:
        try:
            value = keyring.get_password(service, var)
        except KeyringError as exc:
            raise ConfigError(
                f"the OS keyring could not be read for {var} ({type(exc).__name__})",
                file=str(config.path),
                line=line,
                field="keyring_service",
            ) from None
        if value:
            out[var] = value
    return out


def insecure_permissions_warning(path: Path, config: Config) -> str | None:
    """A warning when the config file is readable by group or others and names secret variables.

    The file only names variables, but a seller may have pasted a secret into it (a comment, an
    old key), and then every user of the machine can read it.
    """
    if os.name != "posix":
        return None
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return None
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return None
    names = sorted({var for cfg in config.channels.values() for var in cfg.secret_fields().values()})
    if not names:
        return None
    who = " and ".join(
        w for w, bit in (("its group", stat.S_IRGRP), ("other users", stat.S_IROTH)) if mode & bit
    )
    return (
        f"{path} is readable by {who} ({stat.filemode(mode)}) and names secret variables "
        f"({', '.join(names)}); keep secrets out of it and run: chmod 600 {path}"
    )
