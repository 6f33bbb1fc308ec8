"""Changing an existing VM: the second half of a create, and every update.

An update powers the guest off only when a changed field needs it (see
``schema.needs_power_off``: vCPUs and memory beyond what hot-add allows, a
NIC's model or MAC, options such as the guest OS, cloud-init with
``on_change: reboot``), with a clean shutdown first; then it moves the VM
(folder, resource pool, cluster, host), applies one reconfigure for the
changed fields, rewrites the ownership memo if it changed, and brings the
power state back (or to the one asked). If it raises, the VM still exists
and the fields already changed show in the next plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyVmomi import vim

from provisioner.core.address import Address
from provisioner.core.resources import PROTECTION_PATH, LiveObject, Resource
from provisioner.core.specs import GuestSpec
from provisioner.errors import ObjectNotFoundError, ProviderError
from provisioner.providers.base import CallKind
from provisioner.providers.kit.changes import touched
from provisioner.providers.kit.marker import Marker
from provisioner.providers.vsphere import GuestOptions, VsphereConfig, devices, guestinfo
from provisioner.providers.vsphere.client import VsphereClient
from provisioner.providers.vsphere.collect import read_vm
from provisioner.providers.vsphere.configspec import Request, config_spec
from provisioner.providers.vsphere.facts import VmRecord
from provisioner.providers.vsphere.faults import DuplicateNameError
from provisioner.providers.vsphere.imagepaths import split_datastore_path
from provisioner.providers.vsphere.images import Images, disk_images, image_memo
from provisioner.providers.vsphere.inventory import FactsCache, Lister
from provisioner.providers.vsphere.locations import Location, Locator, UnknownNameError
from provisioner.providers.vsphere.ownership import encode, split_annotation, with_annotation
from provisioner.providers.vsphere.power import Power
from provisioner.providers.vsphere.schema import needs_power_off
from provisioner.testing import kill_point

CREATE_PATHS = ("cpus", "memory", "disks", "networks", "cloud_init", "options")


def label(address: Address, name: str) -> str:
    """How errors name a guest: its address and its VM."""
    return f"{address}: VM '{name}'"




class Changer:
    """Reconfigures, moves and tags VMs of one provider block."""

    def __init__(self, client: VsphereClient, settings: VsphereConfig, lister: Lister,
                 cache: FactsCache, power: Power) -> None:
        self.client = client
        self.settings = settings
        self.lister = lister
        self.ownership = lister.ownership
        self.cache = cache
        self.power = power
        self.images: Images | None = None
        """Copies images for disks that start from one (set by the provider)."""
        self.templates: Callable[[Address], VmRecord | None] = lambda _address: None
        """The template of an OVA image (a guest made from it is its clone)."""

    # -- create, second half ----------------------------------------------------------

    def finish_create(self, moid: str, resource: Resource, location: Location,
                      what: str) -> None:
        marker = self.ownership.marker(resource.address, self.memo_of(resource, what),
                                       resource.lifecycle.prevent_destroy)
        notes = _options(resource).notes or ""
        if self.client.is_vcenter:
            self.tag(moid, marker, what)
            annotation = notes
        else:
            annotation = with_annotation(notes, marker)
        kill_point(f"vsphere:tagged:{resource.address}")
        record = self._read(moid, what)
        sources = self._copy_images(record, resource, what)
        self.configure(record, resource, CREATE_PATHS, what, annotation, finish_create=True,
                       sources=sources)
        kill_point(f"vsphere:configured:{resource.address}")
        if location.host is not None and _moid(record.get("runtime.host")) != location.host:
            self._relocate(moid, what, pool=location.pool, host=location.host)
        self.settle_power(moid, resource, what)
        self.wait_for(moid, resource, what)

    def wait_for(self, moid: str, resource: Resource, what: str) -> None:
        """``wait_for: ip`` (and ``ssh``, ``cloud-init``, which need one): wait until a
        running guest has an address."""
        wanted = resource.settings.get("wait_for")
        if wanted in ("ip", "ssh", "cloud-init") and GuestSpec.of(resource.spec).running:
            self.power.wait_for_ip(moid, what, float(resource.settings.get("wait_timeout", 300)))

    def memo_of(self, resource: Resource, what: str) -> dict[str, Any]:
        """What the ownership tag remembers of ``resource``."""
        guest = GuestSpec.of(resource.spec)
        try:
            cloud_init = guestinfo.memo(resource.name, guest.cloud_init)
        except ValueError as exc:
            raise ProviderError(f"{what}: {exc}", hint="fix cloud_init in the stack") from None
        memo: dict[str, Any] = {
            "clone": guest.clone, "cloud_init": cloud_init,
            "disk_provisioning": guest.options_as(GuestOptions).disk_provisioning or "thin"}
        images = image_memo(resource)
        if images:
            memo["images"] = dict(images)
        return memo

    def _copy_images(self, record: VmRecord, resource: Resource,
                     what: str) -> dict[int, str]:
        """Copies of the images the guest's disks start from, in the VM's folder on the
        VM's datastore, or on the disk's ``pool:``."""
        sources = {index: address for index, address in disk_images(resource).items()
                   if self.templates(address) is None}  # an OVA's: the clone has the disk
        if self.images is None or not sources:
            return {}
        datacenter = self.cache.facts().datacenter_of(_moid(record.get("parent")))
        where = split_datastore_path(str(record.get("config.files.vmPathName", "")))
        if datacenter is None or where is None or "/" not in where[1]:
            raise ProviderError(f"{what}: the VM's folder on its datastore is unknown",
                                hint="plan again")
        home_store, folder = where[0], where[1].rsplit("/", 1)[0]
        disks = GuestSpec.of(resource.spec).disks
        homes = {index: f"[{disks[index].pool or home_store}] {folder}"
                 for index in sources if index < len(disks)}
        return self.images.copy_disks(resource, sources, homes, datacenter.moid, what)

    def tag(self, moid: str, marker: Marker, what: str) -> None:
        """Write the ownership tag into the custom attribute (vCenter)."""
        key = self._field_key(what)
        manager = self.client.session.content.customFieldsManager
        vm = self.client.ref(vim.VirtualMachine, moid)
        value = encode(marker)
        self.client.call(CallKind.WRITE, what,
                         lambda _s: manager.SetField(entity=vm, key=key, value=value))

    def _field_key(self, what: str) -> int:
        """The custom attribute's key; the attribute is made on first use."""
        facts = self.cache.facts()
        if facts.field_key is not None:
            return facts.field_key
        manager = self.client.session.content.customFieldsManager
        name = self.settings.attribute
        try:
            made = self.client.call(CallKind.WRITE, what, lambda _s: manager.AddCustomFieldDef(
                name=name, moType=vim.VirtualMachine))
            key = int(made.key)
        except DuplicateNameError:  # another thread or client made it just now
            fields = self.client.call(CallKind.READ, what, lambda _s: manager.field)
            key = next(int(f.key) for f in fields if f.name == name)
        self.cache.set_field_key(key)
        return key

    # -- update -----------------------------------------------------------------------

    def update(self, resource: Resource, live: LiveObject, changed: Sequence[str]) -> None:
        what = label(resource.address, live.name)
        record = self._read(live.id, what)
        running = str(record.get("runtime.powerState")) == "poweredOn"
        powered_off = running and needs_power_off(changed, live, resource.spec)
        if powered_off:
            self.power.shut_down(live.id, what, str(record.get("guest.toolsRunningStatus", "")))
        self._move(record, resource, changed, what)
        annotation, marker = self._annotation(record, resource, changed, what)
        self.configure(record, resource, changed, what, annotation)
        if marker is not None and self.client.is_vcenter:
            self.tag(live.id, marker, what)
        if "power" in changed:
            self.settle_power(live.id, resource, what)
        elif powered_off:
            self.power.start(live.id, what)
        if powered_off or "power" in changed:
            self.wait_for(live.id, resource, what)

    def _annotation(self, record: VmRecord, resource: Resource, changed: Sequence[str],
                    what: str) -> tuple[str | None, Marker | None]:
        """The annotation to write (None: keep it) and the new tag if its memo changed."""
        marker = None
        if touched("cloud_init", changed) or PROTECTION_PATH in changed:
            marker = self.ownership.marker(resource.address, self.memo_of(resource, what),
                                           resource.lifecycle.prevent_destroy)
        notes_changed = touched("options.notes", changed)
        current = str(record.get("config.annotation", ""))
        if self.client.is_vcenter:
            return (_options(resource).notes if notes_changed else None), marker
        old_notes, old_marker = split_annotation(current)
        if not notes_changed and marker is None:
            return None, None
        notes = _options(resource).notes if notes_changed else old_notes
        return with_annotation(notes, marker or old_marker), marker

    def settle_power(self, moid: str, resource: Resource, what: str) -> None:
        """Bring the VM to the power state the spec asks."""
        state = self.power.state(moid, what)
        if GuestSpec.of(resource.spec).running:
            if state != "poweredOn":
                self.power.start(moid, what)
        elif state == "poweredOn":
            record = self._read(moid, what)
            self.power.shut_down(moid, what, str(record.get("guest.toolsRunningStatus", "")))
        elif state == "suspended":
            self.power.stop(moid, what)

    # -- reconfigure and move ---------------------------------------------------------

    def configure(self, record: VmRecord, resource: Resource, changed: Sequence[str],
                  what: str, annotation: str | None, *, finish_create: bool = False,
                  sources: Mapping[int, str] | None = None) -> None:
        """One ReconfigVM task for ``changed`` (none if nothing differs)."""
        facts = self.cache.facts()
        locator = Locator(self.settings, facts)
        datacenter = facts.datacenter_of(_moid(record.get("parent")))
        host = _moid(record.get("runtime.host"))
        compute = next((c for c in facts.computes.values() if host in c.hosts), None)
        home = devices.datastore_name_of_file(str(record.get("config.files.vmPathName", "")))
        if datacenter is None or compute is None:
            raise ProviderError(f"{what}: the VM is not in an inventory the last read saw",
                                hint="plan again")

        def datastore(pool: str | None) -> str:
            return locator.datastore(compute, pool).name if pool else str(home)

        request = Request(name=resource.name, spec=resource.spec, changed=changed,
                          networks=lambda name: locator.network(datacenter, name),
                          datastore=datastore, facts=facts, annotation=annotation,
                          finish_create=finish_create, sources=sources or {})
        try:
            spec = config_spec(record, request)
        except ValueError as exc:  # UnknownNameError too: a port group or datastore is gone
            raise ProviderError(f"{what}: {exc}", hint="fix the stack, or plan again") from None
        if spec is None:
            return
        vm = self.client.ref(vim.VirtualMachine, record.moid)
        self.client.run_task(what, lambda _s: vm.ReconfigVM_Task(spec=spec))

    def _move(self, record: VmRecord, resource: Resource, changed: Sequence[str],
              what: str) -> None:
        wanted = [path for path in ("node", "options.folder", "options.resource_pool",
                                    "options.cluster") if touched(path, changed)]
        if not wanted:
            return
        try:
            location = Locator(self.settings, self.cache.facts()).locate(
                GuestSpec.of(resource.spec))
        except UnknownNameError as exc:
            raise ProviderError(f"{what}: {exc}", hint="fix the stack") from None
        if "options.folder" in wanted and _moid(record.get("parent")) != location.folder:
            folder = self.client.ref(vim.Folder, location.folder)
            vm = self.client.ref(vim.VirtualMachine, record.moid)
            self.client.run_task(what, lambda _s: folder.MoveIntoFolder_Task(list=[vm]))
        pool = location.pool if _moid(record.get("resourcePool")) != location.pool else None
        host = location.host if location.host not in (None, _moid(
            record.get("runtime.host"))) else None
        if pool is not None or host is not None:
            self._relocate(record.moid, what, pool=pool, host=host)

    def _relocate(self, moid: str, what: str, *, pool: str | None, host: str | None) -> None:
        spec = vim.vm.RelocateSpec(
            pool=None if pool is None else self.client.ref(vim.ResourcePool, pool),
            host=None if host is None else self.client.ref(vim.HostSystem, host))
        vm = self.client.ref(vim.VirtualMachine, moid)
        self.client.run_task(what, lambda _s: vm.RelocateVM_Task(spec=spec))

    def _read(self, moid: str, what: str) -> VmRecord:
        record = read_vm(self.client, moid, what)
        if record is None:
            raise ObjectNotFoundError(f"{what}: the VM is gone",
                                      hint="plan again: it will be created")
        return record


def _moid(value: Any) -> str | None:
    return None if value is None else str(value._moId)


def _options(resource: Resource) -> GuestOptions:
    return GuestSpec.of(resource.spec).options_as(GuestOptions)
