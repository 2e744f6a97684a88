// The verification algorithm of spec/verification.md section 2, step by step, in its
// order: the code reported for an input with several defects is the first failing
// step's. Status lists (step 17) are not implemented by this reader: a policy with a
// status checker is refused when the verifier is built.

import { constantTimeEqual, toHex } from './bytes.mjs';
import { MAX_CREDENTIAL_BYTES, decodeClaims } from './claims.mjs';
import { decodeCbor } from './cbor.mjs';
import { ES256, decodeSign1, loadCoseKey, parseCoseKey, verifySign1 } from './cose.mjs';
import { ReaderError, fail } from './errors.mjs';
import { MAX_PRESENTATION_BYTES, decodePresentationPayload } from './presentation.mjs';
import { decodeQrText } from './qr.mjs';

export const MAX_CLOCK_SKEW = 300;
export const MAX_TTL = 300;
const DEVICE_ALGS = new Set([ES256]);

/** Both absent, or both present and equal (constant time). */
function same(expected, received) {
  if (expected === null || received === null) return expected === received;
  return constantTimeEqual(expected, received);
}

export class Verifier {
  /**
   * `trust` is a TrustStore, or a function returning one (or a promise of one), called
   * once, when an issuer is first resolved: building a store imports keys, which loads
   * the COSE library, and many inputs are refused before any trust work.
   * @param {{trust: import('./trust.mjs').TrustStore | (() => unknown), now: () => number, skew?: number,
   *          maxTokenLifetime?: number, audience?: Uint8Array | null, allowDelegated?: boolean}} policy
   */
  constructor({ trust, now, skew = 30, maxTokenLifetime = MAX_TTL, audience = null, allowDelegated = true }) {
    if (!Number.isInteger(skew) || skew < 0 || skew > MAX_CLOCK_SKEW) throw new RangeError('skew must be 0..300 seconds');
    if (!Number.isInteger(maxTokenLifetime) || maxTokenLifetime < 1 || maxTokenLifetime > MAX_TTL) {
      throw new RangeError('maxTokenLifetime must be 1..300 seconds');
    }
    if (audience !== null && (audience.length < 1 || audience.length > 64)) throw new RangeError('audience must be 1..64 bytes');
    this.trust = trust;
    this.now = now;
    this.skew = skew;
    this.maxTokenLifetime = maxTokenLifetime;
    this.audience = audience;
    this.allowDelegated = allowDelegated;
    /** Replay cache (section 5): device key x || nonce -> recorded expiry. */
    this.replay = new Map();
  }

  /** Steps 7 - 9: the credential decoded and its cnf key loaded, nothing trusted yet. */
  async decodeCredential(credential) {
    const message = decodeSign1(credential, { maxSize: MAX_CREDENTIAL_BYTES });
    const claims = decodeClaims(message.payload);
    let deviceKey;
    try {
      deviceKey = await loadCoseKey(claims.deviceKey);
    } catch (error) {
      if (error instanceof ReaderError) fail('binding.cnf_missing', `cnf(8) device key unusable: ${error.message}`);
      throw error;
    }
    return { message, claims, deviceKey };
  }

  /** Steps 11 - 14: issuer trust and signature, validity in time, delegation policy. */
  async checkIssuer(decoded, now) {
    if (typeof this.trust === 'function') this.trust = await this.trust();
    const issuer = this.trust.resolve(decoded.message, now, 'credential');
    await verifySign1(decoded.message, issuer.key, this.trust.allowedAlgs);
    const { claims } = decoded;
    if (claims.iat - this.skew > now || (claims.nbf !== null && claims.nbf - this.skew > now)) {
      fail('validity.not_yet_valid', 'the credential is not valid yet');
    }
    if (now > claims.exp + this.skew) fail('validity.expired', 'the credential has expired');
    if (claims.delegation !== null && !this.allowDelegated) fail('delegation.invalid', 'delegated credentials are not accepted');
    return issuer;
  }

  static credentialFields(claims, issuer) {
    return {
      ...claims.card,
      delegation: claims.delegation,
      issuer_kid: toHex(issuer.kid),
      credential_iat: claims.iat,
      credential_exp: claims.exp,
      status: null, // no status checker (step 17)
    };
  }

  /** A credential on its own (section 7): steps 6 - 9, 11 - 14. */
  async verifyCredential(credential) {
    const now = this.now();
    const decoded = await this.decodeCredential(credential);
    const issuer = await this.checkIssuer(decoded, now);
    return Verifier.credentialFields(decoded.claims, issuer);
  }

