"""The reception page in a real browser: Debian's Chromium driven by Playwright (the
system browser, no download), its fake camera playing a video of a phone showing a
presentation QR code, then scanner keystrokes, then a replayed code.

Screenshots go to ``$VITALE_TEST_ARTIFACTS/reader-page`` (default
``build/test-artifacts/reader-page``). Skipped when Chromium or Playwright is missing,
except under CI, where that fails.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest

from service._world import ROOT, make_pki, serving, write_config
from vitale_cred.service.app import ReaderService
from vitale_cred.service.config import load_config

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("VITALE_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts"))


def _require() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append("chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install playwright)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run under CI: {', '.join(missing)}")
        pytest.skip(", ".join(missing))


def phone_video(qr: str, path: Path, *, frames: int = 24) -> None:
    """A Y4M video (raw I420, 640x480, 10 fps) of a phone whose screen shows ``qr``,
    drifting a few pixels from frame to frame as a hand-held phone does."""
    import segno
    from PIL import Image, ImageDraw

    buffer = io.BytesIO()
    segno.make_qr(qr, error="Q", mode="alphanumeric", boost_error=False).save(
        buffer, kind="png", scale=3, border=3
    )
    buffer.seek(0)
    code = Image.open(buffer).convert("L")
    side = code.width
    width, height = 640, 480
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for n in range(frames):
            dx, dy = (n % 6) - 3, ((n // 2) % 4) - 2
            frame = Image.new("L", (width, height), 70)
            draw = ImageDraw.Draw(frame)
            left, top = (width - side) // 2 + dx, (height - side) // 2 + dy
            draw.rounded_rectangle(
                (left - 28, top - 48, left + side + 28, top + side + 56), radius=26, fill=15
            )
            draw.rectangle((left - 10, top - 18, left + side + 10, top + side + 20), fill=245)
            frame.paste(code, (left, top))
            out.write(b"FRAME\n")
            out.write(frame.tobytes())
            out.write(bytes([128]) * (width * height // 2))  # U and V planes: grey


def test_the_page_verifies_by_camera_and_by_scanner_and_refuses_a_replay(tmp_path: Path) -> None:
    _require()
    from playwright.sync_api import expect, sync_playwright

    pki = make_pki(tmp_path / "pki")
    config = load_config(write_config(tmp_path, pki))
    camera_qr, scanner_qr = pki.qr(0), pki.qr(4)
    video = tmp_path / "phone.y4m"
    phone_video(camera_qr, video)
    shots = ARTIFACTS / "reader-page"
    shots.mkdir(parents=True, exist_ok=True)
    with serving(ReaderService(config)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.grant_permissions(["camera"], origin=url)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}/?camera=1")

            # 1. The webcam: the phone's QR code is read from the video, verified.
            expect(page.locator("#who")).to_have_text("Pierre Louis MARTIN", timeout=20_000)
            expect(page.locator("#verdict")).to_have_attribute("data-state", "ok")
            expect(page.locator("#verdict")).to_contain_text("Droits vérifiés")
            expect(page.locator("#verdict")).to_contain_text("Coverage verified")
            expect(page.locator("#verdict")).to_contain_text("1 78 04 75 056 123 27")
            page.screenshot(path=str(shots / "1-camera-verified.png"), full_page=True)
            page.locator("#camera").click()  # the camera off: the next steps use the scanner
            expect(page.locator("#video")).to_be_hidden()

            # 2. The scanner types the QR text and Enter into the field that has focus.
            expect(page.locator("#scan")).to_be_focused()
            page.keyboard.type(scanner_qr)
            page.keyboard.press("Enter")
            expect(page.locator("#who")).to_have_text("Inès MARTIN", timeout=10_000)
            expect(page.locator("#verdict")).to_contain_text("8 16 50 99 350 012 11")  # INS (NIA)
            expect(page.locator("#scan")).to_have_value("")
            page.screenshot(path=str(shots / "2-scanner-verified.png"), full_page=True)

            # 3. The same code again: refused as a replay, in French and English.
            page.keyboard.type(scanner_qr)
            page.keyboard.press("Enter")
            expect(page.locator("#code")).to_have_text("presentation.replayed", timeout=10_000)
            expect(page.locator("#verdict")).to_have_attribute("data-state", "refused")
            expect(page.locator("#reason")).to_contain_text("déjà été utilisé")
            expect(page.locator("#verdict")).to_contain_text("already used")
            expect(page.locator("#who")).to_have_count(0)
            page.screenshot(path=str(shots / "3-replay-refused.png"), full_page=True)

            # Next patient: nothing of the previous one stays in the page or its storage.
            page.keyboard.press("Escape")
            expect(page.locator("#verdict")).to_have_attribute("data-state", "idle")
            kept = page.evaluate(
                "() => document.body.innerText + JSON.stringify(localStorage)"
                " + JSON.stringify(sessionStorage) + document.cookie"
            )
            assert "MARTIN" not in kept and "178047505612327" not in kept
            expect(page.locator("#service")).to_have_attribute("data-status", "ok")
            page.screenshot(path=str(shots / "4-next-patient.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
