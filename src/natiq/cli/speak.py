"""``natiq speak`` and ``natiq voice export``: the main job on the command line.

Each flag maps to one field of ``SpeakConfig``; the commands only build that
config and call the library (``natiq.Synthesizer``, ``natiq.speak.jobs``).
torch and the models are imported inside the commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from natiq.common.errors import InputTextError, NatiqError

voice_app = typer.Typer(
    help="Voice prompts: export a reference clip's voice state once for fast reuse.",
    no_args_is_help=True,
)

DEFAULT_OUTPUT = Path("generated_arabic.wav")


@dataclass
class SpeakConfig:
    """Everything ``natiq speak`` can be told; one field per flag."""

    text: str | None = None
    input_file: Path | None = None
    output: Path | None = None
    output_dir: Path | None = None
    backend: str = "pocket"
    model: str | None = None
    checkpoint: Path | None = None
    voice: Path | None = None
    voice_text: str | None = None
    scheme: str | None = None
    latinize: bool = False
    arabizi: bool = True
    diacritize: str | None = None
    system_prompt: str | None = None
    stream: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_seconds: float | None = None
    seed: int | None = None
    quantize: bool = False
    append_translit: bool = False
    device: str = "auto"
    ssml: bool | None = None
    lexicon: Path | None = None
    pause: tuple[str, ...] = ()
    speed: float = 1.0
    timings: Path | None = None
    timings_model: str | None = None

    def requested_scheme(self) -> str | None:
        """``--scheme``, or the seed's ``--latinize`` (arabizi; latin with ``--no-arabizi``)."""
        if self.latinize:
            implied = "arabizi" if self.arabizi else "latin"
            if self.scheme is not None and self.scheme != implied:
                raise NatiqError(
                    f"--latinize{'' if self.arabizi else ' --no-arabizi'} means scheme {implied!r}, which contradicts --scheme {self.scheme}"
                )
            return implied
        if not self.arabizi:
            raise NatiqError(
                "--no-arabizi only refines --latinize; add --latinize or use --scheme latin"
            )
        return self.scheme

    def validate(self) -> SpeakConfig:
        if (self.text is None) == (self.input_file is None):
            raise NatiqError("give exactly one of --text or --input-file")
        if self.text is not None and not self.text.strip():
            raise InputTextError("--text is empty; give some Arabic text to speak")
        if self.input_file is not None and self.output_dir is None:
            raise NatiqError("--input-file needs --output-dir for the wavs")
        if self.input_file is not None and (
            self.output is not None or self.stream or self.append_translit
        ):
            raise NatiqError(
                "--output, --stream and --append-translit apply to --text; a batch writes OUTPUT_DIR/<id>.wav"
            )
        if self.text is not None and self.output_dir is not None:
            raise NatiqError("--output-dir is for --input-file; use --output with --text")
        if self.diacritize not in (None, "auto", "off"):
            raise NatiqError(f"--diacritize must be 'auto' or 'off', got {self.diacritize!r}")
        self.requested_scheme()
        from natiq.synthesizer import JoinPolicy, parse_pauses

        JoinPolicy().with_pauses(parse_pauses(self.pause))  # a bad --pause fails before loading
        from natiq.data.tempo import require_stretch

        require_stretch(self.speed, "--speed")
        if self.timings_model is not None and self.timings is None:
            raise NatiqError("--timings-model chooses the model of --timings: give --timings too")
        return self


def load_synthesizer(config: SpeakConfig) -> Any:
    from natiq.synthesizer import JoinPolicy, Synthesizer, parse_pauses

    options: dict[str, Any] = {}
    scheme = config.requested_scheme()
    if scheme is not None:
        options["scheme"] = scheme
    if config.diacritize is not None:
        options["diacritize"] = config.diacritize
    if config.system_prompt is not None:
        options["system_prompt"] = config.system_prompt
    return Synthesizer.load(
        config.backend,
        model=config.model,
        checkpoint=config.checkpoint,
        device=config.device,
        quantize=config.quantize,
        join=JoinPolicy().with_pauses(parse_pauses(config.pause)),
        lexicon=config.lexicon,
        **options,
    )


def voice_prompt(config: SpeakConfig) -> Any:
    """``--voice`` with its transcript (``--voice-text``, which Higgs cloning needs) as one prompt."""
    from natiq.backends.base import VoicePrompt

    if config.voice is None:
        if config.voice_text is not None:
            raise NatiqError("--voice-text is the transcript of --voice: give --voice too")
        return None
    return VoicePrompt(audio=config.voice, text=config.voice_text)


