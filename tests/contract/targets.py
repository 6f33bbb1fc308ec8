"""How the contract suite reaches a provider: one ContractTarget per provider type.

A target says what its provider serves and opens, for each test, a private
``Hypervisor``: an isolated hypervisor state (a test:/// node file, a
simulator, a stand-in) plus the few direct looks the suite needs that no
provider method gives (raw volume names, raw definitions, objects made
behind the provider's back).

Resources and providers are built the way the CLI builds them: a stack
document (``apiVersion``, ``stack``, a provider block named ``hv`` and
resource sections) is written to a file and read with ``load_stack``; the
provider comes from the loaded stack's provider config, with ``Owner(stack)``.

To add a provider: subclass ContractTarget and Hypervisor (see
``target_libvirt.py``) and list the target in ``conftest.TARGETS``. What a
stand-in or simulator cannot do goes in ``known_gaps`` (a strict xfail with
the exception expected), never in a skip inside a test. The provider must
count its bulk listings as "list" and its per-object reads as "read" in
``provider.stats`` (the plan-cost test reads those two categories).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from contract.honesty import FieldEdit, HonestyProbe, RawFields
from provisioner.core.address import Kind
from provisioner.core.resources import Resource
from provisioner.providers.base import Owner, Provider
from provisioner.stack.loader import load_stack

FIXTURES = Path(__file__).parent / "fixtures"
STACK = "contract"
"""The stack every test works for; other stacks' objects must stay foreign to it."""
PROVIDER = "hv"
"""The name of the provider block in every stack the suite loads."""

_serial = itertools.count()


def write_stack(directory: Path, stack: str, block: Mapping[str, Any],
                sections: Mapping[str, Any]) -> Path:
    """A one-file stack: the provider block as ``hv`` plus resource sections."""
    document = {"apiVersion": "provisioner/v1", "stack": stack,
                "providers": {PROVIDER: dict(block)}, **sections}
    folder = directory / f"{stack}-{next(_serial)}"
    folder.mkdir(parents=True)
    path = folder / "stack.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def build_provider(directory: Path, stack: str, block: Mapping[str, Any]) -> Provider:
    """A provider as the engine builds it: plugin class, validated config, Owner(stack)."""
    loaded = load_stack(write_stack(directory, stack, block, {}), cwd=directory)
    config = loaded.providers[PROVIDER]
    return config.plugin.provider_class()(PROVIDER, config.config,
                                          Owner(loaded.name, loaded.root))


class Hypervisor(HonestyProbe):
    """One test's private hypervisor, and every provider built to talk to it."""

    def __init__(self, target: ContractTarget, workdir: Path) -> None:
        self.target = target
        self.workdir = workdir
        self.stacks = workdir / "stacks"
        self.providers: list[Provider] = []
        self.stack = STACK
        """The stack the tests work for (a shared daemon gives each test its own)."""

    @abstractmethod
    def provider_block(self) -> dict[str, Any]:
        """The ``providers.hv`` block (with ``type``) that reaches this hypervisor."""

    def attach(self, provider: Provider) -> None:
        """Make a freshly built provider use this hypervisor (shared connections)."""

    @abstractmethod
    def define_untagged(self, kind: Kind, name: str) -> None:
        """Make an object without any ownership tag, directly on the hypervisor."""

    @abstractmethod
    def volume_names(self) -> set[str]:
        """Every volume or disk image on the hypervisor, owned or not ("pool/name")."""

    @abstractmethod
    def definitions(self) -> str:
        """Everything the hypervisor stores about its objects (definitions, metadata,
        descriptions, tags), as text, for the secrets test. Not disk contents."""

    def close(self) -> None:
        for provider in self.providers:
            provider.close()

    def provider(self, stack: str | None = None) -> Provider:
        """A new provider instance for ``stack`` on this hypervisor."""
        provider = build_provider(self.stacks, stack or self.stack, self.provider_block())
        self.attach(provider)
        self.providers.append(provider)
        return provider

    def load(self, sections: Mapping[str, Any], stack: str | None = None) -> list[Resource]:
        """Resources of a stack made of ``sections``, in declaration order."""
        return list(load_stack(self.stack_file(sections, stack), cwd=self.stacks).resources)

    def stack_file(self, sections: Mapping[str, Any], stack: str | None = None) -> Path:
        """A stack file of ``sections`` on this hypervisor (a new folder each time)."""
        return write_stack(self.stacks, stack or self.stack, self.provider_block(), sections)

    def samples(self) -> dict[Kind, Resource]:
        """The target's sample resource of each kind it serves, in creation order."""
        resources = sorted(self.load(self.target.sample_sections()), key=lambda r: r.kind.rank)
        return {resource.kind: resource for resource in resources}


