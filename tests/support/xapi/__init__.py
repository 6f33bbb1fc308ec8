"""A test-only XAPI (XenServer / XCP-ng) simulator speaking XML-RPC over HTTPS.

Classes, fields (types, qualifiers, defaults), messages (parameters, results,
roles, lifecycle) and error names come from XAPI's published data model
(model.json, derived by derive_model.py).  Behaviour the model cannot express
(power states, capacity, devices, tasks, events) is written per message.

What the simulator does NOT verify or simulate:
- real storage: no SM backends, no data, no thin provisioning (every SR is
  thick: physical_utilisation is the sum of virtual sizes), no snapshots
  chains, no SR.create/introduce/probe, no PBD plug semantics;
- real boot: no domains, bootloaders, guest agents, guest metrics, consoles
  or IP addresses; VM.start only checks state, template flag and memory;
- the template "disks" provision XML (VM.provision only drops the key);
- HA, WLB, migration (pool_migrate / migrate_send), import/export, VM
  snapshots/checkpoints/revert, appliances, VMSS/VMPP, vTPM, GPUs, USB, SR-IOV,
  bonds, tunnels, clustering, certificates, updates, licensing;
- concurrency rules between operations (OTHER_OPERATION_IN_PROGRESS,
  current_operations is only set by task.cancel);
- session timeouts (use expire_sessions), external auth, subjects and the
  role objects' permission lists (RBAC uses each message's role list);
- versioned parameter defaults (the published JSON lacks them): only
  session.login_with_password accepts 2-4 parameters;
- any explicit message without behaviour here answers NOT_IMPLEMENTED.
"""

from .controls import Call
from .errors import XapiError
from .model import Model, load_model
from .simulator import GiB, XapiSimulator

__all__ = ["Call", "GiB", "Model", "XapiError", "XapiSimulator", "load_model"]
