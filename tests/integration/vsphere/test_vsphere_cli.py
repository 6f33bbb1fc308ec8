"""The console script on the simulators: ``plan --stats`` shows the one bulk read, and
neither the password nor cloud-init's content reaches any output, plan file, state,
ownership tag or note, with --debug."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import yaml
from support.vcsim import Simulator

CANARY = "canary-vsphere-5e1f-S3cr3t"
COMMANDS: list[list[str]] = [
    ["validate"], ["plan"], ["plan", "--format", "json"], ["plan", "--stats", "-o", "plan.bin"],
    ["show", "plan.bin"], ["apply", "--auto-approve"], ["show", "--json"], ["drift"],
    ["plan", "--refresh-only"], ["destroy", "--auto-approve"],
]


def _stack(directory: Path, simulator: Simulator) -> None:
    (directory / "secret.cloud.yaml").write_text(
        f"#cloud-config\nchpasswd: {{ list: 'root:{CANARY}' }}\n", encoding="utf-8")
    document = {
        "apiVersion": "provisioner/v1", "stack": simulator.stack("canary"),
        "providers": {"vc": simulator.provider_block()},
        "guests": {"web": {"provider": "vc", "memory": "256MiB", "disks": [{"size": "1GiB"}],
                           "cloud_init": {"user_data": "secret.cloud.yaml"},
                           "options": {"notes": "public notes"}}},
    }
    (directory / "stack.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    simulator.track(directory)


def _run(args: list[str], directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["provisioner", *args, "--debug"], cwd=directory, text=True,
                          capture_output=True, timeout=120, check=False,
                          env={**os.environ, "NO_COLOR": "1"})


def test_plan_stats_shows_one_bulk_read(tmp_path: Path, vcsim: Simulator) -> None:
    _stack(tmp_path, vcsim)
    result = _run(["plan", "--stats"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "vc (vsphere): 2 connect, 1 list;" in result.stdout + result.stderr


def test_secrets_reach_no_output_state_or_tag(tmp_path: Path, vcsim: Simulator) -> None:
    _stack(tmp_path, vcsim)
    password = vcsim.password
    encoded = base64.b64encode((tmp_path / "secret.cloud.yaml").read_bytes()).decode()
    for command in COMMANDS:
        result = _run(command, tmp_path)
        output = result.stdout + result.stderr
        assert result.returncode in (0, 2), (command, output[-2000:])
        assert CANARY not in output, command
        assert password not in output, command
        assert encoded not in output, command
        if command[0] == "apply":
            web = vcsim.vm("web")
            tags = [str(v.value) for v in web.customValue] + [web.config.annotation or ""]
            assert all(CANARY not in tag and "chpasswd" not in tag for tag in tags)
            extra = {o.key: o.value for o in web.config.extraConfig}
            assert CANARY in base64.b64decode(extra["guestinfo.userdata"]).decode()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "secret.cloud.yaml":
            content = path.read_bytes()
            assert CANARY.encode() not in content, path
            assert password.encode() not in content, path
            assert encoded.encode() not in content, path
