"""``VIF.move``: a VIF goes to another network, even while its VM runs (XAPI unplugs
and plugs it again itself, so the guest keeps its device and MAC)."""

from __future__ import annotations

from .errors import handle_invalid
from .registry import CallContext, handles


@handles("VIF.move")
def vif_move(ctx: CallContext, vif: str, network: str) -> None:
    store = ctx.store
    if not store.exists("network", network):
        raise handle_invalid("network", network)
    store.set("VIF", vif, "network", network)
