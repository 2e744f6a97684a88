// The CBOR profile of spec/encoding.md section 2.3 on top of cbor2.
//
// cbor2 2.3 decodes in its deterministic ("cde") mode: shortest heads, no indefinite
// lengths, map keys in bytewise order, no duplicates. What that mode does not cover
// (reader-profile.md section 4) is checked first by `checkProfile`, a one-pass scan of
// the bytes that applies the 16 checks of encoding.md section 2.3 in their order and
// names the code of the first failing one: the size cap, `null` (cbor2 returns it),
// tags outside the structure's allow-list (cbor2 returns any tag as a Tag object),
// map keys that are not integers, text or byte strings, the nesting depth and item
// count, and the order in which defects are reported. Only bytes that pass the scan
// reach cbor2, which builds the values: Map (every map), Array, Uint8Array, string,
// number or bigint, boolean, Tag.

import { decode as cbor2Decode, Tag } from 'cbor2';
import { compareBytes, toHex } from './bytes.mjs';
import { fail } from './errors.mjs';

export { Tag };

export const MAX_INPUT_BYTES = 65536;
export const MAX_DEPTH = 16;
export const MAX_ITEMS = 4096;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NO_TAGS = new Set();

const CBOR2_OPTIONS = {
  cde: true, // requirePreferred, rejectStreaming, sortKeys: core deterministic order
  rejectDuplicateKeys: true,
  rejectFloats: true,
  rejectUndefined: true,
  rejectSimple: true,
  preferMap: true,
  ignoreGlobalTags: true,
};
const CBOR2_LENIENT = { ...CBOR2_OPTIONS, cde: false, sortKeys: null, requirePreferred: false };

/**
 * Check `data` against the CBOR profile; throw the code of the first defect.
 * @param {Uint8Array} data
 * @param {{maxSize?: number, maxDepth?: number, tags?: Set<number>, deterministic?: boolean,
 *          maxItems?: number}} [options]
 */
