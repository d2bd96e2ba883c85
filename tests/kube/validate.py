"""Strict validation of rendered manifests: built-in kinds with kubernetes-validate, custom
resources against their upstream CRD's openAPIV3Schema (tests/fixtures/crds)."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import yaml

CRDS = Path(__file__).resolve().parents[1] / "fixtures" / "crds"
KUBERNETES_VERSION = "1.37.0"
CRD_FILES = {
    "kubernetes.dask.org/v1/DaskCluster": "daskcluster.yaml",
    "ray.io/v1/RayCluster": "ray.io_rayclusters.yaml",
    "argoproj.io/v1alpha1/Workflow": "argoproj.io_workflows.yaml",
}
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def validate(manifest: dict) -> None:
    """Raise when `manifest` is not valid for its kind (unknown fields are errors)."""
    key = f"{manifest['apiVersion']}/{manifest['kind']}"
    if key in CRD_FILES:
        _validate_custom(manifest, key)
    else:
        import kubernetes_validate

        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def _validate_custom(manifest: dict, key: str) -> None:
    import jsonschema

    meta = manifest.get("metadata") or {}
    assert _DNS_LABEL.match(meta.get("name", "")) and len(meta["name"]) <= 63, f"bad name {meta.get('name')!r}"
    for label, value in (meta.get("labels") or {}).items():
        assert len(value) <= 63 and _LABEL_VALUE.match(value), f"bad label value {label}={value!r}"
    assert set(meta) <= {"name", "namespace", "labels", "annotations", "generateName"}, f"metadata {sorted(meta)}"
    # apiVersion, kind and metadata are the API server's to check, whatever the CRD schema says.
    body = {k: v for k, v in manifest.items() if k not in ("metadata", "apiVersion", "kind")}
    jsonschema.Draft7Validator(_strict_schema(key)).validate(body)


@functools.cache
def _strict_schema(key: str) -> dict:
    group_version, kind = key.rsplit("/", 1)
    version = group_version.rsplit("/", 1)[1]
    crd = yaml.load((CRDS / CRD_FILES[key]).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert crd["spec"]["names"]["kind"] == kind
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
    for key in ("metadata", "apiVersion", "kind"):
        schema.setdefault("properties", {}).pop(key, None)  # checked in _validate_custom
    schema["required"] = [r for r in schema.get("required", []) if r not in ("metadata", "apiVersion", "kind")]
    _close(schema)
    return schema


def _close(schema: dict) -> None:
    """What an API server prunes (fields its structural schema does not name) is an error here."""
    if not isinstance(schema, dict):
        return
    if "properties" in schema and "additionalProperties" not in schema \
            and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema["additionalProperties"] = False
    for value in schema.values():
        if isinstance(value, dict):
            _close(value)
        elif isinstance(value, list):
            for item in value:
                _close(item)
