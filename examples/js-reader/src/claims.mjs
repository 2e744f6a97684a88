// Credential claims (spec/credential.md section 3.5): the card map, the beneficiary,
// the INS, the NIR and dates in their compact forms (encoding.md section 3), the
// delegation and the status reference. Every check runs in the order the spec fixes,
// so that an input with several defects gets the code of the first.

import { toBigInt, toHex } from './bytes.mjs';
import { decodeCbor } from './cbor.mjs';
import { ReaderError, fail } from './errors.mjs';
import { isInteger, parseCoseKey } from './cose.mjs';

export const MAX_CREDENTIAL_BYTES = 8192;
const TIME_LIMIT = 2n ** 40n;

// --- helpers ------------------------------------------------------------------------

/** The value as a bigint when it is an integer (never a boolean), else null. */
const int = (v) => (isInteger(v) ? BigInt(v) : null);
/** An integer value for JSON: a number when exact, else the bigint. */
const out = (v) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/** Deterministic-encoding order of integer labels: 0, 1, 2, ..., then -1, -2, ... */
function labelOrder(a, b) {
  const ka = a >= 0 ? [0, a] : [1, -1 - a];
  const kb = b >= 0 ? [0, b] : [1, -1 - b];
  return ka[0] - kb[0] || ka[1] - kb[1];
}

/**
 * encoding.md section 4: a map, whose labels are all known, holding every required one.
 * The first unknown label in encoding order (maps arrive in that order) and the lowest
 * missing one are reported.
 */
function labelledMap(value, what, { known, required = [], code = 'schema.invalid', unknownCode, missingCode, missingBy = {} }) {
  if (!(value instanceof Map)) fail(code, `${what} must be a map`);
  const schema = code === 'schema.invalid';
  for (const label of value.keys()) {
    if (typeof label !== 'number' || !known.has(label)) {
      fail(unknownCode ?? (schema ? 'schema.unknown_label' : code), `${what} has unknown label ${String(label)}`);
    }
  }
  const missing = required.filter((label) => !value.has(label)).sort(labelOrder);
  if (missing.length > 0) {
    const first = missing[0];
    if (missingBy[first]) fail(missingBy[first], `${what} lacks label ${first}`);
    fail(missingCode ?? (schema ? 'schema.missing_label' : code), `${what} lacks label ${first}`);
  }
  return value;
}

// Printable (data-model.md section 2.4): none of Cc, Cf, Cs, Co, Cn, Zl, Zp, nor Zs
// other than U+0020.
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;
const codePoints = (s) => [...s].length;
const printable = (s) => !NOT_PRINTABLE.test(s);

/** A name or contract: 1 .. limit code points, printable, no surrounding space. */
function textOk(value, limit = 64) {
  return typeof value === 'string' && value.length > 0 && codePoints(value) <= limit
    && printable(value) && !value.startsWith(' ') && !value.endsWith(' ');
}

function checkText(value, what, limit = 64, code = 'card.invalid') {
  if (!textOk(value, limit)) fail(code, `${what} must be printable text of 1..${limit} characters without surrounding spaces`);
  return value;
}

// --- dates ----------------------------------------------------------------------------

const MAX_DAY = 84005n; // 2199-12-31

function isoDay(days) {
  return new Date(Number(days) * 86400000).toISOString().slice(0, 10);
}

function dayFromWire(value, what) {
  const v = int(value);
  if (v === null || v < 0n || v > MAX_DAY) fail('card.date_invalid', `${what} must be a day number 0..84005`);
  return v;
}

const MIN_BIRTH = -62400n;
const MAX_BIRTH = 83199n;

