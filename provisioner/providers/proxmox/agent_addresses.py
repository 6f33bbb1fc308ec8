"""Guest addresses from the QEMU guest agent (``agent/network-get-interfaces``).

A guest on DHCP has no address in its Proxmox config; the guest agent inside it
knows the addresses its NICs hold. The agent answers only for a running guest
whose config enables it (``agent: 1``, the stack's ``options.agent: true``) and
whose image runs ``qemu-guest-agent``; anything else (not configured, not running
yet, not answering) means "no address known", never a failed read.

Cost: one READ per running guest with the agent enabled, made in the same
parallel per-guest read as its config; guests without the agent cost nothing more.
The plan reads addresses (not only the apply's wait) so that the records, and
``provisioner ssh``/``inventory`` which read them, follow an address that changes.
Addresses are kept to those on the guest's own NICs (matched by MAC), skipping
loopback and link-local ones, IPv4 first, in NIC order.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping, Sequence
from typing import Any

from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.proxmox.client import ProxmoxClient
from provisioner.providers.proxmox.props import parse_props, to_bool

POLL_SECONDS = 2.0
"""Between two questions to the agent while waiting for an address."""


def agent_enabled(config: Mapping[str, Any]) -> bool:
    """Whether the guest's config enables the guest agent (``agent: 1`` or
    ``agent: enabled=1,...``)."""
    if "agent" not in config:
        return False
    return bool(to_bool(parse_props(config.get("agent"), "enabled").get("enabled")))


def addresses_of(interfaces: Any, macs: Sequence[str]) -> list[str]:
    """The usable addresses in an agent answer (``{"result": [interface, ...]}`` or
    the list): on an interface whose MAC is one of ``macs`` (any interface when
    ``macs`` is empty), neither loopback nor link-local; IPv4 before IPv6."""
    entries = interfaces.get("result") if isinstance(interfaces, Mapping) else interfaces
    wanted = {mac.lower() for mac in macs}
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for interface in entries if isinstance(entries, list) else []:
        if not isinstance(interface, Mapping):
            continue
        mac = str(interface.get("hardware-address") or "").lower()
        if wanted and mac not in wanted:
            continue
        entries_of_nic = interface.get("ip-addresses")
        for entry in entries_of_nic if isinstance(entries_of_nic, list) else []:
            address = _usable(entry.get("ip-address") if isinstance(entry, Mapping) else None)
            if address is not None and address not in found:
                found.append(address)
    found.sort(key=lambda address: address.version)  # stable: NIC order within a family
    return [str(address) for address in found]


def _usable(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(str(text).split("%")[0])
    except ValueError:
        return None
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        return None
    return address


class AgentAddresses:
    """Asks one provider block's guests' agents for their addresses."""

    def __init__(self, client: ProxmoxClient) -> None:
        self.client = client

    def read(self, path: str, what: str, macs: Sequence[str]) -> list[str]:
        """The addresses the agent of the guest at ``path`` (``nodes/N/qemu/ID``)
        reports now; empty when it does not answer. Asked once, not retried: an agent
        that hangs makes Proxmox answer "got timeout" after its own wait."""
        try:
            answer = self.client.once(CallKind.READ, what, "GET",
                                      f"{path}/agent/network-get-interfaces")
        except (ProviderError, ObjectNotFoundError):
            return []
        return addresses_of(answer, macs)

    def wait(self, path: str, what: str, macs: Sequence[str], timeout: float) -> list[str]:
        """The addresses once the agent reports one, asking every POLL_SECONDS;
        ProviderError naming what was waited for after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.read(path, what, macs)
            if found:
                return found
            if time.monotonic() + POLL_SECONDS > deadline:
                raise ProviderError(
                    f"{what}: no IP address from the QEMU guest agent after {timeout:.0f}s "
                    "(wait_for: ip)",
                    hint="the guest's image must run qemu-guest-agent (install it with "
                         "cloud-init packages: [qemu-guest-agent]) and get an address; "
                         "or raise wait_timeout")
            time.sleep(POLL_SECONDS)
