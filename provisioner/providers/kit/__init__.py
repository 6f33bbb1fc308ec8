"""The provider kit: what every provider writes the same way, written once.

Each module holds one concept a provider needs whatever its hypervisor:

- ``retry``: the backoff policy and the one loop that retries transient faults;
- ``marker`` and ``ownership``: the ownership marker (stack, provider block,
  address, a memo) and whose an object is; a provider's ``ownership.py`` only
  carries the marker on its objects;
- ``changes``: which fields an update touches, and the spec an update writes;
- ``cloudinit`` and ``nocloud``: the instance id, and the NoCloud seed files and ISO;
- ``macs``: fixed MACs that a VM outside the stack already has;
- ``references``: what a disk's ``pool:`` or a NIC's ``network:`` names;
- ``capacity``: what the guests on a host reserve, and what a guest needs;
- ``refusals``: the guest fields a provider does not serve, refused at their line.

Nothing here imports a hypervisor library or a provider; providers import it.
docs/providers.md shows where each piece fits in a provider's folder.
"""
