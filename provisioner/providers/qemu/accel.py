"""Which accelerator QEMU can use here, for this user: light (the CLI's `providers`
command asks it without loading the provider)."""

from __future__ import annotations

import os
from pathlib import Path


def detect_accel() -> str:
    """``kvm`` when this user can open /dev/kvm and the CPU has hardware virtualization
    (``vmx`` or ``svm``: a /dev/kvm without them, as in some nested setups, runs only
    special guest kernels), else ``tcg``."""
    return "kvm" if _kvm_usable() is None else "tcg"


def accel_note() -> str:
    """What ``accel: auto`` picks here, and why: one line for ``provisioner providers``."""
    why = _kvm_usable()
    return "accel auto: kvm" if why is None else f"accel auto: tcg ({why})"


def _kvm_usable() -> str | None:
    """None when KVM works for this user, else why not."""
    try:
        descriptor = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"/dev/kvm: {exc.strerror or exc}"
    os.close(descriptor)
    try:
        flags = set(Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split())
    except OSError:
        return "/proc/cpuinfo unreadable"
    return None if {"vmx", "svm"} & flags else "the CPU shows no vmx/svm"
