"""The Proxmox API connection: opened lazily, every call counted, errors translated here.

This is the only module that sees proxmoxer's and requests' exceptions. It
turns them into the project's errors once (``translate``) and retries the
transient ones with backoff for up to ``retry_timeout`` seconds: lock
timeouts (``can't lock file ... got timeout``), a guest locked by a backup or
another task, lost quorum, HTTP 502/503/504, the 595/596 answers of
pveproxy when it cannot reach a node, dropped connections and timeouts.
Proxmox answers most refusals with a 500 too, so a 500 is retried only when
its message says it is transient.

Secrets (the token secret, the password) are never part of a message: they
are only handed to proxmoxer, and any error text is scrubbed of them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import proxmoxer
import requests
from requests.adapters import HTTPAdapter

from provisioner.errors import ObjectNotFoundError, ProviderError, TransientProviderError
from provisioner.providers.base import CallKind, ProviderStats
from provisioner.providers.kit.retry import RetryPolicy, retrying
from provisioner.providers.proxmox import ProxmoxConfig

T = TypeVar("T")

_TRANSIENT_500 = re.compile(
    r"can't lock file|got timeout|is locked \(|no quorum|cluster not ready|"
    r"temporarily unavailable|connection (?:refused|reset|timed out)|try again", re.IGNORECASE)
_NOT_FOUND = re.compile(r"does not exist|no such (?:vm|ct|container|storage|pool)|"
                        r"not found", re.IGNORECASE)
_EXISTS = re.compile(r"already exists|already defined|config file already exists",
                     re.IGNORECASE)
_PROXY_STATUSES = (502, 503, 504, 595, 596, 597)
RETRY = RetryPolicy(start=0.25, max=5.0, jitter=0.2)
"""Waits between attempts; the budget is the block's ``retry_timeout``."""


class AlreadyExistsError(ProviderError):
    """Proxmox refused to create something because its id (a VMID) is taken."""


class UnreachableNodeError(TransientProviderError):
    """pveproxy could not reach the node the request is for (595/596)."""


class ProxmoxClient:
    """A thread-safe, lazily opened API connection with call accounting and retries."""

    def __init__(self, settings: ProxmoxConfig, stats: ProviderStats) -> None:
        self.settings = settings
        self.stats = stats
        self.endpoint = settings.endpoint.rstrip("/")
        self._api: Any = None
        self._lock = threading.Lock()
        secrets = (settings.token_secret, settings.password)
        self._secrets = [s.get_secret_value() for s in secrets if s is not None]

    # -- connection -----------------------------------------------------------------------

    def _connection(self) -> Any:
        with self._lock:
            if self._api is None:
                self._api = self._open()
            return self._api

    def _open(self) -> Any:
        """Build the proxmoxer client. A password login asks for a ticket here."""
        settings = self.settings
        host = self.endpoint.removeprefix("https://")
        verify: bool | str = settings.ca_file or settings.verify_tls
        options: dict[str, Any] = {"verify_ssl": verify, "timeout": settings.timeout}
        if settings.token_id is not None and settings.token_secret is not None:
            user, _, token = settings.token_id.partition("!")
            options |= {"user": user, "token_name": token,
                        "token_value": settings.token_secret.get_secret_value()}
        elif settings.username is not None and settings.password is not None:
            options |= {"user": settings.username,
                        "password": settings.password.get_secret_value()}
        try:
            with self.stats.track(CallKind.CONNECT):
                api = proxmoxer.ProxmoxAPI(host, backend="https", service="PVE", **options)
        except proxmoxer.AuthenticationError:
            raise ProviderError(
                f"cannot log in to {self.endpoint} as {settings.username}",
                hint="check the username and password, or use an API token") from None
        except requests.RequestException as exc:
            raise self._scrubbed(translate(exc, f"cannot reach {self.endpoint}")) from exc
        # One session serves every thread: let it keep as many connections as they use.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(16, 2 * settings.max_parallel))
        api._store["session"].mount("https://", adapter)
        return api

    def close(self) -> None:
        with self._lock:
            if self._api is not None:
                self._api._store["session"].close()
                self._api = None

    # -- calls ----------------------------------------------------------------------------

    def get(self, kind: CallKind, what: str, path: str, /, **params: Any) -> Any:
        return self.call(kind, what, "GET", path, params)

    def post(self, what: str, path: str, /, *, idempotent: bool = True, **params: Any) -> Any:
        return self.call(CallKind.WRITE, what, "POST", path, params, idempotent=idempotent)

    def put(self, what: str, path: str, /, **params: Any) -> Any:
        return self.call(CallKind.WRITE, what, "PUT", path, params)

    def delete(self, what: str, path: str, /, **params: Any) -> Any:
        return self.call(CallKind.WRITE, what, "DELETE", path, params)

    def call(self, kind: CallKind, what: str, method: str, path: str,
             params: dict[str, Any], *, idempotent: bool = True) -> Any:
        """One API request, counted under ``kind``, retried while it fails transiently.

        ``idempotent=False`` (a create): a dropped connection may mean the request
        was carried out, so it is not retried here; the TransientProviderError goes
        to the caller, which checks what happened. Answers from Proxmox (a lock
        timeout, lost quorum) mean nothing was done and are retried either way."""
        return self.retrying(what, lambda: self._once(kind, what, method, path, params),
                             idempotent=idempotent)

    def once(self, kind: CallKind, what: str, method: str, path: str, /,
             **params: Any) -> Any:
        """One API request, counted under ``kind``, not retried (a question whose
        "no" is an answer, such as the guest agent's)."""
        return self._once(kind, what, method, path, params)

    def retrying(self, what: str, action: Callable[[], T], *, idempotent: bool = True) -> T:
        """Run ``action`` until it does not raise TransientProviderError, with backoff,
        for up to ``retry_timeout`` seconds; then the last error is raised."""
        def transient(exc: Exception) -> bool:
            # a dropped connection may mean the request was carried out
            ambiguous = isinstance(exc.__cause__, requests.RequestException)
            return isinstance(exc, TransientProviderError) and (idempotent or not ambiguous)

        return retrying(action, RETRY.within(self.settings.retry_timeout), transient)

    def _once(self, kind: CallKind, what: str, method: str, path: str,
              params: dict[str, Any]) -> Any:
        api = self._connection()
        resource = api(path)
        clean = {key: value for key, value in params.items() if value is not None}
        try:
            with self.stats.track(kind):
                if method == "GET":
                    return resource.get(**clean)
                if method == "POST":
                    return resource.post(**clean)
                if method == "PUT":
                    return resource.put(**clean)
                return resource.delete(**clean)
        except (proxmoxer.ResourceException, requests.RequestException) as exc:
            raise self._scrubbed(translate(exc, what, path)) from exc

    def upload(self, what: str, path: str, body: Any, timeout: float) -> Any:
        """POST a streamed multipart ``body`` (``read``, ``__len__``, ``content_type``) to
        ``path`` through the API session (proxmoxer would read a file whole without
        requests_toolbelt); the answer's data. Not retried: the caller starts it again."""
        api = self._connection()
        session = api._store["session"]
        url = f"{api._store['base_url']}/{path}"
        try:
            with self.stats.track(CallKind.WRITE):
                answer = requests.Session.request(
                    session, "POST", url, data=body, timeout=(self.settings.timeout, timeout),
                    headers={"Content-Type": body.content_type, "Content-Length": str(len(body))},
                    verify=session.auth.verify_ssl)
            if answer.status_code >= 400:
                raise proxmoxer.ResourceException(answer.status_code, answer.reason,
                                                  answer.text)
            return answer.json().get("data")
        except (proxmoxer.ResourceException, requests.RequestException) as exc:
            raise self._scrubbed(translate(exc, what, path)) from exc

    def _scrubbed(self, error: ProviderError) -> ProviderError:
        for secret in self._secrets:
            if secret and secret in error.message:
                error.message = error.message.replace(secret, "***")
                error.args = (error.message,)
        return error


