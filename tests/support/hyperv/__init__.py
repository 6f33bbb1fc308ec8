"""The fake PowerShell with Hyper-V (``pwsh.py``, ``syntax.py``) and its installer
(``install.py``). Light on purpose: the fake program imports this package."""
