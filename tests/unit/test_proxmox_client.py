"""The Proxmox client's edge: errors translated once, transient ones retried, secrets
never shown; tasks waited on at their node; the provider block validated."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.base import ProviderStats
from provisioner.providers.proxmox import ProxmoxConfig

proxmoxer = pytest.importorskip("proxmoxer")
requests = pytest.importorskip("requests")

from provisioner.providers.proxmox.client import (  # noqa: E402
    AlreadyExistsError,
    ProxmoxClient,
    UnreachableNodeError,
    translate,
)
from provisioner.providers.proxmox.tasks import (  # noqa: E402
    TaskFailedError,
    Tasks,
    TransientTaskError,
    node_of,
)

SECRET = "s3cr3t-token-value"


def _settings(**values: Any) -> ProxmoxConfig:
    base = {"endpoint": "https://pve1.lan:8006", "token_id": "ci@pve!gitops",
            "token_secret": SECRET, "retry_timeout": 0.5}
    return ProxmoxConfig.model_validate({**base, **values}, strict=False)


def _answer(status: int, message: str, errors: Any = None) -> Exception:
    answer: Exception = proxmoxer.ResourceException(status, "x", message, errors=errors)
    return answer


@pytest.mark.parametrize(("status", "message", "kind"), [
    (500, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
     TransientProviderError),
    (500, "VM is locked (backup)", TransientProviderError),
    (500, "cluster not ready - no quorum?", TransientProviderError),
    (595, "No route to host", UnreachableNodeError),
    (503, "Service Unavailable", TransientProviderError),
    (500, "Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist",
     ObjectNotFoundError),
    (500, "unable to create VM 101 - VM 101 already exists on node 'pve1'", AlreadyExistsError),
    (500, "storage 'ssd' is not online", ProviderError),
    (403, "Permission check failed (/vms/100, VM.Allocate)", ProviderError),
])
def test_answers_are_translated_by_status_and_message(
    status: int, message: str, kind: type[ProviderError]
) -> None:
    error = translate(_answer(status, message), "guests.web")
    assert type(error) is kind
    assert error.message.startswith("guests.web: ") and message in error.message


def test_field_errors_are_part_of_the_message() -> None:
    error = translate(_answer(400, "Parameter verification failed.",
                              {"net0": "invalid format"}), "guests.web")
    assert "net0: invalid format" in error.message


def test_a_dropped_connection_is_transient_and_a_bad_certificate_is_not() -> None:
    dropped = translate(requests.exceptions.ConnectionError("Connection reset by peer"), "x")
    assert isinstance(dropped, TransientProviderError)
    tls = translate(requests.exceptions.SSLError("certificate verify failed"), "x")
    assert not isinstance(tls, TransientProviderError) and "ca_file" in tls.hint


class _Flaky:
    """An action that fails ``times`` times with ``error``, then answers."""

    def __init__(self, times: int, error: Callable[[], Exception]) -> None:
        self.times = times
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.times:
            raise self.error()
        return "ok"


def test_transient_failures_are_retried_within_the_budget() -> None:
    client = ProxmoxClient(_settings(retry_timeout=5), ProviderStats())
    flaky = _Flaky(2, lambda: TransientProviderError("locked"))
    assert client.retrying("x", flaky) == "ok"
    assert flaky.calls == 3


def test_retries_stop_at_the_budget() -> None:
    client = ProxmoxClient(_settings(retry_timeout=0.3), ProviderStats())
    flaky = _Flaky(1000, lambda: TransientProviderError("locked"))
    with pytest.raises(TransientProviderError):
        client.retrying("x", flaky)
    assert 1 < flaky.calls < 10


def test_a_lost_answer_to_a_create_is_not_retried_blindly() -> None:
    client = ProxmoxClient(_settings(retry_timeout=5), ProviderStats())

    def dropped() -> Exception:
        error = TransientProviderError("no answer")
        error.__cause__ = requests.exceptions.ConnectionError("reset")
        return error

    flaky = _Flaky(1, dropped)
    with pytest.raises(TransientProviderError):
        client.retrying("x", flaky, idempotent=False)
    assert flaky.calls == 1
    assert client.retrying("x", _Flaky(1, dropped)) == "ok"


def test_secrets_never_reach_messages() -> None:
    client = ProxmoxClient(_settings(), ProviderStats())
    error = client._scrubbed(ProviderError(f"refused token {SECRET}"))
    assert SECRET not in str(error) and "***" in str(error)
    assert SECRET not in repr(_settings())


class _TaskClient:
    """Answers task status and log requests like Proxmox."""

    def __init__(self, exitstatus: str, log_lines: int, running: int = 0) -> None:
        self.exitstatus = exitstatus
        self.lines = [f"line {n}" for n in range(1, log_lines)] + [f"TASK ERROR: {exitstatus}"]
        self.running = running
        self.paths: list[str] = []
        self.settings = _settings()

    def get(self, _kind: Any, _what: str, path: str, **params: Any) -> Any:
        self.paths.append(path)
        if path.endswith("/status"):
            if self.running:
                self.running -= 1
                return {"status": "running"}
            return {"status": "stopped", "exitstatus": self.exitstatus}
        start, limit = params["start"], params["limit"]
        return [{"n": n + 1, "t": t} for n, t in enumerate(self.lines)][start:start + limit]

    def retrying(self, _what: str, action: Callable[[], Any], **_: Any) -> Any:
        return action()


UPID = "UPID:pve2:0000ABCD:00001234:65000000:qmclone:9000:root@pam:"


def test_a_task_is_polled_at_the_node_its_upid_names() -> None:
    client = _TaskClient("OK", 2, running=2)
    Tasks(client, 5).wait(UPID, "guests.web")  # type: ignore[arg-type]
    assert node_of(UPID) == "pve2"
    assert all(path.startswith("nodes/pve2/tasks/") for path in client.paths)
    assert len(client.paths) == 3


def test_a_failed_task_carries_the_end_of_its_log() -> None:
    client = _TaskClient("clone failed: storage full", 120)
    with pytest.raises(TaskFailedError) as failure:
        Tasks(client, 5).wait(UPID, "guests.web")  # type: ignore[arg-type]
    message = str(failure.value)
    assert "task qmclone on pve2 failed: clone failed: storage full" in message
    assert "line 119" in message and "TASK ERROR" in message and "line 100\n" not in message
    assert sum(path.endswith("/log") for path in client.paths) == 3, "log pages of 50"


def test_a_task_that_failed_on_a_lock_is_transient() -> None:
    client = _TaskClient("can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout",
                         1)
    with pytest.raises(TransientTaskError):
        Tasks(client, 5).wait(UPID, "guests.web")  # type: ignore[arg-type]


def test_the_provider_block_needs_exactly_one_login() -> None:
    with pytest.raises(ValidationError, match="either token_id and token_secret"):
        _settings(username="root@pam", password="x")
    with pytest.raises(ValidationError, match="needs both token_id and token_secret"):
        ProxmoxConfig.model_validate({"endpoint": "https://pve:8006", "token_id": "a@pve!b"},
                                     strict=False)
    with pytest.raises(ValidationError, match="set token_id and token_secret"):
        ProxmoxConfig.model_validate({"endpoint": "https://pve:8006"}, strict=False)
    with pytest.raises(ValidationError):
        _settings(endpoint="http://pve1.lan:8006")
    assert _settings().verify_tls is True, "TLS is verified by default"


def test_the_descriptor_does_not_import_proxmoxer() -> None:
    code = ("import sys, provisioner.providers.proxmox, provisioner.cli\n"
            "from provisioner.core.plugins import get_plugin\n"
            "get_plugin('proxmox')\n"
            "assert 'proxmoxer' not in sys.modules and 'requests' not in sys.modules, "
            "sorted(m for m in sys.modules if 'prox' in m or 'requests' in m)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