/** encoding.md section 3.3: (year - 2000) * 416 + month * 32 + day. */
function birthDateFromWire(value) {
  const v = int(value);
  if (v === null || v < MIN_BIRTH || v > MAX_BIRTH) fail('card.date_invalid', 'birth date must be an integer of the compact form');
  const n = Number(v);
  const years = Math.floor(n / 416);
  const rest = n - 416 * years;
  const month = Math.floor(rest / 32);
  const day = rest % 32;
  const year = 2000 + years;
  if (month === 0) {
    if (day !== 0) fail('card.date_invalid', 'a lunar birth date with month 00 must have day 00');
  } else if (month > 12) {
    fail('card.date_invalid', `birth month ${month} is out of range`);
  } else if (day !== 0) {
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
      fail('card.date_invalid', `birth date ${year}-${month}-${day} does not exist`);
    }
  }
  return { year, month, day };
}

const pad = (n, width) => String(n).padStart(width, '0');
const birthDateText = (d) => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;

// --- NIR (data-model.md section 3.1, encoding.md section 3.1) -----------------------------

const TEN13 = 10n ** 13n;
const profileMonth = (m) => (m >= 1n && m <= 12n) || (m >= 20n && m <= 42n) || m >= 50n;

/**
 * The 15-character NIR of a compact wire NIR; the key is recomputed.
 * @param {unknown} value
 * @param {string} [typeCode] the code for a value that is not a byte string
 */
function nirFromWire(value, typeCode = 'card.nir_invalid') {
  if (!(value instanceof Uint8Array)) fail(typeCode, 'wire NIR must be a byte string of 6 bytes');
  if (value.length !== 6) fail('card.nir_invalid', 'wire NIR must be a byte string of 6 bytes');
  const packed = toBigInt(value);
  if (packed >= 3n * TEN13) fail('card.nir_invalid', 'wire NIR must be a number below 3 * 10^13');
  const corsica = packed / TEN13;
  const number = packed % TEN13;
  const sex = number / 10n ** 12n;
  if (![1n, 2n, 7n, 8n].includes(sex)) fail('card.nir_invalid', `NIR sex digit ${sex} is outside the profile`);
  if (!profileMonth((number / 10n ** 8n) % 100n)) fail('card.nir_invalid', 'NIR month is outside the profile');
  let body = pad(number, 13);
  let numeric = number;
  if (corsica > 0n) {
    if ((number / 10n ** 6n) % 100n !== 20n) fail('card.nir_invalid', 'wire NIR flags Corsica but its department is not 20');
    body = body.slice(0, 5) + (corsica === 1n ? '2A' : '2B') + body.slice(7);
    numeric = number - corsica * 10n ** 6n; // 2A -> 19, 2B -> 18
  }
  return `${body}${pad(97n - (numeric % 97n), 2)}`;
}

// --- INS (data-model.md section 3.4) --------------------------------------------------------

const OID_NIR = '1.2.250.1.213.1.4.8';
const OID_NIA = '1.2.250.1.213.1.4.9';
const SEX_OF_DIGIT = { 1: 'M', 2: 'F', 7: 'M', 8: 'F' };

function isCog(code) {
  if (typeof code !== 'string' || code.length !== 5) return false;
  const dept = code.slice(0, 2);
  if (dept === '2A' || dept === '2B') return /^[0-9]{3}$/.test(code.slice(2));
  if (!/^[0-9]{5}$/.test(code)) return false;
  if (dept === '99') return code.slice(2) >= '100';
  return dept === '97' || dept === '98' || (dept >= '01' && dept <= '95' && dept !== '20');
}

function checkCog(value) {
  if (!isCog(value)) fail('card.ins_invalid', `INS birth place ${JSON.stringify(value)} is not a COG code`);
  return value;
}

const sameNames = (a, b) => a.length === b.length && a.every((n, i) => n === b[i]);

