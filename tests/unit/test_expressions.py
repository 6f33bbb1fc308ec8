"""The expression language of ``${...}``: values, operators, precedence, functions,
and each error with the offset of what it concerns (0 = the first character
after ``${``)."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.stack.expressions import ExpressionError, ReferencePath, parse

VALUES: dict[ReferencePath, Any] = {
    ("var", "cpus"): 4,
    ("var", "env"): "prod",
    ("var", "names"): ["a", "b"],
    ("var", "ratio"): 1.5,
    ("var", "on"): True,
    ("each", "value", "disks", 0): "10GiB",
    ("guests", "web-0", "ip"): "10.0.0.10",
}


def lookup(path: ReferencePath) -> Any:
    if path in VALUES:
        return VALUES[path]
    raise ExpressionError(f"unknown {path}")


def value(text: str) -> Any:
    return parse(text).evaluate(lookup)


def error(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        value(text)
    return caught.value


@pytest.mark.parametrize(("text", "expected"), [
    ('"plain"', "plain"),
    (r'"say \"hi\" \\ bye"', 'say "hi" \\ bye'),
    ('"}{"', "}{"),
    ("42", 42),
    ("true", True),
    ("false", False),
    ("null", None),
    ('["a", 1, [true]]', ["a", 1, [True]]),
    ("[]", []),
])
def test_literals(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("var.cpus", 4),
    ("each.value.disks[0]", "10GiB"),
    ("guests.web-0.ip", "10.0.0.10"),
    ("  var.cpus  ", 4),
])
def test_references_are_dotted_paths_with_indexes_and_dashed_names(text: str,
                                                                    expected: Any) -> None:
    assert value(text) == expected


def test_references_lists_every_path_read_whichever_branch_is_taken() -> None:
    expression = parse('var.on ? each.value.disks[0] : format("%d", count.index)')
    assert expression.references() == {("var", "on"), ("each", "value", "disks", 0),
                                       ("count", "index")}
    assert expression.namespaces() == {"var", "each", "count"}


@pytest.mark.parametrize(("text", "expected"), [
    ("7 + 2", 9), ("7 - 2", 5), ("7 * 2", 14), ("7 / 2", 3), ("7 % 2", 1),
    ("-7 / 2", -3), ("-7 % 2", -1), ("7 / -2", -3), ("-var.cpus", -4),
    ('"web-" + var.env', "web-prod"),
    ("1 == 1", True), ("1 != 1", False), ('var.env == "prod"', True),
    ('var.env != "prod"', False), ("var.names == [\"a\", \"b\"]", True),
    ("null == null", True), ("var.env == null", False),
    ("1 < 2", True), ("2 <= 2", True), ("1 > 2", False), ("2 >= 3", False),
    ("var.ratio > 1", True),
    ("true && false", False), ("true || false", True), ("!true", False), ("!!true", True),
    ('var.on ? "8GiB" : "2GiB"', "8GiB"), ('!var.on ? "8GiB" : "2GiB"', "2GiB"),
])
def test_operators(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 - 4 - 3", 3),  # left to right
    ("2 * 3 % 4", 2),
    ("1 + 1 == 2", True),
    ("1 < 2 == true", True),
    ("true || false && false", True),  # && binds tighter than ||
    ("(true || false) && false", False),
    ("!false && false", False),  # ! binds tighter than &&
    ("-2 * 3", -6),
    ("false ? 1 : true ? 2 : 3", 2),  # the ternary nests to the right
    ("1 == 1 ? 1 + 1 : 0", 2),
    ("var.cpus-1", None),  # one name: 'cpus-1' (see below)
])
def test_precedence(text: str, expected: Any) -> None:
    if expected is None:
        assert parse(text).references() == {("var", "cpus-1")}
    else:
        assert value(text) == expected


def test_logic_and_the_ternary_short_circuit() -> None:
    assert value("false && missing.name") is False
    assert value("true || missing.name") is True
    assert value("true ? 1 : missing.name") == 1
    assert value('false ? "2" + 1 : 0') == 0


@pytest.mark.parametrize(("text", "expected"), [
    ('lower("WeB")', "web"),
    ('upper("web")', "WEB"),
    ('join(",", var.names)', "a,b"),
    ('join("-", [])', ""),
    ('format("web-%d-%s %%", 3, var.env)', "web-3-prod %"),
    ('format("%s", true)', "true"),
    ('format("plain")', "plain"),
    ('cidrhost("10.0.0.0/24", 10)', "10.0.0.10"),
    ('cidrhost("10.0.0.0/24", 0)', "10.0.0.0"),
    ('cidrhost("10.0.0.0/24", -1)', "10.0.0.255"),
    ('cidrhost("10.0.0.0/24", -256)', "10.0.0.0"),
    ('cidrhost("10.0.0.0/16", 300)', "10.0.1.44"),
    ('length("abc")', 3), ("length(var.names)", 2),
    ('contains(var.names, "a")', True), ('contains(var.names, "c")', False),
    ("contains([1, 2], 1)", True), ("contains([true], 1)", False),
])
def test_functions(text: str, expected: Any) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(("text", "message", "offset"), [
    ("", "the expression is empty", 0),
    ("1 +", "expected a value, found the end of the expression", 3),
    ("1 2", "unexpected '2'", 2),
    ('"abc', "a string is not closed", 0),
    (r'"a\nb"', "unknown escape '\\n' in a string", 2),
    ("a = b", "unexpected character '='", 2),
    ("a & b", "unexpected character '&'", 2),
    ("var.", "expected a name after '.', found the end of the expression", 4),
    ("var.x[y]", "expected an index such as [0], found 'y'", 6),
    ("(1", "expected ')' to close '(', found the end of the expression", 2),
    ("true ? 1", "expected ':' between the two values of 'condition ? a : b', found "
                 "the end of the expression", 8),
    ("f(1)", "unknown function 'f'", 0),
    ("lower()", "lower() takes 1 argument, not 0", 0),
    ('join(",")', "join() takes 2 arguments, not 1", 0),
    ("format()", "format() takes at least 1 argument, not 0", 0),
    ("1234567890123456789", "the integer 1234567890123456789... is too large", 0),
    ("(" * 40 + "1" + ")" * 40, "the expression nests deeper than 32 levels", 32),
    ("+".join(["1"] * 130), "the expression has more than 128 operators", 257),
])
def test_syntax_errors_say_where(text: str, message: str, offset: int) -> None:
    problem = error(text)
    assert (problem.message, problem.offset) == (message, offset)


@pytest.mark.parametrize(("text", "message", "offset"), [
    ('"2" + 1', "'+' cannot take a string and an integer", 4),
    ("var.cpus + true", "'+' cannot take an integer and a boolean", 9),
    ("var.ratio * 2", "'*' cannot take a number and an integer", 10),
    ('var.cpus == "4"', "'==' cannot take an integer and a string", 9),
    ('1 < "2"', "'<' cannot take an integer and a string", 2),
    ("1 && true", "'&&' needs booleans, not an integer", 2),
    ("false || 1", "'||' needs booleans, not an integer", 6),
    ("!1", "'!' needs a boolean, not an integer", 0),
    ('-"a"', "'-' needs an integer, not a string", 0),
    ("1 / 0", "'/' by zero", 2),
    ("1 % 0", "'%' by zero", 2),
    ("999999999999999999 * 999999999999999999",
     "the result is outside the 64-bit integer range", 19),
    ('1 ? "a" : "b"', "the condition before '?' must be a boolean, not an integer", 0),
    ("missing.name", "unknown ('missing', 'name')", 0),
    ("lower(1)", "lower(): argument 1 must be a string, not an integer", 6),
    ('join(",", "a")', "join(): argument 2 must be a list, not a string", 10),
    ('join(",", ["a", 1])', "join(): item 1 of the list is an integer; join() takes strings",
     10),
    ('format("%d", "x")', "format(): argument 2 must be an integer, not a string", 13),
    ('format("%x", 1)', "format(): '%x' is not a directive it knows", 7),
    ('format("%s %s", 1)', "format(): the format has more directives than the 1 value(s) "
                           "given", 7),
    ('format("%s", 1, 2)', "format(): 1 value(s) more than the format uses", 16),
    ('format("%s", [1])', "format(): %s writes a string, integer or boolean, not a list", 13),
    ('cidrhost("10.0.0.0/24", 256)', "cidrhost(): host number 256 is outside 10.0.0.0/24, "
                                     "which has 256 addresses", 24),
    ('cidrhost("10.0.0.0/24", 1 - 258)', "cidrhost(): host number -257 is outside "
                                         "10.0.0.0/24, which has 256 addresses", 24),
    ('cidrhost("10.0.0.1/24", 1)', "cidrhost(): '10.0.0.1/24' is not an IPv4 subnet "
                                   "(10.0.0.1/24 has host bits set)", 9),
    ('cidrhost(1, 1)', "cidrhost(): argument 1 must be an IPv4 subnet such as "
                       '"10.42.0.0/24", not an integer', 9),
    ('cidrhost("10.0.0.0/24", "1")', "cidrhost(): argument 2 must be an integer, not a "
                                     "string", 24),
    ("length(1)", "length(): argument 1 must be a string, list or map, not an integer", 7),
    ('contains("ab", "a")', "contains(): argument 1 must be a list, not a string", 9),
])
def test_type_errors_name_both_types_and_point_at_the_operator(text: str, message: str,
                                                               offset: int) -> None:
    problem = error(text)
    assert (problem.message, problem.offset) == (message, offset)


def test_an_error_has_a_hint_for_the_next_step() -> None:
    assert error("lowr(1)").hint == "did you mean 'lower'?"
    assert error("a = b").hint == "'==' compares; there is no assignment"
    assert "-256 to -1" in error('cidrhost("10.0.0.0/24", 256)').hint
    assert "spaces" in error("guests.web-0-1").hint  # subtraction needs spaces


def test_inline_writes_known_references_as_values_and_keeps_the_others() -> None:
    expression = parse('cidrhost(var.net, count.index + var.first)')
    values = {("var", "net"): "10.0.0.0/24", ("var", "first"): 10}
    inlined = expression.inline(lambda path: path[0] == "var", values.__getitem__)
    assert inlined.render() == 'cidrhost("10.0.0.0/24", count.index + 10)'
    assert inlined.references() == {("count", "index")}
    assert inlined.evaluate({("count", "index"): 3}.__getitem__) == "10.0.0.13"


def test_inline_refuses_a_value_no_literal_writes() -> None:
    with pytest.raises(ExpressionError, match="a map cannot be used in an expression "
                                              "evaluated per instance"):
        parse("var.m == count.index").inline(lambda path: path[0] == "var",
                                             lambda path: {"a": 1})


def test_render_parenthesizes_operands_and_parses_back() -> None:
    expression = parse('!var.on || -var.cpus * (1 + 2) < 3 ? "a\\"b" : [null, false]')
    text = expression.render()
    assert text == '((!var.on) || (((-var.cpus) * (1 + 2)) < 3)) ? "a\\"b" : [null, false]'
    assert parse(text).root == expression.root
    assert parse(text).evaluate(lookup) == expression.evaluate(lookup)


def test_parsing_is_cached_by_text() -> None:
    assert parse("var.cpus + 1") is parse("var.cpus + 1")
