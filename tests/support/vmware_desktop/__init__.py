"""The fake vmrun / vmware-vdiskmanager (``fake.py``, ``vmdk.py``: standard library only,
run as ``python -S``) and the helpers that install them for a test."""

from support.vmware_desktop.install import FakeVmware

__all__ = ["FakeVmware"]
