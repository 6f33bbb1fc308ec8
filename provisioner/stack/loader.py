"""Load a stack: files → merged YAML → variables → validation → Resources.

Every step collects problems instead of raising, so one run reports all of
them; ``load_stack`` raises a single StackError at the end if any were found.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioner.core.address import NAME_HELP, NAME_RE, Address, Kind
from provisioner.core.file_access import allowed_directories
from provisioner.errors import StackError, StackProblem
from provisioner.stack.checks import (
    check_ignore_changes,
    check_outputs,
    check_placement_groups,
    check_providers,
)
from provisioner.stack.declarations import Declarations
from provisioner.stack.encrypted import decrypted_texts
from provisioner.stack.environments import Environment, check_identity, with_environment
from provisioner.stack.files import StackFiles, merge_documents, stack_files
from provisioner.stack.images import check_image_files, settle_image_providers
from provisioner.stack.interpolate import Interpolation, Interpolator, Namespace
from provisioner.stack.macs_and_ips import check_macs_and_ips
from provisioner.stack.model import (
    SECTION_MODELS,
    Image,
    OutputSpec,
    PlacementGroup,
    ResourceBase,
    StackSettings,
    StackSkeleton,
    Variable,
)
from provisioner.stack.module_names import Scoping, module_address, module_problem_path
from provisioner.stack.module_outputs import LaterModuleOutputs
from provisioner.stack.modules import Expansion, ModuleExpander
from provisioner.stack.moves import check_moves
from provisioner.stack.other_stacks import OtherStacks, OutputsSource
from provisioner.stack.outputs_section import read_outputs
from provisioner.stack.provider_blocks import group_kinds, members_view, read_providers
from provisioner.stack.repetition import (
    Repetition,
    alias_paths,
    expand_repetition,
    fold_instance_problems,
)
from provisioner.stack.resolve import Resolver
from provisioner.stack.secrets import (
    Secrets,
    Unset,
    check_decrypted,
    check_secrets,
    not_needed,
    secret_fields,
)
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.stack.stack import ProviderConfig, Stack
from provisioner.stack.stored_values import check_stored_values
from provisioner.stack.validation import validate_model
from provisioner.stack.variables import VariableInputs, resolve_variables

_SECTIONS = tuple(kind.value for kind in Kind)
__all__ = ["ProviderConfig", "Stack", "load_stack"]  # Stack is imported from here too


def load_stack(
    path: Path,
    inputs: VariableInputs | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    secrets: Secrets = Secrets.ALL,
    environment: str | None = None,
    outputs_from: OutputsSource | None = None,
) -> Stack:
    """Load and validate the stack at ``path``; raises StackError listing every problem.

    ``secrets``: which secrets the command needs (secrets.py); a secret field whose
    value it does not need may stay unset, and then holds its ``${...}`` text.
    ``environment``: read ``env/NAME.yaml`` over the stack (environments.py);
    ``outputs_from``: where ``${stack.NAME.outputs.X}`` is read (other_stacks.py;
    None: such references are checked for their form only)."""
    inputs = inputs or VariableInputs()
    cwd = cwd or Path.cwd()
    files = stack_files(path, cwd, inputs.files)
    root = path if path.is_dir() else path.parent
    return _Loader(root.resolve(), inputs, environ, cwd, secrets, environment,
                   outputs_from).load(files)


class _Loader:
    def __init__(self, root: Path, inputs: VariableInputs, environ: Mapping[str, str] | None,
                 cwd: Path, secrets: Secrets, environment: str | None = None,
                 outputs_from: OutputsSource | None = None) -> None:
        self.root = root
        self.inputs = inputs
        self.environ = environ
        self.cwd = cwd
        self.secrets = secrets
        self.problems: list[StackProblem] = []
        self.hidden: set[PathKey] = set()  # values from secrets: never quoted in problems
        self.unset_variables: dict[str, StackProblem] = {}
        self.environment = environment
        self.outputs_from = outputs_from

    def load(self, files: StackFiles) -> Stack:
        data, source, problems = merge_documents(files.documents)
        self.problems += problems
        if not data and self.problems:
            raise StackError(self.problems)  # nothing readable: "missing apiVersion" is noise
        environment, problems = with_environment(self.root, self.environment, data, source)
        self.problems += problems
        variables, sensitive, declared = self._variables(data, source, environment)
        others = OtherStacks.reading(self.outputs_from, data.get("state"), source,
                                     Interpolator(variables, sensitive, source, self.environ),
                                     self.environment)
        expanded = self._expanded(data, source, variables, sensitive, declared, others)
        interpolation, modules, repetition = (expanded.interpolation, expanded.modules,
                                              expanded.repetition)
        directories = (self.root, *modules.directories)
        data = repetition.data
        top = self._top_level(data, source)
        providers, validated = self._read_providers(data, source)
        groups = top.placement_groups if top is not None else {}
        self.problems += check_placement_groups(groups, providers, source)
        declarations = self._declarations(data, source, providers, validated, groups,
                                          repetition)
        served = {name: tuple(kind for kind in Kind if kind in p.plugin.kinds) if p else None
                  for name, p in providers.items()}
        served |= {name: group_kinds(group, providers) for name, group in groups.items()}
        self.problems += settle_image_providers(declarations.entries, groups, served, source)
        self.problems += check_image_files(declarations.entries, self.root, source,
                                           directories)
        self._image_options(declarations, source, providers, validated)
        self.problems += check_providers(declarations.entries, served, source)
        self.problems += check_ignore_changes(declarations.entries, source)
        self.problems += check_stored_values(declarations.entries,
                                             members_view(providers, groups), source)
        if top is not None:
            validated[("state",)] = top.state
        self._check_secrets(validated, interpolation, sensitive, source)
        members = {name: list(group.providers) for name, group in groups.items()}
        image_blocks = {name for name, kinds in served.items() if Kind.IMAGE in (kinds or ())}
        resolution = Resolver(declarations, source, self.root, members, image_blocks,
                              directories, modules.anchors,
                              interpolation.kept_escaped or modules.kept_escaped).run()
        self.problems += resolution.problems
        self.problems += check_macs_and_ips(resolution.resources, resolution.groups, source)
        scoping = Scoping(modules.names, resolution.groups)
        resources = tuple(scoping.resource(r) for r in resolution.resources)
        moves = check_moves(top.moved if top else [], {r.address for r in resources},
                            scoping.written_groups(resolution.groups), source)
        self.problems += moves.problems
        outputs, problems = read_outputs(data, source, modules.outputs)
        self.problems += problems + others.read_for_outputs(outputs, source)
        known: dict[Address, list[Address]] = {a: [] for a in declarations.invalid}
        known |= {a: [] for a in declarations.disabled} | resolution.groups
        self.problems += check_outputs(outputs, known, dict.fromkeys(declared), source)
        if top is not None:
            self.problems += check_identity(top.stack, self.environment,
                                            source.value_at(("stack",)))
        self.problems = fold_instance_problems(self.problems, repetition.instances)
        if self.problems or top is None:
            secrets = {str(variables[name]) for name in sensitive if name in variables}
            secrets |= expanded.decrypted
            raise StackError([_redacted(replace(p, path=module_problem_path(p.path, modules.names)),
                                        secrets) for p in self.problems])
        return Stack(
            name=top.stack,
            root=self.root,
            files=tuple(files.paths),
            providers={name: p for name, p in providers.items() if p is not None},
            resources=resources,
            moves=moves.moves,
            groups=scoping.groups(resolution.groups),
            declared_as=scoping.declared_as,
            disabled=frozenset(declarations.disabled) | {
                found for flat in declarations.disabled
                if (found := module_address(flat, modules.names)) is not None},
            outputs={name: OutputSpec(value=output) if isinstance(output, str) else output
                     for name, output in outputs.items()},
            state=top.state,
            source=source,
            placement_groups=dict(top.placement_groups),
            variables={k: v for k, v in variables.items() if k not in sensitive},
            digest=_digest([*files.paths, *modules.files,
                            *([environment.path] if environment else [])], variables),
            skipped=tuple(files.skipped),
            environment=self.environment,
            other_outputs=dict(others.read),
        )


    def _expanded(self, data: dict[str, Any], source: SourceMap, variables: dict[str, Any],
                  sensitive: set[str], declared: set[str], others: OtherStacks) -> _Expanded:
        """Variables substituted, modules expanded, for_each instances made; what is
        hidden (secrets) follows the values to their new paths."""
        namespaces: dict[str, Namespace] = {"stack": others, "module": LaterModuleOutputs()}
        interpolation = Interpolator(variables, sensitive, source, self.environ, declared,
                                     namespaces).run(
            data, skip=lambda p: p[:1] in (("variables",), ("outputs",), ("modules",))
            or p in source.decrypted
        )  # a decrypted value is taken as it is, as a --var value
        self.problems += interpolation.problems
        modules = ModuleExpander(self.root, self.cwd, self.environ, namespaces).run(
            interpolation.data, source, variables, sensitive, set(declared))
        self.problems += modules.problems
        interpolation.sensitive_paths |= modules.sensitive_paths
        interpolation.environment_paths |= modules.environment_paths
        self.hidden = set(interpolation.sensitive_paths) | interpolation.environment_paths
        self.hidden |= source.decrypted
        decrypted = decrypted_texts(interpolation.data, source.decrypted)
        repetition = expand_repetition(interpolation.data, source)
        self.problems += repetition.problems
        self.hidden = alias_paths(self.hidden, repetition.declared_as())
        return _Expanded(interpolation, modules, repetition, decrypted)

    def _check_secrets(self, validated: dict[PathKey, Any], interpolation: Interpolation,
                       sensitive: set[str], source: SourceMap) -> None:
        """Report secrets written as literals or used elsewhere; forget the unset values
        this command does not need (they were reported as they were found)."""
        secret_paths = secret_fields(validated)
        self.problems += check_secrets(secret_paths, interpolation.sensitive_paths,
                                       interpolation.environment_paths, source)
        self.problems += check_decrypted(secret_paths, source)
        unset = Unset(interpolation.unset_environment, self.unset_variables,
                      interpolation.sensitive_paths)
        dropped = not_needed(self.secrets, secret_paths, unset, sensitive)
        self.problems = [p for p in self.problems if not any(p is d for d in dropped)]

    def _variables(
        self, data: dict[str, Any], source: SourceMap, environment: Environment | None
    ) -> tuple[dict[str, Any], set[str], set[str]]:
        """Values, names of the sensitive ones, names of all declared ones."""
        section = data.get("variables") or {}
        if not isinstance(section, dict):
            return {}, set(), set()  # reported by the top-level validation
        declared: dict[str, Variable] = {}
        for name, entry in section.items():
            variable, problems = validate_model(Variable, entry, source, ("variables", name))
            self.problems += problems
            if variable is not None:
                declared[name] = variable
        encrypted = {name for name in declared if any(p[:2] == ("variables", name)
                                                      for p in source.decrypted)}
        for name in encrypted:  # an encrypted default is a secret
            declared[name] = declared[name].model_copy(update={"sensitive": True})
        values = resolve_variables(declared, source, self.inputs,
                                   allowed_directories(self.root, self.cwd), encrypted,
                                   environment)
        self.problems += values.problems
        self.unset_variables = values.unset
        return values.values, values.sensitive, set(section)

    def _top_level(self, data: dict[str, Any], source: SourceMap) -> StackSettings | None:
        """Validate everything but resources, provider settings, variables and outputs.

        Those are validated one entry at a time elsewhere; here only their names
        and the sections' types are, so no problem is reported twice.
        """
        skeleton = {key: value for key, value in data.items() if key not in _SECTIONS}
        for key in _SECTIONS:
            if key in data and not isinstance(data[key], dict):
                skeleton[key] = data[key]  # let the model report the wrong type
        if isinstance(skeleton.get("providers"), dict):
            skeleton["providers"] = {
                name: {"type": block.get("type")} if isinstance(block, dict) else block
                for name, block in skeleton["providers"].items()
            }
        if isinstance(skeleton.get("variables"), dict):
            skeleton["variables"] = {name: {} for name in skeleton["variables"]}
        if isinstance(skeleton.get("outputs"), dict):
            skeleton["outputs"] = dict.fromkeys(skeleton["outputs"], "")
        if isinstance(skeleton.get("modules"), dict):
            del skeleton["modules"]  # validated call by call as they are expanded
        model, problems = validate_model(StackSkeleton, skeleton, source, hidden=self.hidden)
        self.problems += problems
        return model

    def _read_providers(self, data: dict[str, Any], source: SourceMap
                        ) -> tuple[dict[str, ProviderConfig | None], dict[PathKey, Any]]:
        configs, validated, problems = read_providers(data, source, self.hidden)
        self.problems += problems
        return configs, validated

    def _declarations(
        self,
        data: dict[str, Any],
        source: SourceMap,
        providers: Mapping[str, ProviderConfig | None],
        validated: dict[PathKey, Any],
        groups: Mapping[str, PlacementGroup],
        repetition: Repetition,
    ) -> Declarations:
        declarations = Declarations(invalid=set(repetition.invalid),
                                    instances=repetition.instances,
                                    disabled=repetition.disabled)
        for kind in Kind:
            section = data.get(kind.value)
            entries: dict[str, ResourceBase] = {}
            declarations.entries[kind] = entries
            if not isinstance(section, dict):
                continue
            for name, raw in section.items():
                path: PathKey = (kind.value, name)
                if not NAME_RE.match(name):
                    self.problems.append(StackProblem(source.key_at(path), format_path(path),
                                                 f"'{name}' is not a valid name", NAME_HELP))
                entry, problems = validate_model(SECTION_MODELS[kind.value], raw, source, path,
                                                 self.hidden)
                self.problems += problems
                if entry is None:
                    declarations.invalid.add(Address(kind, name))
                elif Address(kind, name) in declarations.disabled:
                    continue  # validated, and left out of the stack
                else:
                    entries[name] = self._with_options(kind, entry, path, source,
                                                       members_view(providers, groups),
                                                       validated)
        return declarations

    def _with_options(
        self,
        kind: Kind,
        entry: ResourceBase,
        path: PathKey,
        source: SourceMap,
        providers: Mapping[str, ProviderConfig | None],
        validated: dict[PathKey, Any],
    ) -> ResourceBase:
        provider = providers.get(entry.provider)
        if provider is None or kind not in provider.plugin.kinds:
            return entry  # reported by check_providers
        model = provider.plugin.options_model(kind)
        options, problems = validate_model(model, entry.options, source, (*path, "options"),
                                           self.hidden)
        self.problems += problems
        if options is None:
            return entry
        validated[(*path, "options")] = options
        dumped = options.model_dump(exclude_defaults=True)
        return entry.model_copy(update={"options": dumped})

    def _image_options(self, declarations: Declarations, source: SourceMap,
                       providers: Mapping[str, ProviderConfig | None],
                       validated: dict[PathKey, Any]) -> None:
        """An image on several provider blocks (or on those of its guests) has its
        ``options:`` validated by each of them: every block receives them."""
        for name, entry in declarations.entries.get(Kind.IMAGE, {}).items():
            if not isinstance(entry, Image) or entry.provider is not None or not entry.options:
                continue
            for block in entry.providers or []:
                self._with_options(Kind.IMAGE, entry.model_copy(update={"provider": block}),
                                   (Kind.IMAGE.value, name), source, providers, validated)


@dataclass(frozen=True)
class _Expanded:
    interpolation: Interpolation
    modules: Expansion
    repetition: Repetition
    decrypted: set[str]


def _redacted(problem: StackProblem, secrets: set[str]) -> StackProblem:
    """The problem without the values of sensitive variables: checks after validation
    quote the values they refuse (``unknown volume 'data...'``)."""
    message, hint = problem.message, problem.hint
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        message, hint = message.replace(secret, "(sensitive)"), hint.replace(secret, "(sensitive)")
    return replace(problem, message=message, hint=hint)


def _digest(files: list[Path], variables: Mapping[str, Any]) -> str:
    hasher = hashlib.sha256()
    for path in files:
        hasher.update(path.name.encode())
        hasher.update(path.read_bytes())
    hasher.update(json.dumps(variables, sort_keys=True, default=str).encode())
    return "sha256:" + hasher.hexdigest()
