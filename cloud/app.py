"""The cloud application factory: wires configuration, database, mail, areas and pages."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from cloud import db
from cloud.accounts import setup as accounts_setup
from cloud.accounts.sessions import current_user
from cloud.admin import setup as admin_setup
from cloud.api.openapi import ApiRegistry
from cloud.catalog import setup as catalog_setup
from cloud.checkout import setup as checkout_setup
from cloud.config import CloudSettings, ConfigError
from cloud.help import routes as help_routes
from cloud.inventory import setup as inventory_setup
from cloud.mail.dispatcher import MailDispatcher, OutboxTransport, SmtpTransport
from cloud.oauth import setup as oauth_setup
from cloud.ops import health as ops_health
from cloud.ops import metrics as ops_metrics
from cloud.ops.const import JOB_MAIL
from cloud.ops.keys import JOBS
from cloud.ops.leases import JobLeases
from cloud.payments import setup as payments_setup
from cloud.recommender import setup as recommender_setup
from cloud.remote import setup as remote_setup
from cloud.shipping import setup as shipping_setup
from cloud.web import pwa
from cloud.web.keys import API, DB, ENGINE, MAIL, SETTINGS
from cloud.web.middleware import (
    MIDDLEWARES,
    add_response_headers,
    answers_no_page,
    csrf_token,
    page_context_middleware,
)
from cloud.web.request_id import request_id_middleware

_LOGGER = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
API_TITLE = "Ethos store API"
API_VERSION = "1.0.0"


async def _template_context(request: web.Request) -> dict[str, object]:
    return {"user": await current_user(request), "csrf_token": lambda: csrf_token(request)}


def _setup_templates(app: web.Application) -> None:
    # The shared templates first, then each area's own `templates/` folder.
    folders = [PACKAGE_DIR / "templates", *sorted(PACKAGE_DIR.glob("*/templates"))]
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        autoescape=jinja2.select_autoescape(default=True),
        finalize=_no_none,
    )
    # Run by page_context_middleware (aiohttp_jinja2's own would run them for every request).
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [_template_context]


def _no_none(value: object) -> object:
    """A missing value prints as nothing, never as "None" on a page."""
    return "" if value is None else value


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = db.create_engine(settings.database_url, settings.database_schema)
    try:
        if settings.production:
            current, heads = await db.async_current_revisions(engine), db.head_revisions()
            if current != heads:
                raise ConfigError(
                    f"database schema is at {sorted(current) or 'nothing'}, code expects "
                    f"{sorted(heads)}: run `ethos cloud migrate` first"
                )
        else:
            await db.async_upgrade_to_head(engine)
        app[ENGINE] = engine
        app[DB] = db.session_factory(engine)
        yield
    finally:
        await engine.dispose()


async def _jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    """Once-only jobs (each area adds its own) run here only while this replica holds them."""
    jobs = app[JOBS] = JobLeases(app[DB], app[SETTINGS].job_lease_seconds)
    yield
    await jobs.async_close()


async def _mail_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    transport = (
        SmtpTransport(settings.smtp_url)
        if settings.smtp_url
        else OutboxTransport(settings.outbox_dir)
    )
    dispatcher = MailDispatcher(app[DB], transport, settings.mail_from)
    app[MAIL] = dispatcher
    app[JOBS].add(JOB_MAIL, dispatcher.async_run)  # one replica sends
    yield
    await app[JOBS].async_stop(JOB_MAIL)


@answers_no_page
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(request.app[API].document(API_TITLE, API_VERSION))


def create_app(settings: CloudSettings) -> web.Application:
    """Build the store application. Resources open in cleanup contexts, closed on shutdown."""
    settings.validate()
    app = web.Application(
        # The request id first (every log line has it), then metrics: every answer is timed.
        middlewares=[
            request_id_middleware,
            ops_metrics.metrics_middleware,
            *MIDDLEWARES,
            page_context_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app.on_response_prepare.append(add_response_headers)
    api = app[API] = ApiRegistry()
    _setup_templates(app)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_jobs_ctx)
    app.cleanup_ctx.append(_mail_ctx)

    # Each business area wires itself; the order matters where noted.
    catalog_setup.setup(app)
    accounts_setup.setup(app)  # before checkout: checkout registers its confirmation hook
    payments_setup.setup(app)  # before checkout: its client is checkout's
    checkout_setup.setup(app)
    admin_setup.setup(app)  # before areas that add console pages to its navigation
    inventory_setup.setup(app)
    shipping_setup.setup(app)
    help_routes.setup(app)
    ops_health.setup(app)  # /healthz, /readyz
    ops_metrics.setup(app)  # /metrics
    oauth_setup.setup(app)  # after the database context: its cleanup context needs it
    recommender_setup.setup(app)  # after the database context: trains at start-up
    remote_setup.setup(app)  # after OAuth: broker tokens are signed by its key ring

    api.add_routes(app.router)
    app.router.add_get("/api/v1/openapi.json", openapi_document)
    pwa.setup(app)
    app.router.add_static("/static", PACKAGE_DIR / "static", append_version=False)
    return app
