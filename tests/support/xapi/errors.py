"""XAPI failures as Python exceptions; every code must be a name XAPI publishes."""

from __future__ import annotations

from typing import Any

from .model import load_model


class XapiError(Exception):
    """A failure returned on the wire as ``ErrorDescription = [code, *params]``."""

    def __init__(self, code: str, *params: Any) -> None:
        if code not in load_model().error_names:
            raise ValueError(f"{code} is not an error name in XAPI's api_errors.ml")
        super().__init__(code, *params)
        self.code = code
        self.params = [str(p) for p in params]

    @property
    def description(self) -> list[str]:
        return [self.code, *self.params]


def handle_invalid(cls: str, ref: str) -> XapiError:
    return XapiError("HANDLE_INVALID", cls, ref)


def internal_error(reason: str) -> XapiError:
    return XapiError("INTERNAL_ERROR", reason)
