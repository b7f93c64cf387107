"""Write the hub's pinned requirements (``requirements.lock``) from the current venv.

Walks ``ethos[hub]``'s requirements through the installed distributions' metadata, with
markers evaluated for a Debian bookworm hub (Linux, CPython 3.11, aarch64 or x86_64), and
pins each to the version installed here, the one the tests ran against. The package's
wheelhouse is downloaded from this list (``make deb``), so a Pi gets exactly these.

    .venv/bin/python packaging/deb/lock.py > packaging/deb/requirements.lock
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT_REQUIREMENT = "ethos[hub]"
TARGETS = ("aarch64", "x86_64")


def target_environment(machine: str) -> dict[str, str]:
    return {
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
        "python_version": "3.11",
        "python_full_version": "3.11.2",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }


def needed(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    for machine in TARGETS:
        for extra in extras or {""}:
            if requirement.marker.evaluate({**target_environment(machine), "extra": extra}):
                return True
    return False


def pins() -> dict[str, str]:
    """Each distribution the hub needs (besides ethos itself), with its installed version."""
    found: dict[str, str] = {}
    pending = [Requirement(ROOT_REQUIREMENT)]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        distribution = metadata.distribution(requirement.name)
        if name != "ethos":
            found[name] = distribution.version
        for line in distribution.requires or ():
            child = Requirement(line)
            if needed(child, set(requirement.extras)):
                pending.append(child)
    return dict(sorted(found.items()))


def main() -> int:
    print("# The hub's dependencies, pinned: regenerate with packaging/deb/lock.py")
    for name, version in pins().items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
