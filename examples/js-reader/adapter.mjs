#!/usr/bin/env node
// Conformance adapter (spec/vectors/README.md section 8): one case JSON on stdin, one
// result JSON line on stdout. Run the vectors through this reader with
//
//   python3 spec/vectors/run.py --adapter "node examples/js-reader/adapter.mjs" spec/vectors
//
// It claims six vector files, every operation in them: the five of a QR reader (qr,
// cbor, cose, credential, presentation) and trust (issuer resolution, X.509 paths).
// Every case of the other files is reported as skipped, with the reason.
//
// Speed, since the runner starts Node once per case: the reader's modules are
// imported only for a case it runs, only those its operation needs, and the trust
// store is built when an issuer is first resolved (building it imports keys, which
// loads @auth0/cose). A trust configuration the store refuses (a registered
// certificate outside the profile) is therefore reported at that step, after the
// decoding checks of the input; no case of the claimed files depends on the
// difference.

import { readFileSync } from 'node:fs';

/** Files this reader claims, by area (the prefix of every case id). */
const CLAIMED = new Set(['qr', 'cbor', 'cose', 'credential', 'presentation', 'trust']);
const NOT_CLAIMED = {
  trustlist: 'signed trust lists are not implemented by this reader (trust.md section 5)',
  status: 'status lists (Token Status List, verification.md section 2.3) are not implemented by this reader',
  statement: 'signed statements are verified by the holder\'s app, never by a reader',
  apdu: 'the NFC transport (APDUs) is not implemented by this QR reader',
  nfc: 'the NFC transport is not implemented by this QR reader',
};

const OPERATIONS = {
  cbor_decode: async (c, r) => {
    const p = c.params ?? {};
    r.decodeCbor(hex(c.input.cbor), {
      maxSize: p.max_size,
      maxDepth: p.max_depth,
      tags: new Set(p.tags ?? []),
      deterministic: p.deterministic ?? true,
    });
    return valid({});
  },
  base45_decode: async (c, r) => valid({ bytes: r.toHex(r.base45Decode(c.input.text)) }),
  qr_decode: async (c, r) => valid({ payload: r.toHex(r.decodeQrText(c.input.qr_text)) }),
  verify_qr: async (c, r) => sequence(c, r, 'qr_text', (v, text) => v.verifyQr(text)),
  verify_presentation: async (c, r) => {
    const transcript = c.input.transcript == null ? null : hex(c.input.transcript);
    return sequence(c, r, 'presentation', (v, token) => v.verifyPresentation(hex(token), transcript));
  },
  verify_credential: async (c, r) => valid(await (await verifier(c, r)).verifyCredential(hex(c.input.credential))),
  verify_possession: async (c, r) => valid({ device_key: await r.verifyPossession(hex(c.input.proof), hex(c.input.nonce), c.at) }),
  decode_bundle: async (c, r) => valid({ credentials: r.decodeBundle(hex(c.input.bundle)) }),
};

class HarnessError extends Error {}

function hex(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new HarnessError('not a hex string');
  return new Uint8Array(Buffer.from(text, 'hex'));
}

const valid = (fields) => ({ result: 'valid', fields });

/** The reader modules an operation needs (importing them all costs ~40 ms more). */
const MODULES = {
  cbor_decode: ['./src/cbor.mjs'],
  base45_decode: ['./src/qr.mjs'],
  qr_decode: ['./src/qr.mjs'],
  decode_bundle: ['./src/claims.mjs'],
  verify_possession: ['./src/verifier.mjs'],
};
const VERIFY_MODULES = ['./src/verifier.mjs', './src/trust.mjs', './src/cose.mjs', 'node:crypto'];

async function loadReader(operation) {
  const modules = await Promise.all(
    ['./src/errors.mjs', './src/bytes.mjs', ...(MODULES[operation] ?? VERIFY_MODULES)].map((m) => import(m)),
  );
  return Object.assign({}, ...modules);
}

/** The trust store of a case's `trust` member (spec/vectors/README.md section 4.1). */
async function trustStore(spec, r) {
  const der = (pem) => new Uint8Array(new r.X509Certificate(pem).raw);
  const keys = [];
  for (const entry of spec.keys ?? []) {
    const key = await r.coseKeyFromBytes(hex(entry.cose_key));
    if (key.alg !== entry.alg) throw new HarnessError(`trust key alg ${entry.alg} does not match its COSE_Key`);
    keys.push({ kid: hex(entry.kid), key, usages: entry.usages, notBefore: entry.not_before ?? null, notAfter: entry.not_after ?? null });
  }
  const store = new r.TrustStore({
    roots: (spec.roots ?? []).map(der),
    certificates: (spec.certificates ?? []).map((e) => ({ certificate: der(e.certificate), intermediates: (e.intermediates ?? []).map(der) })),
    keys,
    allowedAlgs: spec.allowed_algs ?? [-7, -35, -8],
  });
  for (const kid of spec.withdrawn ?? []) store.withdraw(hex(kid));
  for (const identity of spec.withdrawn_keys ?? []) store.withdrawKey(identity.toLowerCase());
  return store;
}

async function verifier(c, r) {
  const policy = c.policy ?? {};
  if (policy.status != null) return Promise.reject(new SkipCase('status lists (policy.status) are not implemented by this reader'));
  return new r.Verifier({
    trust: () => trustStore(c.trust ?? {}, r), // built when an issuer is first resolved
    now: () => c.at,
    skew: policy.skew ?? 30,
    maxTokenLifetime: policy.max_token_lifetime ?? 300,
    audience: policy.audience == null ? null : hex(policy.audience),
    allowDelegated: policy.allow_delegated ?? true,
  });
}

/** verify_qr / verify_presentation: one verifier, every `prior` input accepted first. */
async function sequence(c, r, member, verify) {
  const v = await verifier(c, r);
  for (const [position, prior] of (c.input.prior ?? []).entries()) {
    try {
      await verify(v, prior);
    } catch (error) {
      if (error instanceof r.ReaderError) return { result: 'invalid', code: error.code, detail: `prior input ${position} was refused` };
      throw error;
    }
  }
  return valid(await verify(v, c.input[member]));
}

class SkipCase extends Error {}

async function run(c) {
  const area = typeof c.id === 'string' ? c.id.split('-')[0] : '';
  if (!CLAIMED.has(area)) {
    return { result: 'skipped', reason: NOT_CLAIMED[area] ?? `area ${JSON.stringify(area)} is not claimed by this reader` };
  }
  const operation = OPERATIONS[c.operation];
  if (!operation) return { result: 'skipped', reason: `operation ${JSON.stringify(c.operation)} is not implemented` };
  const r = await loadReader(c.operation);
  try {
    return await operation(c, r);
  } catch (error) {
    if (error instanceof r.ReaderError) return { result: 'invalid', code: error.code };
    if (error instanceof SkipCase) return { result: 'skipped', reason: error.message };
    return { result: 'error', message: `${error.constructor?.name ?? 'Error'}: ${error.message}` };
  }
}

/** JSON with bigint numbers written as numbers (a card serial may exceed 2^53). */
function toJson(value) {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  return `{${Object.keys(value).sort().filter((k) => value[k] !== undefined).map((k) => `${JSON.stringify(k)}:${toJson(value[k])}`).join(',')}}`;
}

let result;
try {
  result = await run(JSON.parse(readFileSync(0, 'utf8')));
} catch (error) {
  result = { result: 'error', message: `${error.constructor?.name ?? 'Error'}: ${error.message}` };
}
process.stdout.write(`${toJson(result)}\n`, () => process.exit(0));
