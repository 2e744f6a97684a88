// COSE_Sign1 and COSE_Key (RFC 9052, RFC 9053) with @auth0/cose 1.0, and the glue the
// protocol needs around it (reader-profile.md section 4):
//
// * the message is decoded here, under the CBOR profile, and refused unless tagged 18:
//   @auth0/cose decodes with cbor-x, which accepts untagged messages, duplicate keys,
//   indefinite lengths and any tag;
// * the header rules of verification.md section 2.1 (conflicts, crit, types) are
//   checked here: the library checks none of them;
// * alg is read from the protected header only, checked against the allow-list and
//   against the key's own algorithm, and the signature length is checked, before the
//   library is called (@auth0/cose falls back to an unprotected alg, and picks the
//   algorithm from the header rather than from the key);
// * the compressed cnf point is decompressed (ec.mjs) before the key is handed to
//   COSEKey.toKeyLike(), which otherwise throws a TypeError on the boolean y.
//
// What @auth0/cose does do, over the bytes received: build the Sig_structure from the
// protected header and payload bytes as they came, import the key (jose, Node's
// crypto: the point is checked to be on its curve) and verify ES256, ES384 or EdDSA.
// The library is loaded only when a key or a signature is first needed: it costs
// about 0.1 - 0.3 s to load, most of it pkijs and @peculiar/webcrypto.

import { decodeCbor, Tag } from './cbor.mjs';
import { decompressY } from './ec.mjs';
import { fail } from './errors.mjs';

export const ES256 = -7;
export const ES384 = -35;
export const EDDSA = -8;

/** Algorithms a key can have: key type, curve, signature length. */
export const ALGORITHMS = new Map([
  [ES256, { name: 'ES256', kty: 2, crv: 1, curve: 'P-256', signatureLength: 64, size: 32 }],
  [ES384, { name: 'ES384', kty: 2, crv: 2, curve: 'P-384', signatureLength: 96, size: 48 }],
  [EDDSA, { name: 'EdDSA', kty: 1, crv: 6, curve: 'Ed25519', signatureLength: 64, size: 32 }],
]);
const ALG_OF_CURVE = new Map([[1, ES256], [2, ES384], [6, EDDSA]]);

const H_ALG = 1;
const H_CRIT = 2;
const H_KID = 4;
const UNDERSTOOD_HEADERS = new Set([1, 2, 3, 4, 16, 33]); // alg crit content_type kid typ x5chain
const SIGN1_TAGS = new Set([18]);

let library;
/** @auth0/cose, loaded once (its CommonJS build: 2 - 3 times faster to load on Node). */
export async function coseLibrary() {
  if (!library) {
    if (typeof process !== 'undefined' && process.versions?.node) {
      const { createRequire } = await import('node:module');
      library = createRequire(import.meta.url)('@auth0/cose');
    } else {
      library = await import('@auth0/cose');
    }
  }
  return library;
}

