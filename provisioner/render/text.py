"""A plan as text for people, in the shape of Terraform's plan output.

Pure and deterministic: the same plan gives byte-identical text. Changes are
listed in ``plan.changes`` order; no-ops are left out. Colour is ANSI escapes
and only when asked for: with ``color=False`` the text holds no escape at all,
so it can be saved, diffed and pasted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from provisioner.core.address import Kind
from provisioner.core.resources import Effect
from provisioner.images.checksums import Checksum
from provisioner.plan.model import Action, Cause, Change, FieldDiff, Plan, ReplaceOrder
from provisioner.render.values import display, display_pair, display_set_change
from provisioner.units import rough_size

NO_CHANGES = "No changes. The hypervisors match the stack."


def no_changes(plan: Plan) -> str:
    """The no-change line; after --target/--exclude left changes out, only for what they
    kept (the hypervisors do not match the stack)."""
    return f"No changes in the resources {plan.left_out} kept." if plan.left_out \
        else NO_CHANGES
HEADING = "provisioner will perform these actions:"

_RESET = "\x1b[0m"
_GREEN, _YELLOW, _RED, _MAGENTA, _BOLD = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[35m", "\x1b[1m"
_SYMBOL_COLORS = {"+": _GREEN, "~": _YELLOW, "-": _RED, "-/+": _MAGENTA, "+/-": _MAGENTA}
_EFFECT_COLORS = {Effect.RESTART: _YELLOW, Effect.REPLACE: _RED}

# Reasons that only repeat what the header already says.
def render_plan(plan: Plan, *, color: bool = False) -> str:
    """The whole plan as text, ending with a newline; with an environment, a first line
    names it."""
    heading = f"Environment: {plan.environment}\n\n" if plan.environment else ""
    return heading + _render_plan(plan, color=color)


def _render_plan(plan: Plan, *, color: bool) -> str:
    paint = _Painter(color)
    changes = plan.pending()
    warnings = [_warning(text, paint) for text in plan.warnings]
    notes = [f"{paint('Note:', _BOLD)} {note.text}" for note in plan.snapshots]
    if not changes and not plan.forget and not plan.moved:
        before = (["\n".join(notes)] if notes else []) + warnings
        return "".join(block + "\n\n" for block in before) + no_changes(plan) + "\n"
    blocks = [[HEADING]]
    if plan.moved:
        blocks.append([f"  {old} has moved to {new}" for old, new in plan.moved])
    blocks += [_change_block(change, paint) for change in changes]
    if plan.forget:
        blocks.append([_forget_line(str(address)) for address in plan.forget])
    if notes:
        blocks.append(notes)
    if warnings:
        blocks.append(warnings)
    blocks.append([paint(render_summary_line(plan), _BOLD)])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


def render_summary_line(plan: Plan) -> str:
    """``Plan: 3 to add, 1 to change, 2 to destroy.``"""
    summary = plan.summary
    return f"Plan: {summary.add} to add, {summary.change} to change, {summary.destroy} to destroy."


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str | None) -> str:
        if not self.enabled or code is None:
            return text
        return f"{code}{text}{_RESET}"


def _change_block(change: Change, paint: _Painter) -> list[str]:
    symbol = paint(change.symbol, _SYMBOL_COLORS.get(change.symbol))
    lines = [f"  {symbol} {change.address} {change_header(change)}"]
    lines += [f"      {line}" for line in _field_lines(change, paint)]
    return lines


def change_details(change: Change) -> list[str]:
    """The field lines of one change, uncoloured (for other renderers)."""
    return _field_lines(change, _Painter(False))


def change_header(change: Change) -> str:
    """``will be replaced (delete, then create): image forces replacement``."""
    action = change.action
    if action is Action.CREATE and change.address.kind is Kind.IMAGE:
        text, shown = f"will be imported{_image_summary(change)}", change.cause is Cause.VANISHED
    elif action is Action.CREATE:
        text, shown = "will be created", change.cause is Cause.VANISHED
    elif action is Action.UPDATE:
        text = "will be updated in place"
        text += " (requires restart)" if change.requires_restart else ""
        shown = change.cause is Cause.REATTACH  # the field lines say the rest
    elif action is Action.REPLACE:
        text, shown = "will be replaced", True
        text += f" ({change.replace_order.value})" if change.replace_order else ""
    else:
        text, shown = "will be deleted", True
    return f"{text}: {change.reason}" if shown and change.reason else text


def _image_summary(change: Change) -> str:
    """`` (1.9GiB, sha512:ab12cd34…)``: what an image's import brings, and whether the
    download is needed (the cache may hold it)."""
    desired = change.desired
    if desired is None or not desired.spec.get("checksum"):
        return ""
    size = desired.settings.get("size")
    parts = [rough_size(int(size))] if size else []
    parts.append(Checksum.parse(str(desired.spec["checksum"])).short)
    if desired.settings.get("cached"):
        parts.append("in the cache")
    return f" ({', '.join(parts)})"


def _field_lines(change: Change, paint: _Painter) -> list[str]:
    if change.action is Action.CREATE:
        spec = change.desired.spec if change.desired is not None else {}
        return _placement_lines(change) + [
            f"{path}: {display(value)}" for path, value in _leaves("", spec)]
    if change.action in (Action.UPDATE, Action.REPLACE):
        replacing = change.action is Action.REPLACE
        lines = [_diff_line(diff, paint, replacing) for diff in change.fields]
        return _placement_lines(change) + lines + _new_name_lines(change)
    return []


def _placement_lines(change: Change) -> list[str]:
    """Where a placed guest lands and why (only where placement chose anew)."""
    desired = change.desired
    if desired is None or not desired.placement or (
            change.action is not Action.CREATE and desired.placed_before):
        return []
    return [f"# {desired.placement}"]


def _new_name_lines(change: Change) -> list[str]:
    """A create-before-destroy replacement names the new object apart from the old one."""
    desired, live = change.desired, change.live
    if change.replace_order is not ReplaceOrder.CREATE_FIRST or desired is None or live is None:
        return []
    return [f"(the new object is named {display(desired.name)} while {display(live.name)} "
            "is deleted)"]


def _diff_line(diff: FieldDiff, paint: _Painter, replacing: bool) -> str:
    if diff.unordered:
        line = f"{diff.path}: {display_set_change(diff.added, diff.removed)}"
    else:
        before, after = display_pair(diff.before, diff.after, diff.path)
        line = f"{diff.path}: {before} -> {after}"
    # A replaced guest is never restarted: only what forces the replacement is marked.
    if diff.effect is Effect.IN_PLACE or (replacing and diff.effect is not Effect.REPLACE):
        return line
    return f"{line}  {paint('# ' + diff.effect.value, _EFFECT_COLORS.get(diff.effect))}"


def _leaves(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Leaf fields of a spec: ``cloud_init.user_data``; items of lists of mappings
    as ``disks[0]`` (shown inline); None and empty containers left out."""
    if value is None or (isinstance(value, Mapping | list | tuple) and not value):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(f"{path}.{key}" if path else str(key), item)
    elif isinstance(value, list | tuple) and any(isinstance(i, Mapping) for i in value):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item
    else:
        yield path, value


def _forget_line(address: str) -> str:
    return (
        f"  (state) {address} is gone from the hypervisor and no longer declared: "
        "forgotten on apply"
    )


def _warning(text: str, paint: _Painter) -> str:
    return f"{paint('Warning:', _YELLOW)} {text}"
