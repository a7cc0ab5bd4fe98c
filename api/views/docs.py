"""The OpenAPI document and a self-contained docs page (no CDN: the service may run offline)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template

from api import schemas as s
from api.openapi import build_spec, operation

bp = Blueprint("docs", __name__, template_folder="../templates")


def spec() -> dict:
    """The document, built once per app (the route table does not change while serving)."""
    cached = current_app.extensions.get("jobbridge.openapi")
    if cached is None:
        cached = current_app.extensions["jobbridge.openapi"] = build_spec()
    return cached


@operation(
    bp, "GET", "/openapi.json", summary="OpenAPI 3.1 接口文档", roles=(), response=s.OpenAPIDocument
)
def openapi_json() -> Response:
    return jsonify(spec())


@operation(bp, "GET", "/docs", summary="接口说明页面", roles=(), files=("text/html",))
def docs_page() -> Response:
    document = spec()
    operations = []
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            operations.append({"method": method.upper(), "path": path, **op})
    html = render_template("docs.html", spec=document, operations=operations)
    return Response(html, mimetype="text/html")
