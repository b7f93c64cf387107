"""The automations pages: the list (on/off, last run, run now, reload, invalid ones with
file and line), one automation with its traces ("why didn't it run?"), the form editor,
the YAML view, and who may edit. Everyone signed in sees; the owner and the members the
owner allows edit; every edit is recorded with who made it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
from aiohttp import web

from hub.integrations.automation import AutomationEngine, automation_engine
from hub.integrations.automation import trace as outcome
from hub.integrations.automation.forms import (
    ACTION_FIELDS,
    CONDITION_FIELDS,
    SECTIONS,
    TRIGGER_FIELDS,
    AutomationForm,
    config_from_form,
    form_from_config,
    form_from_post,
)
from hub.integrations.automation.nodes import Invalid, plain
from hub.integrations.automation.trace import Trace
from hub.integrations.automation.yaml_file import FileProblem, parse
from hub.web.auth.const import ROLE_OWNER
from hub.web.auth.users import Principal
from hub.web.authz import Action, refusal, require
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY, USERS_KEY

_LOGGER = logging.getLogger(__name__)
if TYPE_CHECKING:
    from hub.integrations.automation.automation import Automation

routes = web.RouteTableDef()
MAX_YAML_CHARS = 64 * 1024


@dataclass(frozen=True)
class Row:
    automation: Automation
    last: Trace | None
    warnings: list[str]


def engine_of(request: web.Request) -> AutomationEngine:
    engine = automation_engine(request.app[HUB_KEY])
    if engine is None:
        raise web.HTTPNotFound(text="automations are not loaded on this hub")
    return engine


def granted(engine: AutomationEngine, principal: Principal | None) -> frozenset[Action]:
    if principal is not None and principal.subject in engine.editors:
        return frozenset({Action.EDIT_AUTOMATIONS})
    return frozenset()


def may_edit(engine: AutomationEngine, principal: Principal | None) -> bool:
    return refusal(principal, Action.EDIT_AUTOMATIONS, granted(engine, principal)) is None


def require_editor(request: web.Request, engine: AutomationEngine) -> Principal:
    principal = request[PRINCIPAL_KEY]
    return require(principal, Action.EDIT_AUTOMATIONS, granted(engine, principal))


def who(principal: Principal) -> str:
    """How the edit log names a person: their name and their account."""
    account = principal.email or principal.subject
    return principal.name if principal.name == account else f"{principal.name} ({account})"


def _editing(request: web.Request) -> tuple[AutomationEngine, Principal, str | None]:
    """For an editor's form: the engine, who edits, and the automation (None: a new one)."""
    engine = engine_of(request)
    principal = require_editor(request, engine)
    automation_id = request.match_info.get("automation_id")
    if automation_id is not None:
        _automation(engine, request)
    return engine, principal, automation_id


def _automation(engine: AutomationEngine, request: web.Request) -> Automation:
    automation = engine.automations.get(request.match_info["automation_id"])
    if automation is None:
        raise web.HTTPNotFound(text="no such automation")
    return automation


def _render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    engine = engine_of(request)
    values.setdefault("can_edit", may_edit(engine, request[PRINCIPAL_KEY]))
    response = aiohttp_jinja2.render_template(name, request, page_context(request, **values))
    response.set_status(status)
    return response


@routes.get("/automations")
async def automations_page(request: web.Request) -> web.Response:
    return await _async_list(request)


async def _async_list(
    request: web.Request, status: int = 200, problem: str | None = None
) -> web.Response:
    engine = engine_of(request)
    principal = request[PRINCIPAL_KEY]
    require(principal, Action.VIEW)
    rows = []
    for automation in sorted(engine.automations.values(), key=lambda a: a.alias.lower()):
        traces = engine.traces.of(automation.id)
        rows.append(Row(automation, traces[-1] if traces else None, engine.warnings(automation)))
    members = []
    if principal is not None and principal.is_owner:
        members = [u for u in await request.app[USERS_KEY].async_users() if u.role != ROLE_OWNER]
    return _render(
        request,
        "automations.html",
        status,
        rows=rows,
        engine=engine,
        members=members,
        edits=engine.edits.recent(limit=10),
        problem=problem,
    )


