"""Check the requests adapters send against the vendors' published specs in ``../shared/specs``.

The specs are never copied into the repo: they are read from ``shared/specs`` beside it. Without
them spec tests skip with the reason; with ``CI`` set they fail instead (:func:`require_specs`).

- :class:`RecordingTransport` wraps any httpx transport and records every request it carries.
- :class:`OpenAPISpec`: OpenAPI 3 via openapi-core (``OpenAPI.from_dict``, ``validate_request``);
  paths are compared, not hosts (the adapter's ``base_url`` is a test URL); on top of openapi-core,
  query parameters the operation does not declare and JSON body keys its schema does not declare
  are reported (a typo the server would silently ignore is still a bug).
- :func:`woocommerce_violations`: WooCommerce's community spec has no batch endpoints, so each
  batch item is checked as the single ``PUT``/``POST`` WooCommerce runs it as.
- :class:`DiscoveryDoc`: Google discovery documents (Merchant API): method by ``httpMethod`` and
  ``flatPath``, query parameters from ``parameters``, body against ``schemas[request.$ref]``.
- :class:`GraphQLSchema`: graphql-core against Shopify's gzipped introspection result: the query is
  validated and its variables coerced.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO.parent / "shared" / "specs"


def require_specs(*parts: str) -> Path:
    """The path of a spec file (or the specs folder); skip when absent, fail when ``CI`` is set."""
    path = SPECS.joinpath(*parts)
    if path.exists():
        return path
    reason = f"vendor specs not found: {path} (tests read them from shared/specs beside the repo)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run spec conformance, never skip it", pytrace=False)
    pytest.skip(reason)


class SpecViolation(AssertionError):
    """A request that does not conform to the vendor's spec."""


# -- recording -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def from_httpx(cls, request: httpx.Request) -> RecordedRequest:
        request.read()
        return cls(
            request.method.upper(),
            str(request.url),
            tuple((k.lower(), v) for k, v in request.headers.items()),
            request.content,
        )

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def header_map(self) -> dict[str, str]:
        return dict(self.headers)

    @property
    def content_type(self) -> str:
        return self.header_map.get("content-type", "application/json").lower()

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class RecordingTransport(httpx.BaseTransport):
    """Records every request, then hands it to ``inner`` (a fake's MockTransport, or the network)."""

    def __init__(self, inner: httpx.BaseTransport, sink: list[RecordedRequest]) -> None:
        self.inner = inner
        self.sink = sink

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sink.append(RecordedRequest.from_httpx(request))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


# -- OpenAPI 3 -------------------------------------------------------------------------------------
def _load_document(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(text, Loader=loader)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a spec document")
    return data


class _OARequest:
    """openapi-core's Request protocol over a recorded request."""

    def __init__(
        self,
        host_url: str,
        path: str,
        method: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
        content_type: str,
    ) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.host_url = host_url
        self.path = path
        self.method = method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(query)), header=Headers(dict(headers))
        )
        self.body = body
        self.content_type = content_type

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


def _error_text(exc: BaseException) -> str:
    parts = [f"{type(exc).__name__}: {exc}"]
    cause = exc.__cause__
    while cause is not None and len(parts) < 4:
        parts.append(str(cause))
        cause = cause.__cause__
    for attr in ("schema_errors", "errors"):
        errs = getattr(exc, attr, None)
        if errs:
            parts.extend(str(getattr(e, "message", e)) for e in list(errs)[:3])
    return " | ".join(p for p in parts if p)


