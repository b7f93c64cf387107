"""Integration loader: reads ``hub/integrations/<domain>/manifest.json`` and imports the code."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from hub.core.errors import IntegrationNotFound, InvalidManifest

_LOGGER = logging.getLogger(__name__)

INTEGRATIONS_PACKAGE = "hub.integrations"
INTEGRATIONS_DIR = Path(__file__).resolve().parent.parent / "integrations"
_DOMAIN = re.compile(r"^[a-z][a-z0-9_]*$")
_IOT_CLASSES = frozenset(
    {"local_push", "local_polling", "cloud_push", "cloud_polling", "assumed_state", "calculated"}
)
_REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")
# What a manifest may state: each key is read here, and each discovery key by the
# integration that dispatches it (zeroconf: service types; bluetooth: advertisement
# matchers). Anything else is refused, so a manifest never promises what nothing reads.
DISCOVERY_KEYS = ("bluetooth", "zeroconf")
MANIFEST_KEYS = frozenset(
    {"domain", "name", "dependencies", "requirements", "iot_class", *DISCOVERY_KEYS}
)
BLUETOOTH_MATCHER_KEYS = frozenset({"service_data_uuid"})
# An integration's own web pages, optional: a module with ``routes`` (a RouteTableDef).
WEB_MODULE_FILE = "web.py"


@dataclass(frozen=True)
class Manifest:
    domain: str
    name: str
    dependencies: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    iot_class: str = "local_push"
    discovery: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, folder_name: str, raw: dict[str, Any]) -> Manifest:
        domain = raw.get("domain")
        unknown = sorted(set(raw) - MANIFEST_KEYS)
        if unknown:
            raise InvalidManifest(f"{folder_name}: unknown manifest keys {', '.join(unknown)}")
        if domain != folder_name or not isinstance(domain, str) or not _DOMAIN.match(domain):
            raise InvalidManifest(f"{folder_name}: domain must equal the folder name")
        if not isinstance(raw.get("name"), str):
            raise InvalidManifest(f"{domain}: name is required")
        iot_class = raw.get("iot_class", "local_push")
        if iot_class not in _IOT_CLASSES:
            raise InvalidManifest(f"{domain}: unknown iot_class {iot_class!r}")
        dependencies = raw.get("dependencies", [])
        requirements = raw.get("requirements", [])
        if not all(isinstance(d, str) for d in dependencies):
            raise InvalidManifest(f"{domain}: dependencies must be a list of domains")
        if not all(isinstance(r, str) for r in requirements):
            raise InvalidManifest(f"{domain}: requirements must be a list of strings")
        discovery = {k: raw[k] for k in DISCOVERY_KEYS if k in raw}
        _check_discovery(domain, discovery)
        return cls(
            domain, raw["name"], tuple(dependencies), tuple(requirements), iot_class, discovery
        )


def _check_discovery(domain: str, discovery: dict[str, Any]) -> None:
    zeroconf = discovery.get("zeroconf", [])
    if not isinstance(zeroconf, list) or not all(isinstance(t, str) for t in zeroconf):
        raise InvalidManifest(f"{domain}: zeroconf must be a list of service types")
    bluetooth = discovery.get("bluetooth", [])
    if not isinstance(bluetooth, list) or not all(
        isinstance(m, dict)
        and m
        and set(m) <= BLUETOOTH_MATCHER_KEYS
        and all(isinstance(v, str) for v in m.values())
        for m in bluetooth
    ):
        raise InvalidManifest(
            f"{domain}: bluetooth must be a list of matchers with "
            + ", ".join(sorted(BLUETOOTH_MATCHER_KEYS))
        )


@dataclass
class Integration:
    manifest: Manifest
    path: Path
    package: str

    @property
    def domain(self) -> str:
        return self.manifest.domain

    def missing_requirements(self) -> list[str]:
        missing = []
        for requirement in self.manifest.requirements:
            match = _REQUIREMENT_NAME.match(requirement)
            name = match.group(0) if match else requirement
            try:
                importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                missing.append(requirement)
        return missing

    def get_module(self) -> ModuleType:
        return importlib.import_module(self.package)


def read_integration(
    domain: str, base: Path = INTEGRATIONS_DIR, package: str = INTEGRATIONS_PACKAGE
) -> Integration:
    """Read one manifest (blocking: call from an executor or at start)."""
    if not _DOMAIN.match(domain):
        raise IntegrationNotFound(domain)
    path = base / domain
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise IntegrationNotFound(domain)
    try:
        raw = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InvalidManifest(f"{domain}: {err}") from err
    if not isinstance(raw, dict):
        raise InvalidManifest(f"{domain}: manifest must be a JSON object")
    return Integration(Manifest.from_json(domain, raw), path, f"{package}.{domain}")


def available_domains(base: Path = INTEGRATIONS_DIR) -> list[str]:
    return sorted(p.name for p in base.iterdir() if (p / "manifest.json").is_file())


def web_modules(sources: Iterable[tuple[Path, str]]) -> list[str]:
    """The ``web`` modules of every integration that has one (its own pages), first source
    first; the web UI imports and adds them. Blocking (reads folders): call at start."""
    found: dict[str, str] = {}
    for base, package in sources:
        for domain in available_domains(base):
            if domain not in found and (base / domain / WEB_MODULE_FILE).is_file():
                found[domain] = f"{package}.{domain}.{WEB_MODULE_FILE.removesuffix('.py')}"
    return [found[domain] for domain in sorted(found)]


def resolve_order(integrations: dict[str, Integration]) -> list[str]:
    """Dependencies first; a missing or circular dependency raises with the chain."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(domain: str) -> None:
        if domain in order:
            return
        if domain in visiting:
            raise InvalidManifest("circular dependency: " + " -> ".join([*visiting, domain]))
        if domain not in integrations:
            raise IntegrationNotFound(domain)
        visiting.append(domain)
        for dependency in integrations[domain].manifest.dependencies:
            visit(dependency)
        visiting.pop()
        order.append(domain)

    for domain in sorted(integrations):
        visit(domain)
    return order
