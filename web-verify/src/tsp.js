// The RFC 3161 check of storage/timestamp.py's check_response, in the browser: the
// response in entries/checkpoint.tsr answers the request in entries/checkpoint.tsq (its
// imprint is the SHA-256 of this checkpoint's body, its nonce and policy), is GRANTED,
// its CMS SignedData is signed by a certificate that chains to a TSA root of the trust
// file with every certificate valid at genTime (a back-dated token fails), there is
// exactly one signer, found by issuer and serial among the token's certificates, whose
// certificate has the critical id-kp-timeStamping EKU, and the TSTInfo's imprint is over
// the checkpoint body. The checks run in the order of rfc3161-client's Verifier, so a
// token that fails several says the same first reason as `packseal verify`.
//
// pkijs + asn1js (BSD-3-Clause, PeculiarVentures) parse the DER and validate the CMS
// signature and the X.509 chain with WebCrypto; they make no network request (no CRL or
// OCSP fetching: like OpenSSL's PKCS7_verify without a CRL store, revocation is not
// checked).

import { fromBER } from "asn1js";
import { Certificate, IssuerAndSerialNumber, SignedData, TSTInfo, TimeStampReq, TimeStampResp } from "pkijs";
import { FormatError, equal, hex, sha256, utf8 } from "./bytes.js";

export class TimestampError extends Error {}

export const MAX_TOKEN_BYTES = 64 << 10;
const TST_INFO = "1.2.840.113549.1.9.16.1.4";
const SIGNED_DATA = "1.2.840.113549.1.7.2";
const EKU = "2.5.29.37";
const TIME_STAMPING = "1.3.6.1.5.5.7.3.8";
const NAMES = { "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID" };

/** DER `bytes` as `Type`, refusing trailing bytes (rfc3161-client parses strictly). */
function der(Type, bytes, what) {
  const view = new Uint8Array(bytes);
  const asn1 = fromBER(view);
  if (asn1.offset === -1 || asn1.offset !== view.length) {
    throw new FormatError(`${what}: ${asn1.offset === -1 ? asn1.result.error || "not DER" : `${view.length - asn1.offset} trailing byte(s)`}`);
  }
  // asn1js reads BER (indefinite or padded lengths, ...): DER re-encodes to the same bytes,
  // and asn1js noted nothing non-minimal on the way.
  const warning = berWarning(asn1.result);
  if (warning !== null || !equal(new Uint8Array(asn1.result.toBER(false)), view)) throw new FormatError(`${what}: BER, not DER${warning ? ` (${warning})` : ""}`);
  try {
    return new Type({ schema: asn1.result });
  } catch (e) {
    throw new FormatError(`${what}: ${e.message}`);
  }
}

function berWarning(block) {
  // Lengths in the fewest bytes (asn1js's own note on this tests the wrong byte).
  const len = block.lenBlock;
  if (len?.isIndefiniteForm) return "indefinite length";
  if (len?.longFormUsed) {
    let need = 0;
    for (let n = len.length; n > 0; n = Math.floor(n / 256)) need += 1;
    if (len.length <= 127 || len.blockLength - 1 !== need) return "a length not in its shortest form";
  }
  for (const child of Array.isArray(block.valueBlock?.value) ? block.valueBlock.value : []) {
    const found = berWarning(child);
    if (found !== null) return found;
  }
  return null;
}