def load_aligner(config: SpeakConfig) -> Any:
    """The word aligner of ``--timings`` (Whisper; ``--timings-model`` or the packaged base)."""
    from natiq.eval.alignment import AlignerConfig, WordAligner

    aligner_config = AlignerConfig(device="cpu" if config.device == "cpu" else "auto")
    if config.timings_model is not None:
        aligner_config = AlignerConfig(model=config.timings_model, device=aligner_config.device)
    return WordAligner(aligner_config)


def run_speak(config: SpeakConfig) -> None:
    from natiq.backends.base import SynthesisOptions
    from natiq.backends.registry import backend_class
    from natiq.speak import jobs as speak_jobs

    config.validate()
    options = SynthesisOptions(
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,
        max_seconds=config.max_seconds,
        seed=config.seed,
    )
    backend_class(config.backend).check_options(options)  # before the weights are loaded
    aligner = load_aligner(config) if config.timings is not None else None
    synth = load_synthesizer(config)
    prompt = voice_prompt(config)
    if config.input_file is not None:
        assert config.output_dir is not None
        # prepared once, so an unusable voice fails before the first line
        voice = synth.prepare_voice(prompt)
        summary = speak_jobs.speak_batch(
            synth,
            config.input_file,
            config.output_dir,
            voice=voice,
            options=options,
            ssml=config.ssml,
            speed=config.speed,
            word_timer=None if aligner is None else _word_dicts(aligner),
            timings_dir=config.timings,
        )
        typer.echo(
            f"wrote {len(summary.written)} wav(s) ({summary.audio_s:.1f} s of audio) in {summary.total_s:.1f} s; "
            f"skipped {len(summary.skipped_existing)} existing; {len(summary.failed)} failed"
            + (f" (see {config.output_dir / speak_jobs.FAILURES_FILE})" if summary.failed else "")
        )
        return
    assert config.text is not None
    voice = prompt  # prepared after the text is checked (the Synthesizer caches it)
    output = config.output or DEFAULT_OUTPUT
    if config.append_translit:
        output = speak_jobs.with_translit(output, config.text)
    words: list[dict[str, Any]] = []
    on_sentence = None if aligner is None else lambda s: words.extend(_word_dicts(aligner)(s))
    if config.stream:
        timings = speak_jobs.stream_to_file(
            synth,
            config.text,
            output,
            voice=voice,
            options=options,
            on_first_chunk=lambda seconds: typer.echo(
                f"first chunk after {seconds * 1000:.0f} ms; writing {output}"
            ),
            ssml=config.ssml,
            speed=config.speed,
            on_sentence=on_sentence,
        )
    else:
        timings = speak_jobs.speak_to_file(
            synth,
            config.text,
            output,
            voice=voice,
            options=options,
            ssml=config.ssml,
            speed=config.speed,
            on_sentence=on_sentence,
        )
    if config.timings is not None:
        speak_jobs.write_word_timings(config.timings, words, timings["audio_s"])
        typer.echo(f"{config.timings}: {len(words)} word timings")
    typer.echo(
        f"{output}: {timings['audio_s']:.2f} s of audio in {timings['total_s']:.2f} s "
        f"(first chunk {timings['first_chunk_s'] * 1000:.0f} ms, real-time factor {timings['rtf']:.2f})"
    )


def _word_dicts(aligner: Any) -> Any:
    """A sentence's ``SentenceAudio`` -> its word timings as JSON objects."""
    return lambda segment: [timing.as_dict() for timing in aligner.sentence_timings(segment)]


