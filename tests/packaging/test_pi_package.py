"""The hub's Debian package on Debian bookworm, end to end (``packaging/pi/check``).

e2e tier only: the check builds the package (twice: versions N and N+1), checks it with
lintian, lays out the signed apt repository, and in a debootstrap root (cached in
~/.cache/ethos-pi) installs it with apt, verifies the unit, runs the hub as the unit's user
with the unit's command, sees an entity announced over MQTT discovery appear, upgrades with
`apt upgrade` keeping the data, then removes (data kept) and purges (data gone). The arm64
root runs under qemu and takes longer: `make test-pi`.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.processes import ROOT

pytestmark = pytest.mark.e2e_only


@pytest.mark.timeout(1200)
def test_the_amd64_package_installs_runs_upgrades_and_purges_on_bookworm() -> None:
    assert os.geteuid() == 0, "packaging/pi/check needs root (debootstrap, chroot, namespaces)"
    result = subprocess.run(
        [str(ROOT / "packaging" / "pi" / "check"), "amd64"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    for step in (
        "check: lintian clean",
        "check[install]: systemd-analyze verify: clean",
        "check[install]: hub running as ethos-hub",
        "check[install]: discovered MQTT entity appeared",
        "check[upgrade]: upgraded",
        "check[upgrade]: the upgraded hub runs with its data",
        "check[remove]: remove kept the data and the configuration",
        "check[remove]: purge removed the data, the configuration and the broker set-up",
        "check: ethos-hub on bookworm amd64 passed",
    ):
        assert step in output, output[-6000:]
