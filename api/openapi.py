"""The route table and the OpenAPI 3.1 document built from it.

Every operation of the service is declared once, with :func:`operation`: its method and path, the
roles that may call it, the pydantic models of its query string, body and response. The decorator
registers the Flask view (wrapped so that authentication, the role check and request parsing
happen before the view runs) and records an :class:`Operation` in :data:`ROUTES`, from which
:func:`build_spec` writes the document served at ``GET /api/v1/openapi.json``, the docs page lists
the operations, and the role × endpoint test matrix is generated — so no route can exist that the
spec, the docs or the matrix do not know.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flask import Blueprint, g, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from api import auth
from api.errors import TITLES, ApiError, pydantic_errors
from api.schemas import MAX_ID, Problem
from api.transactions import run_with_retry

API_PREFIX = "/api/v1"
ALL_ROLES = ("admin", "hr", "bureau", "organiser")


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of the service.

    Attributes
    ----------
    method, rule : str
        HTTP method and Flask rule relative to ``/api/v1`` (``/jobs/<id:job_id>``).
    endpoint : str
        ``blueprint.function``.
    summary : str
        One line (Chinese) for the docs.
    roles : tuple of str
        Roles allowed; empty for a public operation (no key needed).
    query, body, response : pydantic model classes or None
        Query string, JSON body and JSON response (``None`` when the response is a file).
    status : int
        Success status.
    scope : str or None
        The kind of object the path names (``job``, ``worker``, ``firm``, ``fair``,
        ``allocation``): a caller whose scope does not hold it gets 404.
    versioned : bool
        Needs ``If-Match`` (or a ``version`` in the body): 412 when stale, 428 when missing.
    files : tuple of str
        Media types of a file response (exports, fair lists).
    upload : bool
        The body is ``multipart/form-data`` with a ``file`` part.
    """

    method: str
    rule: str
    endpoint: str
    summary: str
    roles: tuple[str, ...]
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    scope: str | None = None
    versioned: bool = False
    files: tuple[str, ...] = ()
    upload: bool = False
    etag: bool = False
    description: str = ""
    extra_statuses: tuple[int, ...] = field(default_factory=tuple)

    @property
    def path(self) -> str:
        """The OpenAPI path: ``/api/v1/jobs/{job_id}``."""
        return API_PREFIX + re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:[^:>]+:)?([^>]+)>", self.rule)

    @property
    def public(self) -> bool:
        return not self.roles


#: Every operation, in declaration order.
ROUTES: list[Operation] = []


#: How a query string writes a number or a boolean: decimal digits with no sign but a minus, no
#: spaces, separators or leading zeros (19 digits at most, past any id), and ``true``/``false`` as
#: JSON spells them. Anything else stays text, which the strict validation refuses by the field's
#: message: ``limit=1.0``, ``limit=+5``, ``limit=1_0`` or ``poverty_registered=yes`` are errors,
#: never quietly read as 1, 5, 10 or true.
_QUERY_INTEGER = re.compile(r"0|-?[1-9][0-9]{0,18}")
_QUERY_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]{0,18})(?:\.[0-9]{1,18})?")
_QUERY_BOOLEANS = {"true": True, "false": False}


@functools.cache
def _query_types(model: type[BaseModel]) -> dict[str, tuple[frozenset[str], bool]]:
    """For each query parameter of ``model``: the JSON types it takes and whether it may repeat
    (a list)."""
    schema = model.model_json_schema()
    out: dict[str, tuple[frozenset[str], bool]] = {}
    for name, prop in schema.get("properties", {}).items():
        variants = prop.get("anyOf", [prop])
        types = {v.get("type") for v in variants}
        items = [v.get("items", {}) for v in variants if v.get("type") == "array"]
        types |= {i.get("type") for i in items}
        out[name] = (frozenset(t for t in types if isinstance(t, str)), bool(items))
    return out


def _query_value(text: str, types: frozenset[str]) -> Any:
    if "integer" in types and _QUERY_INTEGER.fullmatch(text):
        return int(text)
    if "number" in types and _QUERY_NUMBER.fullmatch(text):
        return float(text)
    if "boolean" in types and text in _QUERY_BOOLEANS:
        return _QUERY_BOOLEANS[text]
    return text


def _invalid(errors: list[dict[str, Any]]) -> ApiError:
    """The 422 of a request whose values are refused, the first problem in its detail."""
    detail = errors[0]["field"] + ": " + errors[0]["message"] if errors else "请求数据不合规。"
    if len(errors) > 1:
        detail = f"共有 {len(errors)} 处数据不合规：{detail}"
    return ApiError(detail, status=422, errors=errors)


