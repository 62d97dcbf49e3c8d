"""A local HTTPS receiver for what cmr sends out (webhooks, RFC 8058
unsubscribe): a self-signed certificate for 127.0.0.1 and localhost that
cmr is told to trust through CURL_CA_BUNDLE, a threaded server on a free
loopback port, every request kept, and the replies a test asks for."""
import http.server
import ssl
import subprocess
import threading

import pytest


class Receiver:
    def __init__(self, cert, key):
        self.requests = []  # (method, path, headers, body)
        self.statuses = []  # replies to give, in order; then 200
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with outer.lock:
                    outer.requests.append((self.command, self.path,
                                           dict(self.headers), body))
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    outer.arrived.notify_all()
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "https://127.0.0.1:1/x")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket,
                                             server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path="/hook", host="127.0.0.1"):
        return f"https://{host}:{self.port}{path}"

    def wait(self, n, timeout=15):
        """The first n requests, once they have come (or what came)."""
        with self.lock:
            self.arrived.wait_for(lambda: len(self.requests) >= n, timeout)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext",
         "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return str(cert), str(key)


@pytest.fixture
def receiver(tls_cert, monkeypatch):
    """A running Receiver; cmr servers started after it trust its
    certificate (CURL_CA_BUNDLE)."""
    monkeypatch.setenv("CURL_CA_BUNDLE", tls_cert[0])
    r = Receiver(*tls_cert)
    yield r
    r.close()