@routes.post("/automations/reload")
async def reload(request: web.Request) -> web.Response:
    engine = engine_of(request)
    principal = require_editor(request, engine)
    problem = await engine.async_reload(who(principal))
    if problem is not None:
        return await _async_list(request, 400, problem=str(problem))
    raise web.HTTPSeeOther("/automations")


@routes.post("/automations/editors")
async def set_editor(request: web.Request) -> web.Response:
    engine = engine_of(request)
    principal = require(request[PRINCIPAL_KEY], Action.MANAGE_USERS)
    form = await async_read_form(request)
    subject = str(form.get("subject", ""))
    member = next(
        (u for u in await request.app[USERS_KEY].async_users() if u.subject == subject), None
    )
    if member is None or member.role == ROLE_OWNER:
        raise web.HTTPBadRequest(text="no such member")
    allowed = form.get("allowed") == "yes"
    await engine.async_set_editor(
        subject, member.name or member.email or subject, allowed, who(principal)
    )
    raise web.HTTPSeeOther("/automations#editors")


@routes.post("/automations/notifications/{notification_id}/dismiss")
async def dismiss(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.VIEW)
    engine_of(request).dismiss(request.match_info["notification_id"])
    raise web.HTTPSeeOther("/automations")


@routes.post("/automations/{automation_id}/toggle")
async def toggle(request: web.Request) -> web.Response:
    engine = engine_of(request)
    principal = require_editor(request, engine)
    automation = _automation(engine, request)
    form = await async_read_form(request)
    enabled = form.get("enabled", "yes" if not automation.enabled else "no") == "yes"
    await engine.async_set_enabled(automation.id, enabled, who(principal))
    back = str(form.get("back", ""))
    raise web.HTTPSeeOther(back if back.startswith("/automations/") else "/automations")


@routes.post("/automations/{automation_id}/run")
async def run_now(request: web.Request) -> web.Response:
    engine = engine_of(request)
    principal = require_editor(request, engine)
    automation = _automation(engine, request)
    trace = engine.run_now(automation.id, who(principal))
    await asyncio.sleep(0)  # let the run start, so the page shows it
    run = f"?run={trace.run}" if trace is not None else ""
    raise web.HTTPSeeOther(f"/automations/{automation.id}{run}")


@routes.get("/automations/{automation_id}")
async def automation_page(request: web.Request) -> web.Response:
    engine = engine_of(request)
    require(request[PRINCIPAL_KEY], Action.VIEW)
    automation = _automation(engine, request)
    traces = engine.traces.of(automation.id)[::-1]
    chosen = traces[0] if traces else None
    wanted = request.query.get("run", "")
    if wanted.isdigit():
        chosen = next((t for t in traces if t.run == int(wanted)), chosen)
    fired = next((t for t in traces if t.outcome != outcome.CANCELLED or t.steps), None)
    return _render(
        request,
        "automation.html",
        automation=automation,
        traces=traces,
        trace=chosen,
        last_fired=fired,
        warnings=engine.warnings(automation),
        edits=engine.edits.recent(automation.id, limit=10),
        outcome=outcome,
    )


# --- editing -------------------------------------------------------------------------------


def _pickers(request: web.Request) -> dict[str, Any]:
    hub = request.app[HUB_KEY]
    entities = sorted((s.entity_id, s.name) for s in hub.states.async_all())
    services = [f"{d}.{s}" for d, names in hub.services.async_services().items() for s in names]
    return {
        "entities": entities,
        "services": services,
        "fields": {
            "trigger": TRIGGER_FIELDS,
            "condition": CONDITION_FIELDS,
            "action": ACTION_FIELDS,
        },
        "sections": list(SECTIONS),
    }


def _raw_config(engine: AutomationEngine, automation_id: str) -> dict[str, Any] | None:
    text = engine.block_yaml(automation_id)
    if text is None:
        return None
    try:
        node = parse(text, "the block")
    except FileProblem:
        return None
    return plain(node) if isinstance(node, dict) else None