def _parse_query(model: type[BaseModel]) -> BaseModel:
    """The query string as ``model``, strictly: each value written the one way its type is
    (:data:`_QUERY_INTEGER`), a parameter given once unless it is a list, no unknown names
    (the models forbid extras). A 422 lists every problem, in Chinese."""
    known = _query_types(model)
    values: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key in request.args:
        items = request.args.getlist(key)
        if key not in known:
            values[key] = items[0]  # refused as unknown by the model
            continue
        types, repeats = known[key]
        if len(items) > 1 and not repeats:
            shown = "、".join(repr(v if len(v) <= 20 else v[:17] + "...") for v in items[:5])
            errors.append({"field": key, "message": f"只能给一次，收到 {len(items)} 个值：{shown}"})
            continue
        converted = [_query_value(v, types) for v in items]
        values[key] = converted if repeats else converted[0]
    try:
        parsed = model.model_validate(values, strict=True)
    except ValidationError as exc:
        raise _invalid(errors + pydantic_errors(exc)) from None
    if errors:
        raise _invalid(errors)
    return parsed


#: Deepest nesting of arrays and objects a JSON body may have. The deepest request model
#: (an allocation with its options) nests 2 levels; 32 leaves room for any client's habits and
#: stays far below the recursion limits of ``json.loads`` and pydantic (about 1,000 and 200).
MAX_JSON_DEPTH = 32

#: Largest JSON body (bytes), below ``MAX_CONTENT_LENGTH`` (which uploads need): the largest
#: legitimate one, an allocation of 100,000 worker ids, takes about 1.2 MB.
MAX_JSON_LENGTH = 4 * 1024 * 1024

