"""Word timings: when each of the user's words is spoken in generated audio.

Method: forced alignment of the audio against the text that was spoken,
with the offline Whisper model (``natiq.eval.asr``; the packaged
multilingual *base* by default), then boundaries moved onto silences.

1. The sentence's spoken Arabic (``PreparedText.spoken``: verbalized,
   diacritics removed for Whisper's tokenizer) is tokenized word by word and
   force-aligned with Whisper's cross-attention (CTranslate2's ``align``: the
   dynamic-time-warping over the alignment heads that Whisper's own word
   timestamps use). The text is known, so nothing is recognized: the model
   only says *where* each token is heard, in 20 ms steps. This works for any
   backend's audio and for a romanized model (it speaks Arabic, whatever its
   tokenizer reads). The encoder sees only the sentence's own frames, not
   Whisper's whole 30 s window (CTranslate2 accepts the shorter input): 7x
   less work for a few seconds of speech, at 20 ms mean boundary error
   instead of 11 ms on ``benchmarks/word_timings.py`` (``full_window=True``
   restores the 30 s window).
2. Cross-attention puts a word's start at the end of the word before, so a
   pause is counted into a neighbour (measured: 112-205 ms mean boundary
   error on espeak-ng words joined with gaps). Each boundary between two
   words is moved onto a silent run (frames 40 dB under the loudest, at least
   40 ms) within ``snap_window_s`` of it, in order, one silence per boundary:
   the earlier word ends where the silence starts and the next begins where
   it ends (20 ms mean error over 12 such sentences; docs/speaking.md).
   Boundaries inside continuous speech keep Whisper's time.
3. The spoken words are mapped back to the user's original words
   (``PreparedText.original``) by matching their normalized letters, so "5"
   read as two words is timed as one word "5": the timings name the user's
   words, never a romanization or a verbalization.

The timings of a sentence are in seconds of the whole output: the
``Synthesizer`` tells where the sentence starts and at which rate it was
stretched (``SentenceAudio``); the alignment runs on the model's audio before
the stretch and its times are divided by the rate. Whatever the audio,
timings are monotonic, never overlap and stay inside the sentence.
"""

from __future__ import annotations

import difflib
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from natiq.data.audio import resample
from natiq.eval.asr import ASR_SAMPLE_RATE, DEFAULT_ASR_MODEL, AsrConfig, WhisperTranscriber
from natiq.eval.text_metrics import normalize_for_scoring

_WINDOW_S = 29.0  # Whisper sees 30 s at most
_FRAME_S = 0.01  # energy frames for the silence search
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class WordTiming:
    """One of the user's words and when it is heard, in seconds."""

    text: str
    start: float
    end: float

    def as_dict(self) -> dict[str, Any]:
        """``{"type": "word", "text", "start", "end"}`` (the WebSocket event and the JSON files)."""
        return {
            "type": "word",
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
        }


@dataclass(frozen=True)
class AlignerConfig:
    """The alignment model and the silence snapping (see the module docstring)."""

    model: str = DEFAULT_ASR_MODEL
    language: str = "ar"
    device: str = "auto"
    compute_type: str = "auto"
    cpu_threads: int = 0
    snap_window_s: float = 0.4
    min_silence_s: float = 0.04
    silence_db: float = -40.0
    full_window: bool = False


def original_words(text: str) -> list[str]:
    """The words a user wrote: whitespace-separated, end punctuation removed, markup dropped."""
    words = []
    for token in _TAG.sub(" ", text).split():
        word = _strip_punctuation(token)
        if any(char.isalnum() for char in word):
            words.append(word)
    return words


def _strip_punctuation(token: str) -> str:
    def marks(char: str) -> bool:
        return unicodedata.category(char)[0] in "PS"

    start, end = 0, len(token)
    while start < end and marks(token[start]):
        start += 1
    while end > start and marks(token[end - 1]):
        end -= 1
    return token[start:end]


