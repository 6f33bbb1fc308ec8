"""Logging in to a vCenter or ESXi host: TLS, the API version, the session.

The TLS context verifies the server's certificate by default (the system's
CAs, or ``ca_file``). The API version is the newest one both pyVmomi and the
server speak, read from ``/sdk/vimServiceVersions.xml`` as pyVmomi's own
``SmartConnect`` does, but with a timeout (pyVmomi's probe has none, and an
unreachable server would hang the plan). The password is handed to
``SessionManager.Login`` only; it is never part of a message.
"""

from __future__ import annotations

import http.client
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from pyVmomi import SoapStubAdapter, vim
from pyVmomi.VmomiSupport import GetServiceVersions, versionIdMap

from provisioner.errors import ProviderError
from provisioner.providers.vsphere import VsphereConfig

VERSIONS_PATH = "/sdk/vimServiceVersions.xml"


@dataclass
class Session:
    """A logged-in connection: the service instance and its content."""

    instance: Any
    content: Any
    version: str

    @property
    def is_vcenter(self) -> bool:
        return str(self.content.about.apiType) == "VirtualCenter"


def tls_context(settings: VsphereConfig) -> ssl.SSLContext:
    """Verifying by default; ``verify_tls: false`` is the explicit opt-out."""
    if not settings.verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=settings.ca_file)


def api_version(settings: VsphereConfig, context: ssl.SSLContext) -> str:
    """The newest vim25 version pyVmomi knows that the server lists. Raises OSError
    (and ssl errors) when the server cannot be reached; ProviderError when it is
    not a vSphere SDK."""
    connection = http.client.HTTPSConnection(settings.server, settings.port, context=context,
                                             timeout=settings.timeout)
    try:
        connection.request("GET", VERSIONS_PATH)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    offered = _offered_versions(body) if response.status == 200 else set()
    for version in GetServiceVersions("vim25"):
        if versionIdMap.get(version) in offered:
            return str(version)
    raise ProviderError(
        f"{settings.server}:{settings.port} does not answer as a vSphere SDK "
        f"(HTTP {response.status} for {VERSIONS_PATH})",
        hint="check `server:` and `port:` of the provider block")


def _offered_versions(body: bytes) -> set[str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return set()
    offered = set()
    for namespace in root.findall("namespace"):
        if namespace.findtext("name") == "urn:vim25":
            offered.add(namespace.findtext("version") or "")
            offered |= {v.text or "" for v in namespace.findall("priorVersions/version")}
    return offered


def login(settings: VsphereConfig, pool_size: int) -> Session:
    """A new session. Raises pyVmomi faults and OSError; the caller translates them."""
    context = tls_context(settings)
    version = api_version(settings, context)
    stub = SoapStubAdapter(host=settings.server, port=settings.port, version=version,
                           sslContext=context, poolSize=pool_size,
                           httpConnectionTimeout=settings.timeout)
    instance = vim.ServiceInstance("ServiceInstance", stub)
    content: Any = instance.RetrieveContent()
    content.sessionManager.Login(settings.username, settings.password.get_secret_value())
    return Session(instance, content, version)


def logout(session: Session) -> None:
    """End the session on the server. Raises what pyVmomi raises (callers ignore it)."""
    session.content.sessionManager.Logout()
