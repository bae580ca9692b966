"""A fault-injecting HTTP/1.1 reverse proxy for the object-store reliability tests.

It listens on 127.0.0.1 and forwards each request to one upstream (versitygw, Azurite or
fake-gcs-server) byte-exact: method, target, every header in order (the Host header too, so a
SigV4 signature made for the proxy's host:port still verifies upstream) and the body. Rules pick
requests by method, a regular expression on the target (path + query) and the number of the
match (1 = the first request that matches), and answer them with a fault instead of, or after,
forwarding:

  status      an error answer of the backend's dialect, not forwarded (500, a single 403, ...)
  slowdown    503 with <Code>SlowDown</Code> (S3) / ServerBusy (Azure) and `Retry-After: N`
  truncate    forwarded; the answer is sent with its full Content-Length but only half its
              body, then the connection is closed
  flip        forwarded; one byte in the middle of the answer's body is inverted
  flip_request  one byte in the middle of the request's body is inverted, then forwarded (what
              a corrupting link does to an upload: the store must refuse it)
  stall       waits `seconds` before forwarding (a slow / hung store)
  rewrite     forwarded; the first match of `pattern` in the answer's body is replaced by
              `replacement` (damage that still parses: a digit changed in a JSON document)

Used in-process by tests/reliability/test_store_faults.py; `python3 http_fault_proxy.py UPSTREAM`
runs it alone (no rules; prints the port) to watch what a run sends.
"""
from __future__ import annotations

import http.client
import re
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass, field

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class Rule:
    """Fault the `nth` request (1-based, counted among the requests this rule matches)."""
    action: str                      # status | slowdown | truncate | flip | stall
    method: str | None = None        # e.g. "PUT"; None: any
    target: str = ""                 # regex searched in the request target (path + query)
    body: str = ""                   # regex searched in the request body (latin-1), e.g. a GCS
                                     # upload's object name
    nth: int = 1
    times: int = 1                   # how many consecutive matches, from the nth, get the fault
    status: int = 500
    code: str = "InternalError"      # the error code put in the body
    retry_after: int = 1             # seconds, for slowdown
    seconds: float = 0.0             # for stall
    pattern: str = ""                # for rewrite
    replacement: str = ""
    seen: int = 0
    fired: list = field(default_factory=list)   # "METHOD target" of every faulted request

    def matches(self, method: str, target: str, body: bytes) -> bool:
        return ((self.method is None or self.method == method) and re.search(self.target, target) is not None
                and (not self.body or re.search(self.body, body.decode("latin-1")) is not None))