@dataclass(frozen=True)
class KnownGap:
    """A test this target fails today, and how: it runs as a strict xfail, so a
    fix (or a different failure) makes the suite say so."""

    reason: str
    raises: type[BaseException]


class ContractTarget(ABC):
    """One provider type under the contract suite."""

    name: ClassVar[str]
    kinds: ClassVar[frozenset[Kind]]
    """Kinds the suite exercises on this provider: some or all of those its plugin
    declares (``ProviderPlugin.kinds``, which its schema must serve exactly)."""
    foreign_kinds: ClassVar[frozenset[Kind]]
    removable_option: ClassVar[tuple[str, Any, Any]]
    """A guest ``options:`` key, a value to set, and what the guest reads back once the
    key is removed from the declaration (its default)."""
    """Kinds whose names another stack or an untagged object can take, reported in
    ``Inventory.foreign`` (volumes named after their stack cannot collide)."""
    default_pool: ClassVar[str]
    """The pool (datastore, storage) disks land in when a spec names none."""
    known_gaps: ClassVar[Mapping[str, KnownGap]] = {}
    """Test function name → why this target fails it today (a strict xfail)."""
    field_edits: ClassVar[Sequence[FieldEdit]] = ()
    """For the honesty check: one edit per updatable field of each kind in
    ``honesty_kinds`` (a field the schema adds without an edit fails the check)."""
    honesty_kinds: ClassVar[frozenset[Kind]] = frozenset({Kind.GUEST})
    raw_fields: ClassVar[RawFields] = RawFields(())
    """Which field owns each raw key of a definition (``Hypervisor.raw_state``)."""
    honesty_untestable: ClassVar[Mapping[str, str]] = {}
    """``KIND.PATTERN`` of an updatable field (``guests.autostart``) → why this
    hypervisor cannot show a change of it (one cluster only): counted as covered by
    the edit check."""
    honesty_gaps: ClassVar[Mapping[str, str]] = {}
    """``KIND.PATH`` of an edit (``guests.disks[0].size``) → why the plan does not tell
    the truth about it on this hypervisor (the case must then still find a problem:
    fixing it makes the suite say so)."""

    def missing(self) -> str | None:
        """Why this target cannot run on this machine (a library, a simulator), or None."""
        return None

    @abstractmethod
    def open(self, request: pytest.FixtureRequest, workdir: Path) -> Hypervisor:
        """A fresh, isolated hypervisor for one test (``request`` reaches other fixtures)."""

    @abstractmethod
    def unreachable_block(self) -> dict[str, Any]:
        """A provider block whose endpoint does not exist (fails fast, no DNS wait)."""

    def sample_sections(self) -> dict[str, Any]:
        """Resource sections with one sample per kind: a network, a volume, and a
        guest with two disks, the volume attached and a NIC on the network."""
        sections: dict[str, Any] = yaml.safe_load(
            (FIXTURES / "sample-stack.yaml").read_text(encoding="utf-8"))
        return {kind.value: sections[kind.value] for kind in Kind if kind in self.kinds}

    def network(self, **fields: Any) -> dict[str, Any]:
        """A network declaration this target makes (``fields`` override)."""
        return {"provider": PROVIDER, "mode": "isolated", "cidr": "10.43.0.0/24", **fields}

    network_in_place_edit: ClassVar[tuple[str, Any]] = ("domain", "lab.test")
    """A network field that updates in place, and the value it is set to."""

    def honest_base(self, kind: Kind) -> dict[str, Any]:
        """The declaration every honesty edit of ``kind`` starts from: running, so a
        restart would show."""
        return self.small_guest(power="running")

    def small_guest(self, **fields: Any) -> dict[str, Any]:
        """A cheap guest declaration (one disk, stopped), with ``fields`` overriding."""
        guest: dict[str, Any] = {"provider": PROVIDER, "cpus": 1, "memory": "256MiB",
                                 "disks": [{"size": "1GiB"}], "power": "stopped"}
        guest.update(fields)
        return guest
