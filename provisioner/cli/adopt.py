"""import: adopt an existing hypervisor object as a resource of the stack."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args

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

if TYPE_CHECKING:
    from pydantic import BaseModel

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
        from provisioner.apply.executor import applied_record
        from provisioner.cli.change import open_engine
        from provisioner.core.resources import Protection, Resource
        from provisioner.render.yaml import declaration_yaml

        loaded = load(stack, var, var_file)
        (target,) = parse_addresses([address], "import")
        declared = loaded.resource(target)
        block = declared.provider if declared else _provider_block(loaded, provider)

        with open_engine(loaded, state, state_backend) as engine, \
                engine.store.lock("import", lock_timeout):
            live = engine.providers()[block].adopt(target, name)
            spec = _as_declared(loaded, block, target.kind, live.spec)
            # Not declared yet: protected, so a plan before the YAML is added refuses to
            # delete what was just adopted instead of planning its deletion.
            observed = Resource(target, block, spec,
                                deps=declared.deps if declared else live.deps,
                                lifecycle=declared.lifecycle if declared
                                else Protection(prevent_destroy=True))
            engine.store.record_applied(applied_record(observed, live))
        echo(f"Imported '{name}' as {target} (id {live.id}).")
        if declared is None:
            echo("It is protected from deletion until you declare it. Add it to the stack "
                 "as it is now:\n")
            echo(declaration_yaml(target, block, spec))
        echo("Run `provisioner plan` to see how it differs from the stack.")


def _as_declared(stack: Stack, block: str, kind: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec as the loader makes it from the printed YAML: options at their default
    left out, as the loader leaves them out of a declared spec. Recorded with a default
    option set, the first plan after the YAML is pasted would see the option removed
    (``options.full_clone: true -> null``, a replacement)."""
    model = stack.providers[block].plugin.options_models.get(kind)
    options = spec.get("options")
    if model is None or not isinstance(options, Mapping):
        return dict(spec)
    return {**spec, "options": _without_defaults(model, options)}


def _without_defaults(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without the fields at their model default, nested models too (what
    ``model_dump(exclude_defaults=True)`` keeps, without validating what was read)."""
    from pydantic import BaseModel

    kept = {}
    for key, read in values.items():
        field = model.model_fields.get(key)
        if field is None:
            kept[key] = read
            continue
        nested = next((t for t in (field.annotation, *get_args(field.annotation))
                       if isinstance(t, type) and issubclass(t, BaseModel)), None)
        value = _without_defaults(nested, read) if nested is not None and \
            isinstance(read, Mapping) else read
        if field.is_required() or value != field.get_default(call_default_factory=True):
            kept[key] = value
    return kept


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
