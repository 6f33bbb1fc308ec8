"""The PropertyCollector reads: the whole inventory in one retrieval, or one VM.

``read_all`` is the bulk read behind every plan: ONE ``RetrievePropertiesEx``
over the session's container view returns every datacenter, folder, cluster,
host, resource pool, datastore, network and VM with only the properties the
provider uses, plus the custom attribute definitions (vCenter). It is counted
as one LIST call; a server that pages a large answer adds one LIST call per
page (``ContinueRetrievePropertiesEx``). ``read_vm`` reads one VM's
properties after a change (one READ call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyVmomi import vim, vmodl

from provisioner.errors import ObjectNotFoundError
from provisioner.providers.base import CallKind
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.facts import (
    Compute,
    Datacenter,
    Datastore,
    Facts,
    Folder,
    Host,
    Network,
    Pool,
    VmRecord,
)
from provisioner.providers.vsphere.session import Session

PC = vmodl.query.PropertyCollector
MIB = 1024 * 1024

VM_PATHS = (
    "name", "parent", "resourcePool", "runtime.host", "runtime.powerState",
    "config.template", "config.hardware.numCPU", "config.hardware.numCoresPerSocket",
    "config.hardware.memoryMB", "config.hardware.device", "config.annotation",
    "config.guestId", "config.cpuHotAddEnabled", "config.cpuHotRemoveEnabled",
    "config.memoryHotAddEnabled", "config.extraConfig", "config.firmware",
    "config.instanceUuid", "config.files.vmPathName", "customValue", "guest.ipAddress",
    "guest.net", "guest.toolsRunningStatus",
)
PATHS: Mapping[type[Any], Sequence[str]] = {
    vim.VirtualMachine: VM_PATHS,
    vim.Datacenter: ("name", "parent", "vmFolder", "hostFolder"),
    vim.Folder: ("name", "parent", "childType"),
    vim.ComputeResource: ("name", "parent", "host", "resourcePool", "datastore", "network",
                          "summary"),
    vim.HostSystem: ("name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode",
                     "summary.hardware.memorySize", "summary.hardware.numCpuThreads",
                     "summary.quickStats.overallMemoryUsage", "datastore", "network"),
    vim.ResourcePool: ("name", "parent", "owner"),
    vim.Datastore: ("name", "parent", "summary.capacity", "summary.freeSpace",
                    "summary.accessible"),
    vim.Network: ("name", "parent"),
    vim.dvs.DistributedVirtualPortgroup: ("key", "config.distributedVirtualSwitch"),
    vim.DistributedVirtualSwitch: ("name", "uuid"),
    vim.CustomFieldsManager: ("field",),
}


def read_all(client: VsphereClient, attribute: str) -> Facts:
    """Everything the provider needs to know, in one retrieval (plus pages)."""
    content = client.session.content
    view = client.view()
    objects = [PC.ObjectSpec(obj=view, skip=True, selectSet=[
        PC.TraversalSpec(type=vim.view.ContainerView, path="view", skip=False)])]
    if content.customFieldsManager is not None:
        objects.append(PC.ObjectSpec(obj=content.customFieldsManager, skip=False))
    spec = PC.FilterSpec(objectSet=objects, propSet=[
        PC.PropertySpec(type=kind, pathSet=list(paths)) for kind, paths in PATHS.items()])
    found = _retrieve(client, "the inventory", spec, CallKind.LIST)
    return build_facts(found, attribute)


def read_vm(client: VsphereClient, moid: str, what: str,
            paths: Sequence[str] = VM_PATHS) -> VmRecord | None:
    """One VM's properties (``paths``: those the bulk read takes), or None when it does
    not exist (any more)."""
    vm = client.ref(vim.VirtualMachine, moid)
    spec = PC.FilterSpec(objectSet=[PC.ObjectSpec(obj=vm, skip=False)],
                         propSet=[PC.PropertySpec(type=vim.VirtualMachine,
                                                  pathSet=list(paths))],
                         reportMissingObjectsInResults=False)
    try:
        found = _retrieve(client, what, spec, CallKind.READ)
    except ObjectNotFoundError:
        return None
    return next((VmRecord(ref._moId, props) for ref, props in found
                 if isinstance(ref, vim.VirtualMachine)), None)


def vms_named(client: VsphereClient, name: str, what: str) -> list[VmRecord]:
    """Every VM and template called ``name``, anywhere in the inventory: one READ of all
    VM names (small), then one READ per match."""
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=client.view(), skip=True, selectSet=[
            PC.TraversalSpec(type=vim.view.ContainerView, path="view", skip=False)])],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])])
    found = _retrieve(client, what, spec, CallKind.READ)
    matches = [str(ref._moId) for ref, props in found if props.get("name") == name]
    return [record for moid in matches if (record := read_vm(client, moid, what)) is not None]


def _retrieve(client: VsphereClient, what: str, spec: Any,
              kind: CallKind) -> list[tuple[Any, dict[str, Any]]]:
    """Every (object, properties) the spec selects, page by page. A property the
    server withheld for a lost session or a missing privilege raises that fault
    (inside the call, so the client logs in again or translates it): a partial
    inventory would be planned as creates of what it lacks."""

    def first(session: Session) -> Any:
        return _complete(session.content.propertyCollector.RetrievePropertiesEx(
            [spec], PC.RetrieveOptions()))

    result = client.call(kind, what, first)
    found: list[tuple[Any, dict[str, Any]]] = []
    while result is not None:
        found += [(item.obj, {p.name: p.val for p in item.propSet}) for item in result.objects]
        token = result.token
        if not token:
            break

        def more(session: Session, token: str = token) -> Any:
            return _complete(
                session.content.propertyCollector.ContinueRetrievePropertiesEx(token))

        result = client.call(kind, what, more)
    return found


def _complete(result: Any) -> Any:
    for item in getattr(result, "objects", None) or ():
        for missing in item.missingSet or ():
            if isinstance(missing.fault, vim.fault.NoPermission):  # NotAuthenticated too
                raise missing.fault
    return result


def build_facts(found: Sequence[tuple[Any, Mapping[str, Any]]], attribute: str) -> Facts:
    """Facts from retrieved (object, properties) pairs. Pure."""
    facts = Facts(read=True)
    for ref, props in found:
        _add(facts, ref, props, attribute)
    return facts


def _moid(value: Any) -> str | None:
    return None if value is None else str(value._moId)


def _moids(values: Any) -> tuple[str, ...]:
    return tuple(str(v._moId) for v in values or ())


def _add(facts: Facts, ref: Any, props: Mapping[str, Any], attribute: str) -> None:
    moid, name, parent = str(ref._moId), str(props.get("name") or ""), _moid(props.get("parent"))
    if isinstance(ref, vim.VirtualMachine):
        facts.vms.append(VmRecord(moid, dict(props)))
    elif isinstance(ref, vim.Datacenter):
        facts.datacenters[moid] = Datacenter(moid, name, parent,
                                             _moid(props.get("vmFolder")) or "",
                                             _moid(props.get("hostFolder")) or "")
    elif isinstance(ref, vim.Folder):
        facts.folders[moid] = Folder(moid, name, parent, tuple(props.get("childType") or ()))
    elif isinstance(ref, vim.ComputeResource):
        facts.computes[moid] = _compute(moid, name, parent, props,
                                        isinstance(ref, vim.ClusterComputeResource))
    elif isinstance(ref, vim.HostSystem):
        facts.hosts[moid] = Host(
            moid, name, parent,
            connected=str(props.get("runtime.connectionState")) == "connected",
            maintenance=bool(props.get("runtime.inMaintenanceMode")),
            memory=int(props.get("summary.hardware.memorySize") or 0),
            threads=int(props.get("summary.hardware.numCpuThreads") or 0),
            used_memory_mb=int(props.get("summary.quickStats.overallMemoryUsage") or 0),
            datastores=_moids(props.get("datastore")), networks=_moids(props.get("network")))
    elif isinstance(ref, vim.ResourcePool):
        facts.pools[moid] = Pool(moid, name, parent, _moid(props.get("owner")) or "")
    elif isinstance(ref, vim.Datastore):
        facts.datastores[moid] = Datastore(
            moid, name, parent, capacity=int(props.get("summary.capacity") or 0),
            free=int(props.get("summary.freeSpace") or 0),
            accessible=props.get("summary.accessible") is not False)
    elif isinstance(ref, vim.Network):
        facts.networks[moid] = _network(moid, name, parent, ref, props)
    elif isinstance(ref, vim.DistributedVirtualSwitch):
        facts.switches[moid] = str(props.get("uuid") or "")
    elif isinstance(ref, vim.CustomFieldsManager):
        facts.field_key = next((int(f.key) for f in props.get("field") or ()
                                if f.name == attribute), None)


def _compute(moid: str, name: str, parent: str | None, props: Mapping[str, Any],
             cluster: bool) -> Compute:
    effective = getattr(props.get("summary"), "effectiveMemory", None)
    return Compute(moid, name, parent, cluster=cluster, hosts=_moids(props.get("host")),
                   root_pool=_moid(props.get("resourcePool")) or "",
                   datastores=_moids(props.get("datastore")),
                   networks=_moids(props.get("network")),
                   effective_memory_mb=None if effective is None else int(effective))


def _network(moid: str, name: str, parent: str | None, ref: Any,
             props: Mapping[str, Any]) -> Network:
    if isinstance(ref, vim.dvs.DistributedVirtualPortgroup):
        return Network(moid, name, parent, kind="dvpg", key=str(props.get("key") or moid),
                       switch=_moid(props.get("config.distributedVirtualSwitch")))
    if isinstance(ref, vim.OpaqueNetwork):
        return Network(moid, name, parent, kind="opaque")
    return Network(moid, name, parent)
