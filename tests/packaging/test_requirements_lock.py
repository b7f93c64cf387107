"""The package's pinned requirements cover what the hub declares (``make deb-lock``).

A hub dependency added to pyproject without re-pinning would be missing from the Debian
package's venv and the hub would not start on the Pi: this catches it before a build does.
"""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.processes import ROOT

LOCK = ROOT / "packaging" / "deb" / "requirements.lock"


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_every_hub_requirement_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked_versions()
    for line in project["optional-dependencies"]["hub"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in {LOCK.name}: run `make deb-lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{requirement.name}=={pins[name]} is outside {requirement.specifier}"
        )


def test_the_lock_holds_no_development_or_store_dependency() -> None:
    pins = locked_versions()
    for outsider in ("pytest", "ruff", "sqlmodel", "sqlalchemy", "pydantic", "pandas"):
        assert outsider not in pins
