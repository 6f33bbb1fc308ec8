"""prevent_destroy kept on the hypervisor, besides the state.

The state's record is what protects an object once its declaration is removed; a
state that is lost (a new runner, a deleted file) would then let a plan delete it.
Providers that can keep a mark on their objects (every provider's guests and
Proxmox's containers: the ownership marker; not libvirt's networks, whose running
definition keeps the tag it started with until the network restarts)
report it as the live attribute ``prevent_destroy`` (True or False on every such
object); the attribute's absence means the provider keeps no mark. This module
holds the two rules built on it:

- an orphan is protected when its record *or* its mark says so;
- a declared object whose mark differs from the stack's ``prevent_destroy`` plans
  an in-place change of ``lifecycle.prevent_destroy`` (the apply rewrites the
  marker and nothing else), so the mark follows the stack and a plan says when it moves.
"""

from __future__ import annotations

from provisioner.core.resources import PROTECTION_MARK as MARK
from provisioner.core.resources import PROTECTION_PATH as PATH
from provisioner.core.resources import Effect, LiveObject, Resource
from provisioner.plan.model import FieldDiff


def marked(live: LiveObject | None) -> bool:
    """Whether the hypervisor's mark protects ``live``."""
    return live is not None and live.attributes.get(MARK) is True


def mark_change(resource: Resource, live: LiveObject | None) -> FieldDiff | None:
    """The in-place change that brings ``live``'s mark to the stack's, if it differs
    (None when the provider keeps no mark)."""
    if live is None or MARK not in live.attributes:
        return None
    have = bool(live.attributes[MARK])
    want = resource.lifecycle.prevent_destroy
    return None if have == want else FieldDiff(PATH, have, want, Effect.IN_PLACE)


def is_mark_path(path: str) -> bool:
    return path == PATH