def speak(
    text: Annotated[
        str | None, typer.Option("--text", "-t", help="Arabic text to speak (any length).")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option("--input-file", help='Batch: JSONL, one {"id", "text", "voice"?} per line.'),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=f"Output wav for --text (default {DEFAULT_OUTPUT})."),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Batch output folder (<id>.wav, failures.jsonl)."),
    ] = None,
    backend: Annotated[str, typer.Option("--backend", help="pocket or higgs.")] = "pocket",
    model: Annotated[
        str | None,
        typer.Option(
            "--model", help="Base model: pocket-tts language name, CONFIG.yaml or hf:// id."
        ),
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint", help="natiq checkpoint or export dir (its front-end is used)."
        ),
    ] = None,
    voice: Annotated[
        Path | None,
        typer.Option(
            "--voice",
            help="Reference clip (any rate) or VOICE.safetensors from `natiq voice export`.",
        ),
    ] = None,
    voice_text: Annotated[
        str | None,
        typer.Option(
            "--voice-text",
            help="Transcript of the --voice clip (Higgs cloning; else a REF.txt beside REF.wav is read).",
        ),
    ] = None,
    scheme: Annotated[
        str | None,
        typer.Option(
            "--scheme",
            help="Romanization for a model that records none (buckwalter, arabizi, latin, ipa, none).",
        ),
    ] = None,
    latinize: Annotated[
        bool,
        typer.Option(
            "--latinize",
            help="Seed flag: romanize the input (arabizi); must agree with the checkpoint.",
        ),
    ] = False,
    arabizi: Annotated[
        bool,
        typer.Option(
            "--arabizi/--no-arabizi", help="With --latinize: --no-arabizi gives digit-free latin."
        ),
    ] = True,
    diacritize: Annotated[
        str | None, typer.Option("--diacritize", help="auto (fill missing diacritics) or off.")
    ] = None,
    system_prompt: Annotated[
        str | None,
        typer.Option(
            "--system-prompt",
            help="Higgs: override the system prompt recorded with the adapter.",
        ),
    ] = None,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream", help="Write the wav while it is generated; print first-chunk latency."
        ),
    ] = False,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", help="Sampling temperature (model default if unset)."),
    ] = None,
    top_p: Annotated[
        float | None, typer.Option("--top-p", help="Nucleus sampling (backends that support it).")
    ] = None,
    top_k: Annotated[
        int | None, typer.Option("--top-k", help="Top-k sampling (backends that support it).")
    ] = None,
    max_seconds: Annotated[
        float | None,
        typer.Option("--max-seconds", help="Cap on the audio of each sentence, in seconds."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed for reproducible sampling.")
    ] = None,
    quantize: Annotated[
        bool, typer.Option("--quantize", help="int8 dynamic quantization (CPU).")
    ] = False,
    append_translit: Annotated[
        bool,
        typer.Option(
            "--append-translit", help="Append the romanized text to the output file name."
        ),
    ] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    ssml: Annotated[
        bool | None,
        typer.Option(
            "--ssml/--no-ssml",
            help="Read the text as SSML (default: only text starting with <speak> is SSML).",
            show_default=False,
        ),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            "--lexicon",
            help="Pronunciation lexicon, TSV: written form<TAB>diacritized Arabic or Buckwalter.",
        ),
    ] = None,
    pause: Annotated[
        list[str] | None,
        typer.Option(
            "--pause",
            help="NAME=SECONDS silence after sentence, question, exclamation, comma, semicolon, "
            "colon or paragraph (repeatable; e.g. --pause comma=0.2).",
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            help="Tempo from 0.25 to 4.0 (2 = twice as fast), pitch kept; silences scale too.",
        ),
    ] = 1.0,
    timings: Annotated[
        Path | None,
        typer.Option(
            "--timings",
            help="Word timings JSON for --text; for --input-file a folder of <id>.json.",
        ),
    ] = None,
    timings_model: Annotated[
        str | None,
        typer.Option(
            "--timings-model",
            help="Whisper model that aligns the words (default: the packaged base).",
        ),
    ] = None,
) -> None:
    """Speak Arabic text into a wav (or a batch of texts into a folder)."""
    run_speak(
        SpeakConfig(
            text=text,
            input_file=input_file,
            output=output,
            output_dir=output_dir,
            backend=backend,
            model=model,
            checkpoint=checkpoint,
            voice=voice,
            voice_text=voice_text,
            scheme=scheme,
            latinize=latinize,
            arabizi=arabizi,
            diacritize=diacritize,
            system_prompt=system_prompt,
            stream=stream,
            temperature=temperature,
            top_p=top_p,
            top_k=top_k,
            max_seconds=max_seconds,
            seed=seed,
            quantize=quantize,
            append_translit=append_translit,
            device=device,
            ssml=ssml,
            lexicon=lexicon,
            pause=tuple(pause or ()),
            speed=speed,
            timings=timings,
            timings_model=timings_model,
        )
    )


@voice_app.command("export")
def voice_export(
    reference: Annotated[
        Path, typer.Argument(help="Reference clip (wav/flac, any rate, mono or stereo).")
    ],
    output: Annotated[Path, typer.Argument(help="Where to write the voice state (.safetensors).")],
    model: Annotated[
        str | None, typer.Option("--model", help="Base model (as for natiq speak).")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="natiq checkpoint or export dir.")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Encode a reference clip once; `natiq speak --voice OUT.safetensors` then starts instantly."""
    from natiq.backends.base import VoicePrompt
    from natiq.backends.pocket.synthesis import PocketBackend

    backend = PocketBackend.load(model=model, checkpoint=checkpoint, device=device)
    path = backend.export_voice(VoicePrompt(audio=reference), output)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Attach ``speak`` and ``voice`` to the root app."""
    app.command("speak")(speak)
    app.add_typer(voice_app, name="voice")
