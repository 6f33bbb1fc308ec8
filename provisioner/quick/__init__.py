"""The quick no-change check (docs/quick-check.md): a re-run of ``plan`` or ``apply``
that finds nothing changed since a plan with nothing to do is answered from that
plan's receipt. ``session`` runs it, ``inputs`` records what a run reads,
``receipt`` keeps it, ``probe_*`` read a provider's host. Standard library (and the
hypervisor's library) only: it runs before the command line is imported."""
