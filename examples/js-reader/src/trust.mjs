// Issuer trust (spec/trust.md sections 2 - 4, 6, 7): raw keys by kid, X.509 roots with
// issuer certificates registered by kid or carried in x5chain(33), and the path
// validation of section 4.2. Certificates are read with a small DER walker (names and
// algorithm identifiers are compared as DER bytes, the two processed extensions are
// decoded here) and Node's crypto (key import, signature verification).
//
// No general-purpose path validator is used: pkijs (which @auth0/cose's verifyX509
// runs) and Node's X509Certificate.verify implement Web PKI rules, not this profile
// (registered certificates by kid, names compared byte for byte, at most one
// intermediate, only basicConstraints and keyUsage critical).

import { X509Certificate, createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { equalBytes, toHex } from './bytes.mjs';
import { ES256, ES384, EDDSA, messageHeader, messageKid } from './cose.mjs';
import { ReaderError, fail } from './errors.mjs';

const MAX_CHAIN_LENGTH = 3;
const sha256 = (data) => new Uint8Array(createHash('sha256').update(data).digest());

// --- DER ------------------------------------------------------------------------------

/** [tag, content start, content end] of the DER item at `pos`; throws if not DER. */
function derItem(data, pos, end) {
  if (pos + 2 > end) throw new Error('truncated DER item');
  const tag = data[pos];
  const first = data[pos + 1];
  if ((tag & 0x1f) === 0x1f) throw new Error('high-number DER tag');
  let at = pos + 2;
  let length = first;
  if (first >= 0x80) {
    const size = first & 0x7f;
    if (size < 1 || size > 4 || at + size > end || data[at] === 0) throw new Error('DER length not minimal');
    length = 0;
    for (let i = 0; i < size; i += 1) length = length * 256 + data[at + i];
    if (length < 0x80) throw new Error('DER length not minimal');
    at += size;
  }
  if (at + length > end) throw new Error('DER item runs past its container');
  return [tag, at, at + length];
}

const SEQUENCE = 0x30;
const SET = 0x31;
const PRINTABLE = new Set(Array.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?", (c) => c.charCodeAt(0)));
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A Name of at least one RDN, values PrintableString, UTF8String or IA5String (section 2.1.1). */
function checkName(data, start, end) {
  if (start === end) throw new Error('empty Name');
  let pos = start;
  while (pos < end) {
    const [tag, rdnStart, rdnEnd] = derItem(data, pos, end);
    if (tag !== SET || rdnStart === rdnEnd) throw new Error('Name holds a malformed RDN');
    let rdn = rdnStart;
    while (rdn < rdnEnd) {
      const [attrTag, attr, attrEnd] = derItem(data, rdn, rdnEnd);
      if (attrTag !== SEQUENCE) throw new Error('Name holds a malformed attribute');
      const [oidTag, , oidEnd] = derItem(data, attr, attrEnd);
      const [valueTag, value, valueEnd] = derItem(data, oidEnd, attrEnd);
      if (oidTag !== 0x06 || valueEnd !== attrEnd) throw new Error('Name holds a malformed attribute');
      const text = data.subarray(value, valueEnd);
      if (valueTag === 0x0c) UTF8.decode(text);
      else if (valueTag === 0x13) {
        if (!text.every((b) => PRINTABLE.has(b))) throw new Error('PrintableString with a character outside its set');
      } else if (valueTag === 0x16) {
        if (!text.every((b) => b < 0x80)) throw new Error('IA5String with a non-ASCII byte');
      } else throw new Error(`Name attribute value of ASN.1 tag ${valueTag}`);
      rdn = attrEnd;
    }
    pos = rdnEnd;
  }
}

function readExtensions(data, start, end) {
  const [tag, first, listEnd] = derItem(data, start, end);
  if (tag !== SEQUENCE || listEnd !== end || first === listEnd) throw new Error('extensions is not a non-empty SEQUENCE');
  const out = [];
  let pos = first;
  while (pos < listEnd) {
    const [itemTag, item, itemEnd] = derItem(data, pos, listEnd);
    if (itemTag !== SEQUENCE) throw new Error('malformed Extension');
    const [oidTag, oid, oidEnd] = derItem(data, item, itemEnd);
    if (oidTag !== 0x06) throw new Error('malformed Extension');
    let [valueTag, value, valueEnd] = derItem(data, oidEnd, itemEnd);
    let critical = false;
    if (valueTag === 0x01) {
      if (valueEnd - value !== 1 || data[value] !== 0xff) throw new Error('Extension critical flag not DER');
      critical = true;
      [valueTag, value, valueEnd] = derItem(data, valueEnd, itemEnd);
    }
    if (valueTag !== 0x04 || valueEnd !== itemEnd) throw new Error('malformed Extension');
    out.push({ oid: toHex(data.subarray(oid, oidEnd)), critical, value: data.subarray(value, valueEnd) });
    pos = itemEnd;
  }
  return out;
}

function readTime(data, [tag, start, end]) {
  const text = new TextDecoder().decode(data.subarray(start, end));
  let m;
  if (tag === 0x17 && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    const yy = Number(m[1]);
    m[1] = String(yy < 50 ? 2000 + yy : 1900 + yy);
  } else if (tag === 0x18 && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text))) {
    // GeneralizedTime
  } else throw new Error('validity time neither UTCTime nor GeneralizedTime');
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const date = new Date(ms);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new Error('validity time does not exist');
  }
  return ms / 1000;
}