function insFromWire(value, { ownNir, familyName, givenNames, birthDate }) {
  labelledMap(value, 'ins(11)', { known: new Set([1, 2, 3, 4, 5]) });
  let matricule;
  if (value.has(1)) {
    const wire = value.get(1);
    if (!(wire instanceof Uint8Array)) fail('schema.invalid', 'ins matricule(1) must be a byte string');
    matricule = nirFromWire(wire);
    if (matricule === ownNir) fail('schema.invalid', "ins matricule(1) equal to the beneficiary's NIR must be omitted");
  } else if (ownNir === null) {
    fail('schema.missing_label', 'ins lacks matricule(1): the beneficiary has no NIR');
  } else {
    matricule = ownNir;
  }
  const text = (label, fallback) => {
    if (!value.has(label)) return fallback;
    const v = value.get(label);
    if (typeof v !== 'string') fail('schema.invalid', `ins label ${label} must be text`);
    if (v === fallback) fail('schema.invalid', `ins label ${label} equal to its default must be omitted`);
    return label === 4 ? checkCog(v) : checkText(v, 'INS birth name', 64, 'card.ins_invalid');
  };
  const birthName = text(2, familyName);
  // The birth given names: given names (neither label), given names and more (5), or
  // others (3); each INS has exactly one encoding.
  let birthGivenNames = givenNames;
  const names = (label) => {
    const v = value.get(label);
    if (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) fail('schema.invalid', `ins label ${label} must be an array of text`);
    return v;
  };
  if (value.has(3) && value.has(5)) fail('schema.invalid', 'ins holds both birth_given_names(3) and more_given_names(5)');
  if (value.has(5)) {
    const extra = names(5);
    if (extra.length === 0) fail('schema.invalid', 'ins more_given_names(5) must not be empty');
    birthGivenNames = [...givenNames, ...extra];
  } else if (value.has(3)) {
    birthGivenNames = names(3);
    if (sameNames(birthGivenNames.slice(0, givenNames.length), givenNames)) {
      fail('schema.invalid', 'ins birth_given_names(3) that the given names start must be more_given_names(5), or omitted');
    }
  }
  if (value.has(3) || value.has(5)) {
    if (birthGivenNames.length < 1 || birthGivenNames.length > 4) fail('card.ins_invalid', 'INS birth given names must be 1..4 names');
    for (const n of birthGivenNames) checkText(n, 'INS birth given name', 64, 'card.ins_invalid');
  }
  const birthPlace = text(4, matricule.slice(5, 10));
  checkCog(birthPlace); // the derived one too (e.g. 20004, Corsica before 1976)
  // Consistency with the matricule (data-model.md section 3.4.3, rules 3 and 4).
  if (matricule.slice(1, 3) !== pad(birthDate.year % 100, 2)) {
    fail('card.ins_mismatch', `INS matricule year ${matricule.slice(1, 3)} contradicts the birth year ${birthDate.year}`);
  }
  const matriculeMonth = Number(matricule.slice(3, 5));
  if (matriculeMonth >= 1 && matriculeMonth <= 12 && birthDate.month !== 0 && matriculeMonth !== birthDate.month) {
    fail('card.ins_mismatch', 'INS matricule month contradicts the birth month');
  }
  const sexDigit = matricule[0];
  return {
    matricule,
    oid: sexDigit === '7' || sexDigit === '8' ? OID_NIA : OID_NIR,
    birth_name: birthName,
    birth_given_names: [...birthGivenNames],
    sex: SEX_OF_DIGIT[sexDigit],
    birth_place: birthPlace,
  };
}

// --- the beneficiary (credential.md section 3.5, data-model.md section 2.2) --------------

// Code 0 (the insured) is registered: a dependant carrying it is refused by the card's
// own check (index 0, and only index 0, is the insured), after the beneficiary.
const QUALITES = new Map([
  [0, 'assure'], [1, 'ascendant'], [2, 'conjoint'], [3, 'conjoint_divorce'], [4, 'concubin'],
  [5, 'conjoint_separe'], [6, 'enfant'], [8, 'conjoint_veuf'], [9, 'autre'],
]);
const EXONERATIONS = new Map([
  [1, 'ald'], [2, 'maternite'], [3, 'at_mp'], [4, 'invalidite'], [5, 'soins_particuliers'],
]);

