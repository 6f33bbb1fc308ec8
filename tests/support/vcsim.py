"""The vCenter/ESXi simulator for the vSphere provider's tests (tests/vcsim/main.go).

One simulator per model and pytest session, started on first use on a free
port of 127.0.0.1 and stopped at the end of the session:

- ``vcsim_vpx``: a vCenter (datacenter DC0, cluster DC0_C0 of three hosts, the
  standalone host DC0_H0, datastores LocalDS_0 and LocalDS_1, port groups
  "VM Network" and DC0_DVPG0 (distributed), four untagged VMs);
- ``vcsim_esx``: a standalone ESXi host (ha-datacenter, localhost.localdomain,
  the same two datastores, "VM Network", two untagged VMs).

Each gets, once, the objects the tests use: a template ``debian-12`` (one
2GiB disk, one vmxnet3 NIC on "VM Network"), the VM folders ``lab`` and
``lab/web`` (vCenter only: ESXi has no VM folders) and the resource pool
``lab``. ``Simulator.reset()`` brings a simulator back to that baseline (the
tests share it; every test that uses it resets it when it ends).

TLS stays verified: the simulator makes a self-signed certificate for
127.0.0.1 and writes it where the provider block's ``ca_file`` points. The
password is random per session and reaches the provider block through
``${env.VCSIM_PASSWORD}``, as a real one would.

The binary is built by ``scripts/vcsim build`` (scripts/install-deps runs it);
without it the tests that need a simulator are skipped, saying so.

With ``PROVISIONER_TEST_VSPHERE`` set (tests/support/real_hosts.py) the three
fixtures give a ``RealVsphere`` (support/vsphere_real.py) on that vCenter or
ESXi host instead: a test asking for the other model (``vcsim_esx`` on a
vCenter) skips, and ``reset()`` after the test destroys the stacks the test
registered (``track``) and fails it if a VM of the run's stacks is left.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support import real_hosts

PASSWORD_ENV = "VCSIM_PASSWORD"
USERNAME = "user"
CACHE_BINARY = Path("/var/cache/provisioner/vcsim/vcsim")
TEMPLATE = "debian-12"
TEMPLATE_DISK = 2 * 1024**3
START_TIMEOUT = 30.0
MODELS = {
    "vpx": {"datacenter": "DC0", "cluster": "DC0_C0", "hosts": ("DC0_C0_H0", "DC0_C0_H1",
                                                              "DC0_C0_H2")},
    "esx": {"datacenter": "ha-datacenter", "cluster": None, "hosts": ("localhost.localdomain",)},
}
os.environ.setdefault(PASSWORD_ENV, secrets.token_urlsafe(18))


def binary() -> Path | None:
    """The simulator binary: $PROVISIONER_VCSIM, or scripts/vcsim's cache."""
    configured = os.environ.get("PROVISIONER_VCSIM")
    path = Path(configured) if configured else CACHE_BINARY
    return path if path.is_file() and os.access(path, os.X_OK) else None


def missing() -> str | None:
    """Why no simulator can run here, or None."""
    try:
        import pyVmomi  # noqa: F401
    except ImportError:
        return "pyVmomi is not installed: pip install 'provisioner[vsphere]'"
    if binary() is None:
        return "the vCenter simulator is not built: run scripts/vcsim build (as root)"
    return None


