"""import: adopt an existing hypervisor object as a resource of the stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provisioner.cli.common import (
    DebugOption,
    StackPath,
    StateBackendOption,
    StateOption,
    VarFileOption,
    VarOption,
    echo,
    load,
    parse_addresses,
    user_errors,
)


def import_(
    address: Annotated[str, typer.Argument(help="The resource it becomes, such as "
                                                "guests.web-0 (declared in the stack).")],
    name: Annotated[str, typer.Argument(help="The object's name on the hypervisor.")],
    stack: StackPath = Path("."),
    var: VarOption = None,
    var_file: VarFileOption = None,
    lock_timeout: Annotated[float, typer.Option("--lock-timeout", min=0,
                                                help="Seconds to wait for another run's lock.")]
    = 0.0,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Adopt an existing object that no stack owns: tag it as ADDRESS of this stack.

    The object itself is not changed, only tagged; the next plan shows how it
    differs from what the stack declares.

    Example: provisioner import guests.web-0 web-0 stacks/homelab
    """
    with user_errors(debug):
        from provisioner.apply.executor import applied_record
        from provisioner.cli.change import open_engine
        from provisioner.errors import UsageError
        from provisioner.resources import Resource

        loaded = load(stack, var, var_file)
        (target,) = parse_addresses([address], "import")
        declared = loaded.resource(target)
        if declared is None:
            names = ", ".join(str(r.address) for r in loaded.resources) or "none"
            raise UsageError(f"{address} is not declared in stack {loaded.name}",
                             hint=f"declare it first; declared: {names}")
        with open_engine(loaded, state, state_backend) as engine, \
                engine.store.lock("import", lock_timeout):
            provider = engine.providers()[declared.provider]
            live = provider.adopt(declared.address, name)
            observed = Resource(declared.address, declared.provider, live.spec,
                                deps=declared.deps, lifecycle=declared.lifecycle)
            engine.store.record_applied(applied_record(observed, live))
        echo(f"Imported '{name}' as {declared.address} (id {live.id}).")
        echo("Run `provisioner plan` to see how it differs from the stack.")
