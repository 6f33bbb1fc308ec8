"""Modules: a directory of stack files used by a stack (or another module) as a unit.

```yaml
modules:
  k8s:
    source: ../modules/k8s-cluster
    inputs: {workers: 3, network: "${networks.lab.name}"}
    providers: {kvm: kvm}
```

A module's files hold ``variables:`` (its inputs), resources, ``outputs:`` and
``modules:`` of its own; no ``stack:``, ``providers:``, ``state:`` or
``placement_groups:`` (the caller's are used: ``providers:`` binds the module's
provider names to the caller's; a name left unbound is the caller's block of that
name). Each instance is expanded here, after the caller's variables are known and
before validation: its inputs are typed and checked like variables (problems at the
caller's line), its files interpolated with them, its resources added to the
stack's sections under flat names (module_names.py) with their source positions, and
``names`` remembers which module path and local name each flat name stands for.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.core.address import NAME_HELP, NAME_RE, Kind
from provisioner.core.file_access import FileRefused, allowed_directories, confined
from provisioner.errors import Position, StackProblem, UserError
from provisioner.stack.each import EachProblem, each_paths, each_value
from provisioner.stack.files import merge_documents, stack_files
from provisioner.stack.interpolate import Interpolator, Namespace
from provisioner.stack.model import NOT_IN_A_MODULE, ModuleCall, Variable
from provisioner.stack.module_names import ModuleScope, ReferencePrefixer, caller_names
from provisioner.stack.module_outputs import ModuleOutput, module_outputs, with_module_names
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.stack.validation import validate_model
from provisioner.stack.variables import declared_type, value_matches

MAX_DEPTH = 16


@dataclass
class Expansion:
    """What expanding a stack's modules added, besides the resources themselves."""

    names: dict[tuple[Kind, str], tuple[tuple[str, ...], str]] = field(default_factory=dict)
    """Flat name of each module resource → (module path, its name in the module)."""
    outputs: dict[tuple[tuple[str, ...], str], ModuleOutput] = field(default_factory=dict)
    directories: list[Path] = field(default_factory=list)
    """Module directories: the files a module names are read from them."""
    kept_escaped: bool = False
    """A module's literal ``$${count.index}`` was kept escaped (interpolate.py)."""
    anchors: dict[tuple[Kind, str], Position] = field(default_factory=dict)
    """Flat name of each module resource → where the stack uses its (outermost) module."""
    files: list[Path] = field(default_factory=list)
    problems: list[StackProblem] = field(default_factory=list)
    sensitive_paths: dict[PathKey, str] = field(default_factory=dict)
    environment_paths: set[PathKey] = field(default_factory=set)


@dataclass
class _Caller:
    """The stack or module instance whose ``modules:`` are expanded."""

    scope: ModuleScope
    data: dict[str, Any]
    source: SourceMap
    variables: Mapping[str, Any]
    sensitive: set[str]
    declared: set[str]
    chain: tuple[Path, ...]
    anchor: Position | None = None
    """Where the stack uses the outermost module of this instance (None: the stack)."""


