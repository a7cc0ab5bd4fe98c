"""Domain errors of storage. Each carries the HTTP status the Flask layer answers with, a short
``title`` and a ``detail`` sentence for users (Chinese), so views and the CLI need no mapping table.
"""

from __future__ import annotations

from typing import Any


class StorageError(Exception):
    """Base class: ``status`` (HTTP), ``title`` and ``detail``."""

    status = 500
    title = "存储错误"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(StorageError):
    """The object does not exist (404)."""

    status = 404
    title = "未找到"

    def __init__(self, object_type: str, object_id: Any) -> None:
        super().__init__(f"{_LABELS.get(object_type, object_type)} {object_id!r} 不存在。")
        self.object_type = object_type
        self.object_id = object_id


class Conflict(StorageError):
    """The request contradicts what is stored (409)."""

    status = 409
    title = "冲突"


class DuplicateWorker(Conflict):
    """The same resident ID number is already registered; ``existing_id`` names the worker.

    ``county_code`` is the registered worker's county: a caller whose scope does not hold it
    must get :meth:`unnamed` instead, which names nothing outside that scope.
    """

    title = "身份证号已登记"

    def __init__(self, existing_id: int, id_masked: str = "", county_code: str = "") -> None:
        shown = f"（{id_masked}）" if id_masked else ""
        super().__init__(f"该身份证号{shown}已登记为劳动力 {existing_id}，不能重复登记。")
        self.existing_id = existing_id
        self.id_masked = id_masked
        self.county_code = county_code

    def unnamed(self) -> Conflict:
        """The same refusal without the worker's id: for a caller outside its county."""
        shown = f"（{self.id_masked}）" if self.id_masked else ""
        error = Conflict(
            f"该身份证号{shown}已在其他地区登记，不能重复登记；"
            "如需转入本辖区，请联系原登记地劳务部门或管理员。"
        )
        error.title = self.title
        return error


class StaleVersion(StorageError):
    """The client edited an old version: someone else saved in between (412)."""

    status = 412
    title = "数据已被他人修改"

    def __init__(self, object_type: str, object_id: Any, expected: Any, current: Any) -> None:
        label = _LABELS.get(object_type, object_type)
        if current is None:
            detail = f"{label} {object_id} 在读取后已被他人修改；请重新读取后再修改。"
        elif isinstance(expected, frozenset):  # an If-Match list
            named = "、".join(f'"{v}"' for v in sorted(expected)) or "无本服务给出的 ETag"
            detail = (
                f'{label} {object_id} 的当前 ETag 是 "{current}"，If-Match 中的（{named}）'
                "都与之不符；请重新读取后再修改。"
            )
        else:
            detail = (
                f"{label} {object_id} 的版本已是 {current}，而修改基于版本 {expected}；"
                "请重新读取后再修改。"
            )
        super().__init__(detail)
        self.object_type = object_type
        self.object_id = object_id
        self.expected = expected
        self.current = current


class Invalid(StorageError):
    """Values that cannot be stored (422); ``errors`` lists ``{"row", "field", "message"}``."""

    status = 422
    title = "数据不合规"

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        if detail is None:
            first = errors[0]["message"] if errors else ""
            detail = f"共有 {len(errors)} 处数据不合规：{first}" if len(errors) > 1 else first
        super().__init__(detail)
        self.errors = errors


class SchemaMissing(StorageError, RuntimeError):
    """The database has not been initialised (``jobbridge init-db``) (503)."""

    status = 503
    title = "数据库未初始化"


_LABELS = {
    "firm": "企业",
    "job": "岗位",
    "worker": "劳动力",
    "api_key": "API 密钥",
    "user": "用户",
    "fair": "招聘会",
    "allocation": "分配方案",
    "outcome": "就业结果",
}

__all__ = [
    "Conflict",
    "DuplicateWorker",
    "Invalid",
    "NotFound",
    "SchemaMissing",
    "StaleVersion",
    "StorageError",
]
