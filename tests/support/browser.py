"""How tests start a browser: Debian's chromium (installed by `scripts/setup.sh
--dev`), never a downloaded one, with the flags this offline machine needs
(without the background-networking ones Chromium's connections are refused)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# a fake microphone (a beeping tone) whose permission prompt is accepted, and
# audio that may start without a click (the page test plays what it generates)
FAKE_MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
