"""The fake prlctl and prlsrvctl (``fake.py``) and the helpers that install them for a test."""

from support.parallels.install import FakeParallels

__all__ = ["FakeParallels"]