  /**
   * A presentation (steps 1 - 18); `transcript` is the reader's SHA-256 of the NFC
   * session transcript, or null for a QR presentation.
   */
  async verifyPresentation(token, transcript = null) {
    const now = this.now();
    const message = decodeSign1(token, { maxSize: MAX_PRESENTATION_BYTES }); // 1
    const payload = decodePresentationPayload(message.payload); // 2
    if (payload.ttl > this.maxTokenLifetime) fail('presentation.lifetime_too_long', `ttl ${payload.ttl} s`); // 3
    if (payload.iat - this.skew > now) fail('presentation.not_yet_valid', 'token issued in the future'); // 4
    if (now > payload.exp + this.skew) fail('presentation.expired', 'token has expired'); // 5
    const decoded = await this.decodeCredential(payload.credential); // 7 - 9
    try {
      await verifySign1(message, decoded.deviceKey, DEVICE_ALGS); // 10
    } catch (error) {
      if (error instanceof ReaderError) fail('binding.device_signature_invalid', `not signed by the cnf key (${error.code})`);
      throw error;
    }
    const issuer = await this.checkIssuer(decoded, now); // 11 - 14
    if (!same(this.audience, payload.audience)) fail('presentation.audience_mismatch', 'audience differs'); // 15
    if (!same(transcript, payload.transcript)) fail('presentation.transcript_mismatch', 'transcript differs'); // 16
    if (transcript === null) this.checkAndRecord(decoded.deviceKey.x, payload, now); // 18
    return {
      ...Verifier.credentialFields(decoded.claims, issuer),
      token_iat: payload.iat,
      token_exp: payload.exp,
      nonce: toHex(payload.nonce),
      audience: payload.audience === null ? null : toHex(payload.audience),
      transcript: payload.transcript === null ? null : toHex(payload.transcript),
    };
  }

  /** A QR text: step 0, then the presentation. */
  async verifyQr(text) {
    return this.verifyPresentation(decodeQrText(text), null);
  }

  /** Step 18 (section 5): one check-and-record, keyed by holder and nonce. */
  checkAndRecord(deviceX, payload, now) {
    for (const [key, expiry] of this.replay) if (now > expiry + MAX_CLOCK_SKEW) this.replay.delete(key);
    const key = toHex(deviceX) + toHex(payload.nonce);
    if (this.replay.has(key)) fail('presentation.replayed', 'token nonce already seen');
    this.replay.set(key, payload.exp + MAX_CLOCK_SKEW);
  }
}

/**
 * An enrolment proof of possession (credential.md section 4.3); every failure is
 * issuance.pop_invalid. Returns the bound key as a compressed COSE_Key, hex.
 * @param {Uint8Array} proof
 * @param {Uint8Array} nonce the issuer's nonce
 * @param {number} now
 */
export async function verifyPossession(proof, nonce, now) {
  try {
    const message = decodeSign1(proof, { maxSize: 1024 });
    const claims = decodeCbor(message.payload, { maxDepth: 4 });
    if (!(claims instanceof Map) || claims.size !== 4 || ![1, 2, 3, 4].every((l) => claims.has(l))) {
      fail('issuance.pop_invalid', 'the proof payload must hold exactly context, nonce, key, iat');
    }
    if (claims.get(1) !== 'vitale-cred/enrol/v1') fail('issuance.pop_invalid', 'not the enrolment context');
    const received = claims.get(2);
    if (!(received instanceof Uint8Array) || !constantTimeEqual(received, nonce)) fail('issuance.pop_invalid', 'proof over another nonce');
    const iat = claims.get(4);
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat < now - 300 || iat > now + 300) {
      fail('issuance.pop_invalid', 'proof is stale or from the future');
    }
    const parsed = parseCoseKey(claims.get(3));
    if (parsed.kty !== 2 || parsed.crv !== 1) fail('issuance.pop_invalid', 'a device key is a P-256 key');
    const key = await loadCoseKey(parsed);
    await verifySign1(message, key, DEVICE_ALGS);
    // Bound as the compressed point only, whatever form the device sent.
    const jwk = key.keyObject.export({ format: 'jwk' });
    const y = Buffer.from(jwk.y, 'base64url');
    const odd = (y[y.length - 1] & 1) === 1;
    return `a401022001215820${toHex(key.x)}22${odd ? 'f5' : 'f4'}`;
  } catch (error) {
    if (error instanceof ReaderError && error.code !== 'issuance.pop_invalid') {
      fail('issuance.pop_invalid', `proof of possession rejected: ${error.message}`);
    }
    throw error;
  }
}
