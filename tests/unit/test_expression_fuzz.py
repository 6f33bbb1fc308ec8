"""Properties of the expression language, fuzzed with hypothesis.

- Random text inside ``${...}``, in fields of several kinds (text, integer, size,
  a counted guest's address), through load_stack: the stack loads or raises
  StackError, whose every problem names file:line:col; nothing else escapes.
- Random well-formed syntax trees print as text that parses back to the same
  tree and the same value, and evaluating them raises only ExpressionError.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from provisioner.errors import StackError
from provisioner.stack.expression_functions import FUNCTIONS
from provisioner.stack.expression_nodes import (
    Binary,
    Call,
    Conditional,
    ListNode,
    Literal,
    Node,
    Reference,
    Unary,
)
from provisioner.stack.expressions import ExpressionError, ReferencePath, parse
from provisioner.stack.loader import load_stack
from provisioner.stack.templates import Placeholder, split

TOKENS = ['var.env', 'var.net', 'var.n', 'env.HOME', 'count.index', 'each.key', 'guests.web',
          '"prod"', '"10.0.0.0/24"', '"}"', '"\\""', '0', '1', '255', '-', '+', '*', '/', '%',
          '==', '!=', '<', '>=', '&&', '||', '!', '?', ':', '(', ')', '[', ']', ',', '.',
          'lower(', 'join(', 'format(', '"%d"', 'cidrhost(', 'length(', 'true', 'null',
          ' ', '"', '\\', '{', '$', '${', '=', "'", 'x-1']
expression_text = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=12).map("".join),
    st.text(max_size=30),
)
FIELDS = ["image", "cpus", "memory", "ip"]


def stack_with(field: str, text: str) -> dict[str, Any]:
    value = f"${{{text}}}"
    guest: dict[str, Any] = {"provider": "kvm", "count": 2,
                             "networks": [{"network": "lab"}]}
    if field == "ip":
        guest["networks"][0]["ip"] = value
    else:
        guest[field] = value if field != "image" else f"debian-{value}"
    return {
        "apiVersion": "provisioner/v1", "stack": "lab",
        "providers": {"kvm": {"type": "libvirt", "uri": "test:///default"}},
        "variables": {"env": {"default": "prod"}, "net": {"default": "10.0.0.0/24"},
                      "n": {"default": 3}},
        "networks": {"lab": {"provider": "kvm", "mode": "nat", "cidr": "10.0.0.0/24"}},
        "guests": {"web": guest},
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), text=expression_text)
def test_any_text_in_an_expression_loads_or_is_a_stack_error_at_a_position(
        field: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "stack.yaml"
        path.write_text(yaml.safe_dump(stack_with(field, text)))
        try:
            load_stack(path, environ={"HOME": "/root"}, cwd=Path(directory))
        except StackError as error:
            for problem in error.problems:
                assert problem.position is not None, problem
                assert problem.position.line > 0 and problem.position.column > 0
                assert problem.message


NAME = st.from_regex(r"\A[A-Za-z_]([A-Za-z0-9_-]{0,6}[A-Za-z0-9_])?\Z")
FIRST_NAME = NAME.filter(lambda name: name not in ("true", "false", "null"))
path_strategy = st.tuples(FIRST_NAME, st.lists(st.one_of(NAME, st.integers(0, 99)),
                                               max_size=3)).map(lambda p: (p[0], *p[1]))
leaves = st.one_of(
    st.builds(Literal, st.one_of(st.text(max_size=8), st.integers(0, 10**17), st.booleans(),
                                 st.none())),
    st.builds(Reference, path_strategy),
)


def _call(arguments: list[Node], name: str) -> Node:
    function = FUNCTIONS[name]
    count = max(function.least, min(len(arguments), function.most or len(arguments)))
    padded = (arguments + [Literal(1)] * count)[:count]
    return Call(name, tuple(padded), function.apply)


def _branches(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        st.builds(Unary, st.sampled_from(["!", "-"]), children),
        st.builds(Binary, st.sampled_from(["||", "&&", "==", "!=", "<", "<=", ">", ">=",
                                           "+", "-", "*", "/", "%"]), children, children),
        st.builds(Conditional, children, children, children),
        st.builds(lambda items: ListNode(tuple(items)), st.lists(children, max_size=3)),
        st.builds(_call, st.lists(children, max_size=3), st.sampled_from(sorted(FUNCTIONS))),
    )


trees = st.recursive(leaves, _branches, max_leaves=12)
VALUES: list[Any] = ["10.0.0.0/24", 3, True, None, ["a", "b"], {"k": "v"}, "%s"]


def evaluated(node: Node, lookup_value: Any) -> tuple[str, Any]:
    def lookup(path: ReferencePath) -> Any:
        return lookup_value

    try:
        return ("value", node.evaluate(lookup))
    except ExpressionError as exc:
        return ("error", exc.message)


@settings(max_examples=400, deadline=None)
@given(tree=trees, lookup_value=st.sampled_from(VALUES))
def test_a_printed_tree_parses_back_to_the_same_tree_and_value(tree: Node,
                                                               lookup_value: Any) -> None:
    text = tree.render()
    try:
        parsed = parse(text)
    except ExpressionError as exc:
        if exc.message.startswith(("the expression nests", "the expression has more")):
            reject()  # a tree past the limits of the language
        raise
    assert parsed.root == tree
    assert parsed.render() == text
    assert evaluated(parsed.root, lookup_value) == evaluated(tree, lookup_value)
    assert split("${" + text + "}") == (Placeholder("${" + text + "}", 2),)
