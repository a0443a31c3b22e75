"""A threaded werkzeug HTTP(S) server on loopback, started and stopped from Python.

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
import ssl
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: the names a loopback client may use for the sandbox; the certificate covers them all
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: the sandbox serves thousands of requests in a test run."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: object) -> None:
        if type == "error":
            super().log(type, message, *args)


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

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context


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
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a daemon thread; returns once the socket accepts connections."""
        app = self.app if self.request_log is None else RequestLog(self.app, self.request_log)
        self._server = make_server(
            self.host,
            self.requested_port,
            app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=self.tls.server_context() if self.tls is not None else None,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"sandbox-{self.port}",
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
