"""``${stack.NAME.outputs.X}``: the outputs another stack's last apply recorded.

They are read from the state backend of the stack being loaded (the same
PostgreSQL database; for the local backend, the other stack's SQLite file:
state/other_outputs.py says where it is looked for), read-only, once per stack
and load. With ``--env E`` the reference reads the other stack's environment
``E``: the environments of stacks built on each other go together.
``${stack.NAME--ENV.outputs.X}`` (the other stack's identity) names another
environment, and ``${stack.NAME--default.outputs.X}`` the other stack without
environment.

A sensitive output is recorded masked (the state never holds a secret), so
its value cannot be read from there: a reference to one is a problem that
says how to pass the secret instead. Which values were read is kept
(``OtherStacks.read``): their digest goes into a saved plan, so that
``apply PLANFILE`` refuses a plan made from outputs that have changed since.

The loader reaches the state through one narrow seam, an ``OutputsSource``:
every command passes one (``validate`` and ``graph`` too: the state is only
read, and a stack that loads there loads for ``plan``). Without one (a program
calling ``load_stack`` alone) a reference is checked for its form only and
stays as written, so a field that needs a subnet or a size reports its text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from provisioner.errors import StackProblem
from provisioner.stack.checks import output_references
from provisioner.stack.environments import DEFAULT, SEPARATOR, identity
from provisioner.stack.expressions import ReferencePath
from provisioner.stack.interpolate import Interpolator, NamespaceProblem, did_you_mean, member
from provisioner.stack.model import SENSITIVE_MASK, OutputSpec, StateConfig
from provisioner.stack.source import PathKey, SourceMap, format_path
from provisioner.stack.validation import validate_model

_OUTPUT_REFERENCE_RE = re.compile(r"^(?P<stack>[a-z0-9][a-z0-9-]*)\.outputs\."
                                  r"(?P<output>[A-Za-z_][A-Za-z0-9_-]*)$")
"""``core.outputs.lab_cidr`` in an output (outputs keep their own reference syntax)."""
FORM = "${stack.NAME.outputs.OUTPUT} (or ${stack.NAME--ENV.outputs.OUTPUT})"


OutputsReader = Callable[[str], Mapping[str, Any] | None]
"""The outputs a stack (by identity: ``core`` or ``core--prod``) last recorded; None
when it has no state or was never applied. Raises UserError when the state cannot be
read."""


OutputsSource = Callable[[StateConfig], OutputsReader]
"""Given the stack's validated ``state:`` block (StateConfig), how to read other
stacks' outputs from the same backend: the command line builds it (it knows
``--state`` and ``--state-backend``); the loader calls it on the first reference."""


@dataclass
class OtherStacks:
    """The ``stack.`` namespace of expressions, for one load of one stack."""

    reader: Callable[[], OutputsReader] | None
    """None: check references for their form only."""
    environment: str | None = None
    read: dict[str, Any] = field(default_factory=dict)
    """``core.outputs.lab_net`` (as written after ``stack.``) → the value read."""
    _cache: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    _opened: OutputsReader | None = None

    @classmethod
    def reading(cls, outputs_from: OutputsSource | None, state_block: Any, source: SourceMap,
                interpolator: Interpolator, environment: str | None) -> OtherStacks:
        """The namespace of one load: reading through ``outputs_from`` from the backend
        the stack's ``state:`` block names (opened on the first reference)."""
        if outputs_from is None:
            return cls(None, environment)
        return cls(partial(state_reader, outputs_from, state_block, source, interpolator),
                   environment)

    def readable(self, reference: ReferencePath, original: str) -> bool:
        """For the Interpolator: whether ``stack.NAME.outputs.X...`` can be read now
        (not without a reader); raises NamespaceProblem when it never can."""
        if len(reference) < 4 or not isinstance(reference[1], str) \
                or reference[2] != "outputs" or not isinstance(reference[3], str):
            raise NamespaceProblem(f"'{original}' is not a reference to another stack's "
                                   "output", f"write {FORM}")
        if self.reader is None:
            return False
        self.output(reference[1], reference[3], original)
        return True

    def value(self, reference: ReferencePath) -> Any:
        """For the Interpolator: the value of a readable reference, and what follows
        the output's name inside it (``...outputs.nets[0]``)."""
        return member(self.output(str(reference[1]), str(reference[3]), ""), reference, 4)

    def output(self, stack: str, name: str, original: str) -> Any:
        """Output ``name`` of ``stack`` (``core``, ``core--prod``, ``core--default``) as
        recorded; raises NamespaceProblem naming what there is."""
        base, separator, env = stack.rpartition(SEPARATOR)
        if not separator:
            base, env = stack, self.environment or DEFAULT
        owner = identity(base, None if env == DEFAULT else env)
        outputs = self._outputs(owner)
        if outputs is None:
            raise NamespaceProblem(
                f"stack '{owner}' has no recorded outputs in this state backend (it has no "
                f"state or was never applied), for '{original}'",
                f"apply stack {base}" + (f" with --env {env}" if env != DEFAULT else "")
                + " first, with the same state backend")
        if name not in outputs:
            raise NamespaceProblem(
                f"stack '{owner}' has no output '{name}' (in '{original}')",
                did_you_mean(name, set(outputs)) if outputs else
                f"stack '{owner}' recorded no outputs: add them to it and apply it")
        value = outputs[name]
        if value == SENSITIVE_MASK:
            raise NamespaceProblem(
                f"output '{name}' of stack '{owner}' is sensitive: the state keeps no "
                f"secret, so its value cannot be read from there ('{original}')",
                "give the secret to this stack as a sensitive variable, from the "
                "environment (${env.NAME}) or a --var-file")
        self.read[f"{stack}.outputs.{name}"] = value
        return value

    def read_for_outputs(self, outputs: Mapping[str, str | OutputSpec],
                         source: SourceMap) -> list[StackProblem]:
        """Read the other stacks' outputs that the stack's outputs refer to (those are
        evaluated after apply, from ``Stack.other_outputs``); problems at the output."""
        problems = []
        for name, output in outputs.items():
            text = output if isinstance(output, str) else output.value
            for expression in output_references(text):
                namespace, _, rest = expression.partition(".")
                if namespace != "stack":
                    continue
                match = _OUTPUT_REFERENCE_RE.match(rest)
                try:
                    if match is None:
                        raise NamespaceProblem(f"'${{{expression}}}' is not a reference to "
                                               "another stack's output", f"write {FORM}")
                    if self.reader is not None:
                        self.output(match["stack"], match["output"], "${" + expression + "}")
                except NamespaceProblem as exc:
                    path: PathKey = ("outputs", name)
                    problems.append(StackProblem(source.value_at(path), format_path(path),
                                                 exc.message, exc.hint))
        return problems

    def _outputs(self, owner: str) -> Mapping[str, Any] | None:
        if owner not in self._cache:
            if self._opened is None:
                assert self.reader is not None
                self._opened = self.reader()
            self._cache[owner] = self._opened(owner)
        return self._cache[owner]


def state_reader(outputs_from: OutputsSource, block: Any, source: SourceMap,
                 interpolator: Interpolator) -> OutputsReader:
    """How other stacks' outputs are read: from the loading stack's state backend, so
    its ``state:`` block (``block``, as written) is read first (its own problems are
    reported where it is validated)."""
    state_block = interpolator.run({"state": block or {}}, skip=lambda p: False).data["state"]
    state, problems = validate_model(StateConfig, state_block, source, ("state",))
    if state is None:
        raise NamespaceProblem("the stack's state: block is not valid, so the state backend "
                               "to read other stacks' outputs from is unknown",
                               problems[0].message if problems else "")
    return outputs_from(state)


def outputs_digest(read: Mapping[str, Any]) -> str:
    """A digest of the other stacks' outputs a load read ("" when it read none): a
    saved plan records it (none of these values is secret: sensitive ones are
    refused)."""
    if not read:
        return ""
    text = json.dumps(read, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