/**
 * Step 2 of path validation: the bytes are one readable profile certificate.
 * @param {Uint8Array} der
 */
function readCertificate(der) {
  try {
    // Node (OpenSSL) parses the whole Certificate strictly; the walk below reads the
    // fields the profile compares as bytes.
    new X509Certificate(der); // eslint-disable-line no-new
    const [tag, body, bodyEnd] = derItem(der, 0, der.length);
    if (tag !== SEQUENCE || bodyEnd !== der.length) throw new Error('not one DER SEQUENCE');
    const [tbsTag, tbs, tbsEnd] = derItem(der, body, bodyEnd);
    if (tbsTag !== SEQUENCE) throw new Error('tbsCertificate is not a SEQUENCE');
    const [, , algEnd] = derItem(der, tbsEnd, bodyEnd);
    const [bitsTag, bits, bitsEnd] = derItem(der, algEnd, bodyEnd);
    if (bitsTag !== 0x03 || bitsEnd !== bodyEnd || bits === bitsEnd || der[bits] !== 0) throw new Error('signature is not a BIT STRING');
    const fields = [];
    for (let pos = tbs; pos < tbsEnd;) {
      const [fieldTag, content, end] = derItem(der, pos, tbsEnd);
      fields.push({ tag: fieldTag, start: pos, content, end });
      pos = end;
    }
    // version [0] 2, serialNumber, signature, issuer, validity, subject, spki, ...
    if (fields.length < 7 || fields[0].tag !== 0xa0) throw new Error('not an X.509 v3 certificate');
    const [intTag, intStart, intEnd] = derItem(der, fields[0].content, fields[0].end);
    if (intTag !== 0x02 || intEnd !== fields[0].end || intEnd - intStart !== 1 || der[intStart] !== 2) {
      throw new Error('not an X.509 v3 certificate');
    }
    if (fields[1].tag !== 0x02 || fields.slice(2, 7).some((f) => f.tag !== SEQUENCE)) throw new Error('tbsCertificate fields out of place');
    const [issuer, validity, subject, spki] = [fields[3], fields[4], fields[5], fields[6]];
    checkName(der, issuer.content, issuer.end);
    checkName(der, subject.content, subject.end);
    const notBeforeItem = derItem(der, validity.content, validity.end);
    const notAfterItem = derItem(der, notBeforeItem[2], validity.end);
    if (notAfterItem[2] !== validity.end) throw new Error('malformed validity');
    const extensions = fields.slice(7).filter((f) => f.tag === 0xa3).map((f) => readExtensions(der, f.content, f.end));
    return {
      der,
      kid: sha256(der).subarray(0, 8),
      tbs: der.subarray(body, tbsEnd),
      issuer: toHex(der.subarray(issuer.start, issuer.end)),
      subject: toHex(der.subarray(subject.start, subject.end)),
      signatureAlg: toHex(der.subarray(tbsEnd, algEnd)),
      tbsSignatureAlg: toHex(der.subarray(fields[2].start, fields[2].end)),
      signature: der.subarray(bits + 1, bitsEnd),
      spki: der.subarray(spki.start, spki.end),
      uniqueIds: fields.slice(7).some((f) => f.tag === 0x81 || f.tag === 0x82),
      extensions: extensions[0] ?? [],
      notBefore: readTime(der, notBeforeItem),
      notAfter: readTime(der, notAfterItem),
    };
  } catch (error) {
    if (error instanceof ReaderError) throw error;
    return fail('trust.chain_invalid', `unreadable certificate: ${error.message}`);
  }
}