function wireArray(value, shortest, longest, what) {
  if (!Array.isArray(value) || value.length < shortest || value.length > longest) {
    fail('schema.invalid', `${what} must be an array of ${shortest} to ${longest} items`);
  }
  return value;
}

/** A period from items[at] (start) and, if present, items[at + 1] (end). */
function periodFrom(items, at, what) {
  const start = dayFromWire(items[at], `${what} start`);
  if (items.length === at + 1) return { start: isoDay(start), end: null };
  const end = dayFromWire(items[at + 1], `${what} end`);
  if (end < start) fail('card.date_invalid', `${what} ends before it starts`);
  return { start: isoDay(start), end: isoDay(end) };
}

const periodFromWire = (value, what) => periodFrom(wireArray(value, 1, 2, what), 0, what);

function exonerationFromWire(value) {
  const items = wireArray(value, 2, 3, 'exoneration');
  const code = typeof items[0] === 'number' ? EXONERATIONS.get(items[0]) : undefined;
  if (code === undefined) fail('card.invalid', `exoneration code ${String(items[0])} is not registered`);
  return { code, ...periodFrom(items, 1, 'exoneration') };
}

function amcFromWire(value) {
  const items = wireArray(value, 3, 4, 'amc');
  const [organisation, contract] = items;
  if (typeof organisation !== 'string' || typeof contract !== 'string') fail('card.invalid', 'AMC organisation and contract must be text');
  const period = periodFrom(items, 2, 'amc');
  if (!/^[0-9]{1,10}$/.test(organisation)) fail('card.invalid', 'AMC organisation must be 1..10 ASCII digits');
  checkText(contract, 'AMC contract', 32);
  return { organisation, contract, ...period };
}

const BENEFICIARY_LABELS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

function beneficiaryFromWire(value, { insured, cardNir }) {
  labelledMap(value, 'beneficiary(5)', { known: BENEFICIARY_LABELS, required: [1, 2, 3] });
  let given = value.get(2);
  if (typeof given === 'string') given = [given];
  else if (!Array.isArray(given) || given.length === 1) fail('schema.invalid', 'given_names(2) must be one text, or an array of several');
  let rank = 1;
  if (value.has(4)) {
    const r = value.get(4);
    if (!isInteger(r)) fail('card.invalid', 'birth rank must be an integer 1..9');
    if (r === 1) fail('schema.invalid', 'birth_rank(4) equal to its default 1 must be omitted');
    rank = r;
  }
  if (insured && value.has(5)) fail('schema.invalid', 'qualite(5) of the insured (index 0) must be omitted');
  if (!insured && !value.has(5)) fail('schema.missing_label', 'beneficiary of a dependant lacks qualite(5)');
  for (const label of [6, 7]) {
    if (value.has(label) && (!Array.isArray(value.get(label)) || value.get(label).length === 0)) {
      fail('schema.invalid', `label ${label} must be a non-empty array`);
    }
  }
  const birthDate = birthDateFromWire(value.get(3));
  let qualite = 'assure';
  if (!insured) {
    const q = value.get(5);
    qualite = typeof q === 'number' ? QUALITES.get(q) : undefined;
    if (qualite === undefined) fail('card.invalid', `qualite code ${String(q)} is not registered`);
  }
  const amo = (value.get(6) ?? []).map((p) => periodFromWire(p, 'amo'));
  const exonerations = (value.get(7) ?? []).map(exonerationFromWire);
  const css = value.has(8) ? periodFromWire(value.get(8), 'css') : null;
  const amc = value.has(9) ? amcFromWire(value.get(9)) : null;
  const nir = value.has(10) ? nirFromWire(value.get(10)) : null;
  // The text rules of the names come before the INS, which derives from them.
  const familyName = value.get(1);
  checkText(familyName, 'family name');
  if (given.length < 1 || given.length > 4) fail('card.invalid', 'given names must be 1..4 names');
  for (const name of given) checkText(name, 'given name');
  if (rank < 1 || rank > 9) fail('card.invalid', 'birth rank must be 1..9');
  let ins = null;
  if (value.has(11)) {
    ins = insFromWire(value.get(11), {
      ownNir: nir ?? (insured ? cardNir : null),
      familyName,
      givenNames: given,
      birthDate,
    });
  }
  if (amo.length > 8 || exonerations.length > 8) fail('card.invalid', 'at most 8 periods of each kind');
  const json = {
    family_name: familyName,
    given_names: [...given],
    birth_date: birthDateText(birthDate),
    birth_rank: rank,
    qualite,
    amo,
    exonerations,
    css,
    amc,
  };
  if (nir !== null) json.nir = nir;
  if (ins !== null) json.ins = ins;
  return json;
}

