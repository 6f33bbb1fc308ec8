"""The committed JSON Schema matches the models; every example stack is valid."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from provisioner.schema import render_schema
from provisioner.stack.loader import load_stack

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "stack.schema.json"
MODULE_SCHEMA_FILE = ROOT / "schemas" / "module.schema.json"
MODELINE = "# yaml-language-server: $schema="
YAML_FILES = sorted(p for p in (ROOT / "stacks").rglob("*.yaml")
                    if not p.read_text().startswith("#cloud-config"))
MODULE_FILES = [p for p in YAML_FILES if "modules" in p.relative_to(ROOT / "stacks").parts]
"""The files of the examples' modules (stacks/NAME/modules/MODULE/*.yaml)."""
ENV_FILES = [p for p in YAML_FILES if p.parent.name == "env"]
"""The examples' environments (stacks/NAME/env/ENV.yaml): no stack files."""
EXAMPLES = [p for p in YAML_FILES if p not in MODULE_FILES and p not in ENV_FILES]


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == render_schema(), (
        "schemas/stack.schema.json is stale: run `provisioner schema > schemas/stack.schema.json`"
    )
    assert MODULE_SCHEMA_FILE.read_text() == render_schema(module=True), (
        "schemas/module.schema.json is stale: run "
        "`provisioner schema --module > schemas/module.schema.json`")


@pytest.mark.parametrize("path", MODULE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_file_has_the_module_schema_and_matches_it(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert (path.parent / first.removeprefix(MODELINE)).resolve() == MODULE_SCHEMA_FILE
    jsonschema.validate(yaml.safe_load(path.read_text()),
                        json.loads(MODULE_SCHEMA_FILE.read_text()))


def test_module_schema_refuses_what_a_module_cannot_have() -> None:
    schema = json.loads(MODULE_SCHEMA_FILE.read_text())
    jsonschema.validate({"apiVersion": "provisioner/v1", "variables": {"n": {}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"apiVersion": "provisioner/v1", "stack": "s"}, schema)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_starts_with_the_schema_modeline(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith(MODELINE)
    target = (path.parent / first.removeprefix(MODELINE)).resolve()
    assert target == SCHEMA_FILE


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_loads_and_matches_the_schema(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVE_TOKEN_SECRET", "example")  # stacks/proxmox-lab reads its token here
    monkeypatch.setenv("VSPHERE_PASSWORD", "example")  # stacks/vsphere-* read their password
    monkeypatch.setenv("XAPI_PASSWORD", "example")  # stacks/xcp-lab reads its password
    load_stack(path)
    document = yaml.safe_load(path.read_text())
    jsonschema.validate(document, json.loads(SCHEMA_FILE.read_text()))


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_example_environment_loads(path: Path) -> None:
    stack = load_stack(path.parent.parent, environment=path.stem)
    assert stack.identity == f"{stack.name}--{path.stem}"


def test_schema_rejects_an_unknown_key() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    document = {"apiVersion": "provisioner/v1", "stack": "s",
                "guests": {"web": {"provider": "kvm", "cpu": 2}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)