const validAt = (cert, at) => cert.notBefore <= at && at <= cert.notAfter;

// --- the profile (sections 2.1.2 - 2.4) -----------------------------------------------

const SIGNATURE_ALGORITHMS = new Map([
  ['300a06082a8648ce3d040302', ES256], // ecdsa-with-SHA256
  ['300a06082a8648ce3d040303', ES384], // ecdsa-with-SHA384
  ['300506032b6570', EDDSA], // id-Ed25519
]);
const BASIC_CONSTRAINTS = '551d13';
const KEY_USAGE = '551d0f';

/** The COSE algorithm a public key implies, or null. */
export function algOfKeyObject(keyObject) {
  if (keyObject.asymmetricKeyType === 'ed25519') return EDDSA;
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return ES256;
    if (curve === 'secp384r1') return ES384;
  }
  return null;
}

function basicConstraints(value) {
  const [tag, first, end] = derItem(value, 0, value.length);
  if (tag !== SEQUENCE || end !== value.length) throw new Error('basicConstraints is not a SEQUENCE');
  let pos = first;
  let ca = false;
  let pathLength = null;
  if (pos < end && value[pos] === 0x01) {
    const [, flag, flagEnd] = derItem(value, pos, end);
    if (flagEnd - flag !== 1 || value[flag] !== 0xff) throw new Error('basicConstraints cA not DER');
    ca = true;
    pos = flagEnd;
  }
  if (pos < end) {
    const [intTag, number, numberEnd] = derItem(value, pos, end);
    const digits = value.subarray(number, numberEnd);
    if (intTag !== 0x02 || digits.length === 0 || digits[0] & 0x80) throw new Error('pathLenConstraint not a non-negative INTEGER');
    if (digits.length > 1 && digits[0] === 0 && !(digits[1] & 0x80)) throw new Error('pathLenConstraint not minimal');
    pathLength = digits.reduce((n, b) => n * 256 + b, 0);
    pos = numberEnd;
  }
  if (pos !== end || (pathLength !== null && !ca)) throw new Error('basicConstraints malformed');
  return { ca, pathLength };
}

function keyUsage(value) {
  const [tag, pos, end] = derItem(value, 0, value.length);
  if (tag !== 0x03 || end !== value.length || pos === end) throw new Error('keyUsage is not a BIT STRING');
  const unused = value[pos];
  const bits = value.subarray(pos + 1, end);
  if (unused > 7 || (bits.length === 0 && unused)) throw new Error('keyUsage BIT STRING malformed');
  const first = bits.length ? bits[0] : 0;
  return { digitalSignature: Boolean(first & 0x80), keyCertSign: Boolean(first & 0x04) };
}

