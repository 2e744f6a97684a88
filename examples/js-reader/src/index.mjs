// A QR reader for e-carte Vitale presentations (spec/reader-profile.md).
export { ReaderError } from './errors.mjs';
export { base45Decode, decodeQrText, inflateExact } from './qr.mjs';
export { checkProfile, decodeCbor } from './cbor.mjs';
export { coseKeyFromBytes, decodeSign1, loadCoseKey, parseCoseKey, verifySign1 } from './cose.mjs';
export { decompressY } from './ec.mjs';
export { decodeBundle, decodeClaims } from './claims.mjs';
export { decodePresentationPayload } from './presentation.mjs';
export { TrustStore } from './trust.mjs';
export { Verifier, verifyPossession } from './verifier.mjs';
