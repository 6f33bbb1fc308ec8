"""XapiSimulator: the object the tests hold (endpoints, seeding, test controls)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from . import (  # the PUT handler, the storage drivers  # noqa: F401
    drivers,
    events,
    raw_import,
    storage,
    vbd,
    vif_move,
    vif_net,
    vm_config,
    vm_power,
    vm_snapshot,
)
from . import seed as lab
from .controls import Call, Controls
from .dispatch import Dispatcher
from .errors import XapiError
from .model import Model, load_model
from .server import Endpoint, make_certificate, server_tls_context
from .sessions import Sessions
from .store import ObjectStore
from .tasks import TaskRunner
from .wire import NULL_REF

GiB = lab.GiB
DEFAULT_USERS = {"root": ("secret", "pool-admin")}


class XapiSimulator:
    def __init__(self, users: dict[str, tuple[str, str]] | None = None, *,
                 task_seconds: float = 0.0, plain_http: bool = False,
                 model: Model | None = None) -> None:
        self.model = model or load_model()
        roles = self.model.roles()
        self.users = dict(users if users is not None else DEFAULT_USERS)
        for name, (_, role) in self.users.items():
            if role not in roles:
                raise ValueError(f"user {name}: {role!r} is not a role of the model {roles}")
        self.store = ObjectStore(self.model)
        self.sessions = Sessions(self.store, self.users)
        self.controls = Controls(task_seconds=task_seconds)
        self.tasks = TaskRunner(self)
        self.vdi_contents: dict[str, bytes] = {}
        """What ``PUT /import_raw_vdi`` wrote into each VDI (by reference)."""
        self.plain_http = plain_http
        self.ca_file: str | None = None
        self.http_url: str | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._endpoints: list[Endpoint] = []
        self._master: Endpoint | None = None
        self._member: Endpoint | None = None

    # ---- endpoints ---------------------------------------------------------
    def start(self) -> str:
        """Serve HTTPS (and plain HTTP when asked); returns the HTTPS URL."""
        self._tmp = tempfile.TemporaryDirectory(prefix="xapi-sim-")
        cert, key = make_certificate(Path(self._tmp.name))
        self.ca_file = str(cert)
        self._tls = server_tls_context(cert, key)
        self._master = Endpoint(Dispatcher(self), self._tls, self._http_put)
        self._endpoints.append(self._master)
        if self.plain_http:
            plain = Endpoint(Dispatcher(self), None, self._http_put)
            self._endpoints.append(plain)
            self.http_url = plain.url
        return self._master.url

    def _http_put(self, path: str, body: bytes) -> tuple[int, str]:
        return raw_import.import_raw_vdi(self, path, body)

    @property
    def url(self) -> str:
        assert self._master is not None, "start() first"
        return self._master.url

    @property
    def master_address(self) -> str:
        """host:port of the master endpoint (what HOST_IS_SLAVE names)."""
        assert self._master is not None, "start() first"
        return self._master.address

    def member_url(self) -> str:
        """An endpoint acting as a pool member: login there fails with HOST_IS_SLAVE."""
        if self._member is None:
            self._member = Endpoint(Dispatcher(self, member=True), self._tls)
            self._endpoints.append(self._member)
        return self._member.url

    def stop(self) -> None:
        for endpoint in self._endpoints:
            endpoint.stop()
        self._endpoints.clear()
        self.tasks.join()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> XapiSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def master_host_ref(self) -> str:
        pools = list(self.store.all("pool").values())
        return pools[0]["master"] if pools else NULL_REF

    # ---- seeding -----------------------------------------------------------
    def seed_lab(self) -> dict[str, str]:
        """The standard lab; returns {name: ref} of what it made."""
        with self.store.lock:
            made: dict[str, str] = {"pool": lab.pool_ref(self.store, "lab")}
            made["net0"] = self.add_network("Pool-wide network associated with eth0",
                                            bridge="xenbr0")
            made["internal"] = self.add_network(
                "Host internal management network", bridge="xenapi",
                other_config={"is_guest_installer_network": "true",
                              "is_host_internal_management_network": "true"})
            made["xcp1"] = self.add_host("xcp1", memory=32 * GiB, cpus=16)
            made["xcp2"] = self.add_host("xcp2", memory=16 * GiB, cpus=8)
            made["local1"] = self.add_sr("Local storage xcp1", size=200 * GiB, type="lvm",
                                         host=made["xcp1"])
            made["local2"] = self.add_sr("Local storage xcp2", size=200 * GiB, type="lvm",
                                         host=made["xcp2"])
            made["nfs"] = self.add_sr("NFS shared", size=500 * GiB, type="nfs", shared=True,
                                      online_resize=True)
            made["iso"] = self.add_sr("ISO library", size=50 * GiB, type="iso", shared=True,
                                      content_type="iso")
            self.store.set("pool", made["pool"], "default_SR", made["nfs"])
            made["bookworm"] = self.add_template(
                "Debian Bookworm 12", default=True,
                other_config={"default_template": "true", "linux_template": "true",
                              "install-methods": "cdrom,nfs,http,ftp"})
            made["cloud"] = self.add_template("debian-12-cloud", disks=[10 * GiB],
                                              sr=made["nfs"])
            made["iso_vdi"] = self._add_iso(made["iso"])
            return made

    def _add_iso(self, sr: str) -> str:
        return self.store.new("VDI", {"name_label": "debian-12.7.0-amd64-netinst.iso",
                                      "SR": sr, "virtual_size": 650 * 1024**2,
                                      "type": "user", "read_only": True, "managed": True,
                                      "location": "debian-12.7.0-amd64-netinst.iso"})

    def add_host(self, name: str, memory: int = 16 * GiB, cpus: int = 8) -> str:
        with self.store.lock:
            return lab.add_host(self.store, name, memory, cpus)

    def add_sr(self, name: str, size: int = 100 * GiB, type: str = "lvm",
               shared: bool = False, host: str | None = None, *,
               content_type: str = "user", online_resize: bool = False) -> str:
        with self.store.lock:
            sr = lab.add_sr(self.store, name, size, type, shared, host, content_type)
            drivers.add_sm(self.store, type, online_resize)
            return sr

    def add_network(self, name: str, bridge: str = "",
                    other_config: dict[str, str] | None = None) -> str:
        with self.store.lock:
            bridge = bridge or f"xapi{len(self.store.all('network'))}"
            return lab.add_network(self.store, name, bridge, other_config)

    def add_template(self, name: str, disks: list[int] | None = None, sr: str | None = None,
                     *, memory: int = 2 * GiB, vcpus: int = 2, default: bool = False,
                     other_config: dict[str, str] | None = None) -> str:
        with self.store.lock:
            return lab.add_vm(self.store, name, memory, vcpus, disks or [], sr, template=True,
                              default_template=default, other_config=other_config)

    def add_vm(self, name: str, *, memory: int = 1 * GiB, vcpus: int = 1,
               disks: list[int] | None = None, sr: str | None = None,
               networks: list[str] | None = None, running_on: str | None = None,
               other_config: dict[str, str] | None = None) -> str:
        """A VM nobody's tool made (no provisioner tags); started when running_on is a host."""
        with self.store.lock:
            vm = lab.add_vm(self.store, name, memory, vcpus, disks or [], sr,
                            other_config=other_config, networks=networks or [])
            if running_on is not None:
                lab.start_vm(self.store, vm, running_on)
            return vm

    # ---- test controls -------------------------------------------------------
    @property
    def task_seconds(self) -> float:
        return self.controls.task_seconds

    @task_seconds.setter
    def task_seconds(self, seconds: float) -> None:
        self.controls.task_seconds = seconds

    @property
    def calls(self) -> list[Call]:
        return self.controls.snapshot_calls()

    def clear_calls(self) -> None:
        self.controls.clear_calls()

    def fail(self, method: str, code: str, *params: Any, times: int = 1) -> None:
        self.controls.fail(method, XapiError(code, *params), times)

    def fail_task(self, method: str, code: str, *params: Any, times: int = 1) -> None:
        self.controls.fail_task(method, XapiError(code, *params), times)

    def delay(self, method: str, seconds: float) -> None:
        with self.controls.lock:
            self.controls.delays[method] = seconds

    def expire_sessions(self) -> None:
        self.sessions.expire_all()

    def objects(self, cls: str) -> dict[str, dict[str, Any]]:
        with self.store.lock:
            return copy.deepcopy(self.store.all(cls))

    def set_field(self, ref: str, field: str, value: Any) -> None:
        with self.store.lock:
            cls = self.store.class_of(ref)
            if cls is None:
                raise KeyError(ref)
            self.store.set(cls, ref, field, value)

    def find(self, cls: str, name_label: str) -> str:
        """The ref of the one object of cls with this name_label."""
        with self.store.lock:
            refs = self.store.find(cls, name_label=name_label)
        if len(refs) != 1:
            raise KeyError(f"{cls} {name_label!r}: {len(refs)} objects")
        return refs[0]

    def wait_tasks(self, timeout: float = 5.0) -> None:
        self.tasks.join(timeout)
