"""The reader service's HTTP API: every endpoint and error, checked against the OpenAPI
document (``spec/json/reader-service.openapi.json``) and the verdict schema."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT202012

from service._world import NAMES, NIR, ROOT, Pki, make_pki, serving, write_config
from vitale_cred.service.app import MaskingFilter, ReaderService
from vitale_cred.service.config import load_config
from vitale_cred.service.openapi import document

OPENAPI_FILE = ROOT / "spec" / "json" / "reader-service.openapi.json"
VERDICT_SCHEMA = json.loads((ROOT / "spec" / "json" / "verdict.schema.json").read_text("utf-8"))
TOKEN = "t0ken-for-tests-0123456789abcdef"


# --- the OpenAPI document as a validator of every response ------------------------------


class Checker:
    """Validates responses against the committed OpenAPI document."""

    def __init__(self) -> None:
        self.doc = json.loads(OPENAPI_FILE.read_text("utf-8"))
        resource = referencing.Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry = referencing.Registry().with_resource("urn:openapi", resource)
        self.seen: set[tuple[str, str, str]] = set()

    def check(self, path: str, response: httpx.Response) -> Any:
        method = response.request.method.lower()
        operation = self.doc["paths"][path][method]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {path}: undocumented {status}"
        self.seen.add((path, method, status))
        spec = operation["responses"][status]
        content = spec.get("content")
        if content is None:
            assert response.content == b"", f"{path} {status} has a body"
            return None
        media = response.headers["content-type"].split(";")[0]
        assert media in content, f"{path} {status}: undocumented {media}"
        if media != "application/json":
            return None if not response.is_closed else response.text
        body = response.json()
        schema = (
            {"$ref": "urn:openapi#" + content[media]["schema"]["$ref"][1:]}
            if "$ref" in content[media]["schema"]
            else content[media]["schema"]
        )
        validator = jsonschema.Draft202012Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(body), key=lambda e: e.path)
        assert not errors, f"{path} {status}: {errors[0].message} in {body}"
        if schema.get("$ref", "").endswith("/Verdict"):
            jsonschema.validate(body, VERDICT_SCHEMA)
        return body


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[tuple[str, ReaderService]]:
    directory = tmp_path_factory.mktemp("api")
    config = load_config(
        write_config(directory, pki, "[fetch]\nretry = 5\n[nfc]\nkeep = 5\nkeep_seconds = 60\n")
    )
    service = ReaderService(config)
    with serving(service) as url:
        yield url, service


@pytest.fixture
def client(base: tuple[str, ReaderService]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base[0], timeout=10) as c:
        yield c


def test_the_committed_openapi_document_is_what_the_service_serves(
    client: httpx.Client, checker: Checker
) -> None:
    served = client.get("/openapi.json")
    checker.check("/openapi.json", served)
    assert served.json() == checker.doc == json.loads(json.dumps(document()))
    jsonschema.Draft202012Validator.check_schema(checker.doc["components"]["schemas"]["Verdict"])


def test_the_shipped_verdict_schema_is_the_spec_one() -> None:
    shipped = ROOT / "src/vitale_cred/service/static/verdict.schema.json"
    assert json.loads(shipped.read_text("utf-8")) == VERDICT_SCHEMA


# --- POST /v1/verify/qr --------------------------------------------------------------------


def test_verify_qr_verifies_then_refuses_the_replay_and_a_forgery(
    client: httpx.Client, checker: Checker, pki: Pki
) -> None:
    qr = pki.qr(4)
    first = checker.check("/v1/verify/qr", client.post("/v1/verify/qr", json={"qr": qr}))
    assert first["ok"] is True
    assert first["presentation"]["beneficiary_index"] == 4
    assert first["presentation"]["beneficiary"]["given_names"] == ["Inès"]
    again = checker.check("/v1/verify/qr", client.post("/v1/verify/qr", json={"qr": qr}))
    assert (again["ok"], again["code"]) == (False, "presentation.replayed")
    forged = checker.check("/v1/verify/qr", client.post("/v1/verify/qr", json={"qr": pki.forged()}))
    assert forged["code"] == "binding.device_signature_invalid"
    garbage = checker.check("/v1/verify/qr", client.post("/v1/verify/qr", json={"qr": "hello"}))
    assert garbage["code"] == "qr.bad_prefix"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"content": b'{"qr": "x"}', "headers": {"Content-Type": "text/plain"}},
            415,
            "api.unsupported_media_type",
        ),
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "api.bad_request",
        ),
        ({"json": {"qr": 1}}, 400, "api.bad_request"),
        ({"json": {"qr": "x", "more": 1}}, 400, "api.bad_request"),
        ({"json": ["VC1:"]}, 400, "api.bad_request"),
        ({"json": {"qr": "A" * 20_000}}, 413, "api.too_large"),
    ],
    ids=["media-type", "not-json", "qr-not-text", "extra-key", "not-object", "too-large"],
)
def test_verify_qr_errors(
    client: httpx.Client, checker: Checker, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/v1/verify/qr", **kwargs)
    assert response.status_code == status
    assert checker.check("/v1/verify/qr", response)["error"]["code"] == code


def test_a_chunked_body_over_the_limit_is_refused(client: httpx.Client, checker: Checker) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"qr": "'
        for _ in range(40):
            yield b"A" * 1000
        yield b'"}'

    response = client.post(
        "/v1/verify/qr", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    checker.check("/v1/verify/qr", response)


# --- POST /v1/verify/image --------------------------------------------------------------------


def _png(*texts: str, size: tuple[int, int] = (640, 480)) -> bytes:
    import segno
    from PIL import Image

    frame = Image.new("L", size, 255)
    left = 10
    for text in texts:
        buffer = io.BytesIO()
        segno.make_qr(text, error="Q", mode="alphanumeric").save(buffer, kind="png", scale=2)
        buffer.seek(0)
        code = Image.open(buffer).convert("L")
        frame.paste(code, (left, 10))
        left += code.width + 10
    out = io.BytesIO()
    frame.save(out, format="PNG")
    return out.getvalue()


def test_verify_image_reads_the_code_and_ignores_it_when_asked(
    client: httpx.Client, checker: Checker, pki: Pki
) -> None:
    image = _png(pki.qr(1))
    response = client.post("/v1/verify/image", content=image, headers={"Content-Type": "image/png"})
    verdict = checker.check("/v1/verify/image", response)
    assert verdict["ok"] is True and verdict["presentation"]["beneficiary_index"] == 1
    digest = response.headers["X-Vitale-Qr-Digest"]
    same = client.post(
        "/v1/verify/image",
        content=image,
        headers={"Content-Type": "image/png", "X-Vitale-Ignore": digest},
    )
    assert same.status_code == 204 and same.headers["X-Vitale-Qr"] == "same"
    checker.check("/v1/verify/image", same)
    replay = client.post("/v1/verify/image", content=image, headers={"Content-Type": "image/png"})
    assert checker.check("/v1/verify/image", replay)["code"] == "presentation.replayed"


def test_verify_image_without_a_code_and_with_two(
    client: httpx.Client, checker: Checker, pki: Pki
) -> None:
    blank = client.post("/v1/verify/image", content=_png(), headers={"Content-Type": "image/png"})
    assert blank.status_code == 204 and blank.headers["X-Vitale-Qr"] == "none"
    checker.check("/v1/verify/image", blank)
    two = client.post(
        "/v1/verify/image",
        content=_png("VC1:AAA", "VC1:BBB", size=(800, 300)),
        headers={"Content-Type": "image/png"},
    )
    assert checker.check("/v1/verify/image", two)["code"] == "qr.malformed"


def test_verify_image_errors(
    base: tuple[str, ReaderService], client: httpx.Client, checker: Checker
) -> None:
    cases = [
        (b"not an image", "image/png", 400, "api.bad_image"),
        (_png(), "image/gif", 415, "api.unsupported_media_type"),
        (_png(size=(5000, 4000)), "image/png", 413, "api.too_large"),
        (b"\0" * (5 * 1024 * 1024), "image/png", 413, "api.too_large"),
    ]
    for body, media, status, code in cases:
        response = client.post("/v1/verify/image", content=body, headers={"Content-Type": media})
        assert response.status_code == status, (media, response.text)
        assert checker.check("/v1/verify/image", response)["error"]["code"] == code


# --- NFC taps, events ---------------------------------------------------------------------------


def test_nfc_last_and_the_event_stream(
    base: tuple[str, ReaderService], client: httpx.Client, checker: Checker, pki: Pki
) -> None:
    url, service = base
    empty = checker.check("/v1/nfc/last", client.get("/v1/nfc/last"))
    assert empty == {"enabled": False, "events": []}
    for bad in ("0", "6", "x"):
        response = client.get("/v1/nfc/last", params={"count": bad})
        assert response.status_code == 400
        checker.check("/v1/nfc/last", response)
    received: list[str] = []

    def follow() -> None:
        with httpx.Client(base_url=url, timeout=10) as c, c.stream("GET", "/v1/events") as stream:
            checker.check("/v1/events", stream)
            for line in stream.iter_lines():
                received.append(line)
                if line.startswith("data:"):
                    return

    thread = threading.Thread(target=follow)
    thread.start()
    deadline = time.monotonic() + 5
    while service.bus.subscribers == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    verdict = service.verify_text(pki.qr(2), "nfc")
    service.bus.publish("nfc", {"reader": "Test Reader 00 00", "verdict": verdict})
    thread.join(timeout=10)
    data = json.loads(next(line for line in received if line.startswith("data:"))[5:])
    assert "event: nfc" in received
    assert data["verdict"]["presentation"]["beneficiary_index"] == 2
    taps = checker.check("/v1/nfc/last", client.get("/v1/nfc/last", params={"count": 5}))
    assert [t["reader"] for t in taps["events"]] == ["Test Reader 00 00"]


# --- health, readiness, metrics ------------------------------------------------------------------


def test_health_ready_and_metrics(client: httpx.Client, checker: Checker, pki: Pki) -> None:
    client.post("/v1/verify/qr", json={"qr": pki.qr(0)})
    health = checker.check("/v1/health", client.get("/v1/health"))
    assert health["status"] == "ok" and health["reasons"] == []
    assert health["replay_store"]["ok"] is True and health["replay_store"]["entries"] >= 1
    ready = client.get("/v1/ready")
    assert ready.status_code == 200
    checker.check("/v1/ready", ready)
    metrics = client.get("/metrics")
    checker.check("/metrics", metrics)
    text = metrics.text
    assert 'vitale_reader_verifications_total{channel="qr",code="ok"}' in text
    assert 'vitale_reader_verifications_total{channel="qr",code="presentation.replayed"}' in text
    assert 'vitale_reader_verification_seconds_bucket{channel="qr",le="+Inf"}' in text
    assert "# TYPE vitale_reader_verification_seconds histogram" in text
    assert "process_resident_memory_bytes" in text


def test_unknown_routes_and_methods_answer_json(client: httpx.Client) -> None:
    missing = client.get("/v1/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "api.not_found"
    wrong = client.get("/v1/verify/qr")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "api.method_not_allowed"


def test_the_page_is_served_with_a_strict_policy(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    for name in ("page.js", "page.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert "/static/page.js" in page.text and "http" not in page.text.split("<body>")[1]


# --- security: hosts, origins, token, rate limit ---


def test_a_foreign_host_header_and_a_foreign_origin_are_refused(
    client: httpx.Client, checker: Checker, pki: Pki
) -> None:
    rebinding = client.get("/v1/health", headers={"Host": "evil.example"})
    assert rebinding.status_code == 421
    assert checker.check("/v1/health", rebinding)["error"]["code"] == "api.bad_host"
    cross = client.post(
        "/v1/verify/qr", json={"qr": pki.qr(0)}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert checker.check("/v1/verify/qr", cross)["error"]["code"] == "api.origin_refused"
    preflight = client.options("/v1/verify/qr", headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 403
    port = client.base_url.port
    same = client.get("/v1/health", headers={"Origin": f"http://127.0.0.1:{port}"})
    assert same.status_code == 200


def test_token_cors_and_rate_limit(tmp_path: Path, pki: Pki, checker: Checker) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    config = load_config(
        write_config(
            tmp_path,
            pki,
            f'[server]\napi_token_file = "{tmp_path / "token"}"\n'
            'cors_origins = ["https://pharmacy.example"]\nrate_limit = 1\nrate_burst = 3\n',
        )
    )
    with serving(ReaderService(config)) as url, httpx.Client(base_url=url, timeout=10) as client:
        missing = client.get("/v1/health")
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith(
            "Bearer"
        )
        assert checker.check("/v1/health", missing)["error"]["code"] == "api.unauthorized"
        wrong = client.get("/v1/health", headers={"Authorization": "Bearer " + "x" * 32})
        assert wrong.status_code == 401
        assert client.get("/").status_code == 200  # the page itself holds nothing
        auth = {"Authorization": f"Bearer {TOKEN}", "Origin": "https://pharmacy.example"}
        preflight = client.options(
            "/v1/verify/qr",
            headers={"Origin": "https://pharmacy.example", "Access-Control-Request-Method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://pharmacy.example"
        answers = [client.get("/v1/health", headers=auth) for _ in range(5)]
        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        assert answers[0].headers["access-control-allow-origin"] == "https://pharmacy.example"
        limited = answers[-1]
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert checker.check("/v1/health", limited)["error"]["code"] == "api.rate_limited"
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code in (200, 429)


# --- logs ---


def test_logs_never_carry_the_nir_or_a_name(
    client: httpx.Client, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for beneficiary in range(5):
        qr = pki.qr(beneficiary)
        assert client.post("/v1/verify/qr", json={"qr": qr}).json()["ok"]
        client.post("/v1/verify/qr", json={"qr": qr})
    client.post("/v1/verify/qr", json={"qr": pki.forged()})
    text = caplog.text
    assert "verdict qr ok nir=1*************" in text
    assert NIR not in text and NIR[:13] not in text
    for name in NAMES:
        assert name not in text, name


def test_the_masking_filter_masks_nir_shaped_digits() -> None:
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "holder %s and %s",
        ("178047505612327", "1 78 04 75 056 123 27"),
        None,
    )
    MaskingFilter().filter(record)
    message = record.getMessage()
    assert "178047505612327" not in message and "78 04 75" not in message
    assert message.startswith("holder 1*************")
