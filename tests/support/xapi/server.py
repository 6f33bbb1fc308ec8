"""XML-RPC over HTTP(S) on 127.0.0.1, as XAPI serves it, and the self-signed
certificate the client verifies against."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import sys
import threading
import xmlrpc.client
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CallHandler = Callable[[str, tuple[Any, ...]], dict[str, Any]]
PutHandler = Callable[[str, bytes], tuple[int, str]]
"""(path with query, body) → (HTTP status, reason): XAPI's HTTP handlers (import_raw_vdi)."""


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (also its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xapi-simulator")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True,
            content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "xapi-sim.pem", directory / "xapi-sim.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms stalls)

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):  # handshake here, not in the accept loop
            self.request.do_handshake()
        super().setup()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=False)
            response = self.server.call_handler(method or "", params)
            payload = xmlrpc.client.dumps((response,), methodresponse=True, allow_none=True)
        except Exception as exc:  # malformed request: an XML-RPC fault, as a server would
            payload = xmlrpc.client.dumps(xmlrpc.client.Fault(1, f"{type(exc).__name__}: {exc}"),
                                          methodresponse=True)
        data = payload.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        handler = self.server.put_handler
        status, reason = handler(self.path, body) if handler else (405, "Method Not Allowed")
        self.send_response(status, reason)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    call_handler: CallHandler
    put_handler: PutHandler | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up in the TLS handshake (one that does not trust the
        certificate) is no server error: say nothing, as XAPI's stunnel does."""
        error = sys.exc_info()[1]
        if isinstance(error, (ssl.SSLError, ConnectionError)):
            return
        super().handle_error(request, client_address)


class Endpoint:
    """One listening XML-RPC endpoint (HTTPS when given an SSL context)."""

    def __init__(self, call_handler: CallHandler, tls: ssl.SSLContext | None,
                 put_handler: PutHandler | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.call_handler = call_handler
        self._server.put_handler = put_handler
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True,
                                                  do_handshake_on_connect=False)
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True,
                                        name="xapi-sim endpoint")
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.address}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def server_tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
