"""Sizes with units: parsing from stack files and formatting for people.

Binary units (powers of 1024): ``KiB MiB GiB TiB PiB`` and the short forms
``K M G T P`` (as qemu-img and Proxmox use them: ``20G`` is 20 GiB).
Decimal units (powers of 1000): ``kB KB MB GB TB PB``. ``B`` is bytes.
A bare number is refused: ``memory: 2048`` could mean MiB or bytes.
"""

from __future__ import annotations

import re

_BINARY = {"KiB": 1, "MiB": 2, "GiB": 3, "TiB": 4, "PiB": 5}
_SHORT = {"K": 1, "M": 2, "G": 3, "T": 4, "P": 5}
_DECIMAL = {"kB": 1, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

UNITS_HELP = "use a number and a unit, such as 512MiB, 2GiB or 20G (G = GiB; GB = 10^9 bytes)"


def unit_factor(unit: str) -> int | None:
    """Bytes per ``unit``, or None when the unit is not known."""
    if unit == "B":
        return 1
    if unit in _BINARY:
        return int(1024 ** _BINARY[unit])
    if unit in _SHORT:
        return int(1024 ** _SHORT[unit])
    if unit in _DECIMAL:
        return int(1000 ** _DECIMAL[unit])
    return None


def parse_size(text: str) -> int:
    """Bytes in ``text`` (``"2GiB"`` → 2147483648). Raises ValueError with a hint."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a size; {UNITS_HELP}")
    number, unit = match.groups()
    if not unit:
        raise ValueError(f"'{text}' has no unit; {UNITS_HELP}")
    factor = unit_factor(unit)
    if factor is None:
        raise ValueError(f"'{text}' has an unknown unit '{unit}'; {UNITS_HELP}")
    value = float(number) * factor if "." in number else int(number) * factor
    if value != int(value):
        raise ValueError(f"'{text}' is not a whole number of bytes")
    return int(value)


def format_size(size: int) -> str:
    """The shortest exact binary form of ``size`` bytes (``2147483648`` → ``2GiB``)."""
    for unit, power in sorted(_BINARY.items(), key=lambda item: -item[1]):
        factor = 1024**power
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def approx_size(size: int) -> str:
    """Exact when a whole number of MiB (``3GiB``, ``1536MiB``), else GiB to one decimal
    (reported free space such as ``12.3GiB``); negative values keep their sign."""
    if size < 0:
        return "-" + approx_size(-size)
    return format_size(size) if size % (1 << 20) == 0 else f"{size / (1 << 30):.1f}GiB"


def rough_size(size: int) -> str:
    """``size`` in its largest unit, to one decimal (``1.9GiB``, ``340KiB``, ``12B``):
    for sizes that are read, not declared (a download, a rate)."""
    for unit, power in (("TiB", 4), ("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if size >= 1024**power:
            return f"{size / 1024**power:.1f}".removesuffix(".0") + unit
    return f"{size}B"


class Bytes(int):
    """An integer number of bytes whose repr is a size (``repr(Bytes(2 << 30))`` → ``2GiB``).

    It equals the plain int a hypervisor reports, so diffs compare numbers while
    plans show units. ``str()`` stays the plain number: providers format XML
    and API calls with it.
    """

    def __repr__(self) -> str:
        return format_size(int(self))

    def __str__(self) -> str:
        return int.__repr__(self)
