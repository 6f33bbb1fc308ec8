"""The secret canary on XenServer: the pool's password (the simulator's, set to the
canary) and a cloud-init secret appear in no output of any command with --debug,
nor in plan files, state, the error of a refused login, or the pool's VM and disk
records (the config drive's bytes hold the user-data, by design: they are the
guest's disk, not its definition). XAPI session references are bearer tokens:
the URL that carries one (an upload's) is never shown."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from support.xapi import XapiSimulator

pytestmark = [pytest.mark.integration,
              pytest.mark.simulator_only("sets the simulator's password to the canary")]

CANARY = "canary-9c2e-S3cr3t"
COMMANDS = [["validate"], ["plan"], ["plan", "--format", "json"], ["plan", "--stats", "-o",
            "{plan}"], ["show", "{plan}"], ["apply", "--auto-approve"], ["show", "--json"],
            ["drift", "--format", "json"], ["destroy", "--auto-approve"]]


def _write(directory: Path, sim: XapiSimulator) -> None:
    (directory / "secret.cloud.yaml").write_text(
        f"#cloud-config\nchpasswd: {{ list: 'root:{CANARY}' }}\n")
    (directory / "stack.yaml").write_text(textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: canary
        providers:
          xcp: {{type: xenserver, url: "{sim.url}", username: root,
                 password: "${{env.XAPI_PASSWORD}}", ca_file: "{sim.ca_file}"}}
        guests:
          web:
            provider: xcp
            clone: debian-12-cloud
            memory: 256MiB
            disks: [{{size: 10GiB}}]
            cloud_init: {{ user_data: secret.cloud.yaml }}
        """))


def test_the_password_and_sessions_never_leave(tmp_path: Path) -> None:
    sim = XapiSimulator(users={"root": (CANARY, "pool-admin")})
    sim.start()
    sim.seed_lab()
    try:
        _write(tmp_path, sim)
        env = {**os.environ, "XAPI_PASSWORD": CANARY}
        plan_file = tmp_path / "canary.plan"
        outputs = {}
        for command in COMMANDS:
            args = [part.replace("{plan}", str(plan_file)) for part in command]
            if not (args[0] == "show" and args[-1] == str(plan_file)):
                args.append(".")
            result = subprocess.run(["provisioner", *args, "--debug"], cwd=tmp_path, env=env,
                                    text=True, capture_output=True, timeout=120, check=False)
            outputs[" ".join(args)] = result.stdout + result.stderr
        assert "Apply complete" in outputs["apply --auto-approve ."]
        leaks = [cmd for cmd, text in outputs.items() if CANARY in text]
        assert leaks == [], f"the secret leaked in: {leaks}"
        sessions = [cmd for cmd, text in outputs.items() if "session_id" in text]
        assert sessions == [], f"a session reference was shown by: {sessions}"
        assert CANARY not in plan_file.read_text()
        for path in tmp_path.rglob("*"):
            if path.is_file() and path.name != "secret.cloud.yaml":
                assert CANARY.encode() not in path.read_bytes(), path
        records = json.dumps([sim.objects(cls) for cls in ("VM", "VDI", "VBD", "task")],
                             default=str)
        assert CANARY not in records
        _write(tmp_path, sim)
        wrong = subprocess.run(["provisioner", "plan", ".", "--debug"], cwd=tmp_path,
                               env={**env, "XAPI_PASSWORD": CANARY + "-wrong"}, text=True,
                               capture_output=True, timeout=60, check=False)
        assert wrong.returncode == 1 and "SESSION_AUTHENTICATION_FAILED" in wrong.stderr
        assert CANARY not in wrong.stdout + wrong.stderr
    finally:
        sim.stop()
