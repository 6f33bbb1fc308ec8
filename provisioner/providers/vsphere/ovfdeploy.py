"""Deploying an OVA image as a template: OvfManager.CreateImportSpec, ImportVApp, the
HttpNfcLease upload of its disks, then MarkAsTemplate.

The import spec is made from the descriptor inside the OVA (``ova``) for the image's
datastore, the block's resource pool and folder; the VM it makes carries the
create-in-progress marker in its extraConfig from the first moment (an interrupted
deploy is a leftover the next plan deletes, as an interrupted guest create is). Each
disk the spec asks for is streamed from its offset in the OVA to the lease's URL for
it (POST of a streamOptimized vmdk, PUT where the server says the file already
exists). The lease is completed, or aborted when anything fails.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyVmomi import vim

from provisioner.errors import ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.vsphere import VsphereConfig
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.ova import Ova, OvaError, open_member, read_ova
from provisioner.providers.vsphere.ownership import CREATING_KEY
from provisioner.providers.vsphere.upload import put_file

LEASE_POLL = 0.2


@dataclass(frozen=True)
class Target:
    """Where the template goes (managed object ids) and what it is called."""

    name: str
    datacenter: str
    datastore: str
    pool: str
    folder: str
    host: str | None


def deploy(client: VsphereClient, settings: VsphereConfig, ova_path: Path, target: Target,
           creating: str, what: str, upload: Callable[..., None] = put_file) -> str:
    """The new VM's moid (still a VM, marked as being created). Raises ProviderError."""
    try:
        ova = read_ova(ova_path)
    except OvaError as exc:
        raise ProviderError(f"{what}: {exc}", hint="check the image's url and format") from None
    spec = _import_spec(client, ova, target, what)
    spec.importSpec.configSpec.extraConfig = [
        *(spec.importSpec.configSpec.extraConfig or []),
        vim.option.OptionValue(key=CREATING_KEY, value=creating)]
    pool = client.ref(vim.ResourcePool, target.pool)
    folder = client.ref(vim.Folder, target.folder)
    host = None if target.host is None else client.ref(vim.HostSystem, target.host)
    lease = client.call(CallKind.WRITE, what, lambda _s: pool.ImportVApp(
        spec=spec.importSpec, folder=folder, host=host), retry=False)
    try:
        info = _ready(client, lease, what)
        _upload_disks(client, settings, ova_path, ova, spec, info, what, upload)
        client.call(CallKind.WRITE, what, lambda _s: lease.HttpNfcLeaseComplete())
    except BaseException:
        _abort(client, lease, what)
        raise
    return str(info.entity._moId)


def _import_spec(client: VsphereClient, ova: Ova, target: Target, what: str) -> Any:
    manager = client.session.content.ovfManager
    params = vim.OvfManager.CreateImportSpecParams(entityName=target.name,
                                                   diskProvisioning="thin")
    pool = client.ref(vim.ResourcePool, target.pool)
    datastore = client.ref(vim.Datastore, target.datastore)
    result = client.call(CallKind.READ, what, lambda _s: manager.CreateImportSpec(
        ovfDescriptor=ova.descriptor, resourcePool=pool, datastore=datastore, cisp=params))
    errors = [str(getattr(e, "localizedMessage", "") or type(e.fault).__name__)
              for e in result.error or ()]
    if errors or result.importSpec is None:
        raise ProviderError(f"{what}: vSphere cannot deploy the OVA: "
                            f"{'; '.join(errors) or 'no import spec'}",
                            hint="check that the OVA's descriptor is for vSphere")
    return result


def _ready(client: VsphereClient, lease: Any, what: str) -> Any:
    deadline = time.monotonic() + client.settings.task_timeout
    while True:
        state = str(client.call(CallKind.READ, what, lambda _s: lease.state))
        if state == "ready":
            return client.call(CallKind.READ, what, lambda _s: lease.info)
        if state == "error":
            error = client.call(CallKind.READ, what, lambda _s: lease.error)
            message = getattr(error, "msg", "") or type(error).__name__
            raise ProviderError(f"{what}: the OVF import failed: {message}")
        if time.monotonic() > deadline:
            raise ProviderError(f"{what}: the OVF import lease is still {state} after "
                                f"{client.settings.task_timeout:g}s")
        time.sleep(LEASE_POLL)


def _upload_disks(client: VsphereClient, settings: VsphereConfig, ova_path: Path, ova: Ova,
                  spec: Any, info: Any, what: str, upload: Callable[..., None]) -> None:
    urls = {str(device.importKey): str(device.url) for device in info.deviceUrl or ()}
    cookie = str(client.session.instance._stub.cookie)
    for item in spec.fileItem or ():
        url = urls.get(str(item.deviceId))
        if url is None:
            raise ProviderError(f"{what}: the import lease has no URL for {item.path}")
        member = ova.member(str(item.path))
        url = url.replace("https://*/", f"https://{settings.server}:{settings.port}/", 1)
        with open_member(ova_path, member) as stream, client.stats.track(CallKind.WRITE):
            if item.create:
                upload(settings, cookie, url, stream, member.size, what=what)
            else:
                upload(settings, cookie, url, stream, member.size, what=what, method="POST",
                       content_type="application/x-vnd.vmware-streamVmdk")


def _abort(client: VsphereClient, lease: Any, what: str) -> None:
    # if this fails, the lease times out on the server; the VM is a leftover of the deploy
    with contextlib.suppress(ProviderError):
        client.call(CallKind.WRITE, what, lambda _s: lease.HttpNfcLeaseAbort(), retry=False)