class ModuleExpander:
    """Expands every module instance of a stack into its sections, in place."""

    def __init__(self, root: Path, cwd: Path, environ: Mapping[str, str] | None,
                 namespaces: Mapping[str, Namespace] | None = None) -> None:
        """``namespaces``: the stack's extra ones (``stack.``), read in modules too."""
        self.namespaces = namespaces
        self.root = root
        self.cwd = cwd
        self.environ = environ
        self.result = Expansion()
        self.sink: dict[str, Any] = {}
        self.sink_source = SourceMap()
        self.bounds = allowed_directories(repository_root(root), root)

    def run(self, data: dict[str, Any], source: SourceMap, variables: Mapping[str, Any],
            sensitive: set[str], declared: set[str]) -> Expansion:
        self.sink, self.sink_source = data, source
        root_scope = ModuleScope((), "", self.root, _declared(data))
        self._calls(_Caller(root_scope, data, source, variables, sensitive, declared,
                            (self.root.resolve(),)))
        self._module_names(data, (), source)
        self.result.problems = list(dict.fromkeys(self.result.problems))  # (for_each instances)
        return self.result

    def _calls(self, caller: _Caller) -> None:
        calls = caller.data.get("modules")
        if calls is None:
            return
        if not isinstance(calls, dict):
            self._problem(caller.source, ("modules",), "modules: is a mapping of NAME: "
                          "{source: DIR, inputs: {...}}", "see docs/stack-files.md, Modules")
            return
        for name, raw in calls.items():
            self._call(caller, name, raw)

    def _call(self, caller: _Caller, name: str, raw: Any) -> None:
        where: PathKey = ("modules", name)
        raw, secret_inputs = self._interpolated_call(caller, name, raw)
        call, problems = validate_model(ModuleCall, raw, caller.source, where)
        self.result.problems += problems
        if call is None:
            return
        if call.for_each is None:
            for at, text in each_paths(call.inputs, (*where, "inputs")):
                self._problem(caller.source, at, f"'{text}' is known only in a module or "
                              "resource with for_each", "add for_each: (a list or map), or "
                              "write the value itself")
            self._instance(caller, name, call, where, secret_inputs)
            return
        items = call.for_each.items() if isinstance(call.for_each, dict) else \
            ((key, key) for key in call.for_each)
        for key, item in items:
            if not NAME_RE.match(f"{name}-{key}"):
                self._problem(caller.source, (*where, "for_each", key if isinstance(
                    call.for_each, dict) else list(call.for_each).index(key)),
                    f"key '{key}' would make the module instance '{name}-{key}', not a name",
                    NAME_HELP)
                continue
            found: list[EachProblem] = []
            inputs = each_value(call.inputs, key, item, found)
            for problem in found:
                self._problem(caller.source, (*where, "inputs", *problem.path),
                              f"{problem.message} (for_each key '{key}')", problem.hint)
            if not found:
                prefix = None if call.name_prefix is None else f"{call.name_prefix}{key}-"
                self._instance(caller, f"{name}-{key}", call.model_copy(
                    update={"inputs": inputs, "name_prefix": prefix}), where, secret_inputs)

    def _instance(self, caller: _Caller, name: str, call: ModuleCall, where: PathKey,
                  secret_inputs: set[str]) -> None:
        """Expand one instance of a module (``name``: the call's, or ``NAME-KEY`` of one
        of its for_each keys)."""
        path = (*caller.scope.path, name)
        if len(path) > MAX_DEPTH:
            self._problem(caller.source, where, f"modules nest more than {MAX_DEPTH} deep",
                          "a module that uses itself, directly or not, never ends")
            return
        directory = self._directory(caller, call, where)
        if directory is None:
            return
        module = self._read(caller, directory, where)
        if module is None:
            return
        data, source = module
        known = len(self.result.problems)
        values, sensitive, declared = self._inputs(caller, call, name, data, source,
                                                   secret_inputs)
        if len(self.result.problems) > known:
            return  # its resources would only repeat what the inputs lack
        prefix = call.name_prefix if call.name_prefix is not None else \
            caller.scope.prefix + name + "-"
        scope = ModuleScope(path, prefix, directory, _declared(data),
                            self._binding(caller, call, data))
        self.result.problems += ReferencePrefixer(scope, source).run(data)
        interpolation = Interpolator(values, sensitive, source, self.environ, declared,
                                     self.namespaces).run(
            data, skip=lambda p: p[:1] in (("variables",), ("outputs",), ("modules",))
            or p in source.decrypted)
        self.result.problems += interpolation.problems
        self.result.kept_escaped |= interpolation.kept_escaped
        data = interpolation.data
        anchor = caller.anchor or caller.source.key_at(where)
        inner = _Caller(scope, data, source, values, sensitive, declared,
                        (*caller.chain, directory), anchor)
        self._calls(inner)
        self._module_names(data, path, source)
        if not call.enabled:  # declared disabled: deleted if present, outputs empty
            _disable(data)
        self._splice(scope, anchor, data, source, interpolation.sensitive_paths,
                     interpolation.environment_paths)
        problems, outputs = module_outputs(scope, data, source, values, sensitive,
                                           self.result.outputs)
        self.result.problems += problems
        self.result.outputs |= outputs

    def _module_names(self, data: dict[str, Any], path: tuple[str, ...],
                      source: SourceMap) -> None:
        """Put the names the modules inside ``path`` give into its resources, in place."""
        for kind in Kind:
            section = data.get(kind.value)
            if isinstance(section, dict):
                data[kind.value], problems = with_module_names(
                    section, path, self.result.outputs, source, (kind.value,))
                self.result.problems += problems

    def _interpolated_call(self, caller: _Caller, name: str, raw: Any) -> tuple[Any, set[str]]:
        """The call with the caller's variables and resource names substituted, and the
        inputs given a sensitive value."""
        if not isinstance(raw, dict):
            return raw, set()
        def flat(kind: Kind, name: str) -> str | None:
            return caller.scope.flat(name) if caller.scope.declares(kind, name) else None

        named = _map_strings(copy.deepcopy(raw), lambda text: caller_names(text, flat))
        interpolation = Interpolator(caller.variables, caller.sensitive, caller.source,
                                     self.environ, caller.declared, self.namespaces).run(
            {"modules": {name: named}}, skip=lambda p: False)
        self.result.problems += interpolation.problems
        secret_inputs = {str(path[3]) for path in interpolation.sensitive_paths
                         if len(path) > 3 and path[2] == "inputs"}
        named, problems = with_module_names(interpolation.data["modules"][name],
                                            caller.scope.path, self.result.outputs,
                                            caller.source, ("modules", name))
        self.result.problems += problems
        return named, secret_inputs

    def _directory(self, caller: _Caller, call: ModuleCall, where: PathKey) -> Path | None:
        directory = caller.scope.directory / call.source
        try:
            resolved = confined(directory, self.bounds, f"module source {call.source}")
        except FileRefused as exc:
            self._problem(caller.source, (*where, "source"), exc.message,
                          exc.hint + "; a module must be in the stack's repository")
            return None
        if resolved in caller.chain:
            self._problem(caller.source, (*where, "source"),
                          f"module {call.source} uses itself", "a module cannot contain "
                          "itself, directly or through another module")
            return None
        if not resolved.is_dir():
            self._problem(caller.source, (*where, "source"),
                          f"module source {call.source} is not a directory ({resolved})",
                          "a module is a directory of stack files, relative to the file "
                          "that uses it")
            return None
        return resolved

    def _read(self, caller: _Caller, directory: Path, where: PathKey
              ) -> tuple[dict[str, Any], SourceMap] | None:
        try:
            files = stack_files(directory, self.cwd)
        except UserError as exc:
            self._problem(caller.source, (*where, "source"), exc.message, exc.hint)
            return None
        data, source, problems = merge_documents(files.documents)
        self.result.problems += [p for p in problems if p not in self.result.problems]
        if problems:
            return None  # (its inputs cannot be checked against variables it lacks)
        self.result.files += files.paths
        self.result.directories.append(directory)
        for key in NOT_IN_A_MODULE:
            if key in data:
                self._problem(source, (key,), f"a module has no `{key}:` of its own",
                              "the stack that uses the module has it; bind the module's "
                              "provider names with `providers:` in the call", key=True)
                del data[key]
        return data, source

    def _inputs(self, caller: _Caller, call: ModuleCall, name: str, data: dict[str, Any],
                source: SourceMap, secret_inputs: set[str]
                ) -> tuple[dict[str, Any], set[str], set[str]]:
        """The module's variables: inputs over defaults, typed; sensitive ones named."""
        section = data.get("variables") or {}
        declared: dict[str, Variable] = {}
        if isinstance(section, dict):
            for variable_name, entry in section.items():
                variable, problems = validate_model(Variable, entry, source,
                                                    ("variables", variable_name))
                self.result.problems += problems
                if variable is not None:
                    declared[variable_name] = variable
        values = {n: v.default for n, v in declared.items() if v.default is not None}
        sensitive = {n for n, v in declared.items() if v.sensitive}
        call_path: PathKey = ("modules", name)
        refused: set[str] = set()
        for input_name, value in call.inputs.items():
            at = (*call_path, "inputs", input_name)
            if input_name not in declared:
                self._problem(caller.source, at, f"module {name} has no input "
                              f"'{input_name}'", "its inputs: " + (", ".join(sorted(declared))
                                                                   or "none"))
                continue
            kind = declared_type(declared[input_name])
            if kind is not None and not value_matches(value, kind):
                shown = "(sensitive)" if input_name in secret_inputs else repr(value)
                self._problem(caller.source, at, f"input '{input_name}' is {shown}, which "
                              f"is not {_a(kind)}", f"module {name} declares it `type: {kind}`")
                refused.add(input_name)
                continue
            values[input_name] = value
            if input_name in secret_inputs:
                sensitive.add(input_name)
        for missing in sorted(set(declared) - set(values) - refused):
            about = declared[missing].description or "it has no default"
            self._problem(caller.source, call_path, f"module {name} needs input '{missing}'",
                          f"add it under inputs: ({about})", key=True)
        return values, sensitive, set(declared)

    def _binding(self, caller: _Caller, call: ModuleCall, data: dict[str, Any]
                 ) -> dict[str, str]:
        """Each provider name the module's resources use → the stack's block."""
        outer = caller.scope.providers
        used = {p for kind in Kind for entry in (data.get(kind.value) or {}).values()
                if isinstance(entry, dict)
                for p in [entry.get("provider"), *(entry.get("providers") or [])]
                if isinstance(p, str)}
        binding = {}
        for name in used | set(call.providers):
            target = call.providers.get(name, name)
            binding[name] = outer.get(target, target)
        return binding

    def _splice(self, scope: ModuleScope, anchor: Position | None, data: dict[str, Any],
                source: SourceMap,
                sensitive_paths: Mapping[PathKey, str], environment_paths: set[PathKey]
                ) -> None:
        for kind in Kind:
            section = data.get(kind.value)
            if not isinstance(section, dict):
                continue
            target = self.sink.setdefault(kind.value, {})
            if not isinstance(target, dict):
                continue  # reported by the stack's validation
            for name, entry in section.items():
                flat = scope.flat(name)
                if flat in target:
                    self._problem(source, (kind.value, name),
                                  f"{kind.value}.{name} of module {'.'.join(scope.path)} is "
                                  f"named {flat} on the hypervisor, as another "
                                  f"{kind.singular} of the stack is",
                                  "rename one of them, or give the module another "
                                  "name_prefix")
                    continue
                target[flat] = entry
                self.result.names[(kind, flat)] = (scope.path, name)
                if anchor is not None:
                    self.result.anchors[(kind, flat)] = anchor
                self._move_positions(source, (kind.value, name), (kind.value, flat))
        self.result.sensitive_paths |= {_moved(p, scope): n for p, n in sensitive_paths.items()}
        self.result.environment_paths |= {_moved(p, scope) for p in environment_paths}

    def _move_positions(self, source: SourceMap, old: PathKey, new: PathKey) -> None:
        size = len(old)
        for table, sink in ((source.values, self.sink_source.values),
                            (source.keys, self.sink_source.keys)):
            for path, position in table.items():
                if path[:size] == old:
                    sink[(*new, *path[size:])] = position
        self.sink_source.decrypted |= {(*new, *path[size:]) for path in source.decrypted
                                       if path[:size] == old}

    def _problem(self, source: SourceMap, path: PathKey, message: str, hint: str,
                 key: bool = False) -> None:
        position = source.key_at(path) if key else source.value_at(path)
        self.result.problems.append(StackProblem(position, format_path(path), message, hint))


