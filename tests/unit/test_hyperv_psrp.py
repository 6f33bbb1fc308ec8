"""The WinRM seam's configuration, checked on pypsrp's own client objects without a
server (none is reachable here: this seam has not met a real WinRM endpoint)."""

from __future__ import annotations

from typing import Any

import pytest

from provisioner.errors import ProviderError
from provisioner.providers.base import ProviderStats
from provisioner.providers.hyperv import HyperVConfig
from provisioner.providers.hyperv.powershell import PowerShell

pytestmark = pytest.mark.unit
pytest.importorskip("pypsrp")
SECRET = "s3cr3t-Pa55"


def _runner(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> Any:
    from provisioner.providers.hyperv.psrp import PsrpRunner

    monkeypatch.setenv("HV_PASSWORD", SECRET)
    settings = HyperVConfig(host="hv01.lab", username="LAB\\ops", password_env="HV_PASSWORD",
                            **fields)
    return PsrpRunner(ProviderStats(), settings)


def test_tls_is_verified_over_https_on_5986_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = _runner(monkeypatch).client.wsman.transport
    assert (transport.endpoint, transport.cert_validation, transport.auth) == (
        "https://hv01.lab:5986/wsman", True, "negotiate")
    assert (transport.username, transport.password) == ("LAB\\ops", SECRET)


@pytest.mark.parametrize("auth", ["ntlm", "kerberos", "credssp"])
def test_the_authentication_is_the_blocks(monkeypatch: pytest.MonkeyPatch, auth: str) -> None:
    assert _runner(monkeypatch, auth=auth).client.wsman.transport.auth == auth


def test_a_ca_file_or_no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    pinned = _runner(monkeypatch, ca_file="/etc/lab-ca.pem").client.wsman.transport
    assert pinned.cert_validation == "/etc/lab-ca.pem"
    assert _runner(monkeypatch, cert_validation=False).client.wsman.transport \
        .cert_validation is False
    plain = _runner(monkeypatch, ssl=False, port=5985).client.wsman.transport
    assert plain.endpoint == "http://hv01.lab:5985/wsman"


def test_the_password_is_in_no_repr_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = _runner(monkeypatch, timeout=1.0)
    assert SECRET not in repr(runner) and SECRET not in repr(HyperVConfig(
        host="h", password_env="HV_PASSWORD"))
    ps = PowerShell(HyperVConfig(host="127.0.0.1", port=9, password_env="HV_PASSWORD",
                                 username="u", timeout=1.0, ssl=False), ProviderStats())
    with pytest.raises(ProviderError) as caught:
        ps.list("$ErrorActionPreference = 'Stop'\n")
    text = f"{caught.value} {caught.value.hint} {caught.value.__cause__!r}"
    assert "WinRM to 127.0.0.1 failed" in text and SECRET not in text


def test_a_password_variable_that_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from provisioner.providers.hyperv.psrp import PsrpRunner

    monkeypatch.delenv("HV_MISSING", raising=False)
    with pytest.raises(ProviderError, match="HV_MISSING, which is not set"):
        PsrpRunner(ProviderStats(), HyperVConfig(host="h", password_env="HV_MISSING"))
