"""``after_create`` / ``after_update``: commands run once a guest is ready.

A guest's hooks reach the spec only as digests (``spec["hooks"]``, one blob per
list: a changed hook plans as an in-place change of ``hooks.after_create``, and
reruns; its text is never shown or stored); the commands themselves are in the
resource's settings. Providers never see them (``for_provider``).

Order of a step: the provider's create or update, the record (with the hooks as
they were before: a hook that fails runs again on the next apply), the wait
(``readiness``), the hooks, then the record with the hooks. A create runs
``after_create``; an update runs ``after_update``, and ``after_create`` too when
that list itself changed. Each hook runs to its end before the next; one that
exits non-zero fails the step (the guest stays). Its output is printed line by
line, prefixed with the guest's name.

- ``{ssh: CMD}`` (or a plain string): ``sh -c CMD`` over ssh as the guest's login
  user (``access.hosts``), in ``BatchMode`` (keys or an agent);
- ``{local: CMD}``: ``sh -c CMD`` here, in the stack's directory, with
  ``PROVISIONER_GUEST`` (name), ``_ADDRESS`` (``guests.web-0``), ``_IP``, ``_PORT``,
  ``_USER`` and ``_STACK_DIR`` in its environment (``ansible-playbook -l
  "$PROVISIONER_GUEST" ...``).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from provisioner.apply.readiness import SSH_OPTIONS
from provisioner.core.resources import LiveObject, Resource
from provisioner.errors import ProvisionerError
from provisioner.plan.model import FieldDiff, Operation
from provisioner.streams import write

HOOKS = "hooks"
LISTS = ("after_create", "after_update")
_OUTPUT = threading.Lock()


class HookFailedError(ProvisionerError):
    """A hook exited non-zero (or could not run); the guest stays as it is."""


def is_hook_path(path: str) -> bool:
    return path == HOOKS or path.startswith(HOOKS + ".")


def for_provider(resource: Resource) -> Resource:
    """The resource as providers see it: without its hooks' digests."""
    if HOOKS not in resource.spec:
        return resource
    return replace(resource, spec={k: v for k, v in resource.spec.items() if k != HOOKS})


def due(operation: Operation, fields: Sequence[FieldDiff]) -> list[str]:
    """Which hook lists a step runs."""
    if operation is Operation.CREATE:
        return ["after_create"]
    changed = {f.path for f in fields}
    return (["after_create"] if {"hooks", "hooks.after_create"} & changed else []) + \
        ["after_update"]


def as_before(resource: Resource, fields: Sequence[FieldDiff]) -> Resource:
    """The resource with its hooks' digests as they were before this step (what the
    record holds until the hooks have run)."""
    if HOOKS not in resource.spec:
        return resource
    hooks = dict(resource.spec[HOOKS] or {})
    for diff in fields:
        if diff.path == HOOKS:
            hooks = dict(diff.before or {})
        elif diff.path.startswith(HOOKS + "."):
            hooks[diff.path.removeprefix(HOOKS + ".")] = diff.before
    return replace(resource, spec={**resource.spec, HOOKS: hooks})


def run_hooks(resource: Resource, live: LiveObject, lists: Sequence[str]) -> None:
    """Run the hooks of ``lists`` in order. Raises HookFailedError."""
    for key in lists:
        for index, hook in enumerate(resource.settings.get(key) or ()):
            _run_one(resource, live, f"{key}[{index}]", hook)


def _run_one(resource: Resource, live: LiveObject, label: str,
             hook: Mapping[str, Any]) -> None:
    import subprocess  # only when a hook runs (issue 19)

    from provisioner.access.hosts import host_of
    from provisioner.access.ssh_config import ssh_command

    host = host_of(resource, live.attributes, live.name)
    if hook.get("local"):
        argv = ["sh", "-c", str(hook["local"])]
        env = {**os.environ, "PROVISIONER_GUEST": host.name,
               "PROVISIONER_ADDRESS": str(resource.address), "PROVISIONER_IP": host.ip or "",
               "PROVISIONER_PORT": str(host.port), "PROVISIONER_USER": host.user or "",
               "PROVISIONER_STACK_DIR": str(resource.settings.get("stack_dir") or ".")}
        cwd = resource.settings.get("stack_dir") or None
    else:
        if resource.spec.get("power") == "stopped":
            raise HookFailedError(f"{label}: a stopped guest runs no ssh hook",
                                  hint="start it (power: running), or use a {local: ...} "
                                       "hook")
        if host.ip is None:
            raise HookFailedError(f"{label}: no address to reach the guest over ssh",
                                  hint="use wait_for: ssh, or a {local: ...} hook")
        argv = ssh_command(host, ["sh", "-c", _quoted(str(hook["ssh"]))])
        argv[1:1] = SSH_OPTIONS
        env, cwd = None, None
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, env=env, cwd=cwd)
    except OSError as exc:
        raise HookFailedError(f"{label}: cannot run {argv[0]}: {exc.strerror}") from None
    assert process.stdout is not None
    for line in process.stdout:
        with _OUTPUT:
            write(sys.stdout, f"{live.name} | {line.rstrip()}\n")
    code = process.wait()
    if code != 0:
        raise HookFailedError(f"{label} exited {code}",
                              hint="its output is above; the next apply runs it again")


def _quoted(command: str) -> str:
    """``command`` as one word for the remote shell (ssh joins its arguments)."""
    return "'" + command.replace("'", "'\"'\"'") + "'"
