"""natiq's Synthesizer against stock pocket-tts, same model, same text, in one run.

Builds the default ``english`` architecture (~100M parameters) with random
weights (a local 4000-piece tokenizer replaces the one on Hugging Face),
writes it as a natiq export dir (YAML + safetensors + tokenizer +
``natiq_frontend.json``, what a merged fine-tune looks like), then times, in
interleaved rounds so that machine load hits both alike:

- stock: ``TTSModel.load_model(config=YAML)`` + ``generate_audio`` /
  ``generate_audio_stream`` on the text the natiq front-end prepared;
- natiq: ``natiq.Synthesizer.load(checkpoint=EXPORT_DIR)`` + ``speak`` on the
  Arabic text;
- natiq ``--quantize`` (int8 dynamic quantization of the FlowLM).

EOS is disabled (``eos_threshold=inf``) so every run produces the same number
of frames. Speed is ``audio_s / total_s`` (x real time); the ratio natiq/stock
should be >= 0.97 and the first-chunk latencies within 10%. Peak memory (RSS)
of each variant is measured in a child process of its own.

    .venv/bin/python benchmarks/pocket_speak.py [--rounds 5] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

TEXT = "ذَهَبَ الطَّالِبُ إِلَى الْمَكْتَبَةِ"
VOICE_SECONDS = 4.0


def synthetic_corpus(lines: int = 6000, seed: int = 0) -> list[str]:
    """Random syllable words (some capitalized, with punctuation): enough for a 4000-piece tokenizer."""
    rng = random.Random(seed)
    consonants, vowels = "bcdfghjklmnpqrstvwxyz", "aeiou"

    def word() -> str:
        return "".join(
            rng.choice(consonants)
            + rng.choice(vowels)
            + (rng.choice(consonants) if rng.random() < 0.4 else "")
            for _ in range(rng.randint(1, 4))
        )

    marks = ["", "", "-", "'", ",", ".", "?", "!"]
    lines_out = []
    for _ in range(lines):
        words = [word() + rng.choice(marks) for _ in range(10)]
        words[0] = words[0].capitalize()
        lines_out.append(" ".join(words))
    return lines_out


def write_export_dir(out: Path) -> Path:
    """The default english architecture, random weights, as a natiq export dir."""
    import safetensors.torch
    import torch
    import yaml
    from pocket_tts import TTSModel
    from pocket_tts.utils.config import CONFIGS_DIR

    from natiq.backends.pocket.tiny import train_sentencepiece
    from natiq.common.files import atomic_write_bytes, atomic_write_json, atomic_write_text
    from natiq.text import FrontendConfig

    out.mkdir(parents=True, exist_ok=True)
    tokenizer = out / "bench.model"
    atomic_write_bytes(tokenizer, train_sentencepiece(synthetic_corpus(), 4000))
    config = yaml.safe_load((CONFIGS_DIR / "english.yaml").read_text(encoding="utf-8"))
    for key in ("weights_path", "weights_path_without_voice_cloning"):
        config.pop(key, None)
    config["flow_lm"]["lookup_table"].update(
        tokenizer="sentencepiece", tokenizer_path=str(tokenizer)
    )
    yaml_path = out / "bench.yaml"
    atomic_write_text(yaml_path, yaml.safe_dump(config, sort_keys=False))
    torch.manual_seed(0)
    model = TTSModel.load_model(config=str(yaml_path))
    safetensors.torch.save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "bench.safetensors")
    )
    config["weights_path"] = str(out / "bench.safetensors")
    atomic_write_text(yaml_path, yaml.safe_dump(config, sort_keys=False))
    atomic_write_json(out / "natiq_frontend.json", FrontendConfig(scheme="latin").to_dict())
    return yaml_path


def voice_clip(sample_rate: int = 24000) -> np.ndarray:
    """A deterministic voiced-sounding clip (harmonics with a syllable envelope)."""
    t = np.arange(int(VOICE_SECONDS * sample_rate)) / sample_rate
    tone = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 8))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * 4 * t))
    return (0.2 * tone * envelope / 3).astype(np.float32)


def load_variant(name: str, export_dir: Path, device: str):
    """Return the (speak, first_chunk) callables of one variant."""
    if name == "stock":
        from pocket_tts import TTSModel

        model = TTSModel.load_model(
            config=str(export_dir / "bench.yaml"), eos_threshold=float("inf")
        ).to(device)
        state = model.get_state_for_audio_prompt(export_dir / "voice.wav")
        text = model_text_of(export_dir)

        def speak() -> tuple[float, float]:
            started = time.perf_counter()
            audio = model.generate_audio(state, text)
            return time.perf_counter() - started, audio.shape[-1] / model.sample_rate

        def first_chunk() -> float:
            stop = threading.Event()
            started = time.perf_counter()
            stream = model.generate_audio_stream(state, text, stop=stop)
            next(stream)
            latency = time.perf_counter() - started
            stop.set()
            stream.close()
            time.sleep(0.2)  # let the generation threads see the stop
            return latency

        return speak, first_chunk

    from natiq.synthesizer import Synthesizer

    synth = Synthesizer.load(
        "pocket",
        checkpoint=export_dir,
        device=device,
        quantize=name == "natiq-quantize",
        eos_threshold=float("inf"),
    )
    voice_file = export_dir / "voice.wav"
    voice = synth.prepare_voice(voice_file)

    def speak() -> tuple[float, float]:
        result = synth.speak(TEXT, voice=voice)
        return result.timings["total_s"], result.timings["audio_s"]

    def first_chunk() -> float:
        started = time.perf_counter()
        stream = synth.stream(TEXT, voice=voice)
        next(stream)
        latency = time.perf_counter() - started
        stream.close()  # stops the generation threads
        time.sleep(0.2)
        return latency

    return speak, first_chunk


def model_text_of(export_dir: Path) -> str:
    """What the natiq front-end recorded in the export dir makes of TEXT."""
    from natiq.backends.pocket.synthesis import read_frontend_config
    from natiq.text import TextFrontend

    frontend = TextFrontend(read_frontend_config(export_dir / "natiq_frontend.json"))
    sentences = frontend.sentences(TEXT)
    if len(sentences) != 1:
        raise SystemExit(
            f"the benchmark text must be one sentence, the front-end found {len(sentences)}"
        )
    return frontend.prepare(sentences[0]).model_text


def child(name: str, export_dir: Path, device: str) -> None:
    """Load one variant, speak once, print its peak RSS and its RSS afterwards (MB) as JSON."""
    import gc

    speak, _ = load_variant(name, export_dir, device)
    speak()
    gc.collect()
    print(
        json.dumps(
            {
                "variant": name,
                "peak_rss_mb": proc_status_mb("VmHWM"),
                "rss_after_mb": proc_status_mb("VmRSS"),
            }
        )
    )


def proc_status_mb(field: str) -> float:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, from Linux ``/proc``.

    Not ``getrusage``: its ``ru_maxrss`` survives ``exec`` and would report the
    parent's peak for a child started by ``subprocess``.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import logging

    import torch

    torch.set_num_threads(1)
    # "Maximum generation length reached without EOS" is the point of eos_threshold=inf.
    logging.getLogger("pocket_tts").setLevel(logging.ERROR)
    if args.child:
        child(args.child, args.workdir, args.device)
        return

    from natiq.data.audio import save_wav

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="natiq-bench-"))
    export_dir = workdir / "export"
    started = time.perf_counter()
    if (export_dir / "bench.yaml").is_file() and (export_dir / "natiq_frontend.json").is_file():
        print(f"reusing the model in {export_dir}")
    else:
        write_export_dir(export_dir)
        save_wav(export_dir / "voice.wav", voice_clip(), 24000)
        print(f"model written in {time.perf_counter() - started:.1f} s: {export_dir}")
    print(f"text: {TEXT}\nmodel text: {model_text_of(export_dir)}")

    variants = ["stock", "natiq", "natiq-quantize"]
    loaded = {name: load_variant(name, export_dir, args.device) for name in variants}
    for name in variants:  # warm-up
        loaded[name][0]()
    speed: dict[str, list[float]] = {name: [] for name in variants}
    first: dict[str, list[float]] = {name: [] for name in variants}
    audio_seconds: dict[str, float] = {}
    for round_index in range(args.rounds):
        order = variants if round_index % 2 == 0 else variants[::-1]
        for name in order:
            total, audio = loaded[name][0]()
            speed[name].append(audio / total)
            audio_seconds[name] = audio
            first[name].append(loaded[name][1]())
            print(
                f"round {round_index + 1} {name}: {audio / total:.2f}x real time, first chunk {first[name][-1] * 1000:.0f} ms",
                flush=True,
            )
    if len({round(a, 3) for a in audio_seconds.values()}) != 1:
        raise SystemExit(f"variants produced different lengths: {audio_seconds}")

    memory = {}
    for name in variants:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                name,
                "--workdir",
                str(export_dir),
                "--device",
                args.device,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        memory[name] = json.loads(out.stdout.strip().splitlines()[-1])

    med = {name: statistics.median(values) for name, values in speed.items()}
    lat = {name: statistics.median(values) for name, values in first.items()}
    print(
        f"\naudio per run: {audio_seconds['stock']:.2f} s; {args.rounds} interleaved rounds; device {args.device}"
    )
    print(
        f"{'variant':<16}{'x real time':>12}{'first chunk ms':>16}{'peak RSS MB':>13}{'RSS after MB':>14}"
    )
    for name in variants:
        row = f"{name:<16}{med[name]:>12.2f}{lat[name] * 1000:>16.0f}"
        print(row + f"{memory[name]['peak_rss_mb']:>13.0f}{memory[name]['rss_after_mb']:>14.0f}")
    # Paired per round (the variants ran back to back), so slow drifts of machine load cancel.
    ratio = statistics.median(n / s for n, s in zip(speed["natiq"], speed["stock"], strict=True))
    latency_diff = (
        statistics.median(n / s for n, s in zip(first["natiq"], first["stock"], strict=True)) - 1
    )
    quantize_gain = statistics.median(
        q / n for q, n in zip(speed["natiq-quantize"], speed["natiq"], strict=True)
    )
    print(
        f"\nspeed ratio natiq/stock (median of per-round pairs): {ratio:.3f} (target >= 0.97) {'OK' if ratio >= 0.97 else 'BELOW TARGET'}"
    )
    print(
        f"first-chunk latency natiq vs stock (median of pairs): {latency_diff * 100:+.1f}% (target within 10%) {'OK' if abs(latency_diff) <= 0.10 else 'OUTSIDE TARGET'}"
    )
    print(f"--quantize speed-up: {quantize_gain:.2f}x")
    print(
        json.dumps(
            {
                "speed": med,
                "first_chunk_s": lat,
                "memory_mb": memory,
                "ratio": ratio,
                "latency_diff": latency_diff,
            }
        )
    )


if __name__ == "__main__":
    main()