// --- the card (credential.md section 3.5) ------------------------------------------------------

const CARD_LABELS = new Set([1, 2, 3, 4, 5, 6]);

function cardFromWire(value) {
  labelledMap(value, 'card(-65537)', { known: CARD_LABELS, required: [1, 2, 3, 4, 5] });
  const serial = int(value.get(3));
  const index = value.has(6) ? int(value.get(6)) : 0n;
  if (serial === null || serial < 0n) fail('schema.invalid', 'card serial(3) must be an unsigned integer');
  if (index === null || index < 0n) fail('schema.invalid', 'card index(6) must be an unsigned integer');
  if (serial >= 2n ** 63n) fail('schema.invalid', 'card serial(3) must be below 2^63');
  if (index === 0n && value.has(6)) fail('schema.invalid', 'index(6) of the insured (0) must be omitted');
  const nir = nirFromWire(value.get(1));
  const organisme = int(value.get(2));
  if (organisme === null || organisme < 0n || organisme >= 10n ** 9n) fail('card.organisme_invalid', 'wire organisme must be an integer below 10^9');
  const digits = pad(organisme, 9);
  const issued = dayFromWire(value.get(4), 'issued(4)');
  const beneficiary = beneficiaryFromWire(value.get(5), { insured: index === 0n, cardNir: nir });
  if (index > 15n) fail('card.invalid', 'beneficiary index must be 0..15');
  if ((index === 0n) !== (beneficiary.qualite === 'assure')) fail('card.invalid', 'index 0, and only index 0, is the insured');
  return {
    insured_nir: nir,
    organisme: `${digits.slice(0, 2)} ${digits.slice(2, 5)} ${digits.slice(5)}`,
    card_serial: out(serial),
    card_issued: isoDay(issued),
    beneficiary_index: Number(index),
    beneficiary,
  };
}

// --- delegation, status reference -----------------------------------------------------------

function delegationFromWire(value) {
  labelledMap(value, 'delegation(-65538)', { known: new Set([1, 2, 3]), code: 'delegation.invalid' });
  if (value.has(3) && value.get(3) === '') fail('delegation.invalid', 'an empty scope(3) must be omitted');
  const get = (label) => (value.has(label) ? value.get(label) : '');
  const [delegator, delegate, limits] = [get(1), get(2), get(3)];
  for (const [what, text, limit] of [['delegator', delegator, 128], ['delegate', delegate, 128], ['scope', limits, 256]]) {
    if (typeof text !== 'string' || codePoints(text) > limit || !printable(text)) {
      fail('delegation.invalid', `delegation ${what} must be printable text of at most ${limit} characters`);
    }
  }
  if (!delegator || !delegate) fail('delegation.invalid', 'a delegation needs a delegator and a delegate');
  return { delegator, delegate, limits };
}

