"""The core values every package shares: addresses and kinds, resources and live
objects, plugin descriptors, problems.

Nothing here imports another package of provisioner (only ``errors`` and
``units``, which import nothing): stack, plan, providers, state, render, apply
and the CLI all build on it, so no two of them need each other for these.
"""
