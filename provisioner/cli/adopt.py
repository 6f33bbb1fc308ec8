"""import: adopt an existing hypervisor object as a resource of the stack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from provisioner.cli.common import (
    echo,
    load,
    parse_addresses,
    user_errors,
)
from provisioner.cli.typer_flags import (
    DebugOption,
    EnvOption,
    StackPath,
    StateBackendOption,
    StateOption,
    VarFileOption,
    VarOption,
)

if TYPE_CHECKING:

    from provisioner.stack.loader import Stack


def import_(
    address: Annotated[str, typer.Argument(help="The resource it becomes, such as "
                                                "guests.web-0.")],
    name: Annotated[str, typer.Argument(help="The object's name on the hypervisor.")],
    stack: StackPath = Path("."),
    provider: Annotated[str | None, typer.Option(
        "--provider", help="The provider block it is on, when ADDRESS is not declared yet "
                           "and the stack has several.")] = None,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    lock_timeout: Annotated[float, typer.Option("--lock-timeout", min=0,
                                                help="Seconds to wait for another run's lock.")]
    = 0.0,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Adopt an existing object that no stack owns: tag it as ADDRESS of this stack,
    record it, and print the YAML that declares it as it is.

    The object itself is not changed, only tagged. Add the printed YAML to the
    stack (edit it as you like); the next plan shows what differs.

    Example: provisioner import guests.web-0 web-0 stacks/homelab
    """
    with user_errors(debug):
        from provisioner.cli.change import open_engine
        from provisioner.render.yaml import declaration_yaml

        loaded = load(stack, var, var_file, env=env, state=state, state_backend=state_backend)
        (target,) = parse_addresses([address], "import")
        declared = loaded.resource(target)
        block = declared.provider if declared else _provider_block(loaded, provider)

        with open_engine(loaded, state, state_backend) as engine:
            live = engine.adopt(target, name, block, lock_timeout)
        echo(f"Imported '{name}' as {target} (id {live.id}).")
        if declared is None:
            echo("It is protected from deletion until you declare it. Add it to the stack "
                 "as it is now:\n")
            echo(declaration_yaml(target, block, live.spec))
        echo("Run `provisioner plan` to see how it differs from the stack.")


def _provider_block(stack: Stack, provider: str | None) -> str:
    from provisioner.errors import UsageError

    names = sorted(stack.providers)
    if provider is not None:
        if provider not in stack.providers:
            raise UsageError(f"--provider {provider}: no such provider block",
                             hint="declared: " + (", ".join(names) or "none"))
        return provider
    if len(names) != 1:
        raise UsageError("the address is not declared, and the stack has "
                         f"{len(names)} provider blocks",
                         hint="say which with --provider NAME (" + ", ".join(names) + ")")
    return names[0]
