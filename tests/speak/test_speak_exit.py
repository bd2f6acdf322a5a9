"""The CLI exits cleanly after pocket-tts' generation threads, which pocket-tts never joins."""

from __future__ import annotations

import threading
import time

from natiq.cli.main import wait_for_library_threads


def _pocket_tts_threads() -> list[threading.Thread]:
    return [
        thread
        for thread in threading.enumerate()
        if (getattr(getattr(thread, "_target", None), "__module__", "") or "").startswith(
            "pocket_tts."
        )
    ]


def test_exit_waits_for_a_library_thread_and_not_for_other_daemons() -> None:
    def generation() -> None:
        time.sleep(0.3)

    def unrelated() -> None:
        time.sleep(30)

    generation.__module__ = "pocket_tts.models.tts_model"
    library = threading.Thread(target=generation, daemon=True)
    other = threading.Thread(target=unrelated, daemon=True)
    library.start()
    other.start()
    started = time.monotonic()
    wait_for_library_threads(timeout=20)
    waited = time.monotonic() - started
    assert not library.is_alive()
    assert other.is_alive()
    assert 0.2 < waited < 10  # waiting for the other daemon too would take the whole 20 s


def test_no_pocket_tts_thread_outlives_a_stream_stopped_early(synth, voice_wav) -> None:
    voice = synth.prepare_voice(voice_wav)
    stream = synth.stream("مَرْحَبًا بِكُمْ فِي بَيْتِنَا الْجَمِيلِ", voice=voice)
    next(stream)
    stream.close()  # what --max-seconds or a client that leaves does
    wait_for_library_threads(timeout=10)
    assert _pocket_tts_threads() == []
