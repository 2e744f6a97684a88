// Every refusal is one error code of spec/errors.md, carried by a ReaderError.
// Anything else that escapes (a TypeError, a library's own error) is a defect of
// this reader, never a verdict on the input.

export class ReaderError extends Error {
  /**
   * @param {string} code the error code of spec/errors.md, e.g. "cbor.duplicate_key"
   * @param {string} message informative text
   */
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'ReaderError';
    this.code = code;
  }
}

/**
 * Throw a ReaderError.
 * @param {string} code
 * @param {string} message
 * @returns {never}
 */
export function fail(code, message) {
  throw new ReaderError(code, message);
}
