"""A stand-in ``ssh`` for the tests of providers that run commands over ssh (``host:``):
first on the PATH, it records each connection and runs the remote command line with
``sh -c`` on this machine, as sshd runs it with the user's shell."""

from __future__ import annotations

import sys
from pathlib import Path


def install_ssh(directory: Path) -> Path:
    """Write ``directory/ssh`` (the folder is made) and return its log of connections:
    one JSON list of ssh's arguments a line."""
    directory.mkdir()
    log = directory / "connections.jsonl"
    program = directory / "ssh"
    program.write_text(
        f"#!{sys.executable} -S\nimport json, subprocess, sys\nargs = sys.argv[1:]\n"
        "at = args.index('--')\n"
        f"with open({str(log)!r}, 'a') as f: f.write(json.dumps(args) + '\\n')\n"
        "sys.exit(subprocess.call(['sh', '-c', args[at + 1]]))\n", encoding="utf-8")
    program.chmod(0o755)
    return log
