"""Stacks on the XAPI simulator, planned and applied in-process through the engine.

``Lab`` is one stack directory with its own SQLite state: ``write`` puts the
provider block ``xcp`` (reaching the simulator, or a real pool named by
``PROVISIONER_TEST_XAPI``, TLS verified) in front of the resource sections
given, with the simulator's names replaced by the real pool's (``names``);
``plan``, ``apply`` and ``destroy`` run the engine as the CLI does. ``left``
lists what the pool still holds of the stack, through the provider's own bulk
read (it works on both); ``owned``, ``vm`` and ``calls`` look into the
simulator directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.plans import actions, failures, field_changes  # noqa: F401  (re-exported)
from support.real_hosts import XapiTarget
from support.stack_lab import StackLab
from support.xapi import XapiSimulator

from provisioner.stack.loader import Stack

NET = "Pool-wide network associated with eth0"
OWNER_KEY = "provisioner:owner"


def block(sim: XapiSimulator, **settings: Any) -> dict[str, Any]:
    """A provider block reaching ``sim`` as root (password from $XAPI_PASSWORD)."""
    return {"type": "xenserver", "url": sim.url, "username": "root",
            "password": "${env.XAPI_PASSWORD}", "ca_file": sim.ca_file, "retry_timeout": 5,
            **settings}


def real_block(target: XapiTarget, **settings: Any) -> dict[str, Any]:
    """A provider block reaching a real pool (password from $XAPI_PASSWORD)."""
    found = {"type": "xenserver", "url": target.url, "username": target.user,
             "password": "${env.XAPI_PASSWORD}", **settings}
    if target.ca_file:
        found["ca_file"] = target.ca_file
    return found


class Lab(StackLab):
    """One stack on one pool."""

    block_name = "xcp"

    def __init__(self, root: Path, provider_block: dict[str, Any], name: str = "lab",
                 names: dict[str, str] | None = None,
                 sim: XapiSimulator | None = None) -> None:
        super().__init__(root, name)
        self.provider_block = provider_block
        self.names = names or {}
        self._sim = sim
        self.last_body = ""

    @property
    def sim(self) -> XapiSimulator:
        assert self._sim is not None, "a look into the simulator: mark the test simulator_only"
        return self._sim

    def block(self, **settings: Any) -> dict[str, Any]:
        return {**self.provider_block, **settings}

    def write(self, body: str, **settings: Any) -> Stack:
        self.last_body = body
        return super().write(body, **settings)

    def localize(self, body: str) -> str:
        for simulated, real in self.names.items():
            body = body.replace(simulated, real)
        return body

    def left(self) -> list[str]:
        """What the pool holds of this stack (guests and leftovers), as the provider's
        bulk read finds it."""
        with self.engine(self.last_body or "{}\n") as engine:
            provider = engine.providers()["xcp"]
            found = provider.list_managed()
        return sorted(f"{live.address} ({live.name})" for live in
                      [*found.managed, *found.leftovers])

    def vm(self, name: str) -> tuple[str, dict[str, Any]]:
        """The one VM (not a template) named ``name``: (reference, record)."""
        found = [(ref, vm) for ref, vm in self.sim.objects("VM").items()
                 if vm["name_label"] == name and not vm["is_a_template"]]
        assert len(found) == 1, f"{len(found)} VMs named {name}"
        return found[0]

    def owned(self) -> list[str]:
        """Every VM and VDI carrying this stack's marker (or creating name), by name."""
        found = []
        for cls in ("VM", "VDI"):
            for record in self.sim.objects(cls).values():
                owner = str((record.get("other_config") or {}).get(OWNER_KEY, ""))
                if f'"stack":"{self.name}"' in owner or \
                        str(record.get("name_label", "")).startswith("provisioner-creating"):
                    found.append(f"{cls} {record['name_label']}")
        return sorted(found)

    def calls(self, prefix: str = "") -> list[str]:
        return [call.method for call in self.sim.calls if call.method.startswith(prefix)
                or call.method.startswith(f"Async.{prefix}")]
