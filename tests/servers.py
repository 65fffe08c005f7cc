"""Real servers on 127.0.0.1 for tests: an RFC 3161 TSA and a tlog witness.

The TSA is pyhanko's ``DummyTimeStamper`` (RSA, a test-only dependency) behind a small
``http.server``: it answers ``application/timestamp-query`` POSTs with the signer's
certificate only in the token (rfc3161-client refuses the unsorted full-chain SET that
``openssl ts`` writes; FIELD-NOTES). Its CA is made here, so tests can hand out the
right root, a wrong one, or a back-dated clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "packseal tests"),
        ]
    )


@dataclass
class TsaKeys:
    root: x509.Certificate
    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(serialization.Encoding.PEM).decode()


def make_tsa_keys(
    cn: str = "packseal test TSA", *, not_before: dt.datetime | None = None
) -> TsaKeys:
    now = dt.datetime.now(dt.UTC)
    start = not_before or now - dt.timedelta(days=1)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{cn} root"))
        .issuer_name(_name(f"{cn} root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return TsaKeys(root, cert, key)


@dataclass
class Tsa:
    url: str
    keys: TsaKeys
    requests: list[bytes] = field(default_factory=list)
    fixed: dt.datetime | None = None  # a back-dating TSA: every token says this time
    down: bool = False  # answer 503, like a TSA that is unreachable
    delay: float = 0.0  # seconds to wait before answering (a slow network)


@contextmanager
def serve_tsa(keys: TsaKeys | None = None) -> Iterator[Tsa]:
    from asn1crypto import keys as a_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as a_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    keys = keys or make_tsa_keys()
    cert = a_x509.Certificate.load(keys.cert.public_bytes(serialization.Encoding.DER))
    key = a_keys.PrivateKeyInfo.load(
        keys.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    state: dict[str, Tsa] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            tsa = state["tsa"]
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            tsa.requests.append(body)
            if tsa.delay:
                time.sleep(tsa.delay)
            if tsa.down:
                self.send_response(503)
                self.end_headers()
                return
            stamper = DummyTimeStamper(cert, key, fixed_dt=tsa.fixed)
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["tsa"] = Tsa(f"http://127.0.0.1:{server.server_address[1]}/tsa", keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["tsa"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class WitnessServer:
    url: str
    witness: Any  # packseal.witness.Witness

    @property
    def vkey(self) -> str:
        return str(self.witness.vkey)


@contextmanager
def serve_witness(state: Any, *, clock: Any = None) -> Iterator[WitnessServer]:
    """``packseal witness serve`` on 127.0.0.1 (a real HTTP server) for the state dir."""
    from packseal.witness import Witness, make_server

    witness = Witness(state, clock or time.time)
    server = make_server(witness, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WitnessServer(f"http://127.0.0.1:{server.server_address[1]}", witness)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
