"""Users, login, logout and the role each session holds (RBAC)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import XapiError
from .store import ObjectStore
from .wire import NULL_REF, now

# XAPI's login_with_password has two versioned parameters with defaults
# (version "1.1", originator ""): the published JSON does not carry parameter
# defaults, so they are the one place the simulator knows them by hand.
LOGIN_DEFAULTS = ("1.1", "")
LOGIN_MESSAGES = ("session.login_with_password", "session.slave_local_login_with_password")


@dataclass
class Sessions:
    store: ObjectStore
    users: dict[str, tuple[str, str]]  # name -> (password, role)
    roles: dict[str, str] = field(default_factory=dict)  # session ref -> role

    def login(self, params: list[Any], master_host: str) -> str:
        if len(params) < 2 or len(params) > 4:
            raise XapiError("MESSAGE_PARAMETER_COUNT_MISMATCH",
                            "session.login_with_password", "4", str(len(params)))
        for value in params:
            if not isinstance(value, str):
                raise XapiError("INTERNAL_ERROR", "Failure(\"Expected string\")")
        user, password = params[0], params[1]
        version, originator = [*params[2:], *LOGIN_DEFAULTS[len(params) - 2:]][:2]
        known = self.users.get(user)
        if known is None or known[0] != password:
            raise XapiError("SESSION_AUTHENTICATION_FAILED")
        with self.store.lock:
            ref = self.store.new("session", {
                "this_host": master_host, "this_user": NULL_REF, "last_active": now(),
                "auth_user_name": user, "originator": originator,
                "is_local_superuser": known[1] == "pool-admin", "validation_time": now(),
                "other_config": {"api_version": version},
            })
            self.roles[ref] = known[1]
        return ref

    def role_of(self, session: Any) -> str:
        if not isinstance(session, str) or session not in self.roles:
            raise XapiError("SESSION_INVALID", str(session))
        return self.roles[session]

    def logout(self, session: str) -> None:
        with self.store.lock:
            self.roles.pop(session, None)
            if self.store.exists("session", session):
                self.store.destroy("session", session)

    def expire_all(self) -> None:
        with self.store.lock:
            for ref in list(self.roles):
                self.logout(ref)
