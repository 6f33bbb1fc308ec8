"""wait_for: ssh and cloud-init, against local stand-ins for a guest: a TCP server that
sends an SSH banner (or one that accepts and says nothing, as a NAT forward to a guest
without a server does), and a stand-in ``ssh`` program for ``cloud-init status --wait``.
(A real guest's SSH is met in tests/e2e.)"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner.apply.readiness import NotReadyError, wait_ready, waits
from provisioner.core.address import Address
from provisioner.core.resources import Blob, LiveObject, Resource

pytestmark = pytest.mark.unit


def _server(answer: bytes) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                if answer:
                    connection.sendall(answer)
                time.sleep(0.3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def sshd() -> Iterator[int]:
    yield from _server(b"SSH-2.0-dropbear_2022.83\r\n")


@pytest.fixture
def mute() -> Iterator[int]:
    yield from _server(b"")


def _guest(wait_for: str, port: int, timeout: int = 2, **spec: object) -> Resource:
    user_data = Blob.of("user-data", b"#cloud-config\nusers: [default, {name: debian}]\n")
    return Resource(Address.parse("guests.web"), "kvm",
                    {"power": "running", "cloud_init": {"user_data": user_data},
                     "networks": [{"network": "outside", "forwards": [
                         {"host": port, "guest": 22, "address": "127.0.0.1"}]}], **spec},
                    settings={"wait_for": wait_for, "wait_timeout": timeout})


def _live() -> LiveObject:
    return LiveObject(Address.parse("guests.web"), "kvm", "web", "1", {}, {})


def test_an_ssh_banner_is_ready(sshd: int) -> None:
    started = time.monotonic()
    wait_ready(_guest("ssh", sshd), _live())
    assert time.monotonic() - started < 1


def test_an_open_port_that_says_nothing_is_not_ready(mute: int) -> None:
    with pytest.raises(NotReadyError, match=rf"no SSH server answered on 127.0.0.1:{mute} "
                                            r"within 2s \(wait_for: ssh\)"):
        wait_ready(_guest("ssh", mute), _live())


def test_a_stopped_guest_or_ip_is_not_waited_for_here(mute: int) -> None:
    assert waits(_guest("ssh", mute, power="stopped")) is None
    assert waits(_guest("ip", mute)) is None
    no_address = Resource(Address.parse("guests.web"), "kvm", {"power": "running"},
                          settings={"wait_for": "ssh", "wait_timeout": 1})
    with pytest.raises(NotReadyError, match="no address to reach it"):
        wait_ready(no_address, _live())


@pytest.mark.parametrize(("exit_code", "ready"), [(0, True), (1, False)])
def test_cloud_init_is_asked_over_ssh(sshd: int, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      exit_code: int, ready: bool) -> None:
    fake = tmp_path / "ssh"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/argv"\n'
                    f'echo "status: {"done" if ready else "error"}"\nexit {exit_code}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    guest = _guest("cloud-init", sshd)
    if ready:
        wait_ready(guest, _live())
    else:
        with pytest.raises(NotReadyError, match=r"exited 1: status: error"):
            wait_ready(guest, _live())
    argv = (tmp_path / "argv").read_text().split()
    assert argv[-5:] == ["--", "debian@127.0.0.1", "cloud-init", "status", "--wait"]
    assert "BatchMode=yes" in argv and ["-p", str(sshd)] == argv[argv.index("-p"):][:2]