export function loadRoots(pems) {
  const roots = [];
  pems.forEach((text, i) => {
    const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g)];
    if (blocks.length === 0) throw new FormatError(`TSA root ${i + 1} is not a PEM certificate`);
    for (const b of blocks) {
      const raw = Uint8Array.from(atob(b[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
      roots.push(der(Certificate, raw, `TSA root ${i + 1} is not a PEM certificate`));
    }
  });
  return roots;
}

const bigint = (integer) => BigInt(`0x${hex(integer.valueBlock.valueHexView) || "0"}`);

/** The subject as RFC 4514 (most specific first), as Python's rfc4514_string. */
export function rfc4514(name) {
  return name.typesAndValues
    .map((tv) => `${NAMES[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value).replace(/([,+"\\<>;])/g, "\\$1")}`)
    .reverse()
    .join(",");
}

const der8 = (schemaOwner) => new Uint8Array(schemaOwner.toSchema().toBER(false));
const paramsOk = (alg) => alg.algorithmParams === undefined || (alg.algorithmParams.idBlock.tagClass === 1 && alg.algorithmParams.idBlock.tagNumber === 5 && alg.algorithmParams.valueBlock.valueHexView?.length !== 1);

/** What OpenSSL and rfc3161-client refuse and pkijs lets pass (found by flipping every
 * bit of a real token): algorithm parameters other than absent or NULL, a SignedData
 * whose digestAlgorithms omit the signer's, a SignerInfo version that does not match its
 * sid, a certificate whose outer signature algorithm differs from the one it signed, or
 * whose signature BIT STRING has unused bits. None of them changes what the stamp
 * states; they are refused so that the page and `packseal verify` agree on the token. */
function strict(req, signed, info) {
  const bad = (what) => new FormatError(`the time-stamp response is not a DER TimeStampResp: ${what}`);
  if (!paramsOk(req.messageImprint.hashAlgorithm)) throw new FormatError("the time-stamp request is not DER TimeStampReq: hash algorithm parameters are not NULL");
  // pkijs keeps certReq as a JS boolean: DER's TRUE is 0xff only.
  if (req.certReqByte !== undefined && req.certReqByte !== 0x00 && req.certReqByte !== 0xff) throw new FormatError("the time-stamp request is not DER TimeStampReq: certReq is not a DER BOOLEAN");
  if (!paramsOk(info.messageImprint.hashAlgorithm)) throw bad("TSTInfo hash algorithm parameters are not NULL");
  const si = signed.signerInfos[0];
  if (!paramsOk(si.digestAlgorithm) || !paramsOk(si.signatureAlgorithm)) throw bad("SignerInfo algorithm parameters are not NULL");
  if (!signed.digestAlgorithms.some((a) => a.algorithmId === si.digestAlgorithm.algorithmId)) throw bad("digestAlgorithms do not list the signer's digest algorithm");
  if (!signed.digestAlgorithms.every(paramsOk)) throw bad("digestAlgorithms parameters are not NULL");
  if (si.version !== (si.sid instanceof IssuerAndSerialNumber ? 1 : 3)) throw bad(`SignerInfo version ${si.version} does not match its signer identifier`);
  for (const cert of signed.certificates ?? []) {
    if (!(cert instanceof Certificate)) continue;
    if (!equal(der8(cert.signatureAlgorithm), der8(cert.signature))) throw bad("a certificate's signature algorithm differs from the one it signed");
    if (!paramsOk(cert.signatureAlgorithm)) throw bad("a certificate's signature algorithm parameters are not NULL");
    if (cert.signatureValue.valueBlock.unusedBits !== 0) throw bad("a certificate's signature has unused bits");
  }
}

/** Verify a TSA response for checkpoint body `text`; raise TimestampError or FormatError.
 * Returns {genMs, tsa, serial}. */
export async function checkResponse(text, request, response, roots) {
  try {
    return await check(text, request, response, roots);
  } catch (e) {
    if (e instanceof TimestampError || e instanceof FormatError) throw e;
    // pkijs and asn1js throw TypeError, RangeError or plain Error on some malformed
    // input (found by test/tsp.test.mjs): a token that does not parse is a failed check,
    // never a crash of the page.
    throw new FormatError(`the time-stamp does not parse: ${e.message ?? e}`);
  }
}

async function check(text, request, response, roots) {
  if (roots.length === 0) throw new Error("verifying a time-stamp needs at least one trusted TSA root");
  if (response.length > MAX_TOKEN_BYTES || request.length > MAX_TOKEN_BYTES) {
    throw new FormatError(`time-stamp request/response over ${MAX_TOKEN_BYTES} bytes`);
  }
  const req = der(TimeStampReq, request, "the time-stamp request is not DER TimeStampReq");
  const certReq = fromBER(new Uint8Array(request)).result.valueBlock.value.find((b) => b.idBlock.tagClass === 1 && b.idBlock.tagNumber === 1);
  req.certReqByte = certReq?.valueBlock.valueHexView[0];
  const tsr = der(TimeStampResp, response, "the time-stamp response is not a DER TimeStampResp");
  const message = utf8(text);
  const wanted = await sha256(message);
  const asked = req.messageImprint.hashedMessage.valueBlock.valueHexView;
  if (!equal(asked, wanted)) {
    throw new TimestampError(`the time-stamp request is over ${hex(asked).slice(0, 16)}…, not this checkpoint (SHA-256 ${hex(wanted).slice(0, 16)}…)`);
  }
  const fail = (reason) => new TimestampError(`the time-stamp does not verify: ${reason}`);
  if (tsr.status.status !== 0) throw fail("PKIStatus is not GRANTED");
  const token = tsr.timeStampToken;
  if (token === undefined || token.contentType !== SIGNED_DATA) throw fail("the response carries no time-stamp token");
  let signed;
  let info;
  try {
    signed = new SignedData({ schema: token.content });
    if (signed.encapContentInfo.eContentType !== TST_INFO || !signed.encapContentInfo.eContent) throw new Error("the token's content is not a TSTInfo");
    info = TSTInfo.fromBER(signed.encapContentInfo.eContent.getValue());
  } catch (e) {
    throw new FormatError(`the time-stamp response is not a DER TimeStampResp: ${e.message}`);
  }
  if (signed.signerInfos.length === 0) throw fail("The signed data has 0 signer infos.");
  strict(req, signed, info);
  // The CMS signature, the signed attributes' digest of the TSTInfo, and the signer's
  // chain to a trusted root with every certificate valid at genTime (pkijs takes genTime
  // as the check date for a TSTInfo, as rfc3161-client does).
  let result;
  try {
    result = await signed.verify({
      signer: 0,
      data: message,
      trustedCerts: roots,
      checkChain: true,
      passedWhenNotRevValues: true,
      extendedMode: true,
    });
  } catch (e) {
    throw fail(`Error while verifying certificates: ${e.message ?? e}`);
  }
  if (!result.signatureVerified) throw fail("Error while verifying certificates: the signature does not verify with a trusted root");
  if (req.nonce !== undefined && (info.nonce === undefined || bigint(info.nonce) !== bigint(req.nonce))) throw fail("Nonce mismatch");
  if (req.reqPolicy !== undefined && info.policy !== req.reqPolicy) throw fail("Policy ID mismatch");
  const certs = (signed.certificates ?? []).filter((c) => c instanceof Certificate);
  if (certs.length === 0) throw fail("Certificates neither found in the answer or in the Verification Options.");
  if (signed.signerInfos.length !== 1) throw fail(`Expected exactly one SignerInfo, got ${signed.signerInfos.length}.`);
  const sid = signed.signerInfos[0].sid;
  // By exact encoding, as cryptography's Name equality (pkijs's isEqual ignores case).
  const leaf = sid instanceof IssuerAndSerialNumber ? certs.find((c) => equal(der8(c.issuer), der8(sid.issuer)) && c.serialNumber.isEqual(sid.serialNumber)) : undefined;
  if (leaf === undefined) throw fail("No leaf certificate found matching the SignerInfo.");
  const eku = (leaf.extensions ?? []).find((x) => x.extnID === EKU);
  if (eku === undefined) throw fail("The certificate does not contain the critical EKU extension.");
  if (!eku.critical) throw fail("The EKU extension is not critical.");
  if (!(eku.parsedValue?.keyPurposes ?? []).includes(TIME_STAMPING)) throw fail("The EKU extension does not have KeyPurposeID id-kp-timeStamping.");
  if (!equal(info.messageImprint.hashedMessage.valueBlock.valueHexView, wanted)) throw fail("Mismatch between messages");
  return { genMs: info.genTime.getTime(), tsa: rfc4514(leaf.subject), serial: bigint(info.serialNumber) };
}
