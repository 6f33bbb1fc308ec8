"""A plan as Markdown, for pull-request comments (``plan --format markdown``).

A summary line and table, then one collapsible block per change holding the
same field lines as the text plan. Values go through the same display rules:
file content and secrets never appear, only names and digests.
"""

from __future__ import annotations

from provisioner.plan.model import Action, Change, Plan
from provisioner.render.text import change_details, change_header, no_changes, render_summary_line

_ACTION_WORD = {Action.CREATE: "create", Action.UPDATE: "update", Action.REPLACE: "replace",
                Action.DELETE: "delete"}
_DIFF_MARK = {Action.CREATE: "+", Action.DELETE: "-", Action.UPDATE: "!", Action.REPLACE: "!"}


def render_plan_markdown(plan: Plan, title: str = "") -> str:
    heading = title or f"provisioner plan for stack `{plan.stack}`" + (
        f", environment `{plan.environment}`" if plan.environment else "")
    lines = [f"### {heading}", ""]
    changes = plan.pending()
    notes = [f"> Note: {_cell(note.text)}" for note in plan.snapshots]
    if not changes and not plan.forget and not plan.moved:
        warnings = [f"> Warning: {_cell(text)}" for text in plan.warnings]
        quoted = [*notes, *warnings]
        return "\n".join([*lines, *quoted, *([""] if quoted else []), no_changes(plan), ""])
    lines += [f"**{render_summary_line(plan)}**", "", "| | resource | action | why |",
              "| --- | --- | --- | --- |"]
    lines += [f"| `{c.symbol}` | `{c.address}` | {_ACTION_WORD[c.action]} | {_cell(c.reason)} |"
              for c in changes]
    lines.append("")
    for change in changes:
        lines += _details(change)
    if plan.moved:
        lines.append("Moved (the same object, a new address): " + ", ".join(
            f"`{old}` to `{new}`" for old, new in plan.moved))
        lines.append("")
    if plan.forget:
        lines.append("Forgotten from the state (gone and no longer declared): "
                     + ", ".join(f"`{a}`" for a in plan.forget))
        lines.append("")
    lines += notes
    lines += [f"> Warning: {_cell(text)}" for text in plan.warnings]
    return "\n".join(lines).rstrip("\n") + "\n"


def _details(change: Change) -> list[str]:
    mark = _DIFF_MARK[change.action]
    body = [f"{mark} {line}" for line in change_details(change)] or [f"{mark} (no fields)"]
    return [
        "<details>",
        f"<summary><code>{change.symbol} {change.address}</code> "
        f"{_html(change_header(change))}</summary>",
        "",
        "```diff",
        *body,
        "```",
        "</details>",
        "",
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
