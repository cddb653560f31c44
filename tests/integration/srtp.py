"""SRTP for the Python test phones: protect and unprotect RTP with an SDES
key (RFC 4568), through ctypes over the system libsrtp2 (Debian
libsrtp2-1), the same library the daemon links.

A test phone holds only its own keys, as a real phone does:

    key = SdesKey.generate("AES_CM_128_HMAC_SHA1_80")
    sdp = make_srtp_sdp(ip, port, [(1, key)])          # what it offers
    tx = SrtpSender(key)                               # protects what it sends
    rx = SrtpReceiver(SdesKey.from_crypto_line(line))  # key the PBX gave it

Nothing here prints or logs a key; `repr` of a key shows only its suite.
"""
import base64
import ctypes
import ctypes.util
import re
import secrets
import struct
import threading

# suite -> (setter in libsrtp2 for srtp_crypto_policy_t, master key+salt
# bytes, SRTP tag bytes)
SUITES = {
    "AES_CM_128_HMAC_SHA1_80": ("srtp_crypto_policy_set_rtp_default", 30, 10),
    "AES_CM_128_HMAC_SHA1_32": ("srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32", 30, 4),
    "AEAD_AES_128_GCM": ("srtp_crypto_policy_set_aes_gcm_128_16_auth", 28, 16),
}
# The RTCP policy of the _32 suite keeps an 80-bit tag (RFC 4568 6.2.2).
_RTCP_SETTER = {
    "AES_CM_128_HMAC_SHA1_32": "srtp_crypto_policy_set_rtcp_default",
}

SRTP_ERR_OK = 0
SSRC_ANY_INBOUND = 2
SSRC_ANY_OUTBOUND = 3
MAX_TRAILER = 16 + 4 + 128  # tag + MKI + slack (SRTP_MAX_TRAILER_LEN is 144)


class _CryptoPolicy(ctypes.Structure):
    _fields_ = [("cipher_type", ctypes.c_uint32), ("cipher_key_len", ctypes.c_int),
                ("auth_type", ctypes.c_uint32), ("auth_key_len", ctypes.c_int),
                ("auth_tag_len", ctypes.c_int), ("sec_serv", ctypes.c_int)]


class _Ssrc(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("value", ctypes.c_uint)]


class _Policy(ctypes.Structure):
    pass


_Policy._fields_ = [("ssrc", _Ssrc), ("rtp", _CryptoPolicy), ("rtcp", _CryptoPolicy),
                    ("key", ctypes.c_void_p), ("keys", ctypes.c_void_p),
                    ("num_master_keys", ctypes.c_ulong), ("deprecated_ekt", ctypes.c_void_p),
                    ("window_size", ctypes.c_ulong), ("allow_repeat_tx", ctypes.c_int),
                    ("enc_xtn_hdr", ctypes.c_void_p), ("enc_xtn_hdr_count", ctypes.c_int),
                    ("next", ctypes.POINTER(_Policy))]

_lib = None
_lib_lock = threading.Lock()


def _load():
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        name = None
        for cand in ("libsrtp2.so.1", ctypes.util.find_library("srtp2")):
            if not cand:
                continue
            try:
                lib = ctypes.CDLL(cand)
                name = cand
                break
            except OSError:
                continue
        if name is None:
            raise OSError("libsrtp2 (Debian package libsrtp2-1) is not installed")
        lib.srtp_init.restype = ctypes.c_int
        for f in ("srtp_protect", "srtp_unprotect", "srtp_protect_rtcp", "srtp_unprotect_rtcp"):
            fn = getattr(lib, f)
            fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
            fn.restype = ctypes.c_int
        lib.srtp_create.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_Policy)]
        lib.srtp_create.restype = ctypes.c_int
        lib.srtp_dealloc.argtypes = [ctypes.c_void_p]
        lib.srtp_dealloc.restype = ctypes.c_int
        for setter in {s for s, _, _ in SUITES.values()} | set(_RTCP_SETTER.values()):
            getattr(lib, setter).argtypes = [ctypes.POINTER(_CryptoPolicy)]
            getattr(lib, setter).restype = None
        rc = lib.srtp_init()
        if rc != SRTP_ERR_OK:
            raise OSError(f"srtp_init failed: {rc}")
        _lib = lib
        return lib


def available():
    try:
        _load()
        return True
    except OSError:
        return False


class SdesKey:
    """One SDES master key and salt with its suite."""

    def __init__(self, suite, material):
        if suite not in SUITES:
            raise ValueError(f"unknown suite {suite}")
        if len(material) != SUITES[suite][1]:
            raise ValueError(f"{suite} needs {SUITES[suite][1]} bytes of key and salt")
        self.suite = suite
        self.material = bytes(material)

    @classmethod
    def generate(cls, suite="AES_CM_128_HMAC_SHA1_80"):
        return cls(suite, secrets.token_bytes(SUITES[suite][1]))

    @property
    def inline(self):
        return "inline:" + base64.b64encode(self.material).decode()

    def crypto_attr(self, tag=1):
        """The attribute value, without `a=`: `crypto:1 SUITE inline:...`."""
        return f"crypto:{tag} {self.suite} {self.inline}"

    @classmethod
    def from_crypto_line(cls, line):
        """Parse `a=crypto:TAG SUITE inline:KEY[|...]` (with or without
        `a=`); returns (tag, SdesKey)."""
        tag, suite, key = parse_crypto(line)
        return tag, cls(suite, key)

    def __eq__(self, other):
        return isinstance(other, SdesKey) and (self.suite, self.material) == (other.suite, other.material)

    def __hash__(self):
        return hash((self.suite, self.material))

    def __repr__(self):
        return f"<SdesKey {self.suite}>"


