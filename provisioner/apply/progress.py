"""Apply progress: a live view on a terminal, one plain line per event elsewhere (CI)."""

from __future__ import annotations

import time
from typing import IO, Any

from provisioner.apply.executor import Outcome, StepResult
from provisioner.apply.readiness import waits
from provisioner.plan.model import Step
from provisioner.streams import write

_SYMBOL = {Outcome.DONE: "✓", Outcome.FAILED: "✗", Outcome.SKIPPED: "·"}


class PlainProgress:
    """``[  1.2s] guests.web-0: creating...`` lines; safe for logs and pipelines."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.start = time.monotonic()

    def _line(self, text: str) -> None:
        write(self.stream, f"[{time.monotonic() - self.start:6.1f}s] {text}\n")

    def started(self, step: Step) -> None:
        desired = step.change.desired
        wanted = waits(desired) if desired is not None and step.operation.value != "delete" \
            else None
        then = f", then waiting for {wanted}" if wanted else ""
        self._line(f"{step.address}: {step.operation.progressive}{then}...")

    def finished(self, result: StepResult) -> None:
        step = result.step
        if result.outcome is Outcome.DONE:
            self._line(f"{step.address}: {step.operation.past} ({result.seconds:.1f}s)")
        elif result.outcome is Outcome.FAILED:
            self._line(f"{step.address}: {step.operation.value} FAILED: {result.message}")
        else:
            self._line(f"{step.address}: {step.operation.value} skipped ({result.message})")

    def close(self) -> None:
        """Nothing to tear down."""


class CollectingProgress:
    """Keeps every step's result and prints nothing: for callers of ``Engine.apply``
    that inspect the results themselves (tests, benchmarks, embedding programs)."""

    def __init__(self) -> None:
        self.results: list[StepResult] = []

    def started(self, step: Step) -> None:
        """Nothing to show."""

    def finished(self, result: StepResult) -> None:
        self.results.append(result)


class LiveProgress:
    """A rich live view: what runs now, and counts of what is done, failed, skipped."""

    def __init__(self, total: int, console: Any) -> None:
        from rich.live import Live

        self.total = total
        self.console = console
        self.running: dict[str, float] = {}
        self.counts = {outcome: 0 for outcome in Outcome}
        self.live = Live(self._render(), console=console, refresh_per_second=8, transient=True)
        self.live.start()

    def started(self, step: Step) -> None:
        self.running[step.key] = time.monotonic()
        self.live.update(self._render())

    def finished(self, result: StepResult) -> None:
        self.running.pop(result.step.key, None)
        self.counts[result.outcome] += 1
        symbol = _SYMBOL[result.outcome]
        detail = f" ({result.seconds:.1f}s)" if result.outcome is Outcome.DONE else \
            f": {result.message}"
        style = {"done": "green", "failed": "red", "skipped": "dim"}[result.outcome.value]
        from rich.text import Text

        self.console.print(Text(f"{symbol} {result.step.key}{detail}", style=style))
        self.live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        for key, since in self.running.items():
            table.add_row("[yellow]…[/yellow]", key, f"{now - since:.0f}s")
        done = sum(self.counts.values())
        table.add_row("", f"[bold]{done}/{self.total}[/bold] steps", "")
        return table

    def close(self) -> None:
        self.live.stop()
