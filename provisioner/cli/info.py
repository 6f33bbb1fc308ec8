"""show, graph, schema, providers: the commands that only read (validate: validate_cmd.py)."""

from __future__ import annotations

import importlib.util
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from provisioner.cli.common import (
    echo,
    load,
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


def show(
    stack: StackPath = Path("."),
    json_output: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    state: StateOption = None,
    state_backend: StateBackendOption = None,
    debug: DebugOption = False,
) -> None:
    """Show what the state store knows (resources, outputs, runs, unfinished calls),
    or a saved plan file.

    Reads only the state; use plan to compare with the hypervisors.

    Example: provisioner show stacks/demo --json; provisioner show demo.plan
    """
    with user_errors(debug):
        from provisioner.render.planfile import is_plan_file, read_plan_file

        if is_plan_file(stack):
            saved = read_plan_file(stack)
            echo(json.dumps(saved.document, indent=2) if json_output else saved.text)
            return
        from provisioner.state.factory import open_store

        loaded = load(stack, var, var_file, secrets="state", env=env, state=state,
                      state_backend=state_backend)
        with open_store(loaded, state, state_backend) as store:
            document = _state_document(loaded.name, loaded.environment, store)
        if json_output:
            echo(json.dumps(document, indent=2))
        else:
            echo(_state_text(document))


def _state_document(stack: str, environment: str | None, store: Any) -> dict[str, Any]:
    return {
        "stack": stack,
        "environment": environment,
        "resources": [
            {"address": str(r.address), "provider": r.provider, "name": r.name, "id": r.live_id,
             "applied_at": r.applied_at, "attributes": dict(r.attributes)}
            for r in sorted(store.applied().values(), key=lambda r: r.address)
        ],
        "outputs": store.outputs(),
        "runs": [{"id": r.id, "command": r.command, "started_at": r.started_at,
                  "finished_at": r.finished_at, "status": r.status, "summary": dict(r.summary)}
                 for r in store.runs(10)],
        "unresolved": [{"run": e.run_id, "address": e.address, "operation": e.operation,
                        "started_at": e.started_at} for e in store.unresolved()],
        "lock": _holder(store.lock_holder()),
    }


def _holder(holder: Any) -> dict[str, Any] | None:
    if holder is None:
        return None
    return {"id": holder.id, "operation": holder.operation, "user": holder.user,
            "host": holder.host, "pid": holder.pid, "since": holder.since,
            "text": holder.describe()}


def _state_text(document: dict[str, Any]) -> str:
    environment = document["environment"]
    lines = [f"Stack {document['stack']}"
             + (f", environment {environment}" if environment else "")]
    resources = document["resources"]
    lines.append(f"\nResources ({len(resources)}):")
    lines += [f"  {r['address']:<28} {r['provider']:<10} {r['name']:<18} "
              f"{r['attributes'].get('state') or '':<8} {r['attributes'].get('ip') or '':<15} "
              f"{r['applied_at']}"
              for r in resources] or ["  (none applied yet)"]
    if document["outputs"]:
        lines.append("\nOutputs:")
        lines += [f"  {k} = {json.dumps(v)}" for k, v in document["outputs"].items()]
    if document["runs"]:
        lines.append("\nRecent runs:")
        lines += [f"  {r['started_at']}  {r['command']:<8} {r['status']:<8} "
                  + ", ".join(f"{n} {k}" for k, n in r["summary"].items() if n)
                  for r in document["runs"]]
    if document["lock"]:
        lines.append(f"\nLocked by a run in progress: {document['lock']['text']}")
    if document["unresolved"]:
        lines.append("\nProvider calls in progress (the run holding the lock is making them):"
                     if document["lock"] else
                     "\nUnfinished provider calls (the run stopped during them):")
        lines += [f"  {e['started_at']}  {e['operation']} {e['address']} (run {e['run']})"
                  for e in document["unresolved"]]
    return "\n".join(lines)


class GraphFormat(StrEnum):
    DOT = "dot"
    MERMAID = "mermaid"


def graph(
    stack: StackPath = Path("."),
    output_format: Annotated[GraphFormat, typer.Option("--format", help="dot or mermaid.")]
    = GraphFormat.DOT,
    var: VarOption = None,
    var_file: VarFileOption = None,
    env: EnvOption = None,
    debug: DebugOption = False,
) -> None:
    """Print the stack's dependency graph (an edge points from a dependency to its user).

    Needs no hypervisor. Render with `dot -Tsvg` or paste into a Mermaid block.

    Example: provisioner graph stacks/demo --format mermaid
    """
    with user_errors(debug):
        from provisioner.render.graph import (
            render_resource_graph_dot,
            render_resource_graph_mermaid,
        )

        loaded = load(stack, var, var_file, secrets="none", env=env)
        if output_format is GraphFormat.DOT:
            echo(render_resource_graph_dot(loaded.resources))
        else:
            echo(render_resource_graph_mermaid(loaded.resources))


def schema(
    module: Annotated[bool, typer.Option(
        "--module", help="The schema of a module's files (no stack:, providers:, state:).")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Print the JSON Schema of stack files (for editors and CI validation).

    Example: provisioner schema > stack.schema.json
    Example: provisioner schema --module > module.schema.json
    """
    with user_errors(debug):
        from provisioner.schema import render_schema

        echo(render_schema(module))


def providers(debug: DebugOption = False) -> None:
    """List the installed provider plugins, their versions, and whether each can run here.

    Example: provisioner providers
    """
    with user_errors(debug):
        from provisioner.core.plugins import RETIRED, get_plugin, installed_types

        types = installed_types()
        width = max(len(name) for name in [*types, *RETIRED])
        for type_name in types:
            plugin = get_plugin(type_name)
            ready = not plugin.requires or importlib.util.find_spec(plugin.requires) is not None
            status = "ready" if ready else f"needs: pip install 'provisioner[{plugin.extra}]'"
            if not plugin.requires:
                status = "no Python extra needed"
            note = f"; {plugin.probe()}" if ready and plugin.probe is not None else ""
            echo(f"{type_name:<{width}} {plugin.version:<8} {status:<40} {plugin.summary}{note}")
        for type_name, retired in RETIRED.items():
            echo(f"{type_name:<{width}} {'-':<8} {'not supported':<40} {retired.product}: "
                 f"{retired.reason}; successor: {retired.successor}")