def group_spoken(original: list[str], spoken: list[str]) -> list[list[int]]:
    """For each original word, the indices of the spoken words that say it.

    Words that match after normalization pair one to one; a run of original
    words that differs from a run of spoken words (a number and its reading)
    shares that run in order, in proportion. A spoken word with no original
    counterpart joins the original word before it (or after, at the start);
    an original word that is not spoken gets no spoken word.
    """
    keys_a = [normalize_for_scoring(word) for word in original]
    keys_b = [normalize_for_scoring(word) for word in spoken]
    groups: list[list[int]] = [[] for _ in original]
    orphans: list[tuple[int, int]] = []  # (spoken index, original index it follows)
    matcher = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                groups[i1 + offset].append(j1 + offset)
        elif i2 > i1:
            for j in range(j1, j2):
                groups[i1 + (j - j1) * (i2 - i1) // (j2 - j1)].append(j)
        else:
            orphans.extend((j, i1) for j in range(j1, j2))
    for j, before in orphans:
        if original:
            groups[max(0, before - 1)].append(j)
    return [sorted(group) for group in groups]


class WordAligner:
    """Whisper forced alignment plus silence snapping; load once, align many sentences."""

    def __init__(
        self, config: AlignerConfig | None = None, *, cache_dir: Path | None = None
    ) -> None:
        from faster_whisper.tokenizer import Tokenizer

        self.config = config or AlignerConfig()
        transcriber = WhisperTranscriber(
            AsrConfig(
                model=self.config.model,
                language=self.config.language,
                device=self.config.device,
                compute_type=self.config.compute_type,
                cpu_threads=self.config.cpu_threads,
            ),
            cache_dir=cache_dir,
        )
        self._whisper = transcriber.whisper
        self._tokenizer = Tokenizer(
            self._whisper.hf_tokenizer, True, task="transcribe", language=self.config.language
        )
        self._lock = threading.Lock()

    # ----- one sentence of a Synthesizer's output
    def sentence_timings(self, segment: Any) -> list[WordTiming]:
        """Timings of the user's words of one ``SentenceAudio``, in seconds of the whole output."""
        prepared = segment.sentence
        words = original_words(prepared.original)
        spoken = [
            word
            for word in normalize_for_scoring(prepared.spoken).split()
            if any(char.isalnum() for char in word)
        ]
        if not words:
            return []
        audio = resample(segment.audio, segment.sample_rate, ASR_SAMPLE_RATE)
        spans = self.align(audio, spoken) if spoken else []
        duration = segment.duration_s
        timings = []
        cursor = 0.0
        for word, group in zip(words, group_spoken(words, spoken), strict=True):
            if group:
                start = min(spans[j][0] for j in group) / segment.rate
                end = max(spans[j][1] for j in group) / segment.rate
            else:  # not spoken (a symbol the front-end drops): an instant where it stood
                start = end = cursor
            start = min(max(start, cursor), duration)
            end = min(max(end, start), duration)
            timings.append(WordTiming(word, segment.start_s + start, segment.start_s + end))
            cursor = end
        return timings

    # ----- the alignment itself
    def align(self, audio: np.ndarray, words: list[str]) -> list[tuple[float, float]]:
        """``(start, end)`` in seconds of each of ``words`` in 16 kHz ``audio``: monotonic,
        not overlapping, inside the audio."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        duration = audio.size / ASR_SAMPLE_RATE
        if not words:
            return []
        if duration <= 0:
            return [(0.0, 0.0)] * len(words)
        spans: list[tuple[float, float]] = []
        for offset, window, part in _windows(audio, words):
            spans += [(offset + s, offset + e) for s, e in self._whisper_spans(window, part)]
        spans = snap_to_silences(spans, audio, self.config)
        return _tidy(spans, duration)

    def _whisper_spans(self, audio: np.ndarray, words: list[str]) -> list[tuple[float, float]]:
        """Cross-attention DTW times of each word in ``audio`` (at most 30 s)."""
        duration = audio.size / ASR_SAMPLE_RATE
        tokens: list[int] = []
        firsts: list[int] = []
        for word in words:
            firsts.append(len(tokens))
            tokens += self._tokenizer.encode(" " + word)
        whisper = self._whisper
        with self._lock:
            features = whisper.feature_extractor(audio)
            frames = features.shape[-1] - 1
            if frames < 2 or not tokens:
                return _even(len(words), duration)
            width = whisper.feature_extractor.nb_max_frames if self.config.full_window else frames
            encoded = whisper.encode(_padded(features[..., :frames], width))
            result = whisper.model.align(
                encoded, self._tokenizer.sot_sequence, [tokens], frames, median_filter_width=7
            )[0]
        text_index = np.array([pair[0] for pair in result.alignments])
        time_index = np.array([pair[1] for pair in result.alignments])
        if text_index.size == 0:
            return _even(len(words), duration)
        jumps = np.pad(np.diff(text_index), (1, 0), constant_values=1).astype(bool)
        jump_times = time_index[jumps] / whisper.tokens_per_second
        if jump_times.size < len(tokens):
            return _even(len(words), duration)
        bounds = [*firsts, len(tokens)]
        return [
            (
                float(jump_times[bounds[k]]),
                float(jump_times[bounds[k + 1]]) if bounds[k + 1] < jump_times.size else duration,
            )
            for k in range(len(words))
        ]


def _padded(features: np.ndarray, width: int) -> np.ndarray:
    """Mel features zero-padded on the right to ``width`` frames (an even count: the encoder halves it)."""
    width += width % 2
    return np.pad(features, ((0, 0), (0, max(0, width - features.shape[-1]))))


def _windows(audio: np.ndarray, words: list[str]) -> list[tuple[float, np.ndarray, list[str]]]:
    """Audio of at most ``_WINDOW_S`` seconds each, cut at its quietest frame, with the
    words shared out by their letters in proportion to each window's length."""
    limit = round(_WINDOW_S * ASR_SAMPLE_RATE)
    if audio.size <= limit:
        return [(0.0, audio, words)]
    cuts = [0]
    hop = round(_FRAME_S * ASR_SAMPLE_RATE)
    while audio.size - cuts[-1] > limit:
        low, high = cuts[-1] + limit * 2 // 3, cuts[-1] + limit
        region = audio[low:high]
        frames = region[: region.size // hop * hop].reshape(-1, hop)
        cuts.append(low + int(np.argmin((frames**2).mean(axis=1))) * hop)
    cuts.append(audio.size)
    letters = np.cumsum([len(word) for word in words])
    share = [round(letters[-1] * cut / audio.size) for cut in cuts]
    windows, first = [], 0
    for k in range(len(cuts) - 1):
        last = len(words) if k == len(cuts) - 2 else int(np.searchsorted(letters, share[k + 1]))
        windows.append((cuts[k] / ASR_SAMPLE_RATE, audio[cuts[k] : cuts[k + 1]], words[first:last]))
        first = last
    return [window for window in windows if window[2]]


def silent_runs(audio: np.ndarray, config: AlignerConfig) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of each run of at least ``min_silence_s`` of frames
    ``silence_db`` under the loudest frame (a run that reaches the end ends at the end)."""
    hop = round(_FRAME_S * ASR_SAMPLE_RATE)
    count = audio.size // hop
    if count == 0:
        return []
    rms = np.sqrt((audio[: count * hop].reshape(count, hop) ** 2).mean(axis=1))
    quiet = rms < max(float(rms.max()) * 10 ** (config.silence_db / 20), 1e-6)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    shortest = round(config.min_silence_s / _FRAME_S)
    duration = audio.size / ASR_SAMPLE_RATE
    return [
        (a * _FRAME_S, duration if b == count else b * _FRAME_S)
        for a, b in zip(edges[::2], edges[1::2], strict=True)
        if b - a >= shortest
    ]


def snap_to_silences(
    spans: list[tuple[float, float]], audio: np.ndarray, config: AlignerConfig
) -> list[tuple[float, float]]:
    """Move each boundary between two words onto a silence near it, and the first
    start / last end onto the edges of the speech (see the module docstring).

    Boundaries are taken in order and each silence serves one boundary at
    most; among the silences within ``snap_window_s`` of a boundary the one
    with the best length minus distance wins (a long pause a little farther
    away beats a short stop closure right at Whisper's time).
    """
    if not spans:
        return spans
    runs = silent_runs(audio, config)
    window = config.snap_window_s
    duration = audio.size / ASR_SAMPLE_RATE
    out = [list(span) for span in spans]
    lead = next((end for start, end in runs if start <= 0.0), None)
    if lead is not None and lead < out[0][1] and out[0][0] <= lead + window:
        out[0][0] = lead  # the first word starts where the opening silence ends
    trail = next((start for start, end in runs if end >= duration), None)
    if trail is not None and trail > out[-1][0] and out[-1][1] >= trail - window:
        out[-1][1] = trail  # and the last ends where the closing silence starts
    used = out[0][0]
    for k in range(len(out) - 1):
        boundary = (out[k][1] + out[k + 1][0]) / 2

        def score(run: tuple[float, float], at: float = boundary) -> float:
            inside = run[0] <= at <= run[1]
            return (run[1] - run[0]) - (0.0 if inside else min(abs(run[0] - at), abs(run[1] - at)))

        near = [
            run
            for run in runs
            if run[0] >= used
            and run[0] > 0.0
            and run[1] < duration
            and run[0] <= boundary + window
            and run[1] >= boundary - window
        ]
        if near:
            start, end = max(near, key=score)
            out[k][1], out[k + 1][0] = start, end
            used = end
    return [(start, end) for start, end in out]


def _even(count: int, duration: float) -> list[tuple[float, float]]:
    step = duration / count
    return [(k * step, (k + 1) * step) for k in range(count)]


def _tidy(spans: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Clamp into ``[0, duration]``, make starts non-decreasing and words not overlap."""
    tidy: list[tuple[float, float]] = []
    cursor = 0.0
    for k, (start, end) in enumerate(spans):
        start = min(max(start, cursor), duration)
        following = spans[k + 1][0] if k + 1 < len(spans) else duration
        end = min(max(end, start), max(following, start), duration)
        tidy.append((start, end))
        cursor = end
    return tidy
