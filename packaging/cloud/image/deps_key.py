"""The key of the image's dependency wheelhouse: the [cloud] extra as pyproject.toml declares
it, and the pinned versions of the packages the wheelhouse holds.

`deps_key.py PYPROJECT CONSTRAINTS WHEELHOUSE` prints it. Another extra, a development tool
added to the venv or a version bump elsewhere in pyproject.toml leaves it unchanged, so the
wheels (and podman's layer of them) are rebuilt only when the store's dependencies change.
"""

from __future__ import annotations

import hashlib
import re
import sys
import tomllib
from pathlib import Path


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def deps_key(pyproject: Path, constraints: Path, wheelhouse: Path) -> str:
    extra = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["cloud"]
    held = {normalise(wheel.name.split("-")[0]) for wheel in wheelhouse.glob("*.whl")}
    pins = sorted(
        line.strip()
        for line in constraints.read_text().splitlines()
        if "==" in line and normalise(line.split("==")[0]) in held
    )
    digest = hashlib.sha256("\n".join([*extra, "--", *pins]).encode())
    return digest.hexdigest()[:16]


if __name__ == "__main__":
    print(deps_key(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
