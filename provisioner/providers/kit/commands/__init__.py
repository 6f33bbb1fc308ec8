"""Running a hypervisor's command-line tool: the one seam of command-driven providers.

VirtualBox (``VBoxManage``), VMware desktop (``vmrun``), Parallels (``prlctl``)
and Hyper-V (PowerShell) are driven by a program and its machine-readable
output. Each such provider talks to its program only through a ``Runner``:

- ``runner.Runner``: the interface: ``run(argv, kind=...)`` runs one command
  with a timeout and returns its ``Completed`` (exit code, stdout, stderr);
  ``write_file`` puts bytes on the machine the commands run on (a cloud-init
  seed ISO). Every call is counted in the provider's ``ProviderStats`` under
  the ``CallKind`` the caller names; a command that cannot be started, or
  that outlives its timeout, is a ``ProviderError`` naming the program.
- ``local.LocalRunner``: ``subprocess`` on this machine, never through a shell.
- ``ssh.SshRunner``: the same argv on another machine through the ``ssh``
  client (``ssh -o BatchMode=yes HOST -- 'quoted argv'``): the remote shell
  receives the argv quoted with ``shlex.join``, so no argument is split or
  expanded there. Keys and host keys are the user's ssh configuration; no
  password ever passes through here.

Secrets: an argument passed as ``Secret(value)`` reaches the program but is
shown as ``***`` in every message and log line (``shown``).

The PowerShell-over-WinRM runner of Hyper-V is ``hyperv/psrp.py`` (``pypsrp``):
it implements ``Runner.run`` by running the script given as stdin in one
pipeline on the host, and ``write_file`` with pypsrp's file copy; the Hyper-V
provider changes nothing else between this machine and a remote host.
"""

from provisioner.providers.kit.commands.runner import Completed, Runner, Secret, shown

__all__ = ["Completed", "Runner", "Secret", "shown"]
