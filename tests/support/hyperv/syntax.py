"""The script form the fake PowerShell accepts, parsed exactly (standard library only).

A script is the two header lines, then either a read (``# read: WHAT`` and the
pipeline the fake does not interpret) or statements, one per line:
``[$vm = ]STAGE[ | STAGE]...`` where a stage is ``Cmdlet -Param VALUE ... -Switch``
or ``$vm``, a VALUE a single-quoted string (a quote character doubled inside), an
integer, ``$true`` or ``$false``; or ``$vm.Id.ToString()``. Anything else is a
``ParseError`` (the fake answers with PowerShell's ParserError).
"""

from __future__ import annotations

HEADER = ("$ErrorActionPreference = 'Stop'", "$ProgressPreference = 'SilentlyContinue'")
QUOTES = "'\u2018\u2019\u201a\u201b"
Value = str | int | bool | None  # None: a switch


class ParseError(Exception):
    """Text the script form does not allow (the message says where)."""


# Plain classes, no dataclasses and no re: each import costs every call of the fake.
class Stage:
    def __init__(self, cmdlet: str) -> None:
        self.cmdlet = cmdlet
        self.params: dict[str, Value] = {}


class Statement:
    def __init__(self, stages: list[Stage], assign: bool = False, print_id: bool = False,
                 line: str = "") -> None:
        self.stages = stages
        self.assign = assign
        self.print_id = print_id
        self.line = line


class Parsed:
    def __init__(self, read: str | None = None,
                 statements: list[Statement] | None = None) -> None:
        self.read = read
        self.statements = statements or []


def parse(text: str) -> Parsed:
    lines = text.split("\n")
    if tuple(lines[:2]) != HEADER:
        raise ParseError("the script does not start with the header")
    body = [line for line in lines[2:] if line.strip()]
    if body and body[0].startswith("# read: "):
        return Parsed(read=body[0][len("# read: "):])
    return Parsed(statements=[statement(line) for line in body])


def statement(line: str) -> Statement:
    if line == "$vm.Id.ToString()":
        return Statement([], print_id=True, line=line)
    rest, assign = line, False
    if rest.startswith("$vm = "):
        rest, assign = rest[len("$vm = "):], True
    tokens = tokenize(rest)
    stages: list[Stage] = []
    current: Stage | None = None
    index = 0
    while index < len(tokens):
        kind, token = tokens[index]
        if kind == "pipe":
            if current is None:
                raise ParseError(f"an empty pipe element in: {line}")
            stages.append(current)
            current = None
        elif kind == "var" and current is None and not stages:
            current = Stage("$vm")
        elif kind == "cmdlet" and current is None:
            current = Stage(str(token))
        elif kind == "param" and current is not None and current.cmdlet != "$vm":
            following = tokens[index + 1] if index + 1 < len(tokens) else ("", None)
            if following[0] == "value":
                current.params[str(token)] = following[1]
                index += 1
            else:
                current.params[str(token)] = None
        else:
            raise ParseError(f"unexpected token {token!r} in: {line}")
        index += 1
    if current is None:
        raise ParseError(f"the line ends with a pipe: {line}")
    stages.append(current)
    return Statement(stages, assign=assign, line=line)


def tokenize(text: str) -> list[tuple[str, Value]]:
    tokens: list[tuple[str, Value]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == " ":
            index += 1
        elif char == "|":
            tokens.append(("pipe", None))
            index += 1
        elif char in QUOTES:
            value, index = _string(text, index + 1)
            tokens.append(("value", value))
        elif text.startswith("$vm", index) and not text[index + 3:index + 4].isalnum():
            tokens.append(("var", None))
            index += 3
        elif text.startswith(("$true", "$false"), index):
            word = "$true" if text.startswith("$true", index) else "$false"
            tokens.append(("value", word == "$true"))
            index += len(word)
        elif (end := _word(text, index)) > index:
            word = text[index:end]
            if _is_param(word):
                tokens.append(("param", word[1:]))
            elif word.lstrip("-").isdigit():
                tokens.append(("value", int(word)))
            elif _is_cmdlet(word):
                tokens.append(("cmdlet", word))
            else:
                raise ParseError(f"unexpected word {word!r} at {index}: {text}")
            index = end
        else:
            raise ParseError(f"unexpected character {char!r} at {index}: {text}")
    return tokens


def _string(text: str, index: int) -> tuple[str, int]:
    out: list[str] = []
    while index < len(text):
        char = text[index]
        if char in QUOTES:
            if index + 1 < len(text) and text[index + 1] in QUOTES:
                out.append(char)
                index += 2
                continue
            return "".join(out), index + 1
        out.append(char)
        index += 1
    raise ParseError(f"a string is not closed: {text}")


def _word(text: str, index: int) -> int:
    """The end of the word (letters, digits, ``-``) starting at ``index``."""
    end = index
    while end < len(text) and (text[end].isascii() and (text[end].isalnum() or
                                                        text[end] == "-")):
        end += 1
    return end


def _is_param(word: str) -> bool:
    return word.startswith("-") and word[1:2].isupper() and word[1:].isalpha()


def _is_cmdlet(word: str) -> bool:
    verb, dash, noun = word.partition("-")
    return bool(dash) and verb[:1].isupper() and noun[:1].isupper() and verb.isalpha() \
        and noun.isalpha()
