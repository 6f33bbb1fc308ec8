"""The vmware-desktop block's settings, and what a change does (pure): a .vmx edit
restarts a running guest and is in place on a stopped one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from provisioner.core.address import Address, Kind
from provisioner.core.resources import Effect, LiveObject
from provisioner.providers.vmware_desktop import VmwareDesktopConfig
from provisioner.providers.vmware_desktop.read import units
from provisioner.providers.vmware_desktop.schema import GUEST_SCHEMA, refine


def _live(running: bool) -> LiveObject:
    return LiveObject(address=Address(Kind.GUEST, "app"), provider="desk", name="app",
                      id="/vms/app/app.vmx", spec={}, attributes={}, running=running)


@pytest.mark.parametrize("path", ["cpus", "memory", "disks", "disks[0].size", "networks",
                                  "networks[1].mac", "options.firmware"])
def test_a_vmx_edit_restarts_a_running_guest_only(path: str) -> None:
    assert refine(path, 1, 2, _live(True)) is Effect.RESTART
    assert refine(path, 1, 2, _live(False)) is Effect.IN_PLACE


@pytest.mark.parametrize("path", ["cloud_init", "options.disk_bus", "image", "power"])
def test_replacements_and_power_keep_their_rule(path: str) -> None:
    assert refine(path, 1, 2, _live(True)) is None
    assert GUEST_SCHEMA.rule_for(path).effect is (Effect.IN_PLACE if path == "power"
                                                  else Effect.REPLACE)


def test_scsi_disks_skip_the_controllers_unit() -> None:
    assert units("scsi", 9) == [0, 1, 2, 3, 4, 5, 6, 8, 9]
    assert units("sata", 3) == [0, 1, 2]


def test_the_basefolder_must_be_an_absolute_path() -> None:
    with pytest.raises(ValidationError, match="not of the form /an/absolute/path"):
        VmwareDesktopConfig(basefolder="~/vmware")
    assert VmwareDesktopConfig(basefolder="/home/ana/vmware").product == "ws"
