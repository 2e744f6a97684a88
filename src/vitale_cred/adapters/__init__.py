"""Adapters to the outside world: PC/SC readers, QR images, PKCS#11 HSMs, local files.

Each one needs an optional extra (``pcsc``, ``qr``, ``hsm``) or touches the file
system; the protocol modules never import them.
"""
