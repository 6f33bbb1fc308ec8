"""Two stacks side by side for the tests of environments and of other stacks' outputs:
``core`` (a network; outputs ``lab_cidr`` and the sensitive ``token``) and ``app``
(a network whose cidr is core's output, a guest, an environment ``prod``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from support.libvirt_node import node_uri, write_stack

CANARY = "canary-5b1d0c7e-other-stack"


def write_two_stacks(tmp_path: Path) -> Path:
    """``core`` and ``app`` (which reads core's output ``lab_cidr``, and has an
    environment ``prod``) in ``tmp_path``, on a private test:/// host."""
    uri = node_uri(tmp_path)
    (tmp_path / "core").mkdir()
    (tmp_path / "app" / "env").mkdir(parents=True)
    write_stack(tmp_path / "core", textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: core
        providers:
          kvm: {{ type: libvirt, uri: "{uri}" }}
        variables:
          cidr: {{ default: 10.8.0.0/24 }}
          token: {{ default: "", sensitive: true }}
        networks:
          lab: {{ provider: kvm, mode: nat, cidr: "${{var.cidr}}" }}
        outputs:
          lab_cidr: ${{var.cidr}}
          token: {{ value: "${{var.token}}", sensitive: true }}
        """))
    write_stack(tmp_path / "app", textwrap.dedent(f"""\
        apiVersion: provisioner/v1
        stack: app
        providers:
          kvm: {{ type: libvirt, uri: "{uri}" }}
        variables:
          memory: {{ default: 256MiB }}
        networks:
          net: {{ provider: kvm, mode: nat, cidr: "${{stack.core--default.outputs.lab_cidr}}" }}
        guests:
          web: {{ provider: kvm, memory: "${{var.memory}}", networks: [ {{ network: net }} ] }}
        outputs:
          core_cidr: ${{stack.core--default.outputs.lab_cidr}}
        """))
    (tmp_path / "app" / "env" / "prod.yaml").write_text("variables: {memory: 512MiB}\n")
    return tmp_path