function profile(cert) {
  try {
    if (cert.signatureAlg !== cert.tbsSignatureAlg) throw new Error('signatureAlgorithm differs from tbsCertificate.signature');
    if (!SIGNATURE_ALGORITHMS.has(cert.signatureAlg)) throw new Error('signature algorithm outside the profile');
    if (cert.uniqueIds) throw new Error('issuerUniqueID and subjectUniqueID must be absent');
    const keyObject = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    const keyAlg = algOfKeyObject(keyObject);
    if (keyAlg === null) throw new Error('key must be P-256, P-384 or Ed25519');
    const oids = cert.extensions.map((e) => e.oid);
    if (new Set(oids).size !== oids.length) throw new Error('an extension appears twice');
    const byOid = new Map(cert.extensions.map((e) => [e.oid, e]));
    for (const e of cert.extensions) {
      if (e.critical && e.oid !== BASIC_CONSTRAINTS && e.oid !== KEY_USAGE) throw new Error(`critical extension ${e.oid} is not processed`);
    }
    const bc = byOid.get(BASIC_CONSTRAINTS);
    const ku = byOid.get(KEY_USAGE);
    if (!bc || !ku) throw new Error('basicConstraints and keyUsage are required');
    if (!bc.critical || !ku.critical) throw new Error('basicConstraints and keyUsage must be critical');
    return { keyAlg, keyObject, ...basicConstraints(bc.value), ...keyUsage(ku.value) };
  } catch (error) {
    return fail('trust.certificate_profile', `certificate outside the profile: ${error.message}`);
  }
}

function issuerProfile(cert) {
  const p = profile(cert);
  if (p.ca) fail('trust.certificate_profile', 'issuer certificate must not be a CA');
  if (!p.digitalSignature || p.keyCertSign) fail('trust.certificate_profile', 'issuer keyUsage must allow digitalSignature and not keyCertSign');
  return p;
}

function caProfile(cert) {
  const p = profile(cert);
  if (!p.ca) fail('trust.certificate_profile', 'CA certificate must have cA=true');
  if (!p.keyCertSign) fail('trust.certificate_profile', 'CA certificate keyUsage must allow keyCertSign');
  return p;
}

/** Why `child` is not signed by `parent`'s key, or "" when it is. */
function signedBy(child, parent) {
  const expected = SIGNATURE_ALGORITHMS.get(child.signatureAlg);
  if (parent.keyAlg !== expected) return 'signature algorithm does not match the issuer key';
  const hash = expected === ES256 ? 'sha256' : expected === ES384 ? 'sha384' : null;
  let ok = false;
  try {
    ok = cryptoVerify(hash, child.tbs, parent.keyObject, child.signature);
  } catch {
    ok = false;
  }
  return ok ? '' : 'bad certificate signature';
}

// --- the trust store ------------------------------------------------------------------

const ISSUER_USAGES = ['credential', 'status_list', 'statement'];

function identityOf(keyObject) {
  return toHex(sha256(keyObject.export({ type: 'spki', format: 'der' })));
}

export class TrustStore {
  /**
   * @param {{roots?: Uint8Array[], certificates?: {certificate: Uint8Array, intermediates: Uint8Array[]}[],
   *          keys?: {kid: Uint8Array, key: {alg: number, keyObject: import('node:crypto').KeyObject},
   *                  usages: string[], notBefore: number | null, notAfter: number | null}[],
   *          allowedAlgs?: number[]}} config
   */
  constructor({ roots = [], certificates = [], keys = [], allowedAlgs = [ES256, ES384, EDDSA] } = {}) {
    this.allowedAlgs = new Set(allowedAlgs);
    this.roots = [];
    this.anchors = new Map(); // subject DER hex -> [{cert, profiled, problem}]
    for (const der of roots) {
      // A root that is not a readable CA certificate is a configuration error
      // (section 2.2); one outside the rest of the profile anchors no path.
      let cert;
      let ca = false;
      try {
        cert = readCertificate(der);
        const bc = cert.extensions.find((e) => e.oid === BASIC_CONSTRAINTS);
        ca = bc !== undefined && basicConstraints(bc.value).ca;
      } catch (error) {
        fail('usage.invalid_argument', `a root certificate must decode: ${error.message}`);
      }
      if (!ca) fail('usage.invalid_argument', 'a root certificate must be a CA (basicConstraints cA=true)');
      let anchor;
      try {
        anchor = { cert, profiled: caProfile(cert), problem: '' };
      } catch (error) {
        if (!(error instanceof ReaderError)) throw error;
        anchor = { cert, profiled: null, problem: error.message };
      }
      this.roots.push(cert);
      if (!this.anchors.has(cert.subject)) this.anchors.set(cert.subject, []);
      this.anchors.get(cert.subject).push(anchor);
    }
    this.keys = new Map(); // kid hex -> trusted key
    for (const k of keys) {
      this.keys.set(toHex(k.kid), {
        kid: k.kid,
        key: k.key,
        usages: new Set(k.usages),
        notBefore: k.notBefore,
        notAfter: k.notAfter,
        identity: identityOf(k.key.keyObject),
      });
    }
    this.registered = new Map(); // kid hex -> [DER, ...]
    this.registeredIdentity = new Map(); // kid hex -> identity
    for (const { certificate, intermediates = [] } of certificates) {
      const cert = readCertificateAsProfile(certificate);
      const profiled = issuerProfile(cert);
      const kid = toHex(cert.kid);
      this.registered.set(kid, [certificate, ...intermediates]);
      this.registeredIdentity.set(kid, identityOf(profiled.keyObject));
    }
    this.withdrawnKids = new Set();
    this.withdrawnIdentities = new Set();
  }

