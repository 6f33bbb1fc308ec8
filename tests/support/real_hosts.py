"""Real targets for the integration tests, selected by environment variables.

Without any of the variables below every test runs on its simulator (fakepve,
vcsim, libvirt's test driver or the testbed's libvirtd). With one, the tests of
that provider run against the host it names instead; the tests that only a
simulator can do are skipped, naming why (``@pytest.mark.simulator_only``), and
whatever the tests make there belongs to a stack named for this run
(``stack_name``), destroyed after each test (a test fails if something is left).

=============================  ==========================================================
``PROVISIONER_TEST_PVE``       ``https://HOST:8006`` of a Proxmox VE node
  ``_TOKEN_ID``                ``USER@REALM!TOKEN`` (required)
  ``_TOKEN_SECRET``            its secret (required; never printed)
  ``_CA_FILE``                 PEM bundle that signs the API's certificate (optional)
  ``_NODES``                   two nodes, comma-separated (the tests that place on a
                               second node skip with one)
  ``_STORAGE``                 storage for disks (default ``local-lvm``)
  ``_TEMPLATE``                a QEMU template on the first node (default ``debian-12``)
  ``_BRIDGE``                  bridge for NICs (default ``vmbr0``)
  ``_OS_TEMPLATE``             an LXC OS template volume (default
                               ``local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst``)
``PROVISIONER_TEST_VSPHERE``   ``https://HOST`` of a vCenter or an ESXi host
  ``_USER``, ``_PASSWORD``     (required; the password is never printed)
  ``_CA_FILE``                 PEM bundle (optional)
  ``_DATACENTER``              (required)
  ``_CLUSTER`` or ``_HOST``    the compute resource (one of them on a vCenter)
  ``_DATASTORE``, ``_NETWORK`` (required)
  ``_TEMPLATE``                a template with one disk and one NIC (default ``debian-12``)
``PROVISIONER_TEST_XAPI``      ``https://POOL-MASTER`` of a XenServer / XCP-ng pool
  ``_USER``, ``_PASSWORD``     (required)
  ``_CA_FILE``, ``_SR``, ``_NETWORK``, ``_TEMPLATE``
``PROVISIONER_TEST_LIBVIRT_URI``  ``qemu+ssh://root@HOST/system`` or ``qemu:///system``
                               (the host needs an active storage pool named ``default``:
                               the tests name it, as libvirt's convention does)
``PROVISIONER_TEST_VBOX``      ``local`` (VBoxManage on this machine) or ``user@host``
                               (VBoxManage on that host, over ssh with a key)
  ``_VBOXMANAGE``              the program (default ``VBoxManage``)
  ``_BASEFOLDER``              where test VMs are made (default: VirtualBox's)
``PROVISIONER_TEST_HYPERV``    ``local`` (PowerShell on this Windows machine) or a Hyper-V host
                               name (WinRM over HTTPS, 5986)
  ``_POWERSHELL``              the local program (default ``powershell.exe``)
  ``_USER``                    the WinRM user (with a host)
  ``_PASSWORD``                its password (with a host; never printed)
  ``_AUTH``                    ``negotiate`` (default), ``ntlm``, ``kerberos``, ``credssp``
  ``_CA_FILE``                 PEM bundle that signs the host's WinRM certificate
  ``_PATH``                    where test VMs are made (default: the host's VM path)
  ``_SWITCH``                  the virtual switch NICs use (default ``Default Switch``)
``PROVISIONER_TEST_PARALLELS`` ``local`` (prlctl on this Mac) or ``user@mac`` (prlctl on
                               that Mac, over ssh with a key)
  ``_PRLCTL``                  the program (default ``prlctl``)
  ``_BASEFOLDER``              where test VMs are made (default: Parallels' VM home)
``PROVISIONER_TEST_VMWARE_DESKTOP``  ``local`` (vmrun on this machine) or ``user@host``
                               (vmrun on that host, over ssh with a key)
  ``_BASEFOLDER``              where test VMs are made (required; an absolute path)
  ``_VMRUN``                   the program (default ``vmrun``)
  ``_PRODUCT``                 ``ws``, ``fusion`` or ``player`` (default ``ws``)
  ``_DISK_TOOL``               ``vmware-vdiskmanager`` (default) or ``qemu-img``
``PROVISIONER_TEST_RUN_ID``    the run's id in stack names (default: random, 6 hex)
=============================  ==========================================================

A missing or malformed variable stops the session at its start with a
``pytest.UsageError`` naming the variable (never its value when it is a secret).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

PREFIX = "PROVISIONER_TEST_"
PVE = PREFIX + "PVE"
VSPHERE = PREFIX + "VSPHERE"
XAPI = PREFIX + "XAPI"
LIBVIRT = PREFIX + "LIBVIRT_URI"
VBOX = PREFIX + "VBOX"
HYPERV = PREFIX + "HYPERV"
PARALLELS = PREFIX + "PARALLELS"
VMWARE_DESKTOP = PREFIX + "VMWARE_DESKTOP"
RUN_ID = PREFIX + "RUN_ID"
SELECTORS = {"proxmox": PVE, "vsphere": VSPHERE, "xenserver": XAPI, "libvirt": LIBVIRT,
             "virtualbox": VBOX, "hyperv": HYPERV, "parallels": PARALLELS,
             "vmware_desktop": VMWARE_DESKTOP}
"""The variable that selects a real target, per provider (the ``provider`` of the
``simulator_only`` marker)."""


class RealHostError(pytest.UsageError):
    """A variable selecting a real target is missing or malformed."""


@dataclass(frozen=True)
class PveTarget:
    url: str
    token_id: str
    token_secret: str = field(repr=False)
    ca_file: str | None = None
    nodes: tuple[str, ...] = ()
    storage: str = "local-lvm"
    template: str = "debian-12"
    bridge: str = "vmbr0"
    os_template: str = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@dataclass(frozen=True)
class VsphereTarget:
    url: str
    user: str
    password: str = field(repr=False)
    datacenter: str = ""
    datastore: str = ""
    network: str = ""
    ca_file: str | None = None
    cluster: str | None = None
    host: str | None = None
    template: str = "debian-12"

    @property
    def server(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 443


@dataclass(frozen=True)
class XapiTarget:
    url: str
    user: str
    password: str = field(repr=False)
    ca_file: str | None = None
    sr: str | None = None
    network: str | None = None
    template: str | None = None


@dataclass(frozen=True)
class VboxTarget:
    host: str | None
    """None: VBoxManage on this machine (``local``); else the ssh destination."""
    vboxmanage: str = "VBoxManage"
    basefolder: str | None = None


@dataclass(frozen=True)
class HyperVTarget:
    host: str | None
    """None: PowerShell on this machine (``local``); else the WinRM host."""
    powershell: str = "powershell.exe"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "negotiate"
    ca_file: str | None = None
    path: str | None = None
    switch: str = "Default Switch"


@dataclass(frozen=True)
class ParallelsTarget:
    host: str | None
    """None: prlctl on this Mac (``local``); else the ssh destination."""
    prlctl: str = "prlctl"
    basefolder: str | None = None


@dataclass(frozen=True)
class VmwareDesktopTarget:
    host: str | None
    """None: vmrun on this machine (``local``); else the ssh destination."""
    basefolder: str
    vmrun: str = "vmrun"
    product: str = "ws"
    disk_tool: str = "vmware-vdiskmanager"

    def block(self) -> dict[str, object]:
        """The provider block that reaches it."""
        block: dict[str, object] = {"type": "vmware-desktop", "basefolder": self.basefolder,
                                    "vmrun": self.vmrun, "product": self.product,
                                    "disk_tool": self.disk_tool}
        return block | ({"host": self.host} if self.host else {})


@dataclass(frozen=True)
class LibvirtTarget:
    uri: str

    @property
    def remote(self) -> bool:
        """Whether the host is another machine (its files are not this machine's)."""
        host = urlsplit(self.uri).hostname
        return host not in (None, "", "localhost", "127.0.0.1", "::1")


Target = (PveTarget | VsphereTarget | XapiTarget | LibvirtTarget | VboxTarget | HyperVTarget
          | ParallelsTarget | VmwareDesktopTarget)


class _Reader:
    def __init__(self, environ: Mapping[str, str], base: str) -> None:
        self.environ = environ
        self.base = base

    def get(self, suffix: str, default: str | None = None) -> str | None:
        value = self.environ.get(f"{self.base}_{suffix}", "").strip()
        return value or default

    def need(self, suffix: str, what: str) -> str:
        value = self.get(suffix)
        if value is None:
            raise RealHostError(f"{self.base} selects a real target: set {self.base}_{suffix} "
                                f"({what})")
        return value

    def ca_file(self) -> str | None:
        path = self.get("CA_FILE")
        if path is not None and not Path(path).is_file():
            raise RealHostError(f"{self.base}_CA_FILE: no such file: {path}")
        return path


def _https(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise RealHostError(f"{name} must be an https:// URL (https://HOST[:PORT]), "
                            f"not {value!r}")
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise RealHostError(f"{name}: bad port in {value!r}") from None
    return value.rstrip("/")


def _names(name: str, value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    names = tuple(part.strip() for part in value.split(","))
    if any(not part for part in names):
        raise RealHostError(f"{name}: a comma-separated list of names, not {value!r}")
    return names


def pve(environ: Mapping[str, str] | None = None) -> PveTarget | None:
    environ = os.environ if environ is None else environ
    url = environ.get(PVE, "").strip()
    if not url:
        return None
    url = _https(PVE, url)
    read = _Reader(environ, PVE)
    token_id = read.need("TOKEN_ID", "the API token, USER@REALM!TOKENID")
    if not re.fullmatch(r"[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9._-]*", token_id):
        raise RealHostError(f"{PVE}_TOKEN_ID must be USER@REALM!TOKENID, not {token_id!r}")
    return PveTarget(
        url=url, token_id=token_id,
        token_secret=read.need("TOKEN_SECRET", "the API token's secret"),
        ca_file=read.ca_file(), nodes=_names(f"{PVE}_NODES", read.get("NODES")),
        storage=read.get("STORAGE", "local-lvm") or "local-lvm",
        template=read.get("TEMPLATE", "debian-12") or "debian-12",
        bridge=read.get("BRIDGE", "vmbr0") or "vmbr0",
        os_template=read.get("OS_TEMPLATE", PveTarget.os_template) or PveTarget.os_template)


def vsphere(environ: Mapping[str, str] | None = None) -> VsphereTarget | None:
    environ = os.environ if environ is None else environ
    url = environ.get(VSPHERE, "").strip()
    if not url:
        return None
    url = _https(VSPHERE, url)
    read = _Reader(environ, VSPHERE)
    cluster, host = read.get("CLUSTER"), read.get("HOST")
    if cluster and host:
        raise RealHostError(f"set one of {VSPHERE}_CLUSTER and {VSPHERE}_HOST, not both")
    return VsphereTarget(
        url=url, user=read.need("USER", "the user name"),
        password=read.need("PASSWORD", "the user's password"),
        datacenter=read.need("DATACENTER", "the datacenter the tests use"),
        datastore=read.need("DATASTORE", "the datastore the tests' disks go to"),
        network=read.need("NETWORK", "a port group for the tests' NICs"),
        ca_file=read.ca_file(), cluster=cluster, host=host,
        template=read.get("TEMPLATE", "debian-12") or "debian-12")


def xapi(environ: Mapping[str, str] | None = None) -> XapiTarget | None:
    environ = os.environ if environ is None else environ
    url = environ.get(XAPI, "").strip()
    if not url:
        return None
    url = _https(XAPI, url)
    read = _Reader(environ, XAPI)
    return XapiTarget(url=url, user=read.need("USER", "a pool-admin or vm-admin"),
                      password=read.need("PASSWORD", "the user's password"),
                      ca_file=read.ca_file(), sr=read.get("SR"), network=read.get("NETWORK"),
                      template=read.get("TEMPLATE"))


def libvirt(environ: Mapping[str, str] | None = None) -> LibvirtTarget | None:
    environ = os.environ if environ is None else environ
    uri = environ.get(LIBVIRT, "").strip()
    if not uri:
        return None
    if not re.fullmatch(r"[a-z][a-z0-9+]*:///?[^\s]*", uri):
        raise RealHostError(f"{LIBVIRT} must be a libvirt URI (qemu+ssh://root@HOST/system), "
                            f"not {uri!r}")
    if uri.startswith("test:"):
        raise RealHostError(f"{LIBVIRT}: {uri!r} is libvirt's test driver, which the tests "
                            "already use without the variable")
    return LibvirtTarget(uri=uri)


def _local_or_ssh(environ: Mapping[str, str] | None,
                  variable: str) -> tuple[str | None, _Reader] | None:
    """A desktop hypervisor's target: ``local`` (None) or an ssh destination, and the
    reader of its other variables; None when the variable is not set."""
    environ = os.environ if environ is None else environ
    value = environ.get(variable, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"local|[A-Za-z0-9_.@-]+", value):
        raise RealHostError(f"{variable} must be `local` or an ssh destination (user@host), "
                            f"not {value!r}")
    return (None if value == "local" else value), _Reader(environ, variable)


def vbox(environ: Mapping[str, str] | None = None) -> VboxTarget | None:
    found = _local_or_ssh(environ, VBOX)
    if found is None:
        return None
    host, read = found
    return VboxTarget(host=host,
                      vboxmanage=read.get("VBOXMANAGE", "VBoxManage") or "VBoxManage",
                      basefolder=read.get("BASEFOLDER"))


def hyperv(environ: Mapping[str, str] | None = None) -> HyperVTarget | None:
    environ = os.environ if environ is None else environ
    value = environ.get(HYPERV, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"local|[A-Za-z0-9_.-]+", value):
        raise RealHostError(f"{HYPERV} must be `local` or a host name, not {value!r}")
    read = _Reader(environ, HYPERV)
    remote = value != "local"
    auth = read.get("AUTH", "negotiate") or "negotiate"
    if auth not in ("negotiate", "ntlm", "kerberos", "credssp"):
        raise RealHostError(f"{HYPERV}_AUTH: negotiate, ntlm, kerberos or credssp, not {auth!r}")
    return HyperVTarget(
        host=value if remote else None,
        powershell=read.get("POWERSHELL", "powershell.exe") or "powershell.exe",
        user=read.need("USER", "the WinRM user") if remote else None,
        password=read.need("PASSWORD", "the WinRM user's password") if remote else None,
        auth=auth, ca_file=read.ca_file(), path=read.get("PATH"),
        switch=read.get("SWITCH", "Default Switch") or "Default Switch")


def parallels(environ: Mapping[str, str] | None = None) -> ParallelsTarget | None:
    found = _local_or_ssh(environ, PARALLELS)
    if found is None:
        return None
    host, read = found
    return ParallelsTarget(host=host, prlctl=read.get("PRLCTL", "prlctl") or "prlctl",
                           basefolder=read.get("BASEFOLDER"))


def vmware_desktop(environ: Mapping[str, str] | None = None) -> VmwareDesktopTarget | None:
    found = _local_or_ssh(environ, VMWARE_DESKTOP)
    if found is None:
        return None
    host, read = found
    basefolder = read.get("BASEFOLDER") or ""
    if not basefolder.startswith("/"):
        raise RealHostError(f"{VMWARE_DESKTOP}_BASEFOLDER: an absolute path on the VMware "
                            "host is required")
    product = read.get("PRODUCT", "ws") or "ws"
    if product not in ("ws", "fusion", "player"):
        raise RealHostError(f"{VMWARE_DESKTOP}_PRODUCT must be ws, fusion or player")
    return VmwareDesktopTarget(host=host, basefolder=basefolder,
                               vmrun=read.get("VMRUN", "vmrun") or "vmrun", product=product,
                               disk_tool=read.get("DISK_TOOL", "vmware-vdiskmanager")
                               or "vmware-vdiskmanager")


_PARSERS = {"proxmox": pve, "vsphere": vsphere, "xenserver": xapi, "libvirt": libvirt,
            "virtualbox": vbox, "hyperv": hyperv, "parallels": parallels,
            "vmware_desktop": vmware_desktop}


def target(provider: str, environ: Mapping[str, str] | None = None) -> Target | None:
    """The real target selected for ``provider``, or None (its simulator)."""
    return _PARSERS[provider](environ)  # type: ignore[return-value]


def targets(environ: Mapping[str, str] | None = None) -> dict[str, Target]:
    """Every real target selected (parsing all: a bad variable raises here)."""
    found = {provider: parse(environ) for provider, parse in _PARSERS.items()}
    return {provider: value for provider, value in found.items() if value is not None}


def describe(value: Target) -> str:
    """One line naming the target, without its secrets (for the session's header)."""
    return repr(value)


_RUN: list[str] = []


def run_id(environ: Mapping[str, str] | None = None) -> str:
    """This run's id: $PROVISIONER_TEST_RUN_ID, or 6 random hex digits chosen once."""
    environ = os.environ if environ is None else environ
    given = environ.get(RUN_ID, "").strip().lower()
    if given:
        if not re.fullmatch(r"[a-z0-9]{1,12}", given):
            raise RealHostError(f"{RUN_ID}: 1 to 12 lowercase letters and digits, not {given!r}")
        return given
    if not _RUN:
        _RUN.append(secrets.token_hex(3))
    return _RUN[0]


def stack_name(base: str, environ: Mapping[str, str] | None = None) -> str:
    """The name of a test's stack on a real target: ``BASE-RUNID`` (``lab-3fa9c1``),
    unique per run, so that a run never touches what another run (or a person) made."""
    return f"{base}-t{run_id(environ)}"
