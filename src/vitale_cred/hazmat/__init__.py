"""Low-level layers: strict CBOR, COSE_Sign1, Base45, the QR envelope, zlib, APDUs,
and the NFC session crypto (ECDH, HKDF, AES-GCM).

Know what you do here. These functions parse and build bytes; they do not decide
whether anything is trustworthy. ``decode_sign1(...).payload`` is unverified data,
and nothing in this package checks an issuer, a validity period, a status list or a
replay. Use :class:`vitale_cred.Verifier` for that; use this package to build another
layer of the protocol, a test, or a tool.
"""
