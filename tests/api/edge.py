"""What the TLS and proxy tests share: a self-signed certificate made by
`openssl` for the test, HTTP(S) requests from a chosen loopback source
address, `cmr serve` with its own TLS, and a real nginx of the test's own
(Debian's package) on loopback, with its own config and prefix under the
test's directory, terminating TLS in front of cmr.

    cert = make_cert(tmp_path)                 # .cert, .key, .context
    s = start_tls_server(cert, "--open-registration")
    r = request(s.port, "POST", "/v1/persons", body, context=cert.context)

    with Nginx(tmp_path, cmr_port, cert) as ng:
        r = request(ng.port, "GET", "/healthz", source="127.0.0.2",
                    context=cert.context)
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections import namedtuple
from pathlib import Path

import pytest

from conftest import Reply, Server
from mta import MtaError, free_port, tail

NGINX = "/usr/sbin/nginx"
HOST = "127.0.0.1"
START_TIMEOUT = 20  # seconds for nginx to answer on its port


Cert = namedtuple("Cert", "cert key context")


def make_cert(directory, name="server"):
    """A self-signed certificate for 127.0.0.1 and localhost (EC P-256),
    and an ssl.SSLContext that trusts it alone."""
    directory = Path(directory)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
         str(cert), "-days", "2", "-subj", "/CN=localhost", "-addext",
         "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=str(cert))
    return Cert(cert, key, ctx)


def request(port, method, path, body=None, headers=None, source=HOST,
            context=None, timeout=60):
    """One request to 127.0.0.1:port from the address `source`, over TLS
    when `context` is given. body: a dict (sent as JSON) or None."""
    if context is not None:
        conn = http.client.HTTPSConnection(HOST, port, timeout=timeout,
                                           source_address=(source, 0),
                                           context=context)
    else:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout,
                                          source_address=(source, 0))
    try:
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, data, h)
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def cookie_attributes(set_cookie):
    """(name, value, {attribute (lower case): value or True})."""
    first, *rest = [p.strip() for p in set_cookie.split(";")]
    name, _, value = first.partition("=")
    attrs = {}
    for a in rest:
        k, eq, v = a.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name, value, attrs


class TlsServer(Server):
    """`cmr serve --tls-cert … --tls-key …`: Server, but /healthz is asked
    over TLS."""

    def __init__(self, ctx, cert, *extra):
        self.cert = cert
        super().__init__(ctx, "--tls-cert", str(cert.cert), "--tls-key",
                         str(cert.key), *extra)

    @property
    def port(self):
        return int(self.address.rsplit(":", 1)[1])

    def _wait_healthy(self):
        self.url = f"https://{self.address}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz",
                           context=self.cert.context,
                           timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self._fail("never answered /healthz with 200 over TLS")


@pytest.fixture
def start_tls_server(ctx):
    """start_tls_server(cert, *extra_args) -> TlsServer; stopped at
    teardown, where its log is checked for sanitizer reports."""
    started = []

    def start(cert, *extra):
        s = TlsServer(ctx, cert, *extra)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.stop()
        s.log_file.close()
    for s in started:
        s.check_sanitizers()


# The nginx block of README's "Behind a proxy, or TLS of its own", with
# the test's ports, paths and files.
NGINX_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;

    server {{
        listen {host}:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};

        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}
    }}
}}
"""


class Nginx:
    """Debian's nginx, test-owned: config, pid, logs and temp files under
    <root>/nginx, in the foreground (daemon off) so that it is our child,
    on a free port of 127.0.0.1, proxying to cmr on `upstream`."""

    def __init__(self, root, upstream, cert):
        if not os.access(NGINX, os.X_OK):
            pytest.skip(f"{NGINX} is not installed (scripts/setup)")
        self.prefix = Path(root) / "nginx"
        shutil.rmtree(self.prefix, ignore_errors=True)
        (self.prefix / "tmp").mkdir(parents=True)
        self.port = free_port()
        self.conf = self.prefix / "nginx.conf"
        self.conf.write_text(NGINX_CONF.format(
            # As root, nginx's workers would be `nobody`, who cannot
            # reach pytest's directories.
            user="user root;\n" if os.geteuid() == 0 else "",
            prefix=self.prefix, host=HOST, port=self.port,
            cert=cert.cert, key=cert.key, upstream=upstream))
        self.proc = None

    def log(self):
        return tail(self.prefix / "error.log")

    def start(self):
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-e",
             str(self.prefix / "error.log"), "-c", str(self.conf), "-g",
             "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise MtaError(f"nginx exited {self.proc.returncode}:\n"
                               + self.log())
            try:
                with socket.create_connection((HOST, self.port), 1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise MtaError("nginx did not listen:\n" + self.log())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
