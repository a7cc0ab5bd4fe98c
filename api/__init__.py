"""jobbridge's HTTP service: the Flask app factory.

>>> from api import create_app
>>> app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True})
>>> sorted(r.rule for r in app.url_map.iter_rules() if r.rule.endswith("healthz"))
['/api/v1/healthz']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

from api.config import DEFAULTS, fill_database_url

#: Service settings beyond :data:`api.config.DEFAULTS` (each overridable by ``JOBBRIDGE_<KEY>``).
SERVICE_DEFAULTS: dict[str, Any] = {
    # A callable returning a learned engine (``MatchingEngine.learn``), or (engine, version),
    # instead of MODELS_DIR/current; tests pass a small one. The service only indexes it.
    "ENGINE_FACTORY": None,
    "MAX_PAGE_SIZE": 500,
    # Load the model and index the database when the app is created (each gunicorn process at
    # boot) instead of on the first match request, so that no user waits for it.
    "ENGINE_PRELOAD": False,
    # Threads each process lets BLAS, OpenMP and torch use; None leaves their defaults (all
    # cores). ``jobbridge serve`` sets 1: its processes and threads already share the cores,
    # and BLAS threads spinning in every process cut throughput by more than half.
    "NUMERIC_THREADS": None,
    # Seconds an authenticated key is remembered by a process (a revoked key stops within this).
    "AUTH_CACHE_SECONDS": 5.0,
    # Largest JSON request body (bytes); uploads keep MAX_CONTENT_LENGTH. See api.openapi.
    "MAX_JSON_LENGTH": 4 * 1024 * 1024,
}


class JSONProvider(DefaultJSONProvider):
    """JSON with Chinese kept readable and RFC 3339 dates (Flask's default writes HTTP dates)."""

    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, dt.datetime):
            # Storage keeps naive UTC; say so.
            return (o if o.tzinfo else o.replace(tzinfo=dt.UTC)).isoformat().replace("+00:00", "Z")
        if isinstance(o, dt.date | dt.time):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive id that fits a database INTEGER; larger numbers are a 404, not
    an overflow error from PostgreSQL."""

    def __init__(self, map: Any) -> None:  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=2**31 - 1)


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    load_engine: bool = True,
) -> Flask:
    """Create and configure the matching service.

    Parameters
    ----------
    test_config : mapping, optional
        Settings that replace the environment: defaults come from :data:`api.config.DEFAULTS`
        and :data:`SERVICE_DEFAULTS`, then ``JOBBRIDGE_*`` variables unless ``test_config`` is
        given, in which case it overrides instead.
    overrides : mapping, optional
        Settings applied last, over the environment too: what ``jobbridge --database-url URL
        serve`` was told on its command line.
    load_engine : bool, default=True
        With ``ENGINE_PRELOAD`` set, load the model and its index now. ``jobbridge serve``
        passes False: it creates the app before gunicorn forks, and each process loads the
        engine after the fork (:func:`api.cli.serve`).

    Returns
    -------
    Flask
    """
    # api/static holds the pages' stylesheet and the vendored htmx (with its licence); the
    # pages load nothing from a CDN.
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(SERVICE_DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env("JOBBRIDGE")
    else:
        app.config.update(test_config)
    app.config.update(overrides or {})
    fill_database_url(app.config)

    from api import errors, service, tasks, web
    from api.permissions import check_private_files

    # Before the engine opens the database: a file others can read is a refusal to start.
    check_private_files(app.config)
    from api.views import register_blueprints

    service.init_app(app)
    tasks.init_app(app)
    errors.init_app(app)
    register_blueprints(app)
    web.init_app(app)
    if app.config["NUMERIC_THREADS"]:
        service.limit_numeric_threads(int(app.config["NUMERIC_THREADS"]))
    if load_engine and app.config["ENGINE_PRELOAD"]:
        with app.app_context():
            service.get_matching().load()
    return app


__all__ = ["SERVICE_DEFAULTS", "create_app"]