class FaultProxy:
    """Start with `start()`, stop with `stop()`; `rules` may be replaced between runs (`set_rules`).
    `log` holds (method, target, status, fault) for every request, in order."""

    def __init__(self, upstream: str, dialect: str = "s3"):
        host, _, port = upstream.removeprefix("http://").rstrip("/").partition(":")
        self.upstream = (host, int(port or 80))
        self.dialect = dialect
        self.rules: list[Rule] = []
        self.log: list[tuple[str, str, int, str]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                while proxy._serve_one(self.rfile, self.connection):
                    pass

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FaultProxy":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set_rules(self, *rules: Rule) -> None:
        with self.lock:
            self.rules = list(rules)
            self.log.clear()

    def fired(self) -> list[str]:
        with self.lock:
            return [f for r in self.rules for f in r.fired]

    # -- one request ---------------------------------------------------------------------------
    def _pick(self, method: str, target: str, body: bytes) -> Rule | None:
        with self.lock:
            for r in self.rules:
                if r.matches(method, target, body):
                    r.seen += 1
                    if r.nth <= r.seen < r.nth + r.times:
                        r.fired.append(f"{method} {target}")
                        return r
        return None

    def _error_body(self, status: int, code: str) -> tuple[bytes, str]:
        if self.dialect == "gcs":
            return (f'{{"error":{{"code":{status},"message":"{code} (injected by the test proxy)",'
                    f'"errors":[{{"reason":"{code}"}}]}}}}').encode(), "application/json"
        return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                f"<Message>{code} injected by the test proxy</Message></Error>").encode(), "application/xml"

    def _serve_one(self, rfile, conn: socket.socket) -> bool:
        line = rfile.readline(65537)
        if not line or not line.strip():
            return False
        method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        headers: list[tuple[str, str]] = []
        while True:
            h = rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").rstrip("\r\n").partition(":")
            headers.append((name, value.strip()))
        hmap = {k.lower(): v for k, v in headers}
        if "chunked" in hmap.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(rfile.readline().split(b";")[0].strip(), 16)
                chunk = rfile.read(size + 2)[:size]
                if size == 0:
                    while rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += chunk
            headers = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
            headers.append(("Content-Length", str(len(body))))
        else:
            body = rfile.read(int(hmap.get("content-length", "0") or 0))
        if "100-continue" in hmap.get("expect", "").lower():
            headers = [(k, v) for k, v in headers if k.lower() != "expect"]

        rule = self._pick(method, target, body)
        fault = rule.action if rule else ""
        if rule and rule.action in ("status", "slowdown"):
            status = 503 if rule.action == "slowdown" else rule.status
            code = rule.code
            if rule.action == "slowdown" and code == "InternalError":
                code = {"s3": "SlowDown", "azure": "ServerBusy", "gcs": "rateLimitExceeded"}[self.dialect]
            err, ctype = self._error_body(status, code)
            extra = f"Retry-After: {rule.retry_after}\r\n" if rule.action == "slowdown" else ""
            reason = http.client.responses.get(status, "Error")
            conn.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(err)}\r\n"
                         f"{extra}\r\n".encode() + (b"" if method == "HEAD" else err))
            self._record(method, target, status, fault)
            return True
        if rule and rule.action == "stall":
            time.sleep(rule.seconds)
        if rule and rule.action == "flip_request" and body:
            b = bytearray(body)
            b[len(b) // 2] ^= 0xFF
            body = bytes(b)

        up = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            up.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                up.putheader(k, v)
            up.endheaders(body if body or method in ("PUT", "POST") else None)
            resp = up.getresponse()
            data = resp.read()
        except OSError as e:
            err, ctype = self._error_body(502, f"upstream {e}")
            conn.sendall(f"HTTP/1.1 502 Bad Gateway\r\nContent-Length: {len(err)}\r\n\r\n".encode() + err)
            self._record(method, target, 502, "upstream-error")
            return False
        finally:
            up.close()
        out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        if method != "HEAD" and resp.status not in (204, 304):
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(data))))
        if rule and rule.action == "flip" and data:
            b = bytearray(data)
            b[len(b) // 2] ^= 0xFF
            data = bytes(b)
        if rule and rule.action == "rewrite" and data:
            data = re.sub(rule.pattern, rule.replacement, data.decode("latin-1"), count=1).encode("latin-1")
            out_headers = [(k, v) for k, v in out_headers if k.lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(data))))
        head = f"HTTP/1.1 {resp.status} {resp.reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in out_headers)
        if rule and rule.action == "truncate" and method != "HEAD":
            conn.sendall(head.encode("latin-1") + b"\r\n" + data[: len(data) // 2])
            self._record(method, target, resp.status, fault)
            conn.shutdown(socket.SHUT_RDWR)
            return False
        conn.sendall(head.encode("latin-1") + b"\r\n" + (b"" if method == "HEAD" else data))
        self._record(method, target, resp.status, fault)
        return True

    def _record(self, method: str, target: str, status: int, fault: str) -> None:
        with self.lock:
            self.log.append((method, target, status, fault))


if __name__ == "__main__":
    p = FaultProxy(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "s3").start()
    print(p.endpoint, flush=True)
    try:
        while True:
            time.sleep(1)
            for entry in p.log:
                print(*entry, flush=True)
            p.log.clear()
    except KeyboardInterrupt:
        p.stop()
