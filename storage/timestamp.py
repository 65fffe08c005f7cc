"""RFC 3161 time-stamps on checkpoints: requests, and the check of a TSA's response.

What is stamped is the checkpoint *body* (the note text: origin, size, root, extension
lines), with SHA-256 as the message imprint. Not the signed note: witnesses append
cosignature lines to a checkpoint after it is signed, and the body is what commits to
the log's entries (its root is a hash over all of them), so "this body existed before
genTime" is exactly "these entries existed before genTime", whatever signatures the
copy in hand carries.

A stamp is kept as the pair (request, response), both DER. The request carries the
nonce the station chose; the verifier checks the response against it (rfc3161-client's
``VerifierBuilder.from_request``): imprint, nonce, the TSA's signature and its chain to
a root the verifier trusts, each certificate valid at genTime (so a token whose genTime
is before its TSA certificate was issued, a back-dated one, fails), the signer's
critical id-kp-timeStamping EKU. Pure: no network, no clock; the station's anchoring
worker does the HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from storage._errors import FormatError, VerificationError

MEDIA_TYPE_QUERY = "application/timestamp-query"
MEDIA_TYPE_REPLY = "application/timestamp-reply"
MAX_TOKEN_BYTES = 64 << 10


class TimestampError(VerificationError):
    """An RFC 3161 response that does not verify (``reason`` is rfc3161-client's word)."""


@dataclass(frozen=True, slots=True)
class Stamp:
    """A verified time-stamp: the message existed before ``gen_ms`` per ``tsa``."""

    gen_ms: int
    tsa: str  # the TSA's certificate subject (RFC 4514)
    serial: int
    accuracy_ms: int | None


def imprint(text: str) -> bytes:
    """The message imprint of a checkpoint body (what the TSA signs the hash of)."""
    return hashlib.sha256(text.encode("utf-8")).digest()


def make_request(text: str) -> bytes:
    """A DER TimeStampReq over ``text`` with SHA-256, a fresh random nonce, certReq."""
    from rfc3161_client import HashAlgorithm, TimestampRequestBuilder

    if not text:
        raise ValueError("nothing to time-stamp")
    request = (
        TimestampRequestBuilder()
        .data(text.encode("utf-8"))
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    return bytes(request.as_bytes())


def load_roots(pems: Sequence[str]) -> list[x509.Certificate]:
    roots = []
    for i, pem in enumerate(pems):
        try:
            roots.extend(x509.load_pem_x509_certificates(pem.encode()))
        except ValueError as e:
            raise FormatError(f"TSA root {i + 1} is not a PEM certificate: {e}") from e
    return roots


def check_response(
    text: str, request: bytes, response: bytes, roots: Sequence[x509.Certificate]
) -> Stamp:
    """Verify a TSA response for checkpoint body ``text``; raise :class:`TimestampError`."""
    from rfc3161_client import VerificationError as TspError
    from rfc3161_client import VerifierBuilder, decode_timestamp_response
    from rfc3161_client._rust import parse_timestamp_request

    if not roots:
        raise ValueError("verifying a time-stamp needs at least one trusted TSA root")
    if len(response) > MAX_TOKEN_BYTES or len(request) > MAX_TOKEN_BYTES:
        raise FormatError(f"time-stamp request/response over {MAX_TOKEN_BYTES} bytes")
    try:
        req = parse_timestamp_request(request)
    except ValueError as e:
        raise FormatError(f"the time-stamp request is not DER TimeStampReq: {e}") from e
    try:
        tsr = decode_timestamp_response(response)
    except ValueError as e:
        raise FormatError(
            f"the time-stamp response is not a DER TimeStampResp: {e}",
            hint="rfc3161-client is strict DER: a TSA that embeds its whole chain in an "
            "unsorted SET is refused (serve the signer certificate only)",
        ) from e
    wanted = imprint(text)
    if req.message_imprint.message != wanted:
        raise TimestampError(
            f"the time-stamp request is over {req.message_imprint.message.hex()[:16]}…, "
            f"not this checkpoint (SHA-256 {wanted.hex()[:16]}…)",
            hint="the token was made for another checkpoint",
        )
    builder = VerifierBuilder.from_request(req)
    for root in roots:
        builder = builder.add_root_certificate(root)
    try:
        builder.build().verify(tsr, wanted)
    except TspError as e:
        raise TimestampError(
            f"the time-stamp does not verify: {_reason(str(e))}",
            hint="a token over another message, from a TSA the trust file does not list, "
            "or made outside its certificate's validity, is not a time-stamp",
        ) from e
    info = tsr.tst_info
    names = [c for c in _certs(tsr) if c.serial_number == _signer_serial(tsr)]
    tsa = names[0].subject.rfc4514_string() if names else "unknown TSA"
    accuracy = None
    acc = info.accuracy
    if acc is not None:
        accuracy = acc.seconds * 1000 + (acc.millis or 0)
    return Stamp(
        gen_ms=round(info.gen_time.timestamp() * 1000),
        tsa=tsa,
        serial=int(info.serial_number),
        accuracy_ms=accuracy,
    )


def _reason(text: str) -> str:
    # OpenSSL's error stack is long; its last "Verify error" says what failed.
    marker = "Verify error: "
    if marker in text:
        return text[text.rindex(marker) + len(marker) :].split('"')[0]
    if "ErrorStack" in text:
        return text.split(": Unable")[0] + ": the signature does not verify with a trusted root"
    return text


def _certs(tsr: object) -> list[x509.Certificate]:
    return [x509.load_der_x509_certificate(c) for c in tsr.signed_data.certificates]  # type: ignore[attr-defined]


def _signer_serial(tsr: object) -> int:
    infos = list(tsr.signed_data.signer_infos)  # type: ignore[attr-defined]
    return int(infos[0].serial_number) if infos else -1


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


__all__ = [
    "MEDIA_TYPE_QUERY",
    "MEDIA_TYPE_REPLY",
    "Stamp",
    "TimestampError",
    "check_response",
    "imprint",
    "load_roots",
    "make_request",
]
