"""``provisioner capacity`` as text: a row per host resource and per pool, each
with a bar: ``#`` what runs now, ``+`` what the plan adds, ``-`` what it frees,
``.`` what stays free, ``!`` past the limit.
"""

from __future__ import annotations

from collections.abc import Callable

from provisioner.plan.capacity_report import CapacityReport, HostRow, PoolRow, Usage
from provisioner.render.text import render_summary_line
from provisioner.units import approx_size

BAR_WIDTH = 24


def render_capacity(report: CapacityReport) -> str:
    lines = [f"Capacity for stack '{report.stack}', before and after this plan "
             f"({render_summary_line(report.plan).removeprefix('Plan: ').rstrip('.')}):", ""]
    if not report.hosts and not report.pools:
        lines.append("  (the providers report no hosts or pools)")
    for row in report.hosts:
        lines += _host_lines(row)
    if report.pools:
        lines += ["", "storage:"]
        width = max(len(f"{row.provider}/{row.pool}") for row in report.pools)
        lines += [_pool_line(row, width) for row in report.pools]
    if report.placements:
        lines += ["", "placement:"]
        lines += [f"  {address}: {why}" for address, why in sorted(report.placements.items())]
    lines.append("")
    if report.problems:
        lines.append("The plan does not fit:")
        lines += [f"  {problem}" for problem in report.problems]
    else:
        lines.append("The plan fits.")
    return "\n".join(lines) + "\n"


def _host_lines(row: HostRow) -> list[str]:
    settings = row.settings
    cpu_note = f"{row.cpus.total} CPUs"
    if settings.reserve_cpus:
        cpu_note += f" - {settings.reserve_cpus} kept"
    cpu_note += f" x {settings.cpu_overcommit:g}"
    memory_note = ""
    if settings.memory_overcommit != 1 or settings.reserve_memory:
        memory_note = approx_size(row.memory.total)
    if settings.memory_overcommit != 1:
        memory_note += f" x {settings.memory_overcommit:g}"
    if settings.reserve_memory:
        memory_note += f" - {approx_size(settings.reserve_memory)} kept"
    return [
        f"{row.provider} / {row.node}:",
        "  vCPUs   " + _usage_line(row.cpus, str, cpu_note),
        "  memory  " + _usage_line(row.memory, approx_size, memory_note),
    ]


def _usage_line(usage: Usage, text: Callable[[int], str], note: str) -> str:
    change = (f" + {text(usage.plan)}" if usage.plan > 0
              else f" - {text(-usage.plan)}" if usage.plan < 0 else "")
    words = f"{text(usage.running)}{change} of {text(usage.limit)}"
    words += f" ({note})" if note else ""
    if usage.stopped:
        words += f"; stopped guests hold {text(usage.stopped)} more"
    if not usage.fits:
        words += f"  DOES NOT FIT: {text(usage.after - usage.limit)} over"
    return f"{bar(usage.running, usage.after, usage.limit)}  {words}"


def _pool_line(row: PoolRow, width: int) -> str:
    change = (f" + {approx_size(row.plan)}" if row.plan > 0
              else f" - {approx_size(-row.plan)}" if row.plan < 0 else "")
    words = f"{approx_size(row.used)}{change} of {approx_size(row.capacity)} used"
    if not row.fits:
        words += f"  DOES NOT FIT: {approx_size(row.plan - row.available)} over"
    name = f"{row.provider}/{row.pool}".ljust(width)
    return f"  {name}  {bar(row.used, row.after, row.capacity)}  {words}"


def bar(now: int, after: int, limit: int, width: int = BAR_WIDTH) -> str:
    """``[###++.....]``: ``now`` as #, growth to ``after`` as +, a shrink as -, the
    rest up to ``limit`` as .; what passes the limit as ! (the bar then spans ``after``)."""
    scale = max(limit, after, 1)

    def cells(value: int) -> int:
        return min(width, round(max(0, value) * width / scale))

    low, high = sorted((cells(now), cells(after)))
    grown = "+" if after >= now else "-"
    filled = "#" * low + grown * (high - low)
    text = filled + "." * (width - len(filled))
    if after > limit > 0:
        edge = cells(limit)
        text = text[:edge] + "!" * (cells(after) - edge) + text[cells(after):]
    return f"[{text}]"
