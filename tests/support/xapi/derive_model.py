"""Derive the simulator's model.json from XAPI's published data model.

Usage::

    python tests/support/xapi/derive_model.py PATH/xenapi.json \
        [--errors PATH/api_errors.ml] [--commit SHA] > tests/support/xapi/model.json

Only facts are kept: class, field, message, parameter, enum value and error
names; types; qualifiers; defaults (parsed into JSON values); result types;
the error names a message lists; roles; lifecycle states; the implicit flag.
Every description, doc string and release note is dropped.  The output is
sorted and deterministic (one class per line) so a re-derivation diffs cleanly.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

SOURCE_REPO = "xapi-project/xen-api"
SOURCE_PATH = "doc/data/xenapi.json"
ERRORS_PATH = "ocaml/xapi-consts/api_errors.ml"

_ERROR_NAME = re.compile(r'add_error\s*"([A-Z0-9_]+)"')


def parse_default(text: str, ty: str) -> Any:
    """Turn the model's printed default (OCaml-ish syntax) into a JSON value."""
    text = text.strip()
    if ty.endswith(" map"):
        inner = text[1:-1].strip()
        if not inner:
            return {}
        pairs = re.findall(r'"((?:[^"\\]|\\.)*)"\s*->\s*"((?:[^"\\]|\\.)*)"', inner)
        return dict(pairs)
    if ty.endswith(" set"):
        inner = text[1:-1].strip()
        if not inner:
            return []
        return [item.strip().strip('"') for item in inner.split(",")]
    if ty == "bool":
        return text == "true"
    if ty == "int":
        return int(text)
    if ty == "float":
        return float(text)
    if ty.endswith(" ref"):
        return "OpaqueRef:NULL" if text in ("Null", "OpaqueRef:NULL") else text
    if ty == "string" and len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def derive_field(field: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": field["type"],
        "qualifier": field["qualifier"],
        "lifecycle": field["lifecycle"]["state"],
    }
    if "default" in field:
        out["default"] = parse_default(field["default"], field["type"])
    return out


def derive_message(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "params": [[p["name"], p["type"]] for p in message["params"]],
        "result": message["result"][0] if message["result"] else "void",
        "errors": sorted({e["name"] for e in message["errors"]}),
        "roles": list(message["roles"]),
        "lifecycle": message["lifecycle"]["state"],
        "implicit": bool(message["implicit"]),
    }


def derive(classes: list[dict[str, Any]], error_names: list[str], commit: str) -> dict[str, Any]:
    enums: dict[str, list[str]] = {}
    derived: dict[str, Any] = {}
    for cls in classes:
        for enum in cls["enums"]:
            enums[enum["name"]] = [v["name"] for v in enum["values"]]
        derived[cls["name"]] = {
            "lifecycle": cls["lifecycle"]["state"],
            "fields": {f["name"]: derive_field(f) for f in cls["fields"]},
            "messages": {m["name"]: derive_message(m) for m in cls["messages"]},
        }
    return {
        "source": {"repo": SOURCE_REPO, "path": SOURCE_PATH, "errors_path": ERRORS_PATH,
                   "commit": commit},
        "enums": enums,
        "errors": sorted(set(error_names)),
        "classes": derived,
    }


def dump(model: dict[str, Any]) -> str:
    """Sorted compact JSON, one class (and one enum table, one error list) per line."""
    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"))

    lines = ["{"]
    lines.append(f'"source":{one(model["source"])},')
    lines.append(f'"enums":{one(model["enums"])},')
    lines.append(f'"errors":{one(model["errors"])},')
    lines.append('"classes":{')
    names = sorted(model["classes"])
    for i, name in enumerate(names):
        comma = "," if i < len(names) - 1 else ""
        lines.append(f"{one(name)}:{one(model['classes'][name])}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xenapi_json")
    parser.add_argument("--errors", help="path to api_errors.ml (error names)")
    parser.add_argument("--commit", default="unknown", help="xen-api commit the files come from")
    args = parser.parse_args(argv)
    with open(args.xenapi_json, encoding="utf-8") as fh:
        classes = json.load(fh)
    error_names: list[str] = []
    if args.errors:
        with open(args.errors, encoding="utf-8") as fh:
            error_names = _ERROR_NAME.findall(fh.read())
    sys.stdout.write(dump(derive(classes, error_names, args.commit)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