@routes.get("/automations/{automation_id}/edit")
@routes.get("/automations/new/edit")
async def edit_page(request: web.Request) -> web.Response:
    engine, _principal, automation_id = _editing(request)
    form: AutomationForm | None = AutomationForm(triggers=[], actions=[])
    if automation_id is not None:
        raw = await asyncio.get_running_loop().run_in_executor(
            None, _raw_config, engine, automation_id
        )
        form = form_from_config(raw or {}) if raw is not None else None
        if form is None:  # the form cannot show all it holds: the YAML view can
            raise web.HTTPSeeOther(f"/automations/{automation_id}/yaml?from=form")
    else:
        form = form_from_post({"add": "trigger"})
        form.actions = form_from_post({"add": "action"}).actions
    return _render(
        request,
        "automation_edit.html",
        form=form,
        automation_id=automation_id,
        errors=[],
        **_pickers(request),
    )


@routes.post("/automations/{automation_id}/edit")
@routes.post("/automations/new/edit")
async def save_form(request: web.Request) -> web.Response:
    engine, principal, automation_id = _editing(request)
    form = form_from_post(await async_read_form(request))
    errors = list(form.problems)
    post = await async_read_form(request)
    changing = post.get("add") or post.get("refresh") or any(k.endswith("-remove") for k in post)
    if not errors and not changing:
        try:
            saved = await engine.async_save(automation_id, config_from_form(form), who(principal))
        except (Invalid, FileProblem) as err:
            errors.append(_message(err))
        else:
            raise web.HTTPSeeOther(f"/automations/{saved}")
    status = 400 if errors else 200
    if errors:
        _LOGGER.info("Automation form refused: %s", "; ".join(errors))
    return _render(
        request,
        "automation_edit.html",
        status,
        form=form,
        automation_id=automation_id,
        errors=errors,
        **_pickers(request),
    )


def _message(err: Invalid | FileProblem) -> str:
    if isinstance(err, FileProblem):
        return str(err)
    return f"line {err.line}: {err.message}" if err.line else err.message


@routes.get("/automations/{automation_id}/yaml")
@routes.get("/automations/new/yaml")
async def yaml_page(request: web.Request) -> web.Response:
    engine = engine_of(request)
    require(request[PRINCIPAL_KEY], Action.VIEW)
    automation_id = request.match_info.get("automation_id")
    text = ""
    if automation_id is not None:
        _automation(engine, request)
        block = await asyncio.get_running_loop().run_in_executor(
            None, engine.block_yaml, automation_id
        )
        text = block or ""
    note = None
    if request.query.get("from") == "form":
        note = "This automation uses steps the form does not show; edit it here."
    return _render(
        request,
        "automation_yaml.html",
        automation_id=automation_id,
        text=text,
        errors=[],
        note=note,
    )


@routes.post("/automations/{automation_id}/yaml")
@routes.post("/automations/new/yaml")
async def save_yaml(request: web.Request) -> web.Response:
    engine, principal, automation_id = _editing(request)
    form = await async_read_form(request)
    text = form.get("yaml", "")
    if not isinstance(text, str) or len(text) > MAX_YAML_CHARS:
        raise web.HTTPBadRequest(
            text=f"the YAML must be text of at most {MAX_YAML_CHARS} characters"
        )
    try:
        saved = await engine.async_save(automation_id, text, who(principal))
    except (Invalid, FileProblem) as err:
        message = _message(err)
        _LOGGER.info("Automation YAML refused: %s", message)
        return _render(
            request,
            "automation_yaml.html",
            400,
            automation_id=automation_id,
            text=text,
            errors=[message],
            note=None,
        )
    raise web.HTTPSeeOther(f"/automations/{saved}")


@routes.post("/automations/{automation_id}/delete")
async def delete(request: web.Request) -> web.Response:
    engine = engine_of(request)
    principal = require_editor(request, engine)
    automation = _automation(engine, request)
    await engine.async_delete(automation.id, who(principal))
    raise web.HTTPSeeOther("/automations")