# A JSON string literal, its closing quote optional so that the scan never backtracks: each
# match consumes what it covers and the whole scan is linear in the body's length.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` outside string literals (linear time, no recursion).

    >>> json_depth('{"a": [1, {"b": "[[[["}]}')
    3
    """
    structure = np.frombuffer(_JSON_STRING.sub("", text).encode("ascii", "ignore"), np.uint8)
    if structure.size == 0:
        return 0
    # Plain comparisons and int32 (np.isin and int64 took 2.6 s and 80 MiB on 4 MiB of "[").
    opens = (structure == 0x5B) | (structure == 0x7B)
    closes = (structure == 0x5D) | (structure == 0x7D)
    step = opens.astype(np.int32)
    step -= closes
    return int(max(np.cumsum(step, dtype=np.int32).max(), 0))


def _reject_constant(name: str) -> None:
    raise ValueError(f"JSON 中不允许 {name}")


def read_json_body(max_length: int | None = None, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The request's JSON body, read within the size and depth limits.

    413 past ``max_length`` bytes (the app's ``MAX_JSON_LENGTH``), 400 for a body that is not
    UTF-8, nests deeper than ``max_depth`` (checked before parsing, so no parser recurses on
    it) or is not JSON (``NaN`` and ``Infinity`` included, which JSON does not have).
    """
    from flask import current_app

    limit = max_length or int(current_app.config.get("MAX_JSON_LENGTH", MAX_JSON_LENGTH))
    too_big = ApiError(
        f"JSON 请求体超过了允许的大小（{limit} 字节）；批量数据请用文件导入。", status=413
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise too_big
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("请求体应为 UTF-8 编码的 JSON。", status=400) from None
    depth = json_depth(text)
    if depth > max_depth:
        raise ApiError(f"JSON 请求体嵌套 {depth} 层，超过了允许的 {max_depth} 层。", status=400)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError("请求体不是合法的 JSON。", status=400) from None


def _parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.mimetype or request.mimetype != "application/json":
        raise ApiError(
            f"请求体应为 application/json，收到 {request.mimetype or '无类型'}。",
            status=415,
        )
    data = read_json_body()
    if not isinstance(data, dict):
        raise ApiError(
            f"请求体应为 JSON 对象，收到 {type(data).__name__}。",
            status=422,
            errors=[{"field": "body", "message": "应为 JSON 对象"}],
        )
    try:
        # Strict: JSON's own types only (no true for a number, no "yes" for a boolean); dates
        # and times as ISO strings, which is what strict mode accepts from JSON.
        return model.model_validate_json(request.get_data(cache=True), strict=True)
    except ValidationError as exc:
        raise _invalid(pydantic_errors(exc)) from None


def operation(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    summary: str,
    roles: tuple[str, ...] = ALL_ROLES,
    **kwargs: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare and register one operation (see :class:`Operation`).

    The view receives the path parameters, plus ``query=`` and ``body=`` (validated models) when
    the operation declares them. Before it runs: authentication (401), the role check (403).
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        op = Operation(
            method=method.upper(),
            rule=rule,
            endpoint=f"{bp.name}.{view.__name__}",
            summary=summary,
            roles=tuple(roles),
            tag=kwargs.pop("tag", bp.name),
            **kwargs,
        )

        @functools.wraps(view)
        def wrapped(**path_args: Any) -> Any:
            g.operation = op
            if not op.public:
                principal = auth.authenticate_request()
                if principal.role not in op.roles:
                    raise auth.forbidden(principal, op.roles, op.summary)
            call_args = dict(path_args)
            if op.query is not None:
                call_args["query"] = _parse_query(op.query)
            if op.body is not None:
                call_args["body"] = _parse_body(op.body)
            return run_with_retry(view, call_args)

        bp.add_url_rule(rule, view.__name__, wrapped, methods=[op.method])
        ROUTES.append(op)
        return wrapped

    return decorator


# --------------------------------------------------------------------------- the document
def _problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or TITLES.get(status, "错误"),
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def build_spec(routes: list[Operation] | None = None, *, server_url: str = "/") -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of ``routes`` (all of :data:`ROUTES` by default)."""
    routes = ROUTES if routes is None else routes
    models: set[tuple[type[BaseModel], str]] = {(Problem, "serialization")}
    for op in routes:
        if op.body is not None:
            models.add((op.body, "validation"))
        if op.response is not None:
            models.add((op.response, "serialization"))
    ordered = sorted(models, key=lambda m: (m[0].__name__, m[1]))
    _, top = models_json_schema(ordered, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(top.get("$defs", {}))

    paths: dict[str, dict[str, Any]] = {}
    for op in routes:
        params: list[dict[str, Any]] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "examples": [1]},
            }
            for name in op.path_params
        ]
        if op.query is not None:
            params.extend(_query_parameters(op.query, schemas))
        if op.versioned:
            params.append(
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "description": "上次读取时的 ETag（版本号）；也可在请求体中给出 version。",
                    "schema": {"type": "string", "maxLength": 40},
                }
            )
        responses: dict[str, Any] = {}
        success: dict[str, Any] = {"description": "成功"}
        if op.response is not None:
            success["content"] = {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{op.response.__name__}"}
                }
            }
        elif op.files:
            success["content"] = {
                media: {"schema": {"type": "string", "format": "binary"}} for media in op.files
            }
        if op.status == 201:
            success["headers"] = {
                "Location": {"description": "新建对象的地址", "schema": {"type": "string"}}
            }
        if op.etag:
            success.setdefault("headers", {})["ETag"] = {
                "description": "对象的版本号，修改时放入 If-Match",
                "schema": {"type": "string"},
            }
        responses[str(op.status)] = success
        errors = {400}
        if not op.public:
            errors |= {401, 403}
        if op.path_params:
            errors.add(404)
        if op.query is not None or op.body is not None or op.upload:
            errors.add(422)
        if op.body is not None or op.upload:
            errors |= {413, 415}
        if op.versioned:
            errors |= {409, 412, 428}
        if op.method == "POST":
            errors.add(409)
        errors |= set(op.extra_statuses)
        for status in sorted(errors):
            responses[str(status)] = _problem_response(status)
        responses["default"] = _problem_response(500, "其他错误（problem+json）")
        spec_op: dict[str, Any] = {
            "operationId": op.endpoint.replace(".", "_"),
            "summary": op.summary,
            "tags": [op.tag],
            "parameters": params,
            "responses": responses,
            "x-roles": list(op.roles),
        }
        if op.description:
            spec_op["description"] = op.description
        if op.public:
            spec_op["security"] = []
        if op.body is not None:
            spec_op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}
                    }
                },
            }
        elif op.upload:
            spec_op["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "CSV（UTF-8 或 GBK）或 XLSX 文件",
                                }
                            },
                            "required": ["file"],
                        }
                    }
                },
            }
        paths.setdefault(op.path, {})[op.method.lower()] = spec_op

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jobbridge 东西部劳务协作岗位匹配 API",
            "version": "1.0.0",
            "description": (
                "江苏企业人力资源部门发布岗位，西部协作县劳务部门登记建档立卡劳动力，"
                "服务为劳动力推荐岗位、为岗位推荐劳动力，并规划专场招聘会。"
                "所有调用须带 `Authorization: Bearer KEY`（`jobbridge keys create` 生成）。"
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


__all__ = [
    "ALL_ROLES",
    "API_PREFIX",
    "ROUTES",
    "Operation",
    "build_spec",
    "operation",
]