class OpenAPISpec:
    """One OpenAPI 3 document. Request paths are given relative to the API root (the spec's first
    server URL), e.g. ``"/products/12"``."""

    def __init__(
        self,
        spec: dict[str, Any],
        *,
        validate_spec: bool = True,
        global_query: Mapping[str, str] | None = None,
    ) -> None:
        from openapi_core import OpenAPI
        from openapi_core.configurations import Config

        self.spec = spec
        config = Config() if validate_spec else Config(spec_validator_cls=None)
        self.openapi = OpenAPI.from_dict(spec, config=config)
        server = (spec.get("servers") or [{"url": "http://localhost"}])[0]["url"]
        parts = urlsplit(server)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path.rstrip("/")
        self.global_query = dict(global_query or {})  # name -> why it is accepted everywhere
        self._templates: list[tuple[re.Pattern[str], str]] = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), str(p))
            for p in spec.get("paths", {})
        ]

    @classmethod
    def load(cls, path: Path, **kw: Any) -> OpenAPISpec:
        return _cached_openapi(str(path), tuple(sorted(kw.items(), key=lambda kv: kv[0])))

    def template(self, path: str) -> str | None:
        """The spec's path template matching ``path`` (literal templates win)."""
        hits = [t for regex, t in self._templates if regex.match(path)]
        if not hits:
            return None
        return min(hits, key=lambda t: t.count("{"))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        t = self.template(path)
        if t is None:
            return None
        op = self.spec["paths"][t].get(method.lower())
        return op if isinstance(op, dict) else None

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            target: Any = self.spec
            for part in ref.lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def declared_query(self, method: str, path: str) -> set[str]:
        t = self.template(path)
        if t is None:
            return set()
        item = self.spec["paths"][t]
        params = list(item.get("parameters", [])) + list(
            (item.get(method.lower()) or {}).get("parameters", [])
        )
        return {p["name"] for p in (self._resolve(x) for x in params) if p.get("in") == "query"}

    def body_properties(self, method: str, path: str) -> set[str] | None:
        """Top-level keys the JSON request body may have (None: any)."""
        op = self.operation(method, path)
        if op is None:
            return None
        body = self._resolve(op.get("requestBody") or {})
        schema = self._resolve(
            ((body.get("content") or {}).get("application/json") or {}).get("schema") or {}
        )
        if not isinstance(schema, dict) or "properties" not in schema or schema.get("additionalProperties"):
            return None
        return set(schema["properties"])

    def violations(
        self,
        method: str,
        path: str,
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes | None,
        content_type: str = "application/json",
    ) -> list[str]:
        """What is wrong with a request (path relative to the API root); [] when it conforms."""
        where = f"{method.upper()} {path}"
        if self.template(path) is None:
            return [f"{where}: no such path in the spec"]
        out: list[str] = []
        declared = self.declared_query(method, path)
        for name, _ in query:
            if name not in declared and name not in self.global_query:
                out.append(f"{where}: query parameter {name!r} is not declared for this operation")
        if body:
            props = self.body_properties(method, path)
            try:
                obj = json.loads(body)
            except ValueError:
                obj = None
                if "json" in content_type:
                    out.append(f"{where}: the body is not JSON")
            if props is not None and isinstance(obj, dict):
                unknown = sorted(set(obj) - props)
                if unknown:
                    out.append(f"{where}: body keys not in the spec: {', '.join(unknown)}")
        # openapi-core validates declared parameters, security and the body; undeclared global
        # parameters are taken out first (it would not know them anyway).
        q = [(k, v) for k, v in query if k in declared or k not in self.global_query]
        request = _OARequest(
            self.host_url, self.base_path + path, method, q, headers, body or None, content_type
        )
        try:
            self.openapi.validate_request(request)
        except Exception as exc:  # openapi-core raises a tree of validation errors
            out.append(f"{where}: {_error_text(exc)}")
        return out


@functools.lru_cache(maxsize=16)
def _cached_openapi(path: str, kw: tuple[tuple[str, Any], ...]) -> OpenAPISpec:
    options = dict(kw)
    if "global_query" in options:
        options["global_query"] = dict(options["global_query"])
    return OpenAPISpec(_load_document(Path(path)), **options)


# -- WooCommerce -----------------------------------------------------------------------------------
WOO_API = "/wp-json/wc/v3"
WOO_SPEC = ("woocommerce", "woocommerce-openapi-3.0.x.yml")
# WordPress parameters every wc/v3 route accepts, which the community spec does not list.
WOO_GLOBAL_QUERY: tuple[tuple[str, str], ...] = (
    ("_fields", "WordPress core trims any response to these fields (storefronts.md 2.2a)"),
    ("context", "WordPress core renders every response in a context (view/edit)"),
)
# Auth WooCommerce documents besides HTTP Basic (storefronts.md 2.1); the spec declares only Basic.
WOO_AUTH_PARAMS = frozenset(
    {
        "consumer_key",
        "consumer_secret",
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_version",
    }
)
WOO_BATCH_LIMIT = 100
_WOO_BATCH = re.compile(r"^/products(?:/(\d+)/variations)?/batch$")


def woocommerce_spec() -> OpenAPISpec:
    return OpenAPISpec.load(require_specs(*WOO_SPEC), global_query=WOO_GLOBAL_QUERY)


