"""Golden planner cases: each folder is a stack, a live snapshot and the expected plan.

The format is documented in README.md beside this file. One test per folder:
load the stack, build the live inventories and the prior records, plan them
with ``plan_stack`` (as ``Engine.plan`` does, without the providers' checks: they
read the hypervisor), render as text and as JSON, and compare with
``expected.txt`` / ``expected.json``.
``UPDATE_GOLDEN=1`` rewrites the expected files instead (read them before
committing: a golden file is a claim about what users should see).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Blob, LiveObject, Resource, to_plain
from provisioner.errors import ProvisionerError
from provisioner.plan.admission import CapacityView
from provisioner.plan.planner import PlanOptions
from provisioner.plan.stack_plan import plan_stack
from provisioner.providers.base import (
    Capacity,
    HostCapacity,
    Inventory,
    Owner,
    PoolCapacity,
    Provider,
    ProviderSchema,
)
from provisioner.render.graph import render_dot
from provisioner.render.json import render_plan_json
from provisioner.render.text import render_plan
from provisioner.stack.loader import Stack, load_stack
from provisioner.stack.secrets import Secrets
from provisioner.state.store import AppliedRecord, SnapshotRecord
from provisioner.units import Bytes, parse_size

CASES = Path(__file__).parent
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CASE_FILES = {
    "stack.yaml",
    "live.yaml",
    "prior.yaml",
    "options.yaml",
    "capacity.yaml",
    "snapshots.yaml",
    "expected.txt",
    "expected.json",
    "expected.dot",
    "modules",
}
"""``modules``: the directories of the modules its stack uses (``source: modules/x``)."""
CASE_PROVIDERS = ("libvirt", "proxmox")
"""Provider types a case may declare: libvirt, or proxmox for what only it has (tags)."""
CLOUD_INIT_SUFFIX = ".cloud.yaml"
"""Content files a case's stack or live.yaml reads (cloud-init user-data)."""
LIVE_KEYS = {
    "address",
    "provider",
    "name",
    "id",
    "running",
    "as_declared",
    "set",
    "unset",
    "spec",
    "deps",
}
PRIOR_KEYS = {
    "address",
    "provider",
    "name",
    "as_declared",
    "set",
    "unset",
    "spec",
    "deps",
    "prevent_destroy",
}
HOST_KEYS = {"node", "cpus", "memory", "running_cpus", "running_memory", "stopped_cpus",
             "stopped_memory"}
POOL_KEYS = {"pool", "capacity", "available"}
SIZE_KEYS = {"memory", "size"}
BLOB_KEYS = {"user_data", "meta_data", "network_config"}
_PATH_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_dir() and (p / "stack.yaml").is_file())


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_planner_case(case: Path) -> None:
    unknown = {p.name for p in case.iterdir() if not p.name.endswith(CLOUD_INIT_SUFFIX)}
    unknown -= CASE_FILES
    assert not unknown, f"{case.name}: unknown files {sorted(unknown)}"
    text, document, graph = run_case(case)
    again = run_case(case)
    assert again == (text, document, graph), "planning twice gave different output"
    check_golden(case / "expected.txt", text)
    check_golden(case / "expected.json", document)
    check_golden(case / "expected.dot", graph)


def check_golden(path: Path, actual: str | None) -> None:
    if UPDATE:
        if actual is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(actual, encoding="utf-8")
        return
    if actual is None:
        assert not path.exists(), f"{path.name} should not exist: the case is a refusal"
        return
    assert path.exists(), f"{path.name} is missing; run with UPDATE_GOLDEN=1 and read it"
    assert actual == path.read_text(encoding="utf-8")


def run_case(case: Path) -> tuple[str, str | None, str | None]:
    """The plan as text, JSON and step graph; or the error text and Nones for a refusal."""
    try:
        stack = load_stack(case / "stack.yaml", environ={}, cwd=case, secrets=Secrets.NONE)
        case_inputs = CaseInputs(case, stack)
        plan = plan_stack(stack, inventories=case_inputs.inventories(),
                          prior=case_inputs.prior(), schemas=case_inputs.schemas(),
                          view=case_inputs.capacity_view(), options=read_options(case),
                          snapshots=read_snapshots(case))
    except ProvisionerError as error:
        return render_error(error), None, None
    return render_plan(plan), render_plan_json(plan), render_dot(plan)


def render_error(error: ProvisionerError) -> str:
    """The error's kind as ``provisioner.errors`` names it (PlanRefused is a PlanError)."""
    kind = next(cls for cls in type(error).__mro__ if cls.__module__ == "provisioner.errors")
    lines = [f"error: {kind.__name__}", error.message]
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines) + "\n"


