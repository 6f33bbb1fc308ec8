"""Python's cyclic garbage collector, paused while a command starts.

Start-up (imports, the stack's models and their validators) makes hundreds of
thousands of objects that live as long as the process, and the collector walks
them again at each threshold: about 10 ms of a 200 ms run (issue 19). The console
script pauses it first thing; once the stack is loaded, what start-up made is
frozen (never walked again) and the collector resumes for the rest of the run.
Only a paused collector is resumed: a process that never paused it (tests
running commands in-process) is left as it is.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """No collection until ``resume``."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what start-up made and collect again, if ``pause`` stopped it."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