@dataclass
class Simulator:
    """One running simulator and a pyVmomi session on it for direct looks."""

    model: str
    process: subprocess.Popen[str] | None
    """None for one started elsewhere (``scripts/vcsim start``)."""
    url: str
    cafile: Path
    workdir: Path
    baseline: set[str] = field(default_factory=set)
    _content: Any = None

    real = False
    """True for a real target in the simulator's place (support/vsphere_real.py)."""

    @property
    def port(self) -> int:
        return int(self.url.split(":")[2].split("/")[0])

    @property
    def password(self) -> str:
        return os.environ[PASSWORD_ENV]

    @property
    def names(self) -> dict[str, str]:
        """The simulator's names a stack uses → the target's (none here)."""
        return {}

    def stack(self, name: str) -> str:
        """A test's stack name: ``name`` here; unique to the run on a real target."""
        return real_hosts.stack_name(name) if self.real else name

    def track(self, directory: Path) -> None:
        """A stack directory the console script applies: on a real target ``reset``
        destroys it (``provisioner destroy``) before its leak check."""
        self.__dict__.setdefault("tracked", []).append(directory)

    @property
    def datacenter(self) -> str:
        return str(MODELS[self.model]["datacenter"])

    @property
    def cluster(self) -> str | None:
        cluster = MODELS[self.model]["cluster"]
        return None if cluster is None else str(cluster)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(MODELS[self.model]["hosts"])  # type: ignore[arg-type]

    # -- lifecycle --------------------------------------------------------------------

    @classmethod
    def start(cls, model: str, workdir: Path, *extra: str) -> Simulator:
        path = binary()
        if path is None:
            raise RuntimeError(missing() or "no simulator")
        workdir.mkdir(parents=True, exist_ok=True)
        cafile = workdir / f"{model}-ca.pem"
        environment = {**os.environ, "TMPDIR": str(workdir)}  # its datastores live there
        log = workdir / f"{model}.log"  # a file, not a pipe: nobody reads what it logs later
        with log.open("w", encoding="utf-8") as output:
            process = subprocess.Popen(
                [str(path), "-model", model, "-listen", "127.0.0.1:0", "-cert-out",
                 str(cafile), "-datastores", "2", *extra],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                env=environment)
        url = _read_url(process, log)
        simulator = cls(model, process, url, cafile, workdir)
        try:
            simulator.seed()
            simulator.baseline = simulator.vm_names() | simulator._folder_ids()
        except BaseException:
            simulator.stop()
            raise
        return simulator

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def provider_block(self, **settings: Any) -> dict[str, Any]:
        """A ``type: vsphere`` provider block reaching this simulator."""
        block: dict[str, Any] = {
            "type": "vsphere", "server": "127.0.0.1", "port": self.port, "username": USERNAME,
            "password": f"${{env.{PASSWORD_ENV}}}", "ca_file": str(self.cafile),
            "datastore": "LocalDS_0", "timeout": 20, "task_timeout": 30, "retry_timeout": 5,
        }
        if self.cluster is not None:
            block["cluster"] = self.cluster
        block.update(settings)
        return block

    # -- direct looks -----------------------------------------------------------------

    @property
    def content(self) -> Any:
        if self._content is None:
            from pyVim.connect import SmartStubAdapter
            from pyVmomi import vim

            context = ssl.create_default_context(cafile=str(self.cafile))
            stub = SmartStubAdapter(host="127.0.0.1", port=self.port, sslContext=context)
            content = vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
            content.sessionManager.Login(USERNAME, os.environ[PASSWORD_ENV])
            self._content = content
        return self._content

    def all(self, kind: Any) -> list[Any]:
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [kind], True)
        try:
            return list(view.view)
        finally:
            view.DestroyView()

    def vms(self, name: str | None = None) -> list[Any]:
        """VMs and templates (by name), read in one retrieval: it skips the references
        the simulator leaves behind when it migrates a VM to another host (govmomi
        0.24 keeps the VM in the old host's list), which a plain view would return."""
        from pyVmomi import vim, vmodl

        collector = vmodl.query.PropertyCollector
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder,
                                                            [vim.VirtualMachine], True)
        try:
            spec = collector.FilterSpec(
                objectSet=[collector.ObjectSpec(obj=view, skip=True, selectSet=[
                    collector.TraversalSpec(type=vim.view.ContainerView, path="view")])],
                propSet=[collector.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])])
            found = self.content.propertyCollector.RetrievePropertiesEx(
                [spec], collector.RetrieveOptions())
        finally:
            view.DestroyView()
        return [item.obj for item in (found.objects if found else [])
                if name is None or item.propSet[0].val == name]

    def vm(self, name: str) -> Any:
        (found,) = self.vms(name)
        return found

    def vm_names(self) -> set[str]:
        return {vm.name for vm in self.vms()}

    def datacenter_object(self) -> Any:
        return next(dc for dc in self.content.rootFolder.childEntity
                    if dc.name == self.datacenter)

    def wait(self, task: Any) -> Any:
        while task.info.state in ("queued", "running"):
            time.sleep(0.01)
        if task.info.state == "error":
            raise task.info.error
        return task.info.result

    def datastore_files(self) -> set[str]:
        """Every disk image on the datastores ("LocalDS_0/web/web.vmdk")."""
        from pyVmomi import vim

        found = set()
        for store in self.all(vim.Datastore):
            root = Path(store.info.url)
            for path in root.rglob("*.vmdk"):
                if not path.name.endswith("-flat.vmdk"):
                    found.add(f"{store.name}/{path.relative_to(root)}")
        return found

    # -- fault injection (tests/vcsim/main.go) ----------------------------------------

    def inject(self, **rule: Any) -> None:
        """Make the next matching call fail: method, fault, target (VM name), task,
        hang, delay_ms, times, message."""
        self._faults("POST", json.dumps(rule).encode())

    def clear_faults(self) -> None:
        self._faults("DELETE")

    def _faults(self, method: str, body: bytes | None = None) -> None:
        url = self.url.replace("/sdk", "/_provisioner/faults")
        context = ssl.create_default_context(cafile=str(self.cafile))
        request = urllib.request.Request(url, data=body, method=method)
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            answer.read()

    # -- baseline ---------------------------------------------------------------------

    def seed(self) -> None:
        """The template, folders and resource pool every test may use."""
        from pyVmomi import vim

        if self.model == "vpx":  # a standalone ESXi host has no VM folders
            lab = self.datacenter_object().vmFolder.CreateFolder("lab")
            lab.CreateFolder("web")
        compute = self._compute()
        spec = vim.ResourceConfigSpec(
            cpuAllocation=vim.ResourceAllocationInfo(reservation=0, limit=-1,
                                                     expandableReservation=True,
                                                     shares=vim.SharesInfo(level="normal")),
            memoryAllocation=vim.ResourceAllocationInfo(reservation=0, limit=-1,
                                                        expandableReservation=True,
                                                        shares=vim.SharesInfo(level="normal")))
        compute.resourcePool.CreateResourcePool("lab", spec)
        self.make_vm(TEMPLATE, template=True)

    def _compute(self) -> Any:
        from pyVmomi import vim

        computes = [c for c in self.all(vim.ComputeResource)
                    if self.cluster is None or c.name == self.cluster]
        return computes[0]

    def make_vm(self, name: str, *, template: bool = False, folder: Any = None,
                annotation: str = "") -> Any:
        """An untagged VM (or template) with one 2GiB disk and one NIC on VM Network."""
        from pyVmomi import vim

        device = vim.vm.device
        datacenter = self.datacenter_object()
        scsi = device.ParaVirtualSCSIController(key=-10, busNumber=0, sharedBus="noSharing")
        backing = device.VirtualDisk.FlatVer2BackingInfo(fileName="[LocalDS_0]",
                                                         diskMode="persistent",
                                                         thinProvisioned=True)
        disk = device.VirtualDisk(key=-11, controllerKey=-10, unitNumber=0,
                                  capacityInBytes=TEMPLATE_DISK,
                                  capacityInKB=TEMPLATE_DISK // 1024, backing=backing)
        nic = device.VirtualVmxnet3(key=-12, backing=device.VirtualEthernetCard.NetworkBackingInfo(
            deviceName="VM Network"))
        changes = [device.VirtualDeviceSpec(operation="add", device=scsi),
                   device.VirtualDeviceSpec(operation="add", fileOperation="create", device=disk),
                   device.VirtualDeviceSpec(operation="add", device=nic)]
        config = vim.vm.ConfigSpec(name=name, guestId="debian10_64Guest", numCPUs=1,
                                   memoryMB=512, annotation=annotation,
                                   files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
                                   deviceChange=changes)
        target = folder or datacenter.vmFolder
        vm = self.wait(target.CreateVM_Task(config=config, pool=self._compute().resourcePool))
        if template:
            vm.MarkAsTemplate()
        return vm

    def _folder_ids(self) -> set[str]:
        from pyVmomi import vim

        return {f"folder:{f._moId}" for f in self.all(vim.Folder)}

    def reset(self) -> None:
        """Delete what tests made: VMs and folders the baseline does not have."""
        from pyVmomi import vim

        self.clear_faults()
        for vm in self.vms():
            if vm.name in self.baseline:
                continue
            if vm.runtime.powerState != "poweredOff":
                self.wait(vm.PowerOffVM_Task())
            self.wait(vm.Destroy_Task())
        for folder in self.all(vim.Folder):
            if f"folder:{folder._moId}" not in self.baseline and not folder.childEntity:
                self.wait(folder.Destroy_Task())
        self._sweep_datastores()

    def _sweep_datastores(self) -> None:
        """Remove VM directories the baseline's VMs do not own from the simulator's
        datastores (directories under its TMPDIR): a task a test made fail (clear_faults)
        can leave a VM's disk files without the VM, and the simulator then names the
        next VM of that name's disks ``NAME_1.vmdk`` in a directory it does not own."""
        kept = self.vm_names()
        for datastore in self.workdir.glob("govcsim-*"):
            for entry in datastore.iterdir():
                if entry.is_dir() and entry.name not in kept:
                    shutil.rmtree(entry, ignore_errors=True)


def _read_url(process: subprocess.Popen[str], log: Path) -> str:
    """The URL the simulator prints once it serves."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("VCSIM_URL="):
                return line.split("=", 1)[1].strip()
        time.sleep(0.02)
    process.kill()
    process.wait()
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
    raise RuntimeError("the simulator did not start:\n" + "\n".join(tail))


def session_simulator(config: pytest.Config, model: str, workdir: Path) -> Simulator:
    """The session's simulator of ``model``, started on first use and stopped when the
    session ends; shared by the contract suite and the integration tests."""
    started: dict[str, Simulator] = config.__dict__.setdefault("_vcsim_simulators", {})
    if model not in started:
        simulator = Simulator.start(model, workdir / model)
        started[model] = simulator
        config.add_cleanup(simulator.stop)
    return started[model]


def _simulator(model: str, request: pytest.FixtureRequest,
               factory: pytest.TempPathFactory) -> Simulator:
    target = real_hosts.vsphere()
    if target is not None:
        from support.vsphere_real import RealVsphere

        real = request.config.__dict__.get("_vsphere_real")
        if real is None:
            real = RealVsphere(target, factory.getbasetemp() / "vsphere-real")
            request.config.__dict__["_vsphere_real"] = real
        if real.model != model:
            kinds = {"vpx": "a vCenter", "esx": "a standalone ESXi host"}
            pytest.skip(f"this run is for {kinds[model]}; {real_hosts.VSPHERE} is "
                        f"{kinds[real.model]}")
        return real  # type: ignore[no-any-return]
    reason = missing()
    if reason is not None:
        pytest.skip(reason)
    return session_simulator(request.config, model, factory.getbasetemp() / "vcsim")


@pytest.fixture
def vcsim_vpx(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """The vCenter simulator, reset after the test."""
    simulator = _simulator("vpx", request, tmp_path_factory)
    yield simulator
    simulator.reset()


@pytest.fixture
def vcsim_esx(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """The ESXi simulator, reset after the test."""
    simulator = _simulator("esx", request, tmp_path_factory)
    yield simulator
    simulator.reset()


@pytest.fixture(params=["vpx", "esx"])
def vcsim(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """Each simulator in turn (the test runs once per model), reset after the test."""
    simulator = _simulator(request.param, request, tmp_path_factory)
    yield simulator
    simulator.reset()


def main(arguments: list[str]) -> int:
    """``python -m support.vcsim seed MODEL URL CAFILE``: give a simulator started by
    ``scripts/vcsim start`` the template, folders and pool the example stacks use
    (the password is $VCSIM_PASSWORD, as for the simulator)."""
    if len(arguments) != 4 or arguments[0] != "seed" or arguments[1] not in MODELS:
        print("usage: python -m support.vcsim seed vpx|esx URL CAFILE", file=sys.stderr)
        return 2
    _, model, url, cafile = arguments
    Simulator(model, None, url, Path(cafile), Path.cwd()).seed()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
