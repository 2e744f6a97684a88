"""The OpenAPI 3.1 document of the reader service, generated from this module.

``python -m vitale_cred.service.openapi`` prints it; the committed copy is
``spec/json/reader-service.openapi.json`` and a test checks that it equals what the
running service serves at ``/openapi.json``. The verdict schema is the one of
``spec/json/verdict.schema.json`` (shipped as ``static/verdict.schema.json``),
embedded under ``components/schemas/Verdict``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Final

from vitale_cred.service import VERSION

__all__ = ["API_ERROR_CODES", "document"]

_VERDICT_FILE: Final = Path(__file__).resolve().parent / "static" / "verdict.schema.json"
_VERDICT_REF: Final = "#/components/schemas/Verdict"

#: Every ``api.*`` code of an error response, with its HTTP status.
API_ERROR_CODES: Final = {
    "api.bad_request": 400,
    "api.bad_image": 400,
    "api.unauthorized": 401,
    "api.origin_refused": 403,
    "api.not_found": 404,
    "api.method_not_allowed": 405,
    "api.too_large": 413,
    "api.unsupported_media_type": 415,
    "api.bad_host": 421,
    "api.rate_limited": 429,
    "api.internal": 500,
    "api.unavailable": 501,
}


def _verdict_schema() -> dict[str, Any]:
    """The verdict schema, its ``$defs`` references rebased under the component."""
    schema = json.loads(_VERDICT_FILE.read_text("utf-8"))
    schema.pop("$schema", None)
    schema.pop("$id", None)

    def rebase(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rebase(v) for k, v in node.items()}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                out["$ref"] = _VERDICT_REF + ref[1:]
            return out
        if isinstance(node, list):
            return [rebase(v) for v in node]
        return node

    rebased: dict[str, Any] = rebase(schema)
    return rebased


def _error(status: int, description: str) -> dict[str, Any]:
    codes = sorted(c for c, s in API_ERROR_CODES.items() if s == status)
    return {
        "description": f"{description} ({', '.join(codes)})",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}},
    }


_JSON_VERDICT: Final = {"application/json": {"schema": {"$ref": _VERDICT_REF}}}
_HEALTH: Final = {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}


def _guarded(responses: dict[str, Any]) -> dict[str, Any]:
    """The responses every /v1 route may give besides its own."""
    out = dict(responses)
    out.setdefault("401", _error(401, "the API token is required and was not given"))
    out.setdefault("403", _error(403, "a cross-origin request from an origin not allowed"))
    out.setdefault("421", _error(421, "a Host header the service does not answer for"))
    out.setdefault("429", _error(429, "the client exceeded the rate limit; see Retry-After"))
    return out


def _paths() -> dict[str, Any]:
    return {
        "/v1/verify/qr": {
            "post": {
                "operationId": "verifyQr",
                "summary": "Verify the text of a presentation QR code",
                "description": (
                    "The text a keyboard-wedge scanner types (the QR text, `VC1:` and "
                    "Base45). Every verification answers 200 with a verdict: `ok` true "
                    "with the presentation, or false with the refusal's stable code "
                    "(spec/errors.md). A token is accepted once: showing it again is "
                    "refused with `presentation.replayed`."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/QrRequest"}}
                    },
                },
                "responses": _guarded(
                    {
                        "200": {"description": "the verdict", "content": _JSON_VERDICT},
                        "400": _error(400, 'the body is not {"qr": string}'),
                        "413": _error(413, "the body is larger than server.max_body_bytes"),
                        "415": _error(415, "the body is not application/json"),
                    }
                ),
            }
        },
        "/v1/verify/image": {
            "post": {
                "operationId": "verifyImage",
                "summary": "Find the QR code in an image (a camera frame) and verify it",
                "description": (
                    "The body is the image itself (JPEG, PNG, WebP or BMP), decoded with "
                    "zxing-cpp. 204 when the image holds no QR code (send the next frame), "
                    "or when it holds the code whose digest the client sent in "
                    "`X-Vitale-Ignore` (the code it already has a verdict for); otherwise "
                    "200 with the verdict and the code's digest in `X-Vitale-Qr-Digest`."
                ),
                "parameters": [
                    {
                        "name": "X-Vitale-Ignore",
                        "in": "header",
                        "required": False,
                        "description": "digest of a code not to verify again",
                        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        media: {"schema": {"type": "string", "contentMediaType": media}}
                        for media in ("image/jpeg", "image/png", "image/webp", "image/bmp")
                    },
                },
                "responses": _guarded(
                    {
                        "200": {
                            "description": "the verdict of the code found",
                            "headers": {
                                "X-Vitale-Qr-Digest": {
                                    "description": "digest of the code's text",
                                    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                                }
                            },
                            "content": _JSON_VERDICT,
                        },
                        "204": {
                            "description": "no QR code, or the code to ignore",
                            "headers": {
                                "X-Vitale-Qr": {
                                    "description": "none, or same",
                                    "schema": {"enum": ["none", "same"]},
                                }
                            },
                        },
                        "400": _error(400, "the body is not a readable image"),
                        "413": _error(
                            413, "larger than server.max_image_bytes or max_image_pixels"
                        ),
                        "415": _error(415, "not an accepted image type"),
                        "501": _error(501, "zxing-cpp or Pillow is not installed"),
                    }
                ),
            }
        },
        "/v1/nfc/last": {
            "get": {
                "operationId": "nfcLast",
                "summary": "The last NFC taps and their verdicts, newest first",
                "description": (
                    "Taps are kept at most nfc.keep_seconds and nfc.keep of them: they "
                    "hold personal data."
                ),
                "parameters": [
                    {
                        "name": "count",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "default": 1},
                    }
                ],
                "responses": _guarded(
                    {
                        "200": {
                            "description": "the taps",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/NfcTaps"}
                                }
                            },
                        },
                        "400": _error(400, "count out of range"),
                    }
                ),
            }
        },
        "/v1/events": {
            "get": {
                "operationId": "events",
                "summary": "Server-sent events: each NFC tap's verdict as it happens",
                "description": (
                    "`text/event-stream`; each event is `event: nfc` with `data` an "
                    "NfcEvent in JSON; a comment line every 15 s keeps the stream open."
                ),
                "responses": _guarded(
                    {
                        "200": {
                            "description": "the stream",
                            "content": {
                                "text/event-stream": {
                                    "schema": {"type": "string"},
                                    "itemSchema": {"$ref": "#/components/schemas/NfcEvent"},
                                }
                            },
                        }
                    }
                ),
            }
        },
        "/v1/health": {
            "get": {
                "operationId": "health",
                "summary": "Liveness, and what does not work and why",
                "description": (
                    "Always 200 while the process runs. `status` is `failing` when no "
                    "verdict can be trusted (the trust list missing or stale, the replay "
                    "store or the clock broken), `degraded` when a status list is stale "
                    "or the NFC watcher is down; `reasons` says why."
                ),
                "responses": _guarded({"200": {"description": "the report", "content": _HEALTH}}),
            }
        },
        "/v1/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: 503 while the service is failing",
                "responses": _guarded(
                    {
                        "200": {"description": "ready (ok or degraded)", "content": _HEALTH},
                        "503": {"description": "failing: see reasons", "content": _HEALTH},
                    }
                ),
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text exposition format 0.0.4)",
                "responses": _guarded(
                    {
                        "200": {
                            "description": "verifications by code, latency histogram, list ages",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        }
                    }
                ),
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": _guarded(
                    {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    }
                ),
            }
        },
    }


def _components() -> dict[str, Any]:
    nullable_int = {"type": ["integer", "null"]}
    nullable_str = {"type": ["string", "null"]}
    return {
        "securitySchemes": {
            "token": {
                "type": "http",
                "scheme": "bearer",
                "description": (
                    "Required when server.api_token_file (or VITALE_CRED_API_TOKEN) is "
                    "set, and always off loopback."
                ),
            }
        },
        "schemas": {
            "Verdict": _verdict_schema(),
            "QrRequest": {
                "type": "object",
                "additionalProperties": False,
                "required": ["qr"],
                "properties": {"qr": {"type": "string", "description": "the QR text"}},
            },
            "ApiError": {
                "type": "object",
                "additionalProperties": False,
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["code", "message"],
                        "properties": {
                            "code": {"enum": sorted(API_ERROR_CODES)},
                            "message": {"type": "string"},
                        },
                    }
                },
            },
            "NfcEvent": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "kind", "at", "reader", "verdict"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "kind": {"const": "nfc"},
                    "at": {"type": "integer", "description": "POSIX seconds"},
                    "reader": {"type": "string", "description": "PC/SC reader name"},
                    "verdict": {"$ref": _VERDICT_REF},
                },
            },
            "NfcTaps": {
                "type": "object",
                "additionalProperties": False,
                "required": ["enabled", "events"],
                "properties": {
                    "enabled": {"type": "boolean"},
                    "events": {"type": "array", "items": {"$ref": "#/components/schemas/NfcEvent"}},
                },
            },
            "ListHealth": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "name",
                    "kind",
                    "source",
                    "ok",
                    "reason",
                    "fetched_at",
                    "fetch_age",
                    "list_age",
                    "last_attempt",
                    "last_error",
                    "detail",
                ],
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"enum": ["trust", "status"]},
                    "source": {"type": "string"},
                    "ok": {"type": "boolean"},
                    "reason": nullable_str,
                    "fetched_at": nullable_int,
                    "fetch_age": nullable_int,
                    "list_age": nullable_int,
                    "last_attempt": nullable_int,
                    "last_error": nullable_str,
                    "detail": {"type": "object"},
                },
            },
            "Health": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "status",
                    "reasons",
                    "version",
                    "uptime",
                    "lists",
                    "replay_store",
                    "trust_state",
                    "clock",
                    "nfc",
                ],
                "properties": {
                    "status": {"enum": ["ok", "degraded", "failing"]},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "version": {"type": "string"},
                    "uptime": {"type": "number", "minimum": 0},
                    "lists": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ListHealth"},
                    },
                    "replay_store": {
                        "type": "object",
                        "required": ["path", "ok", "entries"],
                        "properties": {
                            "path": {"type": "string"},
                            "ok": {"type": "boolean"},
                            "entries": nullable_int,
                            "reason": {"type": "string"},
                        },
                    },
                    "trust_state": {
                        "type": "object",
                        "required": ["path"],
                        "properties": {"path": {"type": "string"}},
                    },
                    "clock": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["ok", "reason"],
                        "properties": {"ok": {"type": "boolean"}, "reason": nullable_str},
                    },
                    "nfc": {
                        "type": "object",
                        "required": ["enabled"],
                        "properties": {
                            "enabled": {"type": "boolean"},
                            "running": {"type": "boolean"},
                            "readers": {"type": "array", "items": {"type": "string"}},
                            "taps": {"type": "integer"},
                            "last_error": nullable_str,
                        },
                    },
                },
            },
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "vitale-cred reader service",
            "version": VERSION,
            "description": (
                "One local process that practice software calls to verify presentations "
                "of the dematerialised health-insurance card: QR text from a "
                "keyboard-wedge scanner, camera frames, NFC taps on PC/SC readers. "
                "Operator's guide: docs/reader-service.md."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "http://127.0.0.1:8765"}],
        "security": [{"token": []}, {}],
        "paths": _paths(),
        "components": _components(),
    }


def main() -> int:
    """Print the document (what ``spec/json/reader-service.openapi.json`` holds)."""
    sys.stdout.write(json.dumps(document(), ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
