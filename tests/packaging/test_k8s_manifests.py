"""The store's Kubernetes manifests (``packaging/cloud/k8s/``), checked offline.

Every manifest is validated against the Kubernetes JSON schemas that the
``kubernetes-validate`` package ships (strict: an unknown field is an error), and what the
schemas cannot know is checked against the code: the probes name routes the store serves,
the image is the one ``make image`` tags, every environment variable is one the store reads
(and the Deployment's settings pass production's checks), secrets are only referenced, and
the selectors and names that tie the objects together agree. Nothing here reaches a cluster;
the same image, settings and probes run under podman in the e2e tier (test_cloud_image.py).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from cloud.app import create_app
from cloud.cli import ENV_HELP
from cloud.config import CloudSettings, ConfigError
from cloud.ops.const import HEALTHZ_PATH, READYZ_PATH
from tests.support.processes import ROOT

K8S = ROOT / "packaging" / "cloud" / "k8s"
CONTAINERFILE = ROOT / "packaging" / "cloud" / "Containerfile"
# The oldest Kubernetes the manifests are meant for, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
# Values standing in for the Secret `ethos-store` (never committed; made by the operator).
SECRET_STAND_INS = {
    "secret-key": "k" * 48,
    "database-url": "postgresql://ethos@db.example.org:5432/ethos",
    "smtp-url": "smtp://mail.example.org:587",
    "btcpay-api-key": "a" * 40,
    "btcpay-webhook-secret": "w" * 32,
}
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|API_KEY|DATABASE_URL|SMTP_URL")

Manifest = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def all_manifests() -> Iterator[tuple[Path, Manifest]]:
    for path in manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield path, document


def one(kind: str) -> Manifest:
    found = [doc for _path, doc in all_manifests() if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def workloads() -> list[Manifest]:
    return [one("Deployment"), one("Job")]


def pod_spec(workload: Manifest) -> Manifest:
    return workload["spec"]["template"]["spec"]


def project_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def container_environment(container: Manifest) -> dict[str, str]:
    """The variables a container gets: its ConfigMap's data, then its own env entries (a
    Secret reference gets its stand-in value)."""
    config_maps = {
        doc["metadata"]["name"]: doc["data"]
        for _path, doc in all_manifests()
        if doc["kind"] == "ConfigMap"
    }
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        environment.update(config_maps[source["configMapRef"]["name"]])
    for entry in container.get("env", []):
        if "value" in entry:
            environment[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "ethos-store", entry
            environment[entry["name"]] = SECRET_STAND_INS[ref["key"]]
    return environment


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(path: Path, version: str) -> None:
    documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_schema_check_refuses_a_misspelt_field() -> None:
    """The validation above would catch a typo (so it is not passing vacuously)."""
    deployment = one("Deployment")
    pod_spec(deployment)["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz"}
    with pytest.raises(kubernetes_validate.ValidationError, match="httpGett"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_the_kustomization_applies_every_manifest() -> None:
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == [p.name for p in manifest_files()]


def test_the_set_holds_each_kind_an_operator_needs() -> None:
    kinds = {doc["kind"] for _path, doc in all_manifests()}
    assert kinds >= {
        "Deployment",
        "Service",
        "Ingress",
        "Job",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ConfigMap",
    }
    # Secrets are referenced, never committed.
    assert "Secret" not in kinds


def test_the_probes_ask_routes_the_store_serves(tmp_path: Path) -> None:
    app = create_app(CloudSettings(data_dir=tmp_path, database_url="sqlite+aiosqlite://"))
    served = {
        resource.canonical
        for resource in app.router.resources()
        if any(route.method in ("GET", "*") for route in resource)
    }
    container = pod_spec(one("Deployment"))["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    probes = {
        kind: container[kind]["httpGet"]
        for kind in ("readinessProbe", "livenessProbe", "startupProbe")
    }
    assert probes["readinessProbe"]["path"] == READYZ_PATH
    assert probes["livenessProbe"]["path"] == HEALTHZ_PATH
    for probe in probes.values():
        assert probe["path"] in served
        assert ports[probe["port"]] == 8080
    # The container listens where the probes knock, on every address of the pod.
    args = container["args"]
    assert args[:2] == ["cloud", "serve"]
    assert args[args.index("--port") + 1] == "8080"
    assert args[args.index("--host") + 1] == "0.0.0.0"  # noqa: S104 (a pod's own network)


def test_the_workloads_run_the_image_make_image_builds() -> None:
    expected = f"ethos-store:{project_version()}"
    for workload in workloads():
        images = {c["image"] for c in pod_spec(workload)["containers"]}
        assert images == {expected}, workload["metadata"]["name"]
    build = (ROOT / "packaging" / "cloud" / "image" / "build").read_text()
    assert 'image="localhost/ethos-store:$version"' in build
    # The Job migrates, the Deployment serves: one image, the role chosen by the command.
    assert pod_spec(one("Job"))["containers"][0]["args"] == ["cloud", "migrate"]


def test_every_variable_in_the_manifests_is_one_the_store_reads() -> None:
    """Each variable is documented in `ethos cloud --help` and changes the settings the
    store builds (removing it changes them or makes them refuse), and the Deployment's
    settings, with stand-ins for the Secret, pass production's checks."""
    for workload in workloads():
        container = pod_spec(workload)["containers"][0]
        environment = container_environment(container)
        settings = CloudSettings.from_env(environment)
        assert settings.production
        assert settings.base_url.startswith("https://")
        for name in environment:
            assert re.search(rf"^\s+{name}\s", ENV_HELP, re.MULTILINE), name
            without = {key: value for key, value in environment.items() if key != name}
            try:
                changed = CloudSettings.from_env(without) != settings
            except ConfigError:
                changed = True
            assert changed, f"{name} is set in the manifests but the store ignores it"


