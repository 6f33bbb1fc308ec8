"""The fake VBoxManage (``fake.py``) and the helpers that install it for a test."""

from support.vbox.install import FakeVBox

__all__ = ["FakeVBox"]
