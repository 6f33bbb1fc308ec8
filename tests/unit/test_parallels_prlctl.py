"""prlctl's refusals translated once (provisioner/providers/parallels/prlctl.py): a VM
gone is ObjectNotFoundError (a delete is then done), a VM busy with another operation
is transient (retried), a running VM refusing a change is a plain error; and what a
create makes of a VM of its stack found at its name (kit ownership)."""

from __future__ import annotations

import pytest

from provisioner.core.address import Address
from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.kit.commands import Completed
from provisioner.providers.parallels.ownership import Ownership
from provisioner.providers.parallels.prlctl import fault


def _failed(stderr: str) -> Completed:
    return Completed(("/usr/local/bin/prlctl", "set", "web", "--cpus", "2"), 1, "", stderr)


@pytest.mark.parametrize(("stderr", "kind"), [
    ("The virtual machine could not be found.\n", ObjectNotFoundError),
    ("Failed to configure the VM: Unable to perform the action because the virtual machine "
     "is busy. Another operation is in progress. Please try again later.\n",
     TransientProviderError),
    ("Failed to remove the VM: Unable to perform the action because the virtual machine is "
     "busy. The virtual machine is currently running. Please try again later.\n",
     ProviderError),
])
def test_refusals_are_translated_by_their_words(stderr: str, kind: type) -> None:
    error = fault(_failed(stderr), "guests.web: VM 'web'")
    assert type(error) is kind
    assert error.message.startswith("guests.web: VM 'web': prlctl set: ")
    assert stderr.strip() in error.message


def test_an_empty_refusal_says_the_exit_code() -> None:
    assert fault(_failed(""), "").message == "prlctl set: exit 1"


def test_a_create_finds_its_earlier_attempt_a_half_made_vm_or_another_object() -> None:
    ours = Ownership("lab", "mac")
    web, db = Address.parse("guests.web"), Address.parse("guests.db")
    assert ours.earlier_create(ours.marker(web), None, web) is True
    assert ours.earlier_create(None, ours.marker(web), web) is False
    assert ours.earlier_create(None, None, web) is False  # killed before any mark
    assert ours.earlier_create(ours.marker(db), None, web) is None
    assert ours.earlier_create(None, Ownership("lab", "other").marker(web), web) is None
