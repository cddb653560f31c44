"""A small RTP endpoint for the call tests: sends 20 ms G.711 packets
(12-byte header + 160 bytes of payload = 172 bytes) and records every packet
it receives with its source address."""
import socket
import struct
import threading
import time

PAYLOAD = 160
PACKET = 12 + PAYLOAD


def rtp_packet(seq, ts, ssrc, pt=0, marker=False, payload=None):
    b1 = (0x80 if marker else 0) | (pt & 0x7F)
    body = payload if payload is not None else bytes([0xFF]) * PAYLOAD
    return struct.pack("!BBHII", 0x80, b1, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + body


def parse_rtp(data):
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    _, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    return {"pt": b1 & 0x7F, "seq": seq, "ts": ts, "ssrc": ssrc, "len": len(data)}


class RtpPeer:
    """One RTP socket on (ip, port); port 0 picks an even free port."""

    def __init__(self, ip="127.0.0.1", port=0):
        self.ip = ip
        self.sock = self._bind(ip, port)
        self.port = self.sock.getsockname()[1]
        self.received = []   # (src, parsed header or None, size, monotonic time)
        self.raw = []        # (src, bytes) of the same datagrams, for SRTP checks
        self.ssrc = int.from_bytes(struct.pack("!I", id(self) & 0xFFFFFFFF), "big") or 1
        self.seq = 0
        self.ts = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _bind(ip, port):
        if port:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, port))
            return s
        for _ in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, 0))
            p = s.getsockname()[1]
            if p % 2 == 0:
                return s
            s.close()
        raise RuntimeError("no even port")

    def _run(self):
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                data, src = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.received.append((src, parse_rtp(data), len(data), time.monotonic()))
                self.raw.append((src, data))

    def send(self, dest, count=1, interval=0.02, pt=0, size=PAYLOAD):
        """Send `count` packets to dest, one every `interval` seconds."""
        for i in range(count):
            self.sock.sendto(rtp_packet(self.seq, self.ts, self.ssrc, pt,
                                        marker=(self.seq == 0), payload=bytes([0xD5]) * size), dest)
            self.seq += 1
            self.ts += size
            if interval and i + 1 < count:
                time.sleep(interval)

    def sources(self):
        with self._lock:
            return {r[0] for r in self.received}

    def count(self):
        with self._lock:
            return len(self.received)

    def packets(self):
        with self._lock:
            return list(self.received)

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        while self.count() < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.count()

    def datagrams(self):
        """(src, bytes) of every datagram received, in order."""
        with self._lock:
            return list(self.raw)

    def clear(self):
        with self._lock:
            self.received.clear()
            self.raw.clear()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=1)
        self.sock.close()


def send_both_ways(a, a_dest, b, b_dest, count, interval=0.02):
    """Interleave a->a_dest and b->b_dest, `count` packets each."""
    for i in range(count):
        a.send(a_dest, 1, 0)
        b.send(b_dest, 1, 0)
        if i + 1 < count:
            time.sleep(interval)


def rtp_rtcp_pair(ip="127.0.0.1"):
    """Two peers on an even port and the odd port above it (RTP, RTCP)."""
    for _ in range(200):
        rtp = RtpPeer(ip)
        try:
            rtcp = RtpPeer(ip, rtp.port + 1)
        except OSError:
            rtp.close()
            continue
        return rtp, rtcp
    raise RuntimeError("no free RTP/RTCP port pair")


def rtcp_sender_report(ssrc):
    """A minimal RTCP SR (no report blocks): 28 bytes."""
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 0, 0, 0, 0, 0)
