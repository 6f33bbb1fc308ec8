"""The fake prlctl and prlsrvctl (``fake.py``) and the helpers that install them for a test
(``install.FakeParallels``). Kept empty: the fake programs import this package on every
call, and import nothing but the standard library."""
