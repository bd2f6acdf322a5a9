"""The ``info`` answer to ``describe``: one TTS program and the server's voices.

Voices come from the server's voice store at the time of the question, so a
voice uploaded over HTTP is offered to Home Assistant on its next
``describe``. A voice's Wyoming ``name`` is its id (stable, what a client
stores) and its ``description`` its display name (what Home Assistant shows);
a request may name either. The model's own voice is offered as ``default``
when the model has one, the voice the HTTP server speaks with when a request
names none.
"""

from __future__ import annotations

from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

from natiq import __version__
from natiq.serve.state import ServerState

LANGUAGES = ["ar"]
DEFAULT_VOICE = "default"
# who made the model each backend adapts (natiq has no home page of its own yet)
MODEL_MAKERS = {
    "pocket": Attribution(
        name="Kyutai (Pocket TTS)", url="https://github.com/kyutai-labs/pocket-tts"
    ),
    "higgs": Attribution(
        name="Boson AI (Higgs Audio)", url="https://github.com/boson-ai/higgs-audio"
    ),
}


def describe(state: ServerState) -> Info:
    backend = state.settings.backend
    attribution = MODEL_MAKERS.get(backend, Attribution(name=backend, url=""))
    voices = []
    if state.default_voice_error is None:
        voices.append(_voice(DEFAULT_VOICE, "default (the model's own voice)", attribution))
    voices += [_voice(voice.id, voice.name, attribution) for voice in state.voices.list()]
    program = TtsProgram(
        name="natiq",
        description=f"natiq Arabic text-to-speech ({backend})",
        attribution=attribution,
        installed=True,
        version=__version__,
        voices=voices,
        supports_synthesize_streaming=True,
    )
    return Info(tts=[program])


def _voice(name: str, description: str, attribution: Attribution) -> TtsVoice:
    return TtsVoice(
        name=name,
        description=description,
        attribution=attribution,
        installed=True,
        version=None,
        languages=list(LANGUAGES),
    )
