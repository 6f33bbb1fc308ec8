"""Properties of load_stack: any document either loads or raises a ProvisionerError.

Valid base stacks are mutated at random (keys deleted or renamed, values
replaced by other types, entries duplicated, bad expressions and sizes put
in), dumped with yaml.safe_dump and loaded. Whatever the input, the loader
must answer with a user-facing error, never with another exception, and
every problem must say something and name where it is.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner.errors import ProvisionerError, StackError
from provisioner.stack.loader import load_stack

ENVIRON = {"LAB_RELEASE": "12"}
HEADER = {
    "apiVersion": "provisioner/v1",
    "stack": "lab",
    "providers": {"kvm": {"type": "libvirt", "uri": "test:///default"}},
}
MINIMAL = {**HEADER, "guests": {"web": {"provider": "kvm"}}}
FULL = {
    **HEADER,
    "variables": {
        "cpus": {"default": 2},
        "image": {"type": "string", "default": "debian-12"},
        "token": {"default": "s3cret", "sensitive": True},
    },
    "networks": {"lab": {"provider": "kvm", "mode": "nat", "cidr": "10.42.0.0/24"}},
    "volumes": {"data": {"provider": "kvm", "pool": "default", "size": "20GiB",
                         "format": "raw"}},  # raw: attached to both web guests
    "guests": {
        "web": {
            "provider": "kvm",
            "count": 2,
            "cpus": "${var.cpus}",
            "memory": "2GiB",
            "image": "debian-${env.LAB_RELEASE}",
            "disks": [{"size": "10GiB"}, {"volume": "data"}],
            "networks": [{"network": "lab", "ip": "10.42.0.1${count.index}"}],
            "cloud_init": {"user_data": "#cloud-config\nhostname: web-${count.index}\n",
                           "on_change": "reboot"},
            "lifecycle": {"ignore_changes": ["memory"]},
        },
        "db": {
            "provider": "kvm",
            "cpus": 4,
            "memory": "8GiB",
            "networks": [{"bridge": "br0", "mac": "52:54:00:12:34:56"}],
            "depends_on": ["guests.web", "volumes.data"],
            "power": "stopped",
        },
    },
    "outputs": {
        "web_ips": "${guests.web[*].ip}",
        "db": {"value": "${guests.db.name}", "description": "the database"},
    },
}
ISOLATED = {
    **HEADER,
    "networks": {
        "back": {"provider": "kvm", "mode": "isolated", "dhcp": False},
        "front": {"provider": "kvm", "mode": "bridge", "bridge": "br0"},
    },
    "guests": {
        "app": {"provider": "kvm", "networks": [{"network": "back"}, {"network": "front"}],
                "disks": [{"image": "debian-12", "size": "5G", "format": "raw"}],
                "autostart": True},
    },
}
BASES = [MINIMAL, FULL, ISOLATED]

Path_ = tuple[str | int, ...]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "2GiB", "kvm", "web", "guests.web", "true", "on", "10.0.0.1/24"])
)
yaml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6,
)
expressions = st.sampled_from([
    "${var.nope}", "${env.NOPE_X}", "${var.cpus}", "${var.token}", "${env.LAB_RELEASE}",
    "${count.index}", "${guests.web.ip}", "${}", "$${literal}", "x-${var.image}-y", "${var.",
])
garbage_sizes = st.sampled_from(["", "2", "2 gigs", "GiB", "-1GiB", "1.5B", "0.5KiB", "1e3MiB",
                                 "9" * 400 + ".5GiB", "2 GiB", "20G"]) | st.text(max_size=8)
names = st.sampled_from(["web", "db", "lab", "data", "web-1", "Web", "a_b", "x" * 70, "kvm"]) \
    | st.text(max_size=8)
addresses = st.sampled_from(["guests.web", "guests.web-0", "guests.db", "networks.lab",
                             "volumes.data", "guests.nope", "web", "guests.", ""])


def _containers(value: Any, path: Path_ = ()) -> list[Path_]:
    """Paths of every non-empty dict and list in ``value``."""
    found: list[Path_] = []
    if isinstance(value, dict):
        if value:
            found.append(path)
        for key, item in value.items():
            found += _containers(item, (*path, key))
    elif isinstance(value, list):
        if value:
            found.append(path)
        for index, item in enumerate(value):
            found += _containers(item, (*path, index))
    return found


def _at(document: Any, path: Path_) -> Any:
    for part in path:
        document = document[part]
    return document


def _pick(data: st.DataObject, document: dict[str, Any]) -> tuple[Any, str | int]:
    """A random container and one of its keys (or indexes)."""
    container = _at(document, data.draw(st.sampled_from(_containers(document))))
    keys = list(container) if isinstance(container, dict) else list(range(len(container)))
    return container, data.draw(st.sampled_from(keys))


def delete_key(data: st.DataObject, document: dict[str, Any]) -> None:
    container, key = _pick(data, document)
    del container[key]


def rename_key(data: st.DataObject, document: dict[str, Any]) -> None:
    container, key = _pick(data, document)
    if isinstance(container, dict):
        new = data.draw(st.sampled_from([f"{key}s", str(key)[:-1], str(key).upper()]) | names)
        container[new] = container.pop(key)


def replace_value(data: st.DataObject, document: dict[str, Any]) -> None:
    container, key = _pick(data, document)
    container[key] = data.draw(yaml_values)


def duplicate_entry(data: st.DataObject, document: dict[str, Any]) -> None:
    sections = [s for s in ("networks", "volumes", "guests", "providers", "variables")
                if isinstance(document.get(s), dict) and document[s]]
    if sections:
        section = document[data.draw(st.sampled_from(sections))]
        name = data.draw(st.sampled_from(sorted(section, key=str)))
        section[data.draw(names)] = copy.deepcopy(section[name])


def insert_expression(data: st.DataObject, document: dict[str, Any]) -> None:
    container, key = _pick(data, document)
    expression = data.draw(expressions)
    old = container[key]
    container[key] = f"{old}{expression}" if isinstance(old, str) else expression


def garble_size(data: st.DataObject, document: dict[str, Any]) -> None:
    sized = [p for p in _containers(document)
             if isinstance(_at(document, p), dict)
             and any(k in ("size", "memory") for k in _at(document, p))]
    if sized:
        container = _at(document, data.draw(st.sampled_from(sized)))
        key = data.draw(st.sampled_from([k for k in ("size", "memory") if k in container]))
        container[key] = data.draw(garbage_sizes | scalars)


def add_dependency(data: st.DataObject, document: dict[str, Any]) -> None:
    guests = document.get("guests")
    if isinstance(guests, dict) and guests:
        guest = guests[data.draw(st.sampled_from(sorted(guests, key=str)))]
        if isinstance(guest, dict):
            guest["depends_on"] = data.draw(st.lists(addresses, max_size=3))


def set_count(data: st.DataObject, document: dict[str, Any]) -> None:
    guests = document.get("guests")
    if isinstance(guests, dict) and guests:
        guest = guests[data.draw(st.sampled_from(sorted(guests, key=str)))]
        if isinstance(guest, dict):
            guest["count"] = data.draw(st.integers(-2, 5) | st.sampled_from([10001, "2", None]))


MUTATIONS: list[Callable[[st.DataObject, dict[str, Any]], None]] = [
    delete_key, rename_key, replace_value, duplicate_entry, insert_expression, garble_size,
    add_dependency, set_count,
]


def _load(document: Any) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "stack.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        load_stack(path, environ=ENVIRON, cwd=Path(directory))


def _still_secret(document: dict[str, Any]) -> bool:
    """The variable holding "s3cret" is still declared sensitive."""
    variables = document.get("variables")
    token = variables.get("token") if isinstance(variables, dict) else None
    return isinstance(token, dict) and token.get("sensitive") is True


def _check(error: ProvisionerError, document: dict[str, Any]) -> None:
    text = str(error)
    assert "Traceback" not in text
    assert "errors.pydantic.dev" not in text
    assert "For further information" not in text
    if _still_secret(document):
        assert "s3cret" not in text
    if isinstance(error, StackError):
        assert error.problems
        for problem in error.problems:
            assert problem.message.strip(), problem
            assert problem.position is not None, problem


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), base=st.sampled_from(BASES),
       mutations=st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=4))
def test_any_mutation_loads_or_raises_a_user_error(
    data: st.DataObject,
    base: dict[str, Any],
    mutations: list[Callable[[st.DataObject, dict[str, Any]], None]],
) -> None:
    document = copy.deepcopy(base)
    for mutate in mutations:
        if _containers(document):
            mutate(data, document)
    try:
        _load(document)
    except ProvisionerError as error:
        _check(error, document)


@settings(max_examples=30, deadline=None)
@given(base=st.sampled_from(BASES))
def test_unmodified_bases_load(base: dict[str, Any]) -> None:
    _load(copy.deepcopy(base))