/** @param {unknown} v */
export const isInteger = (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';

/** A key for a Map lookup or a comparison across maps: integers, text, bytes. */
export function labelKey(label) {
  if (typeof label === 'number' || typeof label === 'bigint') return `i${label}`;
  if (typeof label === 'string') return `s${label}`;
  if (label instanceof Uint8Array) return `b${Array.from(label).join(',')}`;
  return `?${String(label)}`;
}

// --- COSE_Key -------------------------------------------------------------------------

const KEY_LABELS = new Set([1, -1, -2, -3, 2, 3]); // kty crv x y kid alg

/**
 * Parse a decoded COSE_Key strictly (encoding.md section 5.4): public keys only,
 * EC2 P-256 / P-384 (y a coordinate or a sign bit) or OKP Ed25519.
 * @param {unknown} value
 * @returns {{kty: number, crv: number, x: Uint8Array, y: Uint8Array | boolean | undefined,
 *            kid: Uint8Array | undefined, alg: number | undefined}}
 */
export function parseCoseKey(value) {
  const bad = (message) => fail('cose.bad_key', message);
  if (!(value instanceof Map)) bad('COSE_Key must be a map');
  if (value.has(-4)) bad('COSE_Key carries a private key d(-4)');
  for (const label of value.keys()) {
    if (typeof label !== 'number' || !KEY_LABELS.has(label)) bad(`COSE_Key has unknown label ${String(label)}`);
  }
  const kty = value.get(1);
  const crv = value.get(-1);
  const x = value.get(-2);
  const y = value.get(-3);
  const kid = value.get(2);
  const alg = value.get(3);
  if (kid !== undefined && !(kid instanceof Uint8Array)) bad('kid(2) must be a byte string');
  for (const [name, number] of [['kty(1)', kty], ['crv(-1)', crv], ['alg(3)', alg]]) {
    if (number !== undefined && !isInteger(number)) bad(`${name} must be an integer`);
  }
  if (!(x instanceof Uint8Array)) bad('x(-2) must be a byte string');
  if (alg !== undefined) {
    const spec = ALGORITHMS.get(alg);
    if (!spec || spec.crv !== crv || spec.kty !== kty) bad(`alg(3) ${alg} is not usable with this key`);
  }
  if (kty === 2 && (crv === 1 || crv === 2)) {
    const size = crv === 1 ? 32 : 48;
    const yOk = (y instanceof Uint8Array && y.length === size) || typeof y === 'boolean';
    if (x.length !== size || !yOk) bad(`EC2 key needs x of ${size} bytes and y of ${size} bytes or a sign bit`);
    return { kty, crv, x, y, kid, alg };
  }
  if (kty === 1 && crv === 6) {
    if (y !== undefined || x.length !== 32) bad('OKP Ed25519 key needs x of 32 bytes and no y');
    return { kty, crv, x, y, kid, alg };
  }
  return bad(`unsupported key type/curve kty=${String(kty)} crv=${String(crv)}`);
}

/**
 * Load a parsed COSE_Key into a verifying key bound to its one algorithm. The
 * compressed point is decompressed first (the glue @auth0/cose needs); the library
 * then imports the key, and Node's crypto refuses a point that is not on the curve.
 * @returns {Promise<{alg: number, keyObject: import('node:crypto').KeyObject, x: Uint8Array}>}
 */
export async function loadCoseKey(key) {
  const alg = key.alg ?? ALG_OF_CURVE.get(key.crv);
  const spec = ALGORITHMS.get(alg);
  let { y } = key;
  if (key.kty === 2 && typeof y === 'boolean') {
    y = decompressY(spec.curve, key.x, y);
    if (y === null) fail('cose.bad_key', `the compressed point is not on ${spec.curve}`);
  }
  const { COSEKey } = await coseLibrary();
  const entries = [[1, key.kty], [-1, key.crv], [-2, key.x]];
  if (y !== undefined) entries.push([-3, y]);
  let keyObject;
  try {
    keyObject = await COSEKey.import(new Map(entries)).toKeyLike();
  } catch (error) {
    fail('cose.bad_key', `not a valid ${spec.curve} public key (${error.message})`);
  }
  return { alg, keyObject, x: key.x };
}

/** Decode and load a COSE_Key given as bytes. */
export async function coseKeyFromBytes(bytes) {
  return loadCoseKey(parseCoseKey(decodeCbor(bytes, { maxDepth: 4 })));
}

// --- COSE_Sign1 -----------------------------------------------------------------------

/**
 * Decode a COSE_Sign1 strictly (verification.md section 2.1); nothing is verified.
 * @param {Uint8Array} data
 * @param {{maxSize: number}} options
 */
export function decodeSign1(data, { maxSize }) {
  const value = decodeCbor(data, { maxSize, maxDepth: 8, tags: SIGN1_TAGS });
  if (!(value instanceof Tag)) fail('cose.malformed', 'COSE_Sign1 must carry tag 18');
  const body = value.contents;
  if (!Array.isArray(body) || body.length !== 4) fail('cose.malformed', 'COSE_Sign1 must be an array of 4 items');
  const [protectedBytes, unprotected, payload, signature] = body;
  if (!(protectedBytes instanceof Uint8Array)) fail('cose.malformed', 'protected header must be a byte string');
  if (!(unprotected instanceof Map)) fail('cose.malformed', 'unprotected header must be a map');
  if (!(payload instanceof Uint8Array)) fail('cose.malformed', 'payload must be a byte string');
  if (!(signature instanceof Uint8Array)) fail('cose.malformed', 'signature must be a byte string');
  let protectedMap = new Map();
  if (protectedBytes.length > 0) {
    protectedMap = decodeCbor(protectedBytes, { maxDepth: 4 });
    if (!(protectedMap instanceof Map)) fail('cose.malformed', 'protected header must encode a map');
  }
  checkHeaders(protectedMap, unprotected);
  return { protectedBytes, protected: protectedMap, unprotected, payload, signature, raw: data };
}

function checkHeaders(protectedMap, unprotected) {
  const protectedKeys = new Set([...protectedMap.keys()].map(labelKey));
  for (const label of unprotected.keys()) {
    if (protectedKeys.has(labelKey(label))) fail('cose.header_conflict', `label ${String(label)} in both headers`);
  }
  if (unprotected.has(H_CRIT)) fail('cose.unknown_critical', 'crit(2) must be protected');
  if (protectedMap.has(H_CRIT)) {
    const crit = protectedMap.get(H_CRIT);
    if (!Array.isArray(crit) || crit.length === 0) fail('cose.unknown_critical', 'crit(2) must be a non-empty array');
    for (const label of crit) {
      // Only integers can name an understood label; true must not pass for alg(1).
      if (typeof label !== 'number' || !UNDERSTOOD_HEADERS.has(label) || !protectedMap.has(label)) {
        fail('cose.unknown_critical', `critical header ${String(label)} is not understood`);
      }
    }
  }
  if (protectedMap.has(H_ALG)) {
    const alg = protectedMap.get(H_ALG);
    if (!isInteger(alg) && typeof alg !== 'string') fail('cose.malformed', 'alg(1) must be an integer or text');
  }
  for (const headers of [protectedMap, unprotected]) {
    if (headers.has(H_KID) && !(headers.get(H_KID) instanceof Uint8Array)) {
      fail('cose.malformed', 'kid(4) must be a byte string');
    }
  }
  if (unprotected.has(H_ALG)) fail('cose.alg_missing', 'alg(1) must be in the protected header');
}

/** The kid: protected first, then unprotected (encoding.md section 6). */
export function messageKid(message) {
  return message.protected.get(H_KID) ?? message.unprotected.get(H_KID);
}

/** A header value, protected taking precedence. */
export function messageHeader(message, label) {
  return message.protected.has(label) ? message.protected.get(label) : message.unprotected.get(label);
}

/**
 * Verify a decoded COSE_Sign1 with `key` (verification.md section 2.2).
 * @param {{protectedBytes: Uint8Array, protected: Map<unknown, unknown>, unprotected: Map<unknown, unknown>,
 *          payload: Uint8Array, signature: Uint8Array}} message
 * @param {{alg: number, keyObject: unknown}} key
 * @param {Set<number>} allowedAlgs
 */
export async function verifySign1(message, key, allowedAlgs) {
  if (!message.protected.has(H_ALG)) fail('cose.alg_missing', 'no alg(1) in the protected header');
  const alg = message.protected.get(H_ALG);
  if (typeof alg !== 'number' || !allowedAlgs.has(alg)) fail('cose.alg_not_allowed', `alg(1) ${String(alg)} is not allowed here`);
  if (alg !== key.alg) fail('cose.alg_mismatch', `alg(1) ${alg} is not the key's algorithm ${key.alg}`);
  const spec = ALGORITHMS.get(alg);
  if (message.signature.length !== spec.signatureLength) {
    fail('cose.bad_signature', `${spec.name} signature must be ${spec.signatureLength} bytes`);
  }
  const { Sign1, errors } = await coseLibrary();
  // Built from the parts as received: the library signs over these protected bytes.
  const sign1 = new Sign1(message.protectedBytes, message.unprotected, message.payload, message.signature);
  try {
    await sign1.verify(key.keyObject);
  } catch (error) {
    if (error instanceof errors.COSESignatureVerificationFailed) fail('cose.bad_signature', 'the signature does not verify');
    throw error;
  }
}
