"""Hypothesis over the request models (issue 12 §6, request half): hostile JSON bodies and query
strings — wrong types, huge and negative numbers, NaN, control characters and lone surrogates,
impossible dates, unknown fields, deep or odd shapes — sent to every operation that takes one
never make a 5xx, and every refusal is a problem+json body in Chinese.

Bounded for CI: a fixed number of derandomized examples per operation (about 10 s in all on
SQLite with 2 cores); ``JOBBRIDGE_FUZZ_EXAMPLES`` raises it for a longer local run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.openapi import ROUTES, Operation
from tests.api.test_matrix import QUERIES, _bodies, matrix  # noqa: F401 - the shared fixture

EXAMPLES = int(os.environ.get("JOBBRIDGE_FUZZ_EXAMPLES", "40"))
CJK = re.compile(r"[\u4e00-\u9fff]")
DELETE = object()

_odd_text = st.text(
    alphabet=st.characters(codec=None, categories=None), max_size=60
)  # every code point, controls and lone surrogates included
_strings = st.one_of(
    _odd_text,
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "南京路",
            "苏州\x00",
            "2026-02-30",
            "9999-12-31",
            "0000-01-01",
            "25:61",
            "yes",
            "true",
            "1e400",
            "x" * 6000,
            "\ud800",
            "[" * 40,
        ]
    ),
)
_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _strings)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _mutated(base: dict[str, Any], changes: list[tuple[str, Any]]) -> dict[str, Any]:
    body = copy.deepcopy(base)
    for key, value in changes:
        if value is DELETE:
            body.pop(key, None)
        else:
            body[key] = value
    # The solver's time budget stays short whatever else the body says.
    for key in ("time_limit_s",):
        if key in body and isinstance(body[key], int | float) and not isinstance(body[key], bool):
            body[key] = min(abs(body[key]), 1) or 1
    return body


def _body_strategy(op: Operation, base: dict[str, Any]):
    keys = sorted({*op.body.model_fields, *base, "bogus"})
    changes = st.lists(
        st.tuples(st.sampled_from(keys), st.one_of(_values, st.just(DELETE))), max_size=4
    )
    return st.one_of(
        st.builds(_mutated, st.just(base), changes),  # mostly valid: reaches the views
        _values,  # anything at all, a body that is no object included
    )


BODY_OPS = [op for op in ROUTES if op.body is not None]
QUERY_OPS = [op for op in ROUTES if op.query is not None and op.method == "GET"]


def _path(op: Operation, scope) -> str:
    return op.path.format(**{name: scope.inside[op.scope] for name in op.path_params})


def _check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert CJK.search(problem["detail"]), problem
        for item in problem.get("errors") or []:
            assert CJK.search(item["message"]), item


@pytest.mark.parametrize("op", BODY_OPS, ids=lambda op: f"{op.method} {op.path}")
def test_hostile_bodies_never_5xx(matrix, op):  # noqa: F811
    _, client, scope = matrix
    base = _bodies(scope)[op.endpoint]
    headers = scope.world.headers("admin")
    path = _path(op, scope)
    started = time.perf_counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=_body_strategy(op, base), ascii_only=st.booleans())
    def run(body, ascii_only):
        try:
            data = json.dumps(body, ensure_ascii=ascii_only, allow_nan=True)
        except ValueError:  # an int too long for str(): send its digits raw
            data = '{"headcount": ' + "9" * 5000 + "}"
        raw = data.encode("utf-8", "surrogatepass")
        response = client.open(
            path,
            method=op.method,
            data=raw,
            content_type="application/json",
            headers=headers,
            query_string=QUERIES.get(op.endpoint, {}),
        )
        _check(response)

    run()
    assert time.perf_counter() - started < 60


@pytest.mark.parametrize("op", QUERY_OPS, ids=lambda op: f"{op.method} {op.path}")
def test_hostile_query_strings_never_5xx(matrix, op):  # noqa: F811
    _, client, scope = matrix
    headers = scope.world.headers("admin")
    path = _path(op, scope)
    keys = sorted({*op.query.model_fields, "bogus"})
    text = st.one_of(_strings, _numbers.map(str), st.booleans().map(str))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(query=st.lists(st.tuples(st.sampled_from(keys), text), max_size=4))
    def run(query):
        clean = [
            (k, v.encode("utf-8", "surrogatepass").decode("utf-8", "replace")) for k, v in query
        ]
        _check(client.get(path, query_string=clean, headers=headers))

    run()


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(op=st.sampled_from(BODY_OPS), value=_values)
def test_request_models_raise_only_validation_errors(op, value):
    """The models alone, as the views call them: strict JSON in, a model or ValidationError."""
    try:
        text = json.dumps(value, allow_nan=False)
    except ValueError:
        return
    try:
        op.body.model_validate_json(text, strict=True)
    except ValidationError as exc:
        from api.errors import pydantic_errors

        for item in pydantic_errors(exc):
            assert CJK.search(item["message"]), item