  /** Withdraw a kid, and the key it names (trust.md section 7.2). */
  withdraw(kid) {
    const hex = toHex(kid);
    const raw = this.keys.get(hex);
    if (raw) this.withdrawnIdentities.add(raw.identity);
    if (this.registeredIdentity.has(hex)) this.withdrawnIdentities.add(this.registeredIdentity.get(hex));
    this.keys.delete(hex);
    this.registered.delete(hex);
    this.registeredIdentity.delete(hex);
    this.withdrawnKids.add(hex);
  }

  /** Withdraw a key identity: the hex SHA-256 of its DER SubjectPublicKeyInfo. */
  withdrawKey(identity) {
    this.withdrawnIdentities.add(identity);
  }

  /** Every usage the store grants the key of `identity`. */
  granted(identity) {
    const usages = new Set();
    for (const raw of this.keys.values()) if (raw.identity === identity) raw.usages.forEach((u) => usages.add(u));
    for (const id of this.registeredIdentity.values()) if (id === identity) ISSUER_USAGES.forEach((u) => usages.add(u));
    return usages;
  }

  /**
   * The trusted key that must have signed `message` at `now` (section 4.1).
   * @returns {{kid: Uint8Array, key: {alg: number, keyObject: unknown}, usages: Set<string>,
   *            notBefore: number | null, notAfter: number | null, identity: string}}
   */
  resolve(message, now, usage = 'credential') {
    const kid = messageKid(message);
    const kidHex = kid instanceof Uint8Array ? toHex(kid) : null;
    const chain = messageHeader(message, 33);
    if (kidHex !== null && this.withdrawnKids.has(kidHex)) fail('trust.key_withdrawn', `key ${kidHex} was withdrawn`);
    let key;
    const raw = kidHex === null ? undefined : this.keys.get(kidHex);
    if (raw) {
      key = raw;
      this.checkNotWithdrawn(key);
    } else if (chain !== undefined) {
      key = this.validated(x5chainItems(chain), now);
      if (kid !== undefined && !equalBytes(kid, key.kid)) fail('trust.kid_mismatch', 'kid(4) does not identify the x5chain(33) certificate');
      if (this.withdrawnKids.has(toHex(key.kid))) fail('trust.key_withdrawn', 'the x5chain certificate was withdrawn');
      this.checkNotWithdrawn(key);
    } else if (kid === undefined) {
      fail('trust.unknown_issuer', 'the message names no signer: neither kid(4) nor x5chain(33)');
    } else {
      const registered = this.registered.get(kidHex);
      if (!registered) fail('trust.unknown_issuer', `no trusted issuer with kid ${kidHex}`);
      key = this.validated(registered, now);
      this.checkNotWithdrawn(key);
    }
    const usages = new Set([...key.usages, ...this.granted(key.identity)]);
    if (usages.has('trust_list') && (usages.size !== 1)) {
      fail('trust.usage_not_allowed', 'a trust-list authority key is trusted for nothing else');
    }
    if (!key.usages.has(usage)) fail('trust.usage_not_allowed', `key is not trusted for ${usage}`);
    if (!this.allowedAlgs.has(key.key.alg)) fail('cose.alg_not_allowed', `algorithm ${key.key.alg} is not allowed by the trust store`);
    if (key.notBefore !== null && now < key.notBefore) fail('trust.key_not_valid', 'key is not valid yet');
    if (key.notAfter !== null && now > key.notAfter) fail('trust.key_not_valid', 'key has expired');
    return key;
  }

