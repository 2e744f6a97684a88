// The QR text envelope: "VC1:" + Base45(flag || body), spec/presentation.md section 4.3.
//
// Base45 is written here (30 lines) rather than taken from npm: the npm `base45`
// package decodes any string, mapping a character outside the alphabet to -1, letting
// a group above 65 535 wrap into three bytes and a final group above 255 into a byte
// that is not one, and accepting a length of 1 modulo 3 (reader-profile.md section 4).
// Its three checks would be all of its code.
//
// Decompression is pako's low-level inflate with the profile's glue: an output window
// of cap + 1 bytes (pako has no size cap), and an explicit end-of-stream check (pako's
// one-shot inflate() ignores the bytes after the end of the zlib stream).

import * as pako from 'pako';
import { fail } from './errors.mjs';

export const QR_PREFIX = 'VC1:';
export const MAX_QR_TEXT_CHARS = 4296;
export const MAX_PAYLOAD_BYTES = 8192;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i += 1) VALUE[ALPHABET.charCodeAt(i)] = i;

/**
 * Strict Base45 (RFC 9285): checks 3 - 5 of presentation.md section 4.3, in order.
 * @param {string} text
 * @param {number} [maxChars]
 * @returns {Uint8Array}
 */
export function base45Decode(text, maxChars = MAX_QR_TEXT_CHARS) {
  if (typeof text !== 'string') throw new TypeError('Base45 text must be a string');
  if (text.length > maxChars) fail('qr.too_large', `Base45 text is ${text.length} characters`);
  const values = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? VALUE[code] : -1;
    if (value < 0) fail('base45.bad_character', `character ${JSON.stringify(text[i])} at index ${i}`);
    values[i] = value;
  }
  const tail = values.length % 3;
  if (tail === 1) fail('base45.bad_length', `length ${values.length} is 1 modulo 3`);
  const full = values.length - tail;
  const out = new Uint8Array((full / 3) * 2 + (tail ? 1 : 0));
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
    if (n > 0xffff) fail('base45.overflow', `group at index ${i} decodes to ${n} > 65535`);
    out[o++] = n >> 8;
    out[o++] = n & 0xff;
  }
  if (tail) {
    const n = values[full] + values[full + 1] * 45;
    if (n > 0xff) fail('base45.overflow', `final group at index ${full} decodes to ${n} > 255`);
    out[o] = n;
  }
  return out;
}

/**
 * Exactly one complete zlib stream (RFC 1950) inflating to at most `cap` bytes.
 * @param {Uint8Array} body
 * @param {number} cap
 */
export function inflateExact(body, cap) {
  const strm = new pako.ZStream();
  if (pako.zlibInflateInit(strm) !== pako.Z_OK) throw new Error('pako: inflateInit failed');
  const window = new Uint8Array(cap + 1); // stop one byte past the cap (check 9)
  strm.input = body;
  strm.next_in = 0;
  strm.avail_in = body.length;
  strm.output = window;
  strm.next_out = 0;
  strm.avail_out = window.length;
  const status = pako.zlibInflate(strm, pako.Z_FINISH);
  pako.zlibInflateEnd(strm);
  if (status === pako.Z_STREAM_END) {
    if (strm.total_out > cap) fail('compression.too_large', `the stream inflates past ${cap} bytes`);
    // pako stops at the end of the stream and leaves the rest in avail_in; its
    // one-shot inflate() silently drops it (check 11).
    if (strm.avail_in !== 0) {
      fail('compression.invalid', `${strm.avail_in} bytes follow the end of the zlib stream`);
    }
    return window.slice(0, strm.total_out);
  }
  if (status === pako.Z_OK || status === pako.Z_BUF_ERROR) {
    // No end of stream: either the window is full (a bomb) or the input ran out.
    if (strm.total_out > cap) fail('compression.too_large', `the stream inflates past ${cap} bytes`);
    fail('compression.invalid', 'the zlib stream is truncated');
  }
  // Z_DATA_ERROR, Z_NEED_DICT (a preset dictionary), Z_STREAM_ERROR ...
  fail('compression.invalid', `not a valid zlib stream (${strm.msg || status})`);
}

/**
 * Unwrap a QR text into the presentation bytes: checks 1 - 13 of presentation.md
 * section 4.3, in order.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function decodeQrText(text) {
  if (typeof text !== 'string') throw new TypeError('QR text must be a string');
  if (text.length > MAX_QR_TEXT_CHARS) fail('qr.too_large', `QR text is ${text.length} characters`);
  if (!text.startsWith(QR_PREFIX)) fail('qr.bad_prefix', `QR text does not start with ${QR_PREFIX}`);
  const envelope = base45Decode(text.slice(QR_PREFIX.length));
  if (envelope.length === 0) fail('qr.malformed', 'empty envelope: no flag byte');
  const flag = envelope[0];
  const body = envelope.subarray(1);
  let payload;
  if (flag === 0x00) {
    if (body.length > MAX_PAYLOAD_BYTES) fail('qr.too_large', `payload of ${body.length} bytes`);
    payload = body;
  } else if (flag === 0x01) {
    payload = inflateExact(body, MAX_PAYLOAD_BYTES);
  } else {
    fail('qr.malformed', `unknown envelope flag 0x${flag.toString(16).padStart(2, '0')}`);
  }
  if (payload.length === 0) fail('qr.malformed', 'empty payload');
  return payload;
}
