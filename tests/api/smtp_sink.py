"""A small SMTP server on loopback that keeps what it is given: the
smarthost of the forward adapter's tests. It answers as a real MTA would
(EHLO, MAIL, RCPT, DATA with dot-unstuffing, RSET, QUIT), and can be told
to refuse the next RCPTs with a temporary failure."""
import socketserver
import threading

import pytest


class Sink:
    def __init__(self):
        self.mails = []         # (mail_from, [rcpts], data bytes)
        self.refuse_rcpt = 0    # how many RCPTs to answer 451
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self):
                self.reply("220 sink.test ESMTP")
                frm, rcpts = None, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode("latin-1").rstrip("\r\n")
                    verb = cmd[:4].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-sink.test")
                        self.reply("250 8BITMIME")
                    elif verb == "MAIL":
                        frm, rcpts = cmd.split(":", 1)[1].strip()[1:-1] \
                            .split(">")[0], []
                        self.reply("250 ok")
                    elif verb == "RCPT":
                        with sink.lock:
                            refuse = sink.refuse_rcpt > 0
                            sink.refuse_rcpt -= refuse
                        if refuse:
                            self.reply("451 4.3.0 try later")
                        else:
                            rcpts.append(cmd.split(":", 1)[1].strip()
                                         .strip("<>"))
                            self.reply("250 ok")
                    elif verb == "DATA":
                        self.reply("354 go on")
                        data = b""
                        while True:
                            l = self.rfile.readline()
                            if l in (b".\r\n", b""):
                                break
                            data += l[1:] if l.startswith(b".") else l
                        with sink.lock:
                            sink.mails.append((frm, rcpts, data))
                            sink.arrived.notify_all()
                        self.reply("250 queued")
                    elif verb == "RSET":
                        frm, rcpts = None, []
                        self.reply("250 ok")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def wait(self, n, timeout=15):
        with self.lock:
            self.arrived.wait_for(lambda: len(self.mails) >= n, timeout)
            return list(self.mails)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()