def woocommerce_violations(spec: OpenAPISpec, rec: RecordedRequest) -> list[str]:
    """What is wrong with one recorded wc/v3 request."""
    if WOO_API not in rec.path:
        return [f"{rec}: not a wc/v3 request"]
    rel = rec.path.split(WOO_API, 1)[1] or "/"
    query = [(k, v) for k, v in rec.query if k not in WOO_AUTH_PARAMS]
    headers = {k: v for k, v in rec.headers if k != "host"}
    if any(k in WOO_AUTH_PARAMS for k, _ in rec.query) and "authorization" not in headers:
        # authenticated the documented other way: stand in the scheme the spec knows
        headers["authorization"] = "Basic b3RoZXI6YXV0aA=="
    batch = _WOO_BATCH.match(rel)
    if not batch:
        return spec.violations(rec.method, rel, query, headers, rec.body or None, rec.content_type)
    where = f"{rec.method} {rel}"
    if rec.method != "POST":
        return [f"{where}: batch endpoints take POST"]
    try:
        data = rec.json()
    except ValueError:
        return [f"{where}: the body is not JSON"]
    if not isinstance(data, dict):
        return [f"{where}: the body must be an object with create/update/delete lists"]
    out: list[str] = []
    unknown = sorted(set(data) - {"create", "update", "delete"})
    if unknown:
        out.append(f"{where}: unknown batch keys {unknown}")
    total = 0
    parent = batch.group(1)
    item_path = f"/products/{parent}/variations" if parent else "/products"
    for action in ("create", "update", "delete"):
        entries = data.get(action)
        if entries is None:
            continue
        if not isinstance(entries, list):
            out.append(f"{where}: {action!r} must be a list")
            continue
        total += len(entries)
        for n, entry in enumerate(entries):
            label = f"{where} {action}[{n}]"
            if action == "delete":
                if not isinstance(entry, int) or isinstance(entry, bool):
                    out.append(f"{label}: delete takes product ids")
                continue
            if not isinstance(entry, dict):
                out.append(f"{label}: not an object")
                continue
            if action == "update":
                ident = entry.get("id")
                if not isinstance(ident, int) or isinstance(ident, bool):
                    out.append(f"{label}: an update needs an integer id")
                    continue
                sub = (f"{item_path}/{ident}", "PUT")
            else:
                sub = (item_path, "POST")
            body = json.dumps({k: v for k, v in entry.items() if k != "id"}).encode()
            # WooCommerce runs each item as that single request, with the batch's query parameters
            for v in spec.violations(sub[1], sub[0], query, headers, body, "application/json"):
                out.append(f"{label}: {v}")
    if total > WOO_BATCH_LIMIT:
        out.append(f"{where}: {total} objects, more than the {WOO_BATCH_LIMIT} a batch accepts")
    return out


