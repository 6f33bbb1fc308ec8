"""One command whose failure is an error: the stdout of a command that succeeded, the
program's refusal translated (by the provider's ``fault``) when it did not, and the
refusals the translation calls transient tried again while a retry policy allows."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provisioner.errors import TransientProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.commands.runner import Arg, Completed, Runner
from provisioner.providers.kit.retry import RetryPolicy, retrying


def run_checked(runner: Runner, argv: Sequence[Arg], *, kind: CallKind,
                fault: Callable[[Completed], Exception], retry: RetryPolicy | None,
                timeout: float | None = None) -> str:
    """stdout of ``argv``; ``fault(done)`` raised when it fails, after retries of a
    TransientProviderError while ``retry`` (None: never) allows."""

    def once() -> str:
        done = runner.run(argv, kind=kind, timeout=timeout)
        if not done.ok:
            raise fault(done)
        return done.stdout

    if retry is None:
        return once()
    return retrying(once, retry, lambda exc: isinstance(exc, TransientProviderError))
