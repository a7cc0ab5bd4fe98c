"""``GET /healthz``: is the database reachable, which model is the engine serving
(no key needed)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from api import schemas as s
from api.errors import problem_response
from api.openapi import operation
from api.service import database_ok, get_matching

bp = Blueprint("health", __name__)


@operation(
    bp,
    "GET",
    "/healthz",
    summary="健康检查：数据库与模型版本",
    roles=(),
    response=s.Health,
    extra_statuses=(503,),
)
def healthz() -> Response:
    ok, database = database_ok()
    if not ok:
        return problem_response(503, f"数据库不可用（{database}）。")
    matching = get_matching()
    return jsonify(
        {
            "status": "ok",
            "database": database,
            "model_version": matching.model_version,
            "engine_loaded": matching.loaded,
        }
    )
