"""A threaded HTTP/1.1 server (cheroot's) on loopback, started and stopped from Python.
Connections stay open between requests, as Jira's and ServiceNow's do (werkzeug's server
closes every connection after one response: a TCP connect, and over TLS a handshake, per
request). An app reaches its request's socket as `environ["sandbox.socket"]`.

Optional extras, both off by default:
- TLS: `SandboxTLS` makes a throwaway certificate authority (the `trustme` package, a
  development dependency) and a certificate for loopback signed by it; clients trust the
  sandbox by pointing at `ca_bundle` (e.g. REQUESTS_CA_BUNDLE), and only then.
- a request log: one JSON line per request (method, path, query, body), so a benchmark can
  count what a client asked for and replay the very same requests.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: the names a loopback client may use for the sandbox; the certificate covers them all
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class _Gateway(wsgi.Gateway_10):
    """WSGI 1.0, plus the request's socket: the sandbox's fault injection drops it."""

    def get_environ(self) -> dict[str, Any]:  # type: ignore[override]  # cheroot types it None
        environ: dict[str, Any] = super().get_environ()
        environ["sandbox.socket"] = self.req.conn.socket
        return environ


class _Server(wsgi.Server):
    """Quiet: the sandbox serves thousands of requests in a test run; only an app's own
    failure (a bug) is written to stderr, not a client that went away."""

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        if level >= logging.ERROR:
            super().error_log(msg, level, traceback)


#: worker threads: each source's concurrent requests, several sources, latency injected
THREADS = 32


class SandboxTLS:
    """A throwaway certificate authority and a loopback certificate it signed.

    `ca_bundle` is the CA's certificate (PEM) written to `folder`: what a client is told
    to trust. The private keys stay in memory.
    """

    def __init__(self, folder: Path, host: str = "127.0.0.1") -> None:
        try:
            import trustme
        except ImportError as error:  # a development dependency, not the bridge's
            raise RuntimeError(
                "the sandbox's TLS mode needs the 'trustme' package "
                "(pip install trustme, or the project's dev extra)"
            ) from error
        names = list(dict.fromkeys([host, *LOOPBACK_NAMES]))
        self._ca = trustme.CA(organization_name="smo-bridge sandbox")
        self._cert = self._ca.issue_cert(*names)
        folder.mkdir(parents=True, exist_ok=True)
        self.ca_bundle = folder / "sandbox-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_bundle))

    def adapter(self) -> BuiltinSSLAdapter:
        """The server's side: cheroot reads its certificate and key from files, written to
        a private folder for the adapter's load and removed at once."""
        with tempfile.TemporaryDirectory(prefix="smo-bridge-sandbox-tls-") as folder:
            cert, key = Path(folder) / "cert.pem", Path(folder) / "key.pem"
            self._cert.cert_chain_pems[0].write_to_path(str(cert))
            self._cert.private_key_pem.write_to_path(str(key))
            return BuiltinSSLAdapter(str(cert), str(key))


class LineSink(Protocol):
    """Where a request log goes: an open text file, or anything that writes lines."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class RequestLog:
    """One JSON line per request to a file: method, path, query string, body (base64)."""

    def __init__(self, app: WSGIApplication, sink: LineSink) -> None:
        self.app = app
        self._sink = sink
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        line: dict[str, Any] = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "query": environ.get("QUERY_STRING", ""),
            "content_type": environ.get("CONTENT_TYPE", ""),
            "body": base64.b64encode(body).decode() if body else "",
        }
        with self._lock:
            self._sink.write(json.dumps(line) + "\n")
            self._sink.flush()
        return self.app(environ, start_response)


class ServiceServer:
    def __init__(
        self,
        app: WSGIApplication,
        host: str,
        port: int,
        tls: SandboxTLS | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.request_log: LineSink | None = None  # set before start() to log every request
        self._server: wsgi.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.bind_addr[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a daemon thread; returns once the socket accepts connections."""
        app = self.app if self.request_log is None else RequestLog(self.app, self.request_log)
        server = _Server((self.host, self.requested_port), app, numthreads=THREADS,
                         server_name="sandbox", request_queue_size=64, timeout=60)
        server.gateway = _Gateway
        server.expiration_interval = 0.05  # how soon its loop sees a stop (the default: 0.5 s)
        if self.tls is not None:
            server.ssl_adapter = self.tls.adapter()
        server.prepare()
        self._server = server
        self._thread = threading.Thread(target=server.serve, daemon=True,
                                        name=f"sandbox-{self.port}")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
