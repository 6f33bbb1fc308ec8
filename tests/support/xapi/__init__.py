"""A test-only XAPI (XenServer / XCP-ng) simulator speaking XML-RPC over HTTPS.

Classes, fields (types, qualifiers, defaults), messages (parameters, results,
roles, lifecycle) and error names come from XAPI's published data model
(model.json, derived by derive_model.py).  Behaviour the model cannot express
(power states, capacity, devices, tasks, events) is written per message.

What the simulator does NOT verify or simulate:
- real storage: no SM backends, no data, no thin provisioning (every SR is
  thick: physical_utilisation is the sum of virtual sizes, a snapshot's disks
  included), no snapshot chains (a VDI snapshot is a full copy), no
  SR.create/introduce/probe, no PBD plug semantics;
- real boot: no domains, bootloaders, guest agents, guest metrics, consoles
  or IP addresses; VM.start only checks state, template flag and memory;
- the template "disks" provision XML (VM.provision only drops the key);
- HA, WLB, migration (pool_migrate / migrate_send), import/export, quiesced
  snapshots, snapshot_metadata (vm_snapshot.py says what VM.snapshot,
  VM.checkpoint and VM.revert do), appliances, VMSS/VMPP, vTPM, GPUs, USB, SR-IOV,
  bonds, tunnels, clustering, certificates, updates, licensing;
- concurrency rules between operations (OTHER_OPERATION_IN_PROGRESS,
  current_operations is only set by task.cancel);
- session timeouts (use expire_sessions), external auth, subjects and the
  role objects' permission lists (RBAC uses each message's role list);
- versioned parameter defaults (the published JSON lacks them): only
  session.login_with_password accepts 2-4 parameters and VM.snapshot 2 or 3
  (``dispatch.VERSIONED_DEFAULTS``);
- any explicit message without behaviour here answers NOT_IMPLEMENTED.

Wire choices worth knowing:
- parameter type errors answer INTERNAL_ERROR with the unmarshaller's text,
  as XAPI does (it wraps the OCaml Failure); an int may be sent as an
  XML-RPC int or a decimal string, both accepted as by XAPI;
- HOST_IS_SLAVE names the master as "127.0.0.1:PORT" (XAPI gives an IP only);
- host_metrics.memory_free is Removed in the published model, so it is not in
  records on the wire; the store still tracks it (``sim.objects``) and
  host.compute_free_memory answers from the same numbers;
- VDI.resize_online is Removed in the model (MESSAGE_REMOVED); VDI.resize on
  an attached VDI works only on SRs whose driver (SM record) has the
  VDI_RESIZE_ONLINE feature (``add_sr(..., online_resize=True)``);
- Async: every explicit message plus create/destroy (the model has no async
  flag); ``sim.calls`` logs such calls as "Async.CLASS.message".

Typical use::

    sim = XapiSimulator(users={"root": ("secret", "pool-admin")})
    url = sim.start()        # https://127.0.0.1:PORT, verify with sim.ca_file
    lab = sim.seed_lab()     # {"xcp1": host ref, "nfs": SR ref, ...}
    ...
    sim.stop()
"""

from .controls import Call
from .errors import XapiError
from .model import Model, load_model
from .simulator import GiB, XapiSimulator

__all__ = ["Call", "GiB", "Model", "XapiError", "XapiSimulator", "load_model"]