# -- Google discovery documents --------------------------------------------------------------------
def _discovery_to_jsonschema(node: Any) -> Any:
    if isinstance(node, list):
        return [_discovery_to_jsonschema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref":
            out["$ref"] = f"#/definitions/{value}"
        elif key == "type" and value == "any":
            continue
        elif key in ("properties",):
            out[key] = {k: _discovery_to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _discovery_to_jsonschema(value)
        elif key in ("type", "enum", "required"):
            out[key] = value
        elif key == "format" and value in ("int64", "uint64"):
            continue  # int64 travels as a JSON string in Google APIs
    if out.get("type") == "string" and node.get("format") in ("int64", "uint64"):
        out["pattern"] = r"^-?[0-9]+$"
    return out


class DiscoveryDoc:
    """A Google discovery document (``merchantapi.*_v1beta.json``)."""

    STANDARD = frozenset(
        {
            "$.xgafv",
            "access_token",
            "alt",
            "callback",
            "fields",
            "key",
            "oauth_token",
            "prettyPrint",
            "quotaUser",
            "uploadType",
            "upload_protocol",
        }
    )

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.root = urlsplit(doc.get("rootUrl", "")).path.rstrip("/") + "/" + doc.get("servicePath", "")
        self.methods: list[tuple[str, re.Pattern[str], str, dict[str, Any]]] = []
        self._walk(doc)
        defs = {name: _discovery_to_jsonschema(s) for name, s in doc.get("schemas", {}).items()}
        self.definitions = defs
        self.standard = set(doc.get("parameters", {})) | self.STANDARD

    def _walk(self, node: dict[str, Any]) -> None:
        for res in node.get("resources", {}).values():
            for m in res.get("methods", {}).values():
                flat = m.get("flatPath") or m["path"]
                regex = re.compile("^" + re.sub(r"\\\{\+?[^}]+\\\}", "[^/]+", re.escape(flat)) + "$")
                self.methods.append((m["httpMethod"].upper(), regex, m["id"], m))
            self._walk(res)

    @classmethod
    def load(cls, path: Path) -> DiscoveryDoc:
        return _cached_discovery(str(path))

    def find(self, method: str, path: str) -> dict[str, Any] | None:
        rel = path.lstrip("/")
        root = self.root.strip("/")
        if root and rel.startswith(root + "/"):
            rel = rel[len(root) + 1 :]
        for http_method, regex, _id, m in self.methods:
            if http_method == method.upper() and regex.match(rel):
                return m
        return None

    def violations(self, method: str, path: str, query: Sequence[tuple[str, str]], body: Any) -> list[str]:
        """``path`` relative to the root URL (``products/v1beta/accounts/1/productInputs:insert``);
        ``body`` the parsed JSON (or None)."""
        where = f"{method.upper()} {path}"
        m = self.find(method, path)
        if m is None:
            return [f"{where}: no method in the discovery document"]
        out: list[str] = []
        params = m.get("parameters", {})
        given: dict[str, list[str]] = {}
        for k, v in query:
            given.setdefault(k, []).append(v)
        for name, values in given.items():
            spec = params.get(name)
            if spec is None or spec.get("location") == "path":
                if name not in self.standard:
                    out.append(f"{where}: query parameter {name!r} is not declared for {m['id']}")
                continue
            if len(values) > 1 and not spec.get("repeated"):
                out.append(f"{where}: {name!r} given {len(values)} times but is not repeated")
            for v in values:
                t = spec.get("type")
                if t == "integer" and not re.fullmatch(r"-?\d+", v):
                    out.append(f"{where}: {name!r}={v!r} is not an integer")
                if t == "boolean" and v not in ("true", "false"):
                    out.append(f"{where}: {name!r}={v!r} is not a boolean")
                if spec.get("enum") and v not in spec["enum"]:
                    out.append(f"{where}: {name!r}={v!r} is not one of {spec['enum']}")
        for name, spec in params.items():
            if spec.get("required") and spec.get("location") == "query" and name not in given:
                out.append(f"{where}: required query parameter {name!r} missing")
        ref = (m.get("request") or {}).get("$ref")
        if ref is None and body is not None:
            out.append(f"{where}: {m['id']} takes no request body")
        if ref is not None:
            import jsonschema

            schema = {"$ref": f"#/definitions/{ref}", "definitions": self.definitions}
            validator = jsonschema.Draft7Validator(schema)
            for err in sorted(validator.iter_errors(body), key=lambda e: list(e.path))[:5]:
                loc = "/".join(str(p) for p in err.path)
                out.append(f"{where}: body {loc or '(root)'}: {err.message}")
            if isinstance(body, dict):
                props = self.doc["schemas"][ref].get("properties", {})
                unknown = sorted(set(body) - set(props))
                if unknown:
                    out.append(f"{where}: body keys not in {ref}: {', '.join(unknown)}")
        return out


@functools.lru_cache(maxsize=8)
def _cached_discovery(path: str) -> DiscoveryDoc:
    return DiscoveryDoc(_load_document(Path(path)))


# -- GraphQL (Shopify) -----------------------------------------------------------------------------
class GraphQLSchema:
    """A schema from a (gzipped) introspection result with a top-level ``data``."""

    def __init__(self, introspection: dict[str, Any]) -> None:
        from graphql import build_client_schema
        from graphql.type.validate import validate_schema

        self.schema = build_client_schema(introspection.get("data", introspection))
        # Shopify's 2025-01 schema marks two interface implementations deprecated where the
        # interface field is not; graphql-core 3.3 refuses that. It is the vendor's schema: keep
        # every other schema error, drop those two.
        errors = validate_schema(self.schema)
        self.schema._validation_errors = [e for e in errors if "must not be deprecated" not in e.message]

    @classmethod
    def load(cls, path: Path) -> GraphQLSchema:
        return _cached_graphql(str(path))

    def violations(
        self, query: str, variables: Mapping[str, Any] | None = None, operation_name: str | None = None
    ) -> list[str]:
        from graphql import GraphQLError, OperationDefinitionNode, parse, validate
        from graphql.execution.values import get_variable_values

        try:
            document = parse(query)
        except GraphQLError as exc:
            return [f"syntax: {exc.message}"]
        out = [e.message for e in validate(self.schema, document)]
        if out:
            return out
        ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            ops = [o for o in ops if o.name is not None and o.name.value == operation_name]
        if len(ops) != 1:
            return [f"expected exactly one operation{f' named {operation_name}' if operation_name else ''}"]
        coerced = get_variable_values(self.schema, ops[0].variable_definitions or (), dict(variables or {}))
        if isinstance(coerced, list):
            out.extend(e.message for e in coerced)
        return out

    def request_violations(self, rec: RecordedRequest) -> list[str]:
        try:
            body = rec.json()
        except ValueError:
            return [f"{rec}: the body is not JSON"]
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return [f"{rec}: a GraphQL request body needs a 'query' string"]
        return [
            f"{rec}: {v}"
            for v in self.violations(body["query"], body.get("variables"), body.get("operationName"))
        ]


@functools.lru_cache(maxsize=2)
def _cached_graphql(path: str) -> GraphQLSchema:
    p = Path(path)
    raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    return GraphQLSchema(json.loads(raw))


def assert_conforms(violations: Iterable[str]) -> None:
    found = list(violations)
    if found:
        raise SpecViolation(
            "\n".join(found[:20]) + (f"\n... {len(found) - 20} more" if len(found) > 20 else "")
        )