function statusFromWire(value) {
  if (!Array.isArray(value) || value.length !== 2) fail('status.reference_invalid', 'status(7) must be an array [list, idx]');
  for (const item of value) {
    const v = int(item);
    if (v === null || v < 0n || v >= 2n ** 32n) fail('status.reference_invalid', 'status(7) items must be unsigned integers below 2^32');
  }
  return { list: Number(value[0]), idx: Number(value[1]) };
}

// --- the claims --------------------------------------------------------------------------------

const CLAIM_LABELS = new Set([1, 4, 5, 6, 8, -65537, -65538]);

function time(value, what) {
  const v = int(value);
  if (v === null || v < 0n || v >= TIME_LIMIT) fail('schema.invalid', `${what} must be an unsigned integer time below 2^40`);
  return Number(v);
}

/**
 * Decode the claims of a credential payload (credential.md section 3.5). The cnf key is
 * parsed, not loaded: loading it (the point on its curve) is verification step 9.
 * @param {Uint8Array} payload
 */
export function decodeClaims(payload) {
  const claims = decodeCbor(payload, { maxSize: MAX_CREDENTIAL_BYTES, maxDepth: 8 });
  labelledMap(claims, 'credential payload', {
    known: CLAIM_LABELS,
    required: [6, 4, 8, -65537],
    missingBy: { 8: 'binding.cnf_missing' },
  });
  const cnf = claims.get(8);
  if (!(cnf instanceof Map) || cnf.size !== 1 || !cnf.has(1)) fail('binding.cnf_missing', 'cnf(8) must hold exactly a COSE_Key(1)');
  let deviceKey;
  try {
    deviceKey = parseCoseKey(cnf.get(1));
  } catch (error) {
    if (error instanceof ReaderError) fail('binding.cnf_missing', `cnf(8) COSE_Key unusable: ${error.message}`);
    throw error;
  }
  if (deviceKey.kty !== 2 || deviceKey.crv !== 1) fail('binding.cnf_missing', 'cnf(8) device key must be P-256');
  if (claims.has(1) && typeof claims.get(1) !== 'string') fail('schema.invalid', 'iss(1) must be text');
  const iat = time(claims.get(6), 'iat(6)');
  const exp = time(claims.get(4), 'exp(4)');
  if (exp <= iat) fail('schema.invalid', 'exp(4) must be after iat(6)');
  const nbf = claims.has(5) ? time(claims.get(5), 'nbf(5)') : null;
  let card = claims.get(-65537);
  let statusWire;
  if (card instanceof Map && card.has(7)) {
    // The status reference travels in the card map but belongs to the credential: the
    // card is checked without it, then the reference (credential.md section 3.5).
    card = new Map(card);
    statusWire = card.get(7);
    card.delete(7);
  }
  const view = cardFromWire(card);
  const status = statusWire === undefined ? null : statusFromWire(statusWire);
  const delegation = claims.has(-65538) ? delegationFromWire(claims.get(-65538)) : null;
  return { iat, exp, nbf, iss: claims.get(1) ?? null, deviceKey, card: view, delegation, status };
}

/** The bundle file (credential.md section 6): the credentials it holds, not verified. */
export function decodeBundle(data) {
  const value = decodeCbor(data, { maxSize: 16 * MAX_CREDENTIAL_BYTES, maxDepth: 3 });
  if (!(value instanceof Map) || value.size !== 2 || !value.has(1) || !value.has(2)) {
    fail('schema.invalid', 'bundle must be {1: version, 2: [credentials]}');
  }
  if (value.get(1) !== 1) fail('schema.invalid', `bundle version ${String(value.get(1))} is not supported`);
  const credentials = value.get(2);
  if (!Array.isArray(credentials) || !credentials.every((c) => c instanceof Uint8Array)) {
    fail('schema.invalid', 'bundle credentials must be an array of byte strings');
  }
  if (credentials.length < 1 || credentials.length > 16) fail('schema.invalid', 'a bundle holds 1..16 credentials');
  return credentials.map(toHex);
}
