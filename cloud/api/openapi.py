"""Declare JSON endpoints once, with their pydantic models; the OpenAPI document follows.

Handlers are registered through :class:`ApiRegistry`, which both adds the route and keeps
the operation's models, so the published schema cannot drift from the code. The scopes an
operation needs come from the Authorizer's rule for the action it names: what the
Authorizer demands of a bearer token there, and what the document shows; an operation
naming no action is session-only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from cloud.authz import accepts_bearer, scopes_of
from cloud.domain import InputErrors
from cloud.oauth.const import AUTHORIZE_PATH, DISCOVERY_PATH, SCOPE_DESCRIPTIONS, TOKEN_PATH
from cloud.web.middleware import SAFE_METHODS, answers_no_page

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REF_TEMPLATE = "#/components/schemas/{model}"


class ErrorBody(BaseModel):
    error: str
    fields: dict[str, str] | None = None


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    request: type[BaseModel] | None = None
    response: Any = None
    status: int = 200
    auth: bool = False
    action: str | None = None  # the Authorizer's action: bearer tokens accepted with its scope
    scopes: tuple[str, ...] = ()  # derived from `action`; none: session only
    errors: tuple[int, ...] = ()


@dataclass
class ApiRoutes:
    """JSON operations declared at module level (``@ROUTES.route(...)`` over a module-level
    handler); each app's :class:`ApiRegistry` takes them in with ``include``."""

    declared: list[tuple[str, str, Handler, dict[str, Any]]] = field(default_factory=list)

    def route(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self.declared.append((method, path, handler, options))
            return handler

        return decorator


@dataclass
class ApiRegistry:
    """The JSON operations of the app, in registration order."""

    operations: list[Operation] = field(default_factory=list)

    def route(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            operation = Operation(method.upper(), path, handler, **options)
            if operation.action is not None:
                operation = replace(operation, scopes=scopes_of(operation.action))
            if operation.scopes:
                if not operation.auth:
                    raise ValueError(f"{path}: an operation with scopes needs auth=True")
                accepts_bearer(*operation.scopes)(handler)
            self.operations.append(operation)
            return handler

        return decorator

    def include(self, routes: ApiRoutes) -> None:
        for method, path, handler, options in routes.declared:
            self.route(method, path, **options)(handler)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        for op in self.operations:
            router.add_route(op.method, op.path, answers_no_page(op.handler))

    def document(self, title: str, version: str) -> dict[str, Any]:
        return build_document(self.operations, title, version)


async def read_json(request: web.Request, model: type[BaseModel]) -> Any:
    """Parse and validate a JSON body; 415/400/422 with per-field messages, never a 500."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="Send application/json.")
    try:
        raw = await request.read()
        return model.model_validate_json(raw)
    except ValidationError as err:
        raise InputErrors(validation_messages(err)) from err


def validation_messages(err: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in err.errors():
        if item["type"] == "json_invalid":
            fields["body"] = "The body is not valid JSON."
            continue
        name = ".".join(str(p) for p in item["loc"]) or "body"
        fields.setdefault(name, item["msg"])
    return fields


def _models(operations: list[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: dict[type[BaseModel], JsonSchemaMode] = {ErrorBody: "serialization"}
    for op in operations:
        if op.request is not None:
            seen.setdefault(op.request, "validation")
        if isinstance(op.response, type) and issubclass(op.response, BaseModel):
            seen.setdefault(op.response, "serialization")
        elif isinstance(op.response, list):
            seen.setdefault(op.response[0], "serialization")
    return list(seen.items())


def build_document(operations: list[Operation], title: str, version: str) -> dict[str, Any]:
    schema_map, definitions = models_json_schema(_models(operations), ref_template=REF_TEMPLATE)

    def ref(model: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        return schema_map[(model, mode)]

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        entry: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.handler.__name__,
            "tags": [op.tag],
            "responses": {},
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ]
        if params:
            entry["parameters"] = params
        if op.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.request, "validation")}},
            }
        if op.response is None:
            entry["responses"][str(op.status)] = {"description": "Done"}
        else:
            if isinstance(op.response, list):
                body = {"type": "array", "items": ref(op.response[0], "serialization")}
            else:
                body = ref(op.response, "serialization")
            entry["responses"][str(op.status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": body}},
            }
        error_codes = (
            set(op.errors) | ({401} if op.auth else set()) | ({403} if op.scopes else set())
        )
        if op.request is not None:
            error_codes |= {415, 422}
        if op.method not in SAFE_METHODS:
            error_codes.add(403)  # the CSRF check: sent from another site, or not as JSON
        for code in sorted(error_codes):
            entry["responses"][str(code)] = {
                "description": "Error",
                "content": {"application/json": {"schema": ref(ErrorBody, "serialization")}},
            }
        if op.auth:
            entry["security"] = [{"session": []}]
            if op.scopes:
                entry["security"].append({"bearer": list(op.scopes)})
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "ethos_session",
                    "description": "The store's browser session (every scope of its account).",
                },
                "bearer": BEARER_SCHEME,
            },
        },
    }


# Access tokens of the store's OpenID Connect provider, sent as `Authorization: Bearer`.
# URLs are relative to the document, which the store serves itself.
BEARER_SCHEME: dict[str, Any] = {
    "type": "oauth2",
    "description": (
        "Opaque access tokens of the store's OpenID Connect provider (discovery: "
        f"{DISCOVERY_PATH}), sent as 'Authorization: Bearer <token>'. Each operation "
        "lists the scopes a token must hold."
    ),
    "flows": {
        "authorizationCode": {
            "authorizationUrl": AUTHORIZE_PATH,
            "tokenUrl": TOKEN_PATH,
            "refreshUrl": TOKEN_PATH,
            "scopes": dict(SCOPE_DESCRIPTIONS),
        }
    },
}


def _path_params(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]