def translate(exc: Exception, what: str, path: str = "") -> ProviderError:
    """The project's error for a failed request concerning ``what`` (to API ``path``)."""
    if isinstance(exc, proxmoxer.ResourceException):
        return _from_answer(exc, what, path)
    if isinstance(exc, requests.exceptions.SSLError):
        return ProviderError(f"{what}: the TLS certificate could not be verified ({_first(exc)})",
                             hint="set ca_file to the CA (or the node's certificate), as "
                                  "described in docs/providers/proxmox.md")
    if _unresolvable(exc):
        return ProviderError(f"{what}: the endpoint's host name does not resolve",
                             hint="check the provider block's endpoint")
    if isinstance(exc, requests.RequestException):
        return TransientProviderError(f"{what}: no answer from Proxmox ({_first(exc)})",
                                      hint="check the network and that pveproxy runs")
    return ProviderError(f"{what}: {exc}")


def _from_answer(exc: proxmoxer.ResourceException, what: str, path: str) -> ProviderError:
    status = int(exc.status_code)
    message = str(exc.content or exc.status_message or "").strip()
    if exc.errors:
        fields = exc.errors if isinstance(exc.errors, dict) else {"": exc.errors}
        message += ": " + "; ".join(f"{key}: {str(value).strip()}" if key else str(value)
                                    for key, value in sorted(fields.items()))
    text = f"{what}: {message} (HTTP {status})"
    if status in (595, 596):
        parts = path.split("/")
        node = f"node {parts[1]}" if len(parts) > 1 and parts[0] == "nodes" else "the node"
        return UnreachableNodeError(f"{what}: {node} is unreachable: {message} (HTTP {status})",
                                    hint="the node is offline, or unreachable from the node "
                                         "the API runs on")
    if status in _PROXY_STATUSES:
        return TransientProviderError(text)
    if status == 401:
        return ProviderError(text, hint="check token_id and token_secret (or the password); "
                                        "the token must not be expired")
    if status == 403:
        return ProviderError(text, hint="the token or user lacks this privilege; "
                                        "docs/providers/proxmox.md lists the ones needed")
    if _EXISTS.search(message):
        return AlreadyExistsError(text)
    if status >= 500 and _TRANSIENT_500.search(message):
        return TransientProviderError(text, hint=_transient_hint(message))
    if status == 500 and _NOT_FOUND.search(message):
        return ObjectNotFoundError(text)
    return ProviderError(text)


def is_transient_message(message: str) -> bool:
    """Whether a task's exit status names a fault worth retrying (a lock, quorum)."""
    return bool(_TRANSIENT_500.search(message))


def _transient_hint(message: str) -> str:
    if "quorum" in message or "cluster not ready" in message:
        return "the cluster lost quorum: bring its nodes back, then apply again"
    if "locked (" in message:
        return "another task (a backup, a migration, a snapshot) holds the guest; apply " \
               "again when it has finished"
    return "another task held the guest's config lock; apply again"


def _unresolvable(exc: Exception) -> bool:
    text = repr(exc)
    return any(part in text for part in ("NameResolutionError", "Name or service not known",
                                         "nodename nor servname", "Failed to resolve"))


def _first(exc: Exception) -> str:
    """A short reason: the innermost library message, without URLs or headers."""
    text = str(exc.args[0] if exc.args else exc)
    reason = re.search(r"\(Caused by \w+\((?:<[^>]*>, )?['\"]?(.*?)['\"]?\)\)?$", text)
    found = reason.group(1) if reason else text
    return found[:200]