def test_secrets_are_referenced_not_written() -> None:
    for workload in workloads():
        for container in pod_spec(workload)["containers"]:
            for entry in container.get("env", []):
                if SECRET_LIKE.search(entry["name"]):
                    assert "value" not in entry, entry["name"]
                    assert "secretKeyRef" in entry["valueFrom"], entry["name"]
    config_map = one("ConfigMap")
    assert not [name for name in config_map["data"] if SECRET_LIKE.search(name)]


def test_the_pods_run_as_the_images_user_on_a_read_only_root() -> None:
    user = re.search(r"^USER (\d+):(\d+)$", CONTAINERFILE.read_text(), re.MULTILINE)
    assert user is not None
    data_dir = re.search(r"ETHOS_DATA_DIR=(\S+)", CONTAINERFILE.read_text())
    assert data_dir is not None
    for workload in workloads():
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == int(user[1])
        assert spec["securityContext"]["runAsGroup"] == int(user[2])
        assert spec["automountServiceAccountToken"] is False
        volumes = {volume["name"] for volume in spec["volumes"]}
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]["cpu"]
            assert container["resources"]["requests"]["memory"]
            assert container["resources"]["limits"]["memory"]
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts
            assert set(mounts.values()) <= volumes
    serving = pod_spec(one("Deployment"))["containers"][0]
    assert data_dir[1] in {mount["mountPath"] for mount in serving["volumeMounts"]}


def test_the_objects_select_the_deployments_pods() -> None:
    deployment = one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    name = deployment["metadata"]["name"]

    def selects(selector: dict[str, str]) -> bool:
        return all(pod_labels.get(key) == value for key, value in selector.items())

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    service = one("Service")
    assert selects(service["spec"]["selector"])
    assert selects(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    assert selects(one("NetworkPolicy")["spec"]["podSelector"]["matchLabels"])
    # The migration Job is not a web pod: the Service never sends it requests.
    job_labels = one("Job")["spec"]["template"]["metadata"]["labels"]
    assert not all(job_labels.get(k) == v for k, v in service["spec"]["selector"].items())
    container_ports = {p["name"] for p in pod_spec(deployment)["containers"][0]["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    backend = one("Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    target = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", name)
    assert one("HorizontalPodAutoscaler")["spec"]["minReplicas"] <= deployment["spec"]["replicas"]
