"""Connecting: a token or a password ticket, TLS verified (ca_file), secrets never shown."""

from __future__ import annotations

import pytest
from pve_harness import Lab, TestPve

from provisioner.errors import ProviderError

WEB = """
guests:
  web: { provider: pve, clone: debian-12, node: pve1, memory: 512MiB }
"""


@pytest.mark.simulator_only("logs in with fakepve's root@pam password")
def test_a_password_login_gets_a_ticket(lab: Lab, pve: TestPve,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVE_PASSWORD", "secret")  # fakepve's root@pam
    _, result = lab.apply(WEB, token_id=None, token_secret=None, username="root@pam",
                          password="${env.PVE_PASSWORD}")
    assert result.ok
    assert not lab.plan(WEB, token_id=None, token_secret=None, username="root@pam",
                        password="${env.PVE_PASSWORD}").has_changes


def test_a_wrong_password_is_a_clear_error_without_the_password(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PVE_PASSWORD", "not-the-password-42")
    with pytest.raises(ProviderError) as failure:
        lab.plan(WEB, token_id=None, token_secret=None, username="root@pam",
                 password="${env.PVE_PASSWORD}")
    assert "cannot log in" in str(failure.value) and "root@pam" in str(failure.value)
    assert "not-the-password-42" not in str(failure.value) + failure.value.hint


def test_a_wrong_token_is_refused_without_showing_it(lab: Lab,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PVE_TEST_TOKEN", "wrong-token-value-77")
    with pytest.raises(ProviderError) as failure:
        lab.plan(WEB)
    assert "authentication failure" in str(failure.value) and "HTTP 401" in str(failure.value)
    assert "wrong-token-value-77" not in str(failure.value) + failure.value.hint


def test_tls_is_verified_by_default(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    if lab.real and not lab.cafile:
        pytest.skip("the real cluster's certificate is trusted without ca_file "
                    "(PROVISIONER_TEST_PVE_CA_FILE is not set)")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(ProviderError) as failure:
        lab.plan(WEB, ca_file=None)
    assert "certificate could not be verified" in str(failure.value)
    assert "ca_file" in failure.value.hint
