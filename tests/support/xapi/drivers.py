"""Storage drivers (SM records): which features each SR type's driver offers."""

from __future__ import annotations

from .store import ObjectStore

SM_FEATURES = {"SR_PROBE": 1, "SR_UPDATE": 1, "VDI_CREATE": 1, "VDI_DELETE": 1,
               "VDI_ATTACH": 1, "VDI_DETACH": 1, "VDI_RESIZE": 1, "VDI_CLONE": 1,
               "VDI_SNAPSHOT": 1}
"""What every storage driver the lab uses offers (SM.features, feature -> version)."""
ONLINE_RESIZE = "VDI_RESIZE_ONLINE"


def add_sm(store: ObjectStore, sr_type: str, online_resize: bool) -> str:
    """The storage driver (SM) of ``sr_type``, made once per type: its features say
    whether a disk grows while its VM runs (``VDI_RESIZE_ONLINE``)."""
    for ref, sm in store.all("SM").items():
        if sm["type"] == sr_type:
            if online_resize:
                store.set("SM", ref, "features", {**sm["features"], ONLINE_RESIZE: 1})
            return ref
    features = {**SM_FEATURES, **({ONLINE_RESIZE: 1} if online_resize else {})}
    return store.new("SM", {"type": sr_type, "name_label": sr_type, "features": features,
                            "vendor": "xapi-sim", "version": "1.0",
                            "required_api_version": "1.0", "copyright": "",
                            "configuration": {}})


def resizes_online(store: ObjectStore, sr: str) -> bool:
    """Whether the driver of SR ``sr`` grows an attached disk."""
    sr_type = store.get("SR", sr)["type"]
    return any(sm["type"] == sr_type and ONLINE_RESIZE in sm["features"]
               for sm in store.all("SM").values())
