"""python-cwt and pycose timed on our presentation, in their own interpreter.

Run by ``benchmarks/suite.py`` with the interpreter of ``VITALE_PYCOSE_PYTHON``
(python-cwt 3.3 and pycose 1.1 decode only with cbor2 5.x): reads the presentation
and keys as JSON on stdin, prints the timings as one JSON line.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from itertools import repeat

from _timing import interleave as _interleave


def calls(fn):
    def make(n):
        def run():
            for _ in repeat(None, n):
                fn()

        return run

    return make


def main():
    spec = json.loads(sys.stdin.read())
    h = bytes.fromhex
    outer, inner = h(spec["outer"]), h(spec["inner"])
    ix, iy, kid = h(spec["issuer_x"]), h(spec["issuer_y"]), h(spec["kid"])
    notes, versions, makers = [], {"python": sys.version.split()[0]}, {}
    for dist in ("cryptography", "cbor2", "cwt", "pycose", "vitale-cred"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    import cbor2
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    curve, ecdsa = ec.SECP256R1(), ec.ECDSA(hashes.SHA256())
    load = ec.EllipticCurvePublicKey.from_encoded_point
    point = h(spec["device_point"])
    issuer = load(curve, h(spec["issuer_point"]))
    device = load(curve, point)
    i_tbs, i_der = h(spec["inner_tbs"]), h(spec["inner_der"])
    o_tbs, o_der = h(spec["outer_tbs"]), h(spec["outer_der"])

    def floor():
        issuer.verify(i_der, i_tbs, ecdsa)
        load(curve, point).verify(o_der, o_tbs, ecdsa)

    makers["floor.es256.verify"] = calls(lambda: device.verify(o_der, o_tbs, ecdsa))
    makers["floor.presentation"] = calls(floor)

    def xy(cose_key):
        # Neither peer loads a compressed COSE_Key: decompress with cryptography.
        pub = load(curve, (b"\x03" if cose_key[-3] else b"\x02") + cose_key[-2])
        numbers = pub.public_numbers()
        return numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")

    try:
        from cryptography import x509

        from vitale_cred.clock import FixedClock
        from vitale_cred.hazmat import cose
        from vitale_cred.trust import TrustStore
        from vitale_cred.verify import Policy, Verifier

        trust = TrustStore(
            roots=[x509.load_pem_x509_certificate(spec["root_pem"].encode())],
            certificates=[x509.load_pem_x509_certificate(spec["issuer_pem"].encode())],
        )
        clock = FixedClock(spec["now"])
        tokens = [h(t) for t in spec["tokens"]]
        Verifier(Policy(trust=trust, clock=clock, issuer_cache_size=0)).verify_presentation(outer)

        def cold(n):
            chunks = []
            for start in range(0, n, len(tokens)):
                v = Verifier(Policy(trust=trust, clock=clock, issuer_cache_size=0))
                chunks.append((v.verify_presentation, tokens[: min(len(tokens), n - start)]))

            def run():
                for verify, items in chunks:
                    for token in items:
                        verify(token)

            return run

        ikey = trust.resolve(cose.decode_sign1(inner), spec["now"]).key
        dkey = cose.CoseKey.from_map(cbor2.loads(cose.decode_sign1(inner).payload)[8][1])
        dkey = dkey.verifying_key()
        makers["ours.verify.token.cold"] = cold
        makers["ours.cose.verify.credential"] = calls(lambda: cose.decode_sign1(inner).verify(ikey))
        makers["ours.cose.verify.presentation"] = calls(
            lambda: cose.decode_sign1(outer).verify(dkey)
        )
    except Exception as exc:
        notes.append(f"vitale_cred not usable in the peer interpreter ({exc!r})")

    try:
        import cwt
        from cwt import COSE, COSEKey

        ctx = COSE.new()
        cwt_issuer = COSEKey.new({1: 2, -1: 1, -2: ix, -3: iy, 3: -7, 2: kid})

        def cwt_device(claims):
            x, y = xy(claims[8][1])
            return COSEKey.new({1: 2, -1: 1, -2: x, -3: y, 3: -7})

        cwt_dev = cwt_device(cwt.decode(inner, cwt_issuer))
        try:
            cwt.decode(outer, cwt_dev)
            notes.append("python-cwt: cwt.decode accepted the presentation")
        except Exception as exc:
            notes.append(
                "python-cwt: cwt.decode refuses our kid-less presentation "
                f"({type(exc).__name__}: {exc}); the outer COSE_Sign1 is verified with "
                "its COSE layer (cwt.COSE.decode), the inner credential with cwt.decode"
            )
        ctx.decode(outer, cwt_dev)

        def cwt_pipeline():
            credential = cbor2.loads(cbor2.loads(outer).value[2])[1]
            claims = cwt.decode(credential, cwt_issuer)
            ctx.decode(outer, cwt_device(claims))

        cwt_pipeline()
        makers["cwt.inner.cose"] = calls(lambda: ctx.decode(inner, cwt_issuer))
        makers["cwt.inner.cwt"] = calls(lambda: cwt.decode(inner, cwt_issuer))
        makers["cwt.outer.cose"] = calls(lambda: ctx.decode(outer, cwt_dev))
        makers["cwt.presentation"] = calls(cwt_pipeline)
    except Exception as exc:
        notes.append(f"python-cwt not usable here ({exc!r}): its rows are left out")

    try:
        from pycose.keys import EC2Key
        from pycose.keys.curves import P256
        from pycose.messages import Sign1Message

        pyc_issuer = EC2Key(crv=P256, x=ix, y=iy)

        def pyc_verify(data, key):
            message = Sign1Message.decode(data)
            message.key = key
            if not message.verify_signature():
                raise ValueError("pycose: signature does not verify")
            return message

        def pyc_device(payload):
            x, y = xy(cbor2.loads(payload)[8][1])
            return EC2Key(crv=P256, x=x, y=y)

        pyc_dev = pyc_device(pyc_verify(inner, pyc_issuer).payload)
        pyc_verify(outer, pyc_dev)

        def pyc_pipeline():
            message = Sign1Message.decode(outer)
            credential = pyc_verify(cbor2.loads(message.payload)[1], pyc_issuer)
            message.key = pyc_device(credential.payload)
            if not message.verify_signature():
                raise ValueError("pycose: signature does not verify")

        pyc_pipeline()
        makers["pycose.inner"] = calls(lambda: pyc_verify(inner, pyc_issuer))
        makers["pycose.outer"] = calls(lambda: pyc_verify(outer, pyc_dev))
        makers["pycose.presentation"] = calls(pyc_pipeline)
    except Exception as exc:
        notes.append(f"pycose not usable here ({exc!r}): its rows are left out")

    if any(name.startswith(("cwt.", "pycose.")) for name in makers):
        results = _interleave(makers, spec["rounds"], spec["batch_seconds"], spec["warmup"])
    else:
        results = {}
    print(json.dumps({"results": results, "notes": notes, "versions": versions}))


main()
