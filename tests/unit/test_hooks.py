"""Which hooks a step runs, what the record holds until they have run, and the ssh
command an ssh hook becomes (a stand-in ssh records it; real guests run local hooks in
tests/e2e/test_qemu_hooks.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from provisioner.apply.hooks import (
    HookFailedError,
    _quoted,
    as_before,
    due,
    for_provider,
    run_hooks,
)
from provisioner.core.address import Address
from provisioner.core.resources import Blob, Effect, LiveObject, Resource
from provisioner.plan.model import FieldDiff, Operation

pytestmark = pytest.mark.unit
OLD, NEW = Blob.of("after_create", b"old"), Blob.of("after_create", b"new")


def _guest(**settings: object) -> Resource:
    return Resource(Address.parse("guests.web"), "kvm",
                    {"power": "running", "hooks": {"after_create": NEW, "after_update": None},
                     "networks": [{"network": "n", "forwards": [{"host": 2222, "guest": 22}]}]},
                    settings={"ssh": {"user": "ops"}, **settings})


def test_which_hooks_run() -> None:
    changed = (FieldDiff("hooks.after_create", OLD, NEW, Effect.IN_PLACE),)
    assert due(Operation.CREATE, ()) == ["after_create"]
    assert due(Operation.UPDATE, ()) == ["after_update"]
    assert due(Operation.UPDATE, changed) == ["after_create", "after_update"]


def test_the_record_keeps_the_old_hooks_until_they_ran_and_providers_see_none() -> None:
    changed = (FieldDiff("hooks.after_create", OLD, NEW, Effect.IN_PLACE),)
    before = as_before(_guest(), changed)
    assert before.spec["hooks"]["after_create"] == OLD
    assert "hooks" not in for_provider(_guest()).spec


def test_an_ssh_hook_runs_sh_over_ssh_as_the_login_user(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "ssh"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/argv"\necho hello\n'
                    'exit ${FAKE_EXIT:-0}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    guest = _guest(after_create=[{"ssh": "echo 'it''s' > /tmp/x"}])
    live = LiveObject(guest.address, "kvm", "web", "1", {}, {})
    run_hooks(guest, live, ["after_create"])
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv[argv.index("--") + 1:] == ["ops@127.0.0.1", "sh", "-c",
                                           _quoted("echo 'it''s' > /tmp/x")]
    monkeypatch.setenv("FAKE_EXIT", "4")
    with pytest.raises(HookFailedError, match=r"after_create\[0\] exited 4"):
        run_hooks(guest, live, ["after_create"])


def test_quoting_survives_the_remote_shell() -> None:
    command = """echo "a b" 'c' $HOME; printf '%s' "it's\""""
    local = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                           env={"HOME": "/h"}, check=True)
    remote = subprocess.run(["sh", "-c", f"sh -c {_quoted(command)}"], capture_output=True,
                            text=True, env={"HOME": "/h"}, check=True)
    assert remote.stdout == local.stdout
