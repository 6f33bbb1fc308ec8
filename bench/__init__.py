"""Benchmarks of provisioner (issue 7): plan scaling, apply parallelism, start-up, and
side by side with Ansible and kcli. ``python -m bench`` runs them all, prints a table
per benchmark and writes docs/benchmarks.md; ``--quick`` runs small sizes only (CI).

Benchmarks are not tests: a number never fails the run, only a crash does. Each
benchmark module exposes ``run(ctx) -> Section``; ``report`` turns sections into the
doc. Tools that are not provisioner's dependencies (pyinstrument, Ansible, kcli)
are installed by ``bench/install`` into their own virtual environments.
"""