def _disable(data: dict[str, Any]) -> None:
    """Every resource of a module instance declared with ``enabled: false``, in place."""
    for kind in Kind:
        section = data.get(kind.value)
        for entry in section.values() if isinstance(section, dict) else ():
            if isinstance(entry, dict):
                entry["enabled"] = False


def _a(kind: str) -> str:
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def repository_root(directory: Path) -> Path:
    """The nearest directory at or above ``directory`` holding ``.git`` (where a
    stack's modules may be), else ``directory`` itself."""
    resolved = directory.resolve()
    for candidate in (resolved, *resolved.parents):
        if (candidate / ".git").exists():
            return candidate
    return resolved


def _declared(data: Mapping[str, Any]) -> dict[Kind, set[str]]:
    return {kind: set(section) for kind in Kind
            if isinstance(section := data.get(kind.value), dict)}


def _moved(path: PathKey, scope: ModuleScope) -> PathKey:
    if len(path) >= 2 and Kind.parse(str(path[0])) is not None:
        return (path[0], scope.flat(str(path[1])), *path[2:])
    return path


def _map_strings(value: Any, change: Any) -> Any:
    if isinstance(value, dict):
        return {key: _map_strings(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_strings(item, change) for item in value]
    return change(value) if isinstance(value, str) else value