def read_options(case: Path) -> PlanOptions:
    data = read_yaml(case / "options.yaml", {})
    unknown = set(data) - {"destroy", "replace", "target", "exclude"}
    assert not unknown, f"options.yaml: unknown keys {sorted(unknown)}"
    return PlanOptions(
        destroy=bool(data.get("destroy", False)),
        replace=frozenset(Address.parse(text) for text in data.get("replace", [])),
        targets=frozenset(Address.parse(text) for text in data.get("target", [])),
        excludes=frozenset(Address.parse(text) for text in data.get("exclude", [])),
    )


def read_snapshots(case: Path) -> list[SnapshotRecord]:
    """snapshots.yaml: the snapshot records of the state."""
    records = []
    for entry in read_yaml(case / "snapshots.yaml", []):
        unknown = set(entry) - {"address", "name", "taken_at", "size"}
        assert not unknown, f"snapshots.yaml: unknown keys {sorted(unknown)}"
        size = entry.get("size")
        records.append(SnapshotRecord(Address.parse(entry["address"]), entry["name"],
                                      str(entry.get("taken_at", "2026-01-01T00:00:00+00:00")),
                                      None if size is None else parse_size(str(size))))
    return records


def read_yaml(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return default if data is None else data


@dataclass
class CaseInputs:
    """A case folder's live.yaml and prior.yaml, read against its loaded stack."""

    case: Path
    stack: Stack

    def providers(self) -> dict[str, Provider]:
        """Provider objects for their pure parts (schema, requirements): never connected."""
        owner = Owner(self.stack.name)
        providers = {}
        for name, block in self.stack.providers.items():
            assert block.type_name in CASE_PROVIDERS, f"planner cases use {CASE_PROVIDERS}"
            providers[name] = block.plugin.provider_class()(name, block.config, owner)
        return providers

    def schemas(self) -> dict[str, ProviderSchema]:
        return {name: provider.schema() for name, provider in self.providers().items()}

    def capacity_view(self) -> CapacityView | None:
        """capacity.yaml as each provider's capacity; None without it (no placement or
        admission: the plain planner)."""
        data = read_yaml(self.case / "capacity.yaml", None)
        if data is None:
            return None
        assert set(data) <= set(self.stack.providers), "capacity.yaml names a provider"
        capacities = {name: _capacity(name, entry or {}) for name, entry in data.items()}
        return CapacityView(
            capacity_of=capacities.__getitem__,
            settings={name: block.capacity for name, block in self.stack.providers.items()},
            requirements={name: p.requirements for name, p in self.providers().items()})

    def inventories(self) -> dict[str, Inventory]:
        data = read_yaml(self.case / "live.yaml", [])
        if isinstance(data, list):
            data = {"objects": data}
        unknown = set(data) - {"objects", "foreign", "leftovers"}
        assert not unknown, f"live.yaml: unknown keys {sorted(unknown)}"
        objects = [self.live_object(entry) for entry in data.get("objects") or []]
        leftovers = [self.live_object(entry) for entry in data.get("leftovers") or []]
        for obj in [*objects, *leftovers]:
            assert obj.provider in self.stack.providers, f"live.yaml {obj.address}: provider"
        foreign = data.get("foreign") or {}
        assert set(foreign) <= set(self.stack.providers), "live.yaml: foreign names a provider"
        return {
            name: Inventory(
                managed=[obj for obj in objects if obj.provider == name],
                foreign={
                    Kind(kind): dict(names) for kind, names in (foreign.get(name) or {}).items()
                },
                leftovers=[obj for obj in leftovers if obj.provider == name],
            )
            for name in self.stack.providers
        }

    def live_object(self, entry: Mapping[str, Any]) -> LiveObject:
        unknown = set(entry) - LIVE_KEYS
        assert not unknown, f"live.yaml {entry.get('address')}: unknown keys {sorted(unknown)}"
        address = Address.parse(entry["address"])
        spec = self.spec(entry, "live.yaml")
        running = entry.get("running")
        if address.kind is Kind.GUEST:
            if running is None:
                running = spec.get("power") == "running"
            elif "power" in entry.get("set", {}) or "spec" in entry:
                assert spec.get("power") == ("running" if running else "stopped"), (
                    f"live.yaml {address}: running contradicts power"
                )
            spec["power"] = "running" if running else "stopped"
        deps = entry.get("deps")
        return LiveObject(
            address=address,
            provider=entry.get("provider") or self.declared_provider(address),
            name=entry.get("name", address.name),
            id=str(entry.get("id", f"{address.kind.singular}-{address.name}-id")),
            spec=spec,
            running=running if address.kind is Kind.GUEST else None,
            deps=_deps_from_spec(spec) if deps is None else tuple(map(Address.parse, deps)),
        )

    def prior(self) -> dict[Address, AppliedRecord]:
        records = {}
        for entry in read_yaml(self.case / "prior.yaml", []):
            unknown = set(entry) - PRIOR_KEYS
            assert not unknown, f"prior.yaml {entry.get('address')}: unknown keys {unknown}"
            address = Address.parse(entry["address"])
            declared = self.declared(address)
            deps = entry.get("deps")
            if deps is None:
                deps = declared.deps if entry.get("as_declared") and declared else ()
            protected = declared.lifecycle.prevent_destroy if declared else False
            records[address] = AppliedRecord(
                address=address,
                provider=entry.get("provider") or self.declared_provider(address),
                spec=to_plain(self.spec(entry, "prior.yaml")),
                deps=tuple(Address.parse(d) if isinstance(d, str) else d for d in deps),
                name=entry.get("name", address.name),
                prevent_destroy=bool(entry.get("prevent_destroy", protected)),
            )
        return records

    def spec(self, entry: Mapping[str, Any], where: str) -> dict[str, Any]:
        """``spec:`` as given, or the declared spec (``as_declared``), then set and unset."""
        address = Address.parse(entry["address"])
        if entry.get("as_declared"):
            assert "spec" not in entry, f"{where} {address}: spec and as_declared together"
            declared = self.declared(address)
            assert declared is not None, f"{where} {address}: as_declared, but not declared"
            spec = _copy(declared.spec)
        else:
            assert "spec" in entry, f"{where} {address}: needs spec or as_declared"
            spec = _live_values(entry["spec"], self.case)
        for path, value in (entry.get("set") or {}).items():
            _set_path(spec, path, _live_values(value, self.case, _last_key(path)))
        for path in entry.get("unset") or []:
            _unset_path(spec, path)
        return spec

    def declared(self, address: Address) -> Resource | None:
        return self.stack.resource(address)

    def declared_provider(self, address: Address) -> str:
        declared = self.declared(address)
        if declared is not None:
            return declared.provider
        return next(iter(self.stack.providers))


def _capacity(provider: str, entry: Mapping[str, Any]) -> Capacity:
    assert set(entry) <= {"hosts", "pools"}, f"capacity.yaml {provider}: unknown keys"
    hosts = []
    for host in entry.get("hosts") or []:
        assert set(host) <= HOST_KEYS, f"capacity.yaml {provider}: {sorted(set(host) - HOST_KEYS)}"
        memory = parse_size(str(host["memory"]))
        hosts.append(HostCapacity(
            node=str(host.get("node", provider)), cpus=int(host["cpus"]), memory_total=memory,
            memory_free=memory - parse_size(str(host.get("running_memory", "0B"))),
            running_cpus=int(host.get("running_cpus", 0)),
            running_memory=parse_size(str(host.get("running_memory", "0B"))),
            stopped_cpus=int(host.get("stopped_cpus", 0)),
            stopped_memory=parse_size(str(host.get("stopped_memory", "0B")))))
    pools = []
    for pool in entry.get("pools") or []:
        assert set(pool) <= POOL_KEYS, f"capacity.yaml {provider}: {sorted(set(pool) - POOL_KEYS)}"
        pools.append(PoolCapacity(str(pool["pool"]), parse_size(str(pool["capacity"])),
                                  parse_size(str(pool["available"]))))
    return Capacity(hosts, pools)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _live_values(value: Any, case: Path, key: str = "") -> Any:
    """YAML values as a provider reports them: sizes as Bytes, cloud-init content as Blobs."""
    if key in BLOB_KEYS and isinstance(value, Mapping):
        return Blob.of(str(value["label"]), str(value["content"]).encode())
    if isinstance(value, Mapping):
        return {k: _live_values(item, case, str(k)) for k, item in value.items()}
    if isinstance(value, list):
        return [_live_values(item, case, key) for item in value]
    if key in SIZE_KEYS and isinstance(value, str):
        return Bytes(parse_size(value))
    if key in BLOB_KEYS and isinstance(value, str):
        if value.lstrip().startswith("#"):
            return Blob.of("(inline)", value.encode())
        return Blob.of(value, (case / value).read_bytes())
    return value


def _deps_from_spec(spec: Mapping[str, Any]) -> tuple[Address, ...]:
    """What a guest uses, as the libvirt provider reads it: its networks and volumes."""
    deps = [
        Address(Kind.NETWORK, nic["network"])
        for nic in spec.get("networks") or []
        if nic.get("network")
    ]
    deps += [
        Address(Kind.VOLUME, disk["volume"])
        for disk in spec.get("disks") or []
        if disk.get("volume")
    ]
    return tuple(deps)


def _steps(path: str) -> list[str | int]:
    return [int(index) if index else key for key, index in _PATH_RE.findall(path)]


def _last_key(path: str) -> str:
    keys = [step for step in _steps(path) if isinstance(step, str)]
    return keys[-1] if keys else ""


def _set_path(spec: Any, path: str, value: Any) -> None:
    *parents, last = _steps(path)
    for step in parents:
        spec = spec[step]
    if isinstance(spec, list) and last == len(spec):
        spec.append(value)
    else:
        spec[last] = value


def _unset_path(spec: Any, path: str) -> None:
    *parents, last = _steps(path)
    for step in parents:
        spec = spec[step]
    del spec[last]
