"""Problem details (RFC 9457) for every error the service answers.

Every error body comes from :func:`problem_body`; the handlers registered on the app by
:func:`init_app` translate the exceptions that carry their status — :class:`ApiError` of the views,
:class:`api.storage.errors.StorageError` of storage, pydantic's ``ValidationError`` of request
parsing, werkzeug's ``HTTPException`` of routing (404, 405, 413) — and the 500 handler logs the
original exception, rolls the session back and shows no stack trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, current_app, json
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from api.storage.errors import StorageError
from api.transactions import is_contention

PROBLEM_MIME = "application/problem+json"

#: Chinese titles of the HTTP statuses the service answers with.
TITLES: dict[int, str] = {
    400: "请求有误",
    401: "未认证",
    403: "无权访问",
    404: "未找到",
    405: "不支持该方法",
    406: "无法提供所请求的格式",
    409: "冲突",
    412: "数据已被他人修改",
    413: "请求体过大",
    415: "不支持的媒体类型",
    422: "数据不合规",
    428: "缺少版本号",
    500: "服务器内部错误",
    503: "服务暂不可用",
}


def problem_type(status: int) -> str:
    """The ``type`` URI of a status: a stable, documented identifier clients may switch on."""
    return f"https://jobbridge.example/problems/{status}"


def problem_body(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: Iterable[Mapping[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return the problem-details object of an error.

    Parameters
    ----------
    status : int
        HTTP status.
    detail : str
        A sentence for the user (Chinese), naming the bad value.
    title : str, optional
        Short summary; the status's Chinese title when omitted.
    errors : iterable of mapping, optional
        ``{"field" or "row", "message"}`` items of a validation error (an import row also names
        its ``column`` as written in the file); ``None`` values are dropped.
    **extra
        Further members (``existing_id`` of a duplicate registration…).

    Examples
    --------
    >>> problem_body(404, "岗位 7 不存在。")["title"]
    '未找到'
    """
    body: dict[str, Any] = {
        "type": problem_type(status),
        "title": title or TITLES.get(status, "错误"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [
            {
                k: v
                for k, v in item.items()
                if v is not None and k in ("row", "column", "field", "message")
            }
            for item in errors
        ]
    body.update(extra)
    return body


def problem_response(status: int, detail: str, **kwargs: Any) -> Response:
    """A ``application/problem+json`` response built by :func:`problem_body`."""
    body = problem_body(status, detail, **kwargs)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MIME)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="jobbridge"'
    return response


class ApiError(Exception):
    """An error a view raises; it carries its status, detail and optional field errors."""

    status = 400

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.errors = errors
        self.title = title
        self.extra = extra


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class PreconditionRequired(ApiError):
    status = 428


class Unprocessable(ApiError):
    status = 422


def _ctx(err: Mapping[str, Any], key: str) -> Any:
    return (err.get("ctx") or {}).get(key, "")


def _choices(err: Mapping[str, Any]) -> str:
    # pydantic writes "'a', 'b' or 'c'"
    return re.sub(r",\s*|\s+or\s+", "、", str(_ctx(err, "expected")))


#: Chinese message of each pydantic error type (the English ``msg`` never reaches a user).
_MESSAGES: dict[str, Any] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段（不在本接口的字段之列）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数，不能有小数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文本",
    "string_unicode": "应为合法的 Unicode 文本",
    "list_type": "应为列表",
    "dict_type": "应为 JSON 对象",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "json_invalid": "不是合法的 JSON",
    "json_type": "不是合法的 JSON",
    "date_type": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_inexact": "应为日期 YYYY-MM-DD，不带时间",
    "time_type": "应为时间 HH:MM",
    "time_parsing": "应为时间 HH:MM",
    "datetime_type": "应为日期时间",
    "datetime_parsing": "应为日期时间",
    "none_required": "应为 null",
    "greater_than": lambda e: f"应大于 {_ctx(e, 'gt')}",
    "greater_than_equal": lambda e: f"应不小于 {_ctx(e, 'ge')}",
    "less_than": lambda e: f"应小于 {_ctx(e, 'lt')}",
    "less_than_equal": lambda e: f"应不大于 {_ctx(e, 'le')}",
    "string_too_short": lambda e: f"至少 {_ctx(e, 'min_length')} 个字符",
    "string_too_long": lambda e: f"最多 {_ctx(e, 'max_length')} 个字符",
    "too_short": lambda e: f"至少 {_ctx(e, 'min_length')} 项",
    "too_long": lambda e: f"最多 {_ctx(e, 'max_length')} 项",
    "string_pattern_mismatch": "格式不对",
    "literal_error": lambda e: f"应为以下之一：{_choices(e)}",
    "enum": lambda e: f"应为以下之一：{_choices(e)}",
}


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind in ("value_error", "assertion_error"):
        # Our validators raise ValueError with a Chinese sentence; pydantic prefixes it.
        error = _ctx(err, "error")
        return str(error) if error else "数据不合规"
    found = _MESSAGES.get(kind)
    if found is None:
        return f"数据不合规（{kind}）" if kind else "数据不合规"
    return found(err) if callable(found) else found