def parse_crypto(line):
    """(tag, suite, key bytes) of an a=crypto line; the key bytes are the
    base64 of the first inline: key-param, before any |lifetime or |MKI."""
    s = line[2:] if line.startswith("a=") else line
    m = re.match(r"^crypto:(\d+)\s+(\S+)\s+inline:([A-Za-z0-9+/=]+)", s)
    if not m:
        raise ValueError("not an SDES a=crypto line with an inline key")
    return int(m.group(1)), m.group(2), base64.b64decode(m.group(3))


def crypto_lines(sdp_attrs):
    """The a=crypto attribute values in a parse_sdp() 'attrs' list."""
    return [a for a in sdp_attrs if a.startswith("crypto:")]


class _Session:
    def __init__(self, key, direction):
        lib = _load()
        setter, _, _ = SUITES[key.suite]
        self._lib = lib
        self._key_buf = ctypes.create_string_buffer(key.material, len(key.material) + 16)
        pol = _Policy()
        getattr(lib, setter)(ctypes.byref(pol.rtp))
        getattr(lib, _RTCP_SETTER.get(key.suite, setter))(ctypes.byref(pol.rtcp))
        pol.ssrc.type = direction
        pol.ssrc.value = 0
        pol.key = ctypes.cast(self._key_buf, ctypes.c_void_p)
        pol.window_size = 128
        pol.allow_repeat_tx = 0
        pol.next = None
        self._ctx = ctypes.c_void_p()
        rc = lib.srtp_create(ctypes.byref(self._ctx), ctypes.byref(pol))
        ctypes.memset(self._key_buf, 0, len(self._key_buf))
        if rc != SRTP_ERR_OK:
            raise OSError(f"srtp_create failed: {rc}")
        self._lock = threading.Lock()

    def _run(self, fn, data, room):
        buf = ctypes.create_string_buffer(bytes(data), len(data) + room)
        n = ctypes.c_int(len(data))
        with self._lock:
            if self._ctx is None:
                raise OSError("SRTP session closed")
            rc = fn(self._ctx, buf, ctypes.byref(n))
        return rc, buf.raw[:n.value]

    def close(self):
        with self._lock:
            if self._ctx is not None:
                self._lib.srtp_dealloc(self._ctx)
                self._ctx = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class SrtpSender(_Session):
    """Protects outgoing RTP and RTCP with one key (any SSRC)."""

    def __init__(self, key):
        super().__init__(key, SSRC_ANY_OUTBOUND)

    def protect(self, rtp):
        rc, out = self._run(self._lib.srtp_protect, rtp, MAX_TRAILER)
        if rc != SRTP_ERR_OK:
            raise OSError(f"srtp_protect failed: {rc}")
        return out

    def protect_rtcp(self, rtcp):
        rc, out = self._run(self._lib.srtp_protect_rtcp, rtcp, MAX_TRAILER + 4)
        if rc != SRTP_ERR_OK:
            raise OSError(f"srtp_protect_rtcp failed: {rc}")
        return out


class SrtpReceiver(_Session):
    """Verifies and decrypts incoming SRTP with one key (any SSRC).
    unprotect returns the RTP packet, or None when the packet fails
    (authentication, replay, not SRTP under this key)."""

    def __init__(self, key):
        super().__init__(key, SSRC_ANY_INBOUND)

    def unprotect(self, srtp):
        if len(srtp) < 12:
            return None
        rc, out = self._run(self._lib.srtp_unprotect, srtp, 0)
        return out if rc == SRTP_ERR_OK else None

    def unprotect_rtcp(self, srtcp):
        if len(srtcp) < 8:
            return None
        rc, out = self._run(self._lib.srtp_unprotect_rtcp, srtcp, 0)
        return out if rc == SRTP_ERR_OK else None


def make_srtp_sdp(ip, port, cryptos, proto="RTP/SAVP", session=None, pt=0,
                  direction="sendrecv", extra=()):
    """An audio offer or answer with `cryptos` = [(tag, SdesKey or raw
    attribute value after the tag, e.g. 'AES_CM_128_HMAC_SHA1_80 inline:...'), ...]."""
    session = session or str(secrets.randbelow(10**9))
    enc = {0: "PCMU/8000", 8: "PCMA/8000"}[pt]
    lines = ["v=0", f"o=- {session} 1 IN IP4 {ip}", "s=-", f"c=IN IP4 {ip}", "t=0 0",
             f"m=audio {port} {proto} {pt} 101", f"a=rtpmap:{pt} {enc}",
             "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15", "a=ptime:20"]
    for tag, key in cryptos:
        if isinstance(key, SdesKey):
            lines.append(f"a={key.crypto_attr(tag)}")
        else:
            lines.append(f"a=crypto:{tag} {key}")
    lines += list(extra)
    lines.append(f"a={direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


def rtp_header(pkt):
    """(seq, ts, ssrc) of an RTP/SRTP packet (the header is never encrypted)."""
    _, _, seq, ts, ssrc = struct.unpack("!BBHII", pkt[:12])
    return seq, ts, ssrc
