// Point decompression for the compressed EC2 COSE_Key of cnf(8): `y` is a boolean, the
// sign bit of RFC 9053 section 7.1.1 (true: the y coordinate is odd). General-purpose
// COSE libraries expect `y` as 32 bytes: cose-js 0.9 then verifies against a wrong
// point or stops ("Need both x and y coordinate"), @auth0/cose 1.0 throws a TypeError.
// The rule (reader-profile.md section 3): with p = 3 mod 4 for both curves,
//   x < p;  rhs = x^3 - 3x + b mod p;  y = rhs^((p+1)/4) mod p;
//   refuse unless y^2 = rhs mod p;  if (y mod 2 = 1) != sign: y = p - y.

import { fromBigInt, toBigInt } from './bytes.mjs';

export const CURVES = {
  'P-256': {
    size: 32,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  'P-384': {
    size: 48,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
};

function modPow(base, exponent, modulus) {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/**
 * The y coordinate of the point (x, sign) on `curve`, or null when there is none.
 * @param {'P-256' | 'P-384'} curve
 * @param {Uint8Array} x big-endian, `size` bytes
 * @param {boolean} sign the COSE `y` boolean: true for an odd y
 * @returns {Uint8Array | null}
 */
export function decompressY(curve, x, sign) {
  const { size, p, b } = CURVES[curve];
  if (x.length !== size) return null;
  const X = toBigInt(x);
  if (X >= p) return null;
  const rhs = (((X * X * X - 3n * X + b) % p) + p) % p;
  let y = modPow(rhs, (p + 1n) / 4n, p);
  if ((y * y) % p !== rhs) return null; // x is not the abscissa of a curve point
  if ((y & 1n) !== (sign ? 1n : 0n)) {
    if (y === 0n) return null; // no point with y = 0 has an odd y
    y = p - y;
  }
  return fromBigInt(y, size);
}