def pydantic_errors(exc: ValidationError, *, prefix: str = "") -> list[dict[str, Any]]:
    """``[{field, message}]`` of a pydantic error in Chinese, each naming the value received.

    Messages are translated by error type here, the one place request problems are built.
    """
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        field = f"{prefix}{loc}" if loc else (prefix.rstrip(".") or "body")
        message = _message(err)
        value = err.get("input")
        if err.get("type") not in ("missing",) and not isinstance(value, dict | list):
            shown = repr(value)
            if len(shown) > 80:
                shown = shown[:77] + "..."
            message = f"{message}（收到 {shown}）"
        out.append({"field": field, "message": message})
    return out


def _rollback() -> None:
    # Imported here: api.service imports the engine, which errors must not pull in at import.
    from api.service import rollback_session

    rollback_session()


def init_app(app: Flask) -> None:
    """Register the handlers on the app (not a blueprint, so routing 404/405 go through them)."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        _rollback()
        return problem_response(
            exc.status, exc.detail, title=exc.title, errors=exc.errors, **exc.extra
        )

    @app.errorhandler(StorageError)
    def _storage_error(exc: StorageError) -> Response:
        _rollback()
        from api.auth import scoped_error

        exc = scoped_error(exc)
        if exc.status >= 500:
            current_app.logger.exception("storage error: %s", exc)
            return problem_response(500, "服务器内部错误，请稍后再试或联系管理员。")
        extra: dict[str, Any] = {}
        if hasattr(exc, "existing_id"):
            extra["existing_id"] = exc.existing_id
        return problem_response(
            exc.status, exc.detail, title=exc.title, errors=getattr(exc, "errors", None), **extra
        )

    @app.errorhandler(ValidationError)
    def _validation_error(exc: ValidationError) -> Response:
        _rollback()
        errors = pydantic_errors(exc)
        first = errors[0]["message"] if errors else ""
        detail = (
            f"共有 {len(errors)} 处数据不合规：{errors[0]['field']}: {first}"
            if len(errors) > 1
            else f"{errors[0]['field']}: {first}"
            if errors
            else "请求数据不合规。"
        )
        return problem_response(422, detail, errors=errors)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        _rollback()
        status = exc.code or 500
        detail = {
            404: "请求的地址不存在。",
            405: "该地址不支持此请求方法。",
            413: f"请求体超过了允许的大小（{current_app.config.get('MAX_CONTENT_LENGTH')} 字节）。",
        }.get(status, exc.description or TITLES.get(status, "错误"))
        response = problem_response(status, detail)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(OperationalError)
    def _database_error(exc: OperationalError) -> Response:
        _rollback()
        if is_contention(exc):
            # The request was retried with backoff and the database stayed busy: say so, and
            # when to try again, rather than report a fault. Nothing was written.
            current_app.logger.warning("database busy after retries: %s", exc.orig)
            response = problem_response(503, "数据库繁忙，本次请求未执行任何修改，请稍后重试。")
            response.headers["Retry-After"] = "1"
            return response
        current_app.logger.exception("database error")
        return problem_response(500, "服务器内部错误，请稍后再试或联系管理员。")

    @app.errorhandler(Exception)
    def _internal_error(exc: Exception) -> Response:
        current_app.logger.exception("unhandled error in %s", getattr(exc, "__class__", exc))
        _rollback()
        return problem_response(500, "服务器内部错误，请稍后再试或联系管理员。")


__all__ = [
    "PROBLEM_MIME",
    "ApiError",
    "Forbidden",
    "NotFoundError",
    "PreconditionRequired",
    "Unauthorized",
    "Unprocessable",
    "init_app",
    "problem_body",
    "problem_response",
    "problem_type",
    "pydantic_errors",
]