export function checkProfile(data, options = {}) {
  const maxSize = options.maxSize ?? MAX_INPUT_BYTES;
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  const tags = options.tags ?? NO_TAGS;
  const deterministic = options.deterministic ?? true;
  let budget = options.maxItems ?? MAX_ITEMS;
  const end = data.length;
  // 1: the size cap, before anything else.
  if (end > maxSize) fail('cbor.too_large', `input of ${end} bytes exceeds the cap of ${maxSize}`);

  const byteAt = (pos) => {
    if (pos >= end) fail('cbor.length_exceeds_input', 'the input ends inside a data item');
    return data[pos];
  };

  // One data item at `pos`; returns [next position, key identity or null, kind].
  // `asKey`: the item is a map key (check 12 refuses containers and booleans there).
  const item = (start, depth, asKey) => {
    let pos = start;
    const initial = byteAt(pos);
    pos += 1;
    const major = initial >> 5;
    const ai = initial & 0x1f;
    /** @type {number | bigint} */
    let arg;
    if (ai < 24) {
      arg = ai;
    } else if (ai === 24) {
      arg = byteAt(pos);
      pos += 1;
      if (deterministic && arg < 24 && major !== 7) {
        fail('cbor.non_deterministic', `head at offset ${start} is not in shortest form`);
      }
    } else if (ai < 28) {
      const width = 1 << (ai - 24);
      if (pos + width > end) fail('cbor.length_exceeds_input', `head at offset ${start} runs past the input`);
      let value = 0n;
      for (let i = 0; i < width; i += 1) value = (value << 8n) | BigInt(data[pos + i]);
      pos += width;
      if (deterministic && major !== 7 && value < 1n << BigInt(4 * width)) {
        fail('cbor.non_deterministic', `head at offset ${start} is not in shortest form`);
      }
      arg = value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
    } else if (ai === 31) {
      fail('cbor.indefinite_length', `indefinite length or break at offset ${start}`);
    } else {
      fail('cbor.malformed', `reserved additional information ${ai} at offset ${start}`);
    }
    // A length or count too big for a Number is bigger than any input.
    const count = typeof arg === 'bigint' ? Infinity : arg;

    switch (major) {
      case 0:
        return [pos, `i${arg}`];
      case 1:
        return [pos, `i${-1n - BigInt(arg)}`];
      case 2:
      case 3: {
        if (count > end - pos) {
          fail('cbor.length_exceeds_input', `string of ${arg} bytes at offset ${start} exceeds the input`);
        }
        const stop = pos + count;
        if (major === 2) return [stop, `b${toHex(data.subarray(pos, stop))}`];
        let text;
        try {
          text = UTF8.decode(data.subarray(pos, stop));
        } catch {
          fail('cbor.malformed', `text string at offset ${start} is not valid UTF-8`);
        }
        return [stop, `s${text}`];
      }
      case 7: {
        if (ai === 20 || ai === 21) {
          if (asKey) fail('cbor.type_not_allowed', `map key at offset ${start} is a boolean`);
          return [pos, null];
        }
        if (ai === 22) fail('cbor.type_not_allowed', `null at offset ${start}`);
        if (ai === 23) fail('cbor.type_not_allowed', `undefined at offset ${start}`);
        if (ai >= 25) fail('cbor.type_not_allowed', `floating-point value at offset ${start}`);
        fail('cbor.type_not_allowed', `simple value ${arg} at offset ${start}`);
      }
      default:
        break;
    }
    // Containers and tags: 9 depth, 10 item count, 11 room left, 12 as a key, 15 tag.
    if (depth >= maxDepth) fail('cbor.too_deep', `nesting deeper than ${maxDepth}`);
    const inner = depth + 1;
    if (major === 4) {
      budget -= count;
      if (budget < 0) fail('cbor.too_large', `more than ${options.maxItems ?? MAX_ITEMS} data items`);
      if (count > end - pos) fail('cbor.length_exceeds_input', `array of ${arg} items exceeds the input`);
      if (asKey) fail('cbor.type_not_allowed', `map key at offset ${start} is an array`);
      for (let i = 0; i < count; i += 1) [pos] = item(pos, inner, false);
      return [pos, null];
    }
    if (major === 5) {
      budget -= 2 * count;
      if (budget < 0) fail('cbor.too_large', `more than ${options.maxItems ?? MAX_ITEMS} data items`);
      if (2 * count > end - pos) fail('cbor.length_exceeds_input', `map of ${arg} pairs exceeds the input`);
      if (asKey) fail('cbor.type_not_allowed', `map key at offset ${start} is a map`);
      const seen = new Set();
      let previous = null;
      for (let i = 0; i < count; i += 1) {
        const keyStart = pos;
        let key;
        [pos, key] = item(pos, inner, true);
        if (seen.has(key)) fail('cbor.duplicate_key', `duplicate map key at offset ${keyStart}`);
        seen.add(key);
        if (deterministic) {
          const encoded = data.subarray(keyStart, pos);
          if (previous !== null && compareBytes(encoded, previous) <= 0) {
            fail('cbor.non_deterministic', `map key at offset ${keyStart} is out of deterministic order`);
          }
          previous = encoded;
        }
        [pos] = item(pos, inner, false);
      }
      return [pos, null];
    }
    // major 6: a tag
    if (asKey) fail('cbor.type_not_allowed', `map key at offset ${start} is a tag`);
    if (!tags.has(arg)) fail('cbor.tag_not_allowed', `tag ${arg} is not allowed here`);
    [pos] = item(pos, inner, false);
    return [pos, null];
  };

  const [stop] = item(0, 0, false);
  if (stop !== end) fail('cbor.trailing_bytes', `${end - stop} bytes after the data item`);
}

/**
 * Decode exactly one data item under the profile (encoding.md section 2.3).
 * @param {Uint8Array} data
 * @param {{maxSize?: number, maxDepth?: number, tags?: Set<number>, deterministic?: boolean}} [options]
 * @returns {unknown}
 */
export function decodeCbor(data, options = {}) {
  checkProfile(data, options);
  try {
    return cbor2Decode(data, options.deterministic === false ? CBOR2_LENIENT : CBOR2_OPTIONS);
  } catch (error) {
    // The scan accepted what cbor2 refuses: a disagreement to report, never a verdict.
    throw new Error(`cbor2 refused bytes the profile accepts: ${error.message}`);
  }
}