  checkNotWithdrawn(key) {
    if (this.withdrawnIdentities.has(key.identity)) fail('trust.key_withdrawn', 'the public key was withdrawn');
  }

  /** Section 4.2 over DER certificates, issuer first. */
  validated(derChain, now) {
    if (this.roots.length === 0) fail('trust.unknown_issuer', 'certificate given but no X.509 root is trusted');
    const certs = derChain.map(readCertificate);
    const [leaf, ...pool] = certs;
    const profiled = issuerProfile(leaf);
    if (!validAt(leaf, now)) fail('trust.chain_invalid', 'issuer certificate is not valid at the verification instant');
    const failures = [];
    const link = (child, anchor, below) => {
      if (anchor.profiled === null) return anchor.problem;
      if (!validAt(anchor.cert, now)) return 'root not valid at the instant';
      if (anchor.profiled.pathLength !== null && below > anchor.profiled.pathLength) return 'root pathLenConstraint exceeded';
      return signedBy(child, anchor.profiled);
    };
    let found = false;
    for (const anchor of this.anchors.get(leaf.issuer) ?? []) {
      const problem = link(leaf, anchor, 0);
      if (!problem) {
        found = true;
        break;
      }
      failures.push(problem);
    }
    for (const intermediate of found ? [] : pool) {
      if (intermediate.subject !== leaf.issuer) continue;
      let middle;
      try {
        middle = caProfile(intermediate);
      } catch (error) {
        if (!(error instanceof ReaderError)) throw error;
        failures.push(error.message);
        continue;
      }
      const problem = (validAt(intermediate, now) ? '' : 'intermediate not valid at the instant') || signedBy(leaf, middle);
      const anchors = this.anchors.get(intermediate.issuer) ?? [];
      if (problem || anchors.length === 0) {
        failures.push(problem || 'no trusted root issued the intermediate');
        continue;
      }
      for (const anchor of anchors) {
        const rootProblem = link(intermediate, anchor, 1);
        if (!rootProblem) {
          found = true;
          break;
        }
        failures.push(rootProblem);
      }
      if (found) break;
    }
    if (!found) fail('trust.chain_invalid', `certificate path invalid: ${failures.join('; ') || 'no trusted root issued it'}`);
    return {
      kid: leaf.kid,
      key: { alg: profiled.keyAlg, keyObject: profiled.keyObject },
      usages: new Set(ISSUER_USAGES),
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
      identity: identityOf(profiled.keyObject),
    };
  }
}

/** A registered certificate: every defect is a profile defect (section 4.1 step 8). */
function readCertificateAsProfile(der) {
  try {
    return readCertificate(der);
  } catch (error) {
    if (error instanceof ReaderError) fail('trust.certificate_profile', error.message);
    throw error;
  }
}

/** Section 4.1 step 3: one certificate, or a non-empty array of at most 3. */
function x5chainItems(chain) {
  const items = chain instanceof Uint8Array ? [chain] : chain;
  if (!Array.isArray(items) || items.length === 0 || !items.every((c) => c instanceof Uint8Array)) {
    fail('trust.chain_invalid', 'x5chain(33) must be a certificate or a non-empty array of certificates');
  }
  if (items.length > MAX_CHAIN_LENGTH) fail('trust.chain_invalid', `x5chain(33) holds more than ${MAX_CHAIN_LENGTH} certificates`);
  return items;
}
