"""Hosts of a stack as a login needs them, and the inventory, ssh-config and ssh command
line made from them (pure: a loaded stack and state records)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from provisioner.access.hosts import Host, by_name, cloud_init_user, group_name, hosts_of
from provisioner.access.inventory import inventory_json, inventory_yaml, one_host
from provisioner.access.ssh_config import ssh_command, ssh_config
from provisioner.core.address import Address
from provisioner.core.resources import Blob
from provisioner.stack.loader import load_stack
from provisioner.state.store import AppliedRecord

pytestmark = pytest.mark.unit

STACK = """\
apiVersion: provisioner/v1
stack: lab
providers:
  kvm: {type: libvirt, uri: "test:///default"}
  user: {type: qemu}
networks:
  outside: {provider: user, mode: user}
guests:
  web:
    provider: kvm
    count: 2
    groups: [frontend, lab-all]
    cloud_init: {user_data: "#cloud-config\\nusers: [default, {name: debian}]\\n"}
  db-main:
    provider: kvm
    ssh: {user: admin, identity_file: ~/.ssh/lab}
  fwd:
    provider: user
    networks: [{network: outside, forwards: [{host: 2222, guest: 22}]}]
  never:
    provider: kvm
"""


def _hosts(tmp_path: Path) -> list[Host]:
    (tmp_path / "stack.yaml").write_text(STACK)
    stack = load_stack(tmp_path / "stack.yaml")
    records = {}
    for name, ip, node in (("web-0", "10.0.0.10", "kvm1"), ("web-1", None, None),
                           ("db-main", "10.0.0.20", None), ("fwd", None, None)):
        address = Address.parse(f"guests.{name}")
        attributes = {"ip": ip, "node": node} if ip else {}
        records[address] = AppliedRecord(address, "kvm", {}, name=name, attributes=attributes)
    return hosts_of(stack, records)  # guests.never: never applied, not a host


def test_hosts_come_from_the_stack_and_the_records(tmp_path: Path) -> None:
    hosts = {host.name: host for host in _hosts(tmp_path)}
    assert list(hosts) == ["db-main", "fwd", "web-0", "web-1"]
    web = hosts["web-0"]
    assert (web.ip, web.port, web.user, web.node) == ("10.0.0.10", 22, "debian", "kvm1")
    assert web.groups == ("web", "frontend", "lab_all")
    assert hosts["web-1"].ip is None and not hosts["web-1"].reachable
    db = hosts["db-main"]
    assert (db.user, db.identity_file, db.groups) == ("admin", "~/.ssh/lab", ())
    fwd = hosts["fwd"]
    assert (fwd.ip, fwd.port) == ("127.0.0.1", 2222)  # the forward, not a guest address
    assert by_name(hosts.values(), "guests.web-0") is web


@pytest.mark.parametrize(("user_data", "user"), [
    ("#cloud-config\nusers: [default, {name: ops, sudo: ALL}]\n", "ops"),
    ("#cloud-config\nusers: [default, alice]\n", "alice"),
    ("#cloud-config\nuser: {name: bob}\n", "bob"),
    ("#cloud-config\nusers: [default]\n", None),
    ("#!/bin/sh\necho not yaml: [\n", None),
])
def test_the_cloud_init_user(user_data: str, user: str | None) -> None:
    blob = Blob.of("user-data", user_data.encode())
    assert cloud_init_user({"user_data": blob}) == user


def test_group_names_are_ansible_names() -> None:
    assert [group_name(n) for n in ("web", "db-main", "k8s.node", "3tier")] == [
        "web", "db_main", "k8s_node", "_3tier"]


def test_the_inventory_as_json_and_yaml(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path)
    document = inventory_json(hosts)
    assert document["frontend"] == {"hosts": ["web-0", "web-1"]}
    assert document["all"]["children"] == ["frontend", "lab_all", "web", "ungrouped"]
    assert document["ungrouped"] == {"hosts": ["db-main", "fwd"]}
    assert document["_meta"]["hostvars"].keys() == {"db-main", "fwd", "web-0", "web-1"}
    assert document["_meta"]["hostvars"]["fwd"] == {
        "ansible_host": "127.0.0.1", "ansible_port": 2222, "provisioner_address": "guests.fwd",
        "provisioner_provider": "user"}
    assert one_host(hosts, "db-main")["ansible_user"] == "admin"
    assert one_host(hosts, "nobody") == {}
    parsed = yaml.safe_load(inventory_yaml(hosts, "lab"))
    children = parsed["all"]["children"]
    assert children["frontend"]["hosts"]["web-0"]["ansible_host"] == "10.0.0.10"
    assert children["web"]["hosts"] == {"web-0": None, "web-1": None}  # vars given once


def test_ssh_config_and_the_ssh_command(tmp_path: Path) -> None:
    hosts = {host.name: host for host in _hosts(tmp_path)}
    text = ssh_config(list(hosts.values()), "lab")
    assert textwrap.dedent("""\
        Host db-main
          HostName 10.0.0.20
          User admin
          IdentityFile ~/.ssh/lab""") in text
    assert "Host fwd\n  HostName 127.0.0.1\n  Port 2222" in text
    assert "# web-1 (guests.web-1): no address known yet" in text
    assert ssh_command(hosts["web-0"], ["uptime", "-p"]) == [
        "ssh", "--", "debian@10.0.0.10", "uptime", "-p"]
    assert ssh_command(hosts["fwd"], []) == ["ssh", "-p", "2222", "--", "127.0.0.1"]


def test_providers_without_a_console_say_where_theirs_is() -> None:
    from provisioner.access.console import console_command
    from provisioner.errors import UserError

    with pytest.raises(UserError) as refused:
        console_command("proxmox", object(), "lab", "pve", "web-0", None)
    assert "no console" in refused.value.message and "qm terminal" in refused.value.hint
