#!/usr/bin/env python3
"""A stand-in Kafka broker that accepts Produce requests from any client (kcat/librdkafka)
and writes each partition's record batch bytes to a file, so the batches can be committed
as golden data. It speaks just enough of the protocol: ApiVersions v0-3, Metadata v1,
Produce v3-v7 (non-flexible versions only).

usage: capture_produce.py PORT OUTDIR PREFIX      (one batch file per produce partition)
"""
import os
import socket
import struct
import sys

API_PRODUCE, API_FETCH, API_METADATA, API_VERSIONS = 0, 1, 3, 18
# librdkafka enables codecs through "features" keyed on other APIs (e.g. LZ4 needs the group
# APIs of a 0.9 broker), so advertise those too; only Produce and Metadata are ever answered.
SUPPORTED = [(API_PRODUCE, 0, 7), (API_FETCH, 0, 10), (2, 0, 1), (API_METADATA, 1, 1), (8, 0, 2), (9, 0, 1),
             (10, 0, 0), (11, 0, 0), (12, 0, 0), (13, 0, 0), (14, 0, 0), (15, 0, 0), (16, 0, 0), (17, 0, 0),
             (API_VERSIONS, 0, 3)]


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def kstr(s):
    b = s.encode()
    return struct.pack(">h", len(b)) + b


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.b, self.p)
        self.p += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.b[self.p:self.p + n].decode()
        self.p += n
        return s

    def bytes_(self):
        n = self.take(">i")
        if n < 0:
            return None
        s = self.b[self.p:self.p + n]
        self.p += n
        return s


def api_versions(version):
    if version >= 3:
        body = struct.pack(">h", 0) + uvarint(len(SUPPORTED) + 1)
        for k, lo, hi in SUPPORTED:
            body += struct.pack(">hhh", k, lo, hi) + b"\x00"
        return body + struct.pack(">i", 0) + b"\x00"
    body = struct.pack(">hi", 0, len(SUPPORTED))
    for k, lo, hi in SUPPORTED:
        body += struct.pack(">hhh", k, lo, hi)
    if version >= 1:
        body += struct.pack(">i", 0)
    return body


def metadata(r, port):
    n = r.take(">i")
    topics = [r.string() for _ in range(max(n, 0))] or ["t"]
    body = struct.pack(">i", 1) + struct.pack(">i", 0) + kstr("127.0.0.1") + struct.pack(">i", port)
    body += struct.pack(">h", -1)  # rack null
    body += struct.pack(">i", 0)   # controller id
    body += struct.pack(">i", len(topics))
    for t in topics:
        body += struct.pack(">h", 0) + kstr(t) + b"\x00" + struct.pack(">i", 1)
        body += struct.pack(">hii", 0, 0, 0) + struct.pack(">ii", 1, 0) + struct.pack(">ii", 1, 0)
    return body


def produce(r, version, outdir, prefix, counter):
    r.string()  # transactional id
    r.take(">h")
    r.take(">i")
    resp = []
    for _ in range(r.take(">i")):
        topic = r.string()
        parts = []
        for _ in range(r.take(">i")):
            index = r.take(">i")
            records = r.bytes_()
            path = os.path.join(outdir, "%s_%d.bin" % (prefix, counter[0]))
            counter[0] += 1
            with open(path, "wb") as f:
                f.write(records)
            print("captured", path, len(records), flush=True)
            parts.append(index)
        resp.append((topic, parts))
    body = struct.pack(">i", len(resp))
    for topic, parts in resp:
        body += kstr(topic) + struct.pack(">i", len(parts))
        for p in parts:
            body += struct.pack(">ihqq", p, 0, 0, -1)
            if version >= 5:
                body += struct.pack(">q", 0)
    return body + struct.pack(">i", 0)


def main():
    port, outdir, prefix = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(4)
    srv.settimeout(30)
    counter = [0]
    while True:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            return
        conn.settimeout(10)
        buf = b""
        try:
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">i", buf[:4])[0]:
                    n = struct.unpack(">i", buf[:4])[0]
                    req, buf = buf[4:4 + n], buf[4 + n:]
                    r = Reader(req)
                    key, version, corr = r.take(">hhi")
                    if key == API_VERSIONS:
                        body = api_versions(version)
                    else:
                        r.string()  # client id (request header v1)
                        if key == API_METADATA:
                            body = metadata(r, port)
                        elif key == API_PRODUCE:
                            body = produce(r, version, outdir, prefix, counter)
                        else:
                            print("unsupported api", key, flush=True)
                            body = b""
                    resp = struct.pack(">i", corr) + body
                    conn.sendall(struct.pack(">i", len(resp)) + resp)
        except (socket.timeout, ConnectionError):
            pass
        conn.close()


if __name__ == "__main__":
    main()
