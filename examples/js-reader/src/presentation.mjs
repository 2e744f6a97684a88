// The presentation payload (spec/presentation.md section 2.3).

import { decodeCbor } from './cbor.mjs';
import { isInteger } from './cose.mjs';
import { fail } from './errors.mjs';

export const MAX_PRESENTATION_BYTES = 8448;
export const DEFAULT_TTL = 60;
const LABELS = new Set([1, 2, 3, 4, 5, 6]);

/** @param {Uint8Array} payload */
export function decodePresentationPayload(payload) {
  const value = decodeCbor(payload, { maxSize: MAX_PRESENTATION_BYTES, maxDepth: 2 });
  if (!(value instanceof Map)) fail('schema.invalid', 'presentation payload must be a map');
  for (const label of value.keys()) {
    if (typeof label !== 'number' || !LABELS.has(label)) fail('schema.unknown_label', `presentation payload has unknown label ${String(label)}`);
  }
  for (const label of [1, 2, 4]) {
    if (!value.has(label)) fail('schema.missing_label', `presentation payload lacks label ${label}`);
  }
  const credential = value.get(1);
  const iat = value.get(2);
  const ttl = value.has(3) ? value.get(3) : DEFAULT_TTL;
  const nonce = value.get(4);
  if (!(credential instanceof Uint8Array)) fail('schema.invalid', 'credential(1) must be a byte string');
  if (!isInteger(iat) || iat < 0 || BigInt(iat) >= 2n ** 40n) fail('schema.invalid', 'iat(2) must be an unsigned integer time');
  if (!isInteger(ttl) || ttl < 1 || ttl > 0xffff) fail('schema.invalid', 'ttl(3) must be an integer 1..65535');
  if (value.has(3) && ttl === DEFAULT_TTL) fail('schema.invalid', 'ttl(3) equal to its default 60 must be omitted');
  if (!(nonce instanceof Uint8Array) || nonce.length !== 12) fail('schema.invalid', 'nonce(4) must be 12 bytes');
  const audience = value.get(5);
  if (value.has(5) && (!(audience instanceof Uint8Array) || audience.length < 1 || audience.length > 64)) {
    fail('schema.invalid', 'audience(5) must be 1..64 bytes');
  }
  const transcript = value.get(6);
  if (value.has(6) && (!(transcript instanceof Uint8Array) || transcript.length !== 32)) {
    fail('schema.invalid', 'transcript(6) must be 32 bytes');
  }
  return {
    credential,
    iat: Number(iat),
    ttl: Number(ttl),
    exp: Number(iat) + Number(ttl),
    nonce,
    audience: audience ?? null,
    transcript: transcript ?? null,
  };
}
