"""Building the model a Pocket TTS run trains, the same way at start, resume and export.

One place decides: which base (a pocket-tts language, YAML or hf:// config,
or the run's own snapshot of a randomly initialised base), which text
front-end and tokenizer (``romanized`` keeps the base tokenizer; ``native``
trains a new one on the corpus and re-initializes the text embedding), which
weights train (``lora.prepare_trainable``), and what each checkpoint records
(``training_config.json``, ``natiq_frontend.json``, the tokenizer) so that
``export.load_checkpoint_model`` rebuilds exactly this model. It does not run
the training loop.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from natiq.backends.pocket import checkpointing as ckpt
from natiq.backends.pocket.base_model import base_fingerprint
from natiq.backends.pocket.dataset import EncodedAudio
from natiq.backends.pocket.recipe import SpeechTrimSettings
from natiq.backends.pocket.train_config import STRUCTURAL_FIELDS, PocketTrainConfig
from natiq.common.errors import CheckpointMismatchError, ModelLoadError
from natiq.common.files import atomic_path
from natiq.training import checkpoint as run_folder
from natiq.training.text_frontend import run_frontend

TRAINER = "pocket"


def base_is_random(tts: Any) -> bool:
    """True when the base config names no weights (pocket-tts then initialises at random)."""
    config = tts.config
    return config.weights_path is None and config.flow_lm.weights_path is None


def frontend_for(config: PocketTrainConfig) -> Any:
    """The front-end a fresh run uses: romanize with ``--scheme``, or keep Arabic script (native)."""
    from natiq.text import FrontendConfig

    return FrontendConfig(scheme=config.scheme if config.text_mode == "romanized" else None)


def load_base_model(base: str, *, snapshot: Path | None = None) -> Any:
    """The base ``TTSModel`` on CPU; a random base is restored from the run's ``snapshot``."""
    from natiq.backends.pocket.base_model import load_base

    tts = load_base(base, device="cpu")
    if snapshot is not None:
        from safetensors.torch import load_file

        if not snapshot.is_file():
            raise ModelLoadError(
                f"{snapshot}: missing; this run started from a randomly initialised base whose "
                "weights are kept in the run directory (copy it along with the checkpoint)"
            )
        try:
            tts.load_state_dict(load_file(str(snapshot)), strict=True)
        except RuntimeError as exc:
            raise CheckpointMismatchError(
                f"{snapshot}: does not fit base {base!r} ({exc})"
            ) from None
    return tts


def tokenizer_source(tts: Any) -> Path:
    """The local file of the model's tokenizer (downloaded into the HF cache if it is hf://)."""
    from pocket_tts.utils.utils import download_if_necessary

    return Path(download_if_necessary(str(tts.config.flow_lm.lookup_table.tokenizer_path)))


def install_tokenizer(tts: Any, tokenizer_file: Path, *, native: bool, seed: int = 0) -> None:
    """Make ``tokenizer_file`` the model's tokenizer.

    ``native``: a tokenizer trained for this run; the text embedding is
    re-initialized at its size (pocket-core's ``reset_text_embedding``).
    Otherwise its vocabulary must equal the embedding's ``n_bins``
    (``ModelLoadError`` naming the file).
    """
    from pocket_tts.modules.text_conditioner import build_tokenizer

    from natiq.backends.pocket.text_tokens import reset_text_embedding

    if native:
        reset_text_embedding(tts, tokenizer_file, seed=seed)
        return
    lookup = tts.config.flow_lm.lookup_table
    kind = "tokenizers" if tokenizer_file.suffix == ".json" else "sentencepiece"
    try:
        tokenizer = build_tokenizer(lookup.n_bins, str(tokenizer_file), kind)
    except AssertionError as exc:
        raise ModelLoadError(
            f"{tokenizer_file}: {exc}; the model's text embedding has n_bins={lookup.n_bins}"
        ) from None
    except (OSError, RuntimeError) as exc:
        raise ModelLoadError(f"{tokenizer_file}: unreadable tokenizer ({exc})") from None
    tts.flow_lm.conditioner.tokenizer = tokenizer
    lookup.tokenizer = kind
    lookup.tokenizer_path = str(tokenizer_file)


def configure_text_prep(tts: Any) -> None:
    """pocket-tts' text preparation for Arabic: no first-letter capitals, Arabic punctuation mapped.

    Arabic script has no case and the romanizations are case-sensitive (Buckwalter
    ``s``/``S`` are different sounds); pocket-tts only knows ``.!?…`` as sentence
    ends. Set on the model and its config, so training, eval and export agree.
    """
    from natiq.backends.pocket.tiny import ARABIC_PUNCTUATION_MAP

    replace = {**tts.replace_characters, **ARABIC_PUNCTUATION_MAP}
    tts.capitalize_first_letter = False
    tts.replace_characters = replace
    tts.config.capitalize_first_letter = False
    tts.config.replace_characters = replace


class ModelTextEncoder:
    """Text -> token ids exactly as inference prepares them, in the dataset's two stages.

    ``model_text`` runs the front-end (once per utterance); ``ids`` runs
    pocket-tts' text preparation and the tokenizer on a (possibly varied)
    model text, without a length limit (the dataset applies its own).
    """

    def __init__(self, tts: Any, frontend: Any) -> None:
        self.tts = tts
        self.frontend = frontend

    def model_text(self, text: str) -> str:
        return self.frontend.prepare(text).model_text

    def ids(self, model_text: str, *, final_punctuation: bool = True) -> list[int]:
        from natiq.backends.pocket.text_tokens import tokenize_model_text

        return tokenize_model_text(
            self.tts, model_text, max_tokens=None, final_punctuation=final_punctuation
        )

    def __call__(self, text: str) -> list[int]:
        """Raw text -> ids of its full form (what inference sees)."""
        return self.ids(self.model_text(text))


@dataclass
class RunSetup:
    """Everything the loop needs besides data and optimizer."""

    tts: Any
    trainable: torch.nn.Module
    frontend_config: Any
    tokenizer_file: Path
    text: ModelTextEncoder
    base_record: dict[str, Any]
    random_base: bool
    resumed: bool
    log: Callable[[str], None] = print
    trim: SpeechTrimSettings = field(default_factory=SpeechTrimSettings)
    _encoder_checked: bool = False

    @property
    def tokenize(self) -> Callable[[str], list[int]]:
        """Raw text -> token ids of its full form."""
        return self.text

    @property
    def flow_lm(self) -> torch.nn.Module:
        return self.tts.flow_lm

    @property
    def pad_id(self) -> int:
        return int(self.tts.config.flow_lm.lookup_table.n_bins)

    def encode(self, audio: Path) -> EncodedAudio:
        """On-the-fly encoding: the same trimming and checks as ``natiq pocket latents``."""
        from natiq.backends.pocket.base_model import require_mimi_encoder
        from natiq.backends.pocket.latents import check_latents_vary, encode_audio
        from natiq.backends.pocket.speech_marks import analyze
        from natiq.data.audio import load_audio

        if not self._encoder_checked:
            require_mimi_encoder(self.tts, self.base_record.get("spec"))
        rate = int(self.tts.sample_rate)
        samples, _ = load_audio(audio, target_sr=rate)
        frame_samples = round(rate / float(self.tts.config.mimi.frame_rate))
        marks = analyze(samples, rate, self.trim, frame_samples=frame_samples)
        samples = samples[: max(1, round(marks.end * rate))]
        latents = encode_audio(self.tts, samples).cpu()
        if not self._encoder_checked:
            check_latents_vary(latents, self.base_record.get("spec"))
            self._encoder_checked = True
        return EncodedAudio(latents=latents, marks=marks)

    def set_stats_if_random(self, train_data: Any) -> None:
        """A random base gets ``emb_mean``/``emb_std`` of the training latents (fresh runs only)."""
        if not self.random_base or self.resumed:
            return
        from natiq.backends.pocket.forward import compute_latent_stats, set_latent_stats

        mean, std = compute_latent_stats(train_data.latents(i) for i in range(len(train_data)))
        set_latent_stats(self.flow_lm, mean, std)
        self.log("random base: latent statistics (emb_mean/emb_std) set from the training data")

    def write_run_files(self, directory: Path, config: PocketTrainConfig) -> None:
        """``training_config.json``, ``natiq_frontend.json`` and the tokenizer, into a checkpoint."""
        tokenizer_name = "tokenizer" + self.tokenizer_file.suffix
        shutil.copyfile(self.tokenizer_file, directory / tokenizer_name)
        self.frontend_config.save(directory)
        run_folder.TrainingRecord(
            trainer=TRAINER,
            config=config.to_dict(),
            base=self.base_record,
            extra={"tokenizer": tokenizer_name, "n_bins": self.pad_id},
        ).save(directory)

    @torch.no_grad()
    def write_samples(self, data: Any, out_dir: Path, count: int) -> list[Path]:
        """Generate ``count`` validation sentences with pocket-tts' own generator.

        The voice is the example's training prompt (latents of another utterance
        of the speaker), turned into a model state the way
        ``TTSModel.get_state_for_audio_prompt`` does after Mimi encoding. Writes
        ``<id>.wav`` per sentence, the prompt decoded by Mimi as
        ``prompts/<id>.flac`` (the voice the sample should have; FLAC so the
        folder's wavs stay the generated ones), and
        ``generated.jsonl`` (id, audio, text, reference_audio, target_audio,
        synthesis_seconds; see docs/evaluation.md) for an evaluator to score.
        """
        from pocket_tts.modules.stateful_module import init_states

        from natiq.backends.pocket.forward import null_voice_prefix, voice_prefix
        from natiq.common.files import write_jsonl
        from natiq.data.audio import save_wav

        written = []
        rows = []
        rate = int(self.tts.sample_rate)
        device = self.flow_lm.bos_emb.device
        for index in range(min(count, len(data))):
            utt = data.utterances[index]
            prompt = data[(0, index)].prompt.to(device)
            started = time.perf_counter()
            if prompt.shape[0] > 0:
                prefix = voice_prefix(self.flow_lm, prompt)[None]
            else:  # no other utterance of the speaker: the null voice, as in training
                prefix = null_voice_prefix(self.flow_lm)[None]
            state = init_states(self.flow_lm, batch_size=1, sequence_length=prefix.shape[1])
            self.tts._run_flow_lm_and_increment_step(model_state=state, audio_conditioning=prefix)
            model_text = self._frontend().prepare(utt.text).model_text
            audio = self.tts.generate_audio(state, model_text)
            seconds = time.perf_counter() - started
            path = save_wav(out_dir / f"{utt.id}.wav", audio.float().cpu().numpy(), rate)
            written.append(path)
            row = {
                "id": utt.id,
                "audio": path.name,
                "text": utt.text,
                "synthesis_seconds": seconds,
            }
            if prompt.shape[0] > 0:
                reference = save_flac(
                    out_dir / "prompts" / f"{utt.id}.flac", self.decode_latents(prompt), rate
                )
                row["reference_audio"] = f"prompts/{reference.name}"
            if utt.audio.is_file():
                row["target_audio"] = str(utt.audio)
            rows.append(row)
        write_jsonl(out_dir / "generated.jsonl", rows)
        return written

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> np.ndarray:
        """Raw Mimi latents [F, 32] -> mono float32 audio at the model's sample rate."""
        from pocket_tts.modules.stateful_module import init_states

        mimi = self.tts.mimi
        steps_per_latent = int(mimi.encoder_frame_rate / mimi.frame_rate)
        state = init_states(mimi, batch_size=1, sequence_length=latents.shape[0] * steps_per_latent)
        audio = mimi.decode_from_latent(latents[None].float(), state)
        return audio.reshape(-1).float().cpu().numpy()

    def _frontend(self) -> Any:
        from natiq.text import TextFrontend

        return TextFrontend(self.frontend_config)


def setup_run(
    config: PocketTrainConfig,
    utterances: Sequence[Any],
    *,
    run_dir: Path,
    resume_dir: Path | None,
    log: Callable[[str], None] = print,
) -> RunSetup:
    """Load the base, choose the text front-end and tokenizer, mark what trains."""
    from natiq.backends.pocket.lora import prepare_trainable
    from natiq.text import TextFrontend

    record = None
    if resume_dir is not None:
        record = run_folder.read_record(resume_dir, trainer=TRAINER)
        run_folder.check_resumable(
            record.config, config.to_dict(), STRUCTURAL_FIELDS, where=resume_dir
        )

    snapshot = None
    if record is not None and record.base.get("snapshot"):
        # kept in the run directory, which may be another one than the resumed checkpoint's
        snapshot = run_folder.keep_in_run_dir(
            resume_dir.parent / record.base["snapshot"], run_dir, ckpt.BASE_SNAPSHOT_FILE
        )
    tts = load_base_model(config.base, snapshot=snapshot)
    random_base = base_is_random(tts) if record is None else bool(record.base.get("random"))
    if record is not None:
        run_folder.check_same_base(
            record.base["fingerprint"],
            base_fingerprint(tts.config),
            where=resume_dir,
            base=config.base,
        )
    if random_base and record is None:
        from safetensors.torch import save_file

        with atomic_path(run_dir / ckpt.BASE_SNAPSHOT_FILE) as tmp:
            save_file({k: v.contiguous() for k, v in tts.state_dict().items()}, str(tmp))
        log(f"random base: its initial weights are kept in {run_dir / ckpt.BASE_SNAPSHOT_FILE}")
    base_record = {
        "spec": config.base,
        "fingerprint": base_fingerprint(tts.config),
        "random": random_base,
        "snapshot": ckpt.BASE_SNAPSHOT_FILE if random_base else None,
    }

    frontend_config = run_frontend(resume_dir, lambda: frontend_for(config), config.lexicon)
    frontend = TextFrontend(frontend_config)
    n_bins = int(tts.config.flow_lm.lookup_table.n_bins)
    if config.text_mode == "native":
        if record is not None:
            # into the run directory: pruning deletes the checkpoint this run resumed from
            tokenizer_file = run_folder.keep_in_run_dir(
                resume_dir / record.extra["tokenizer"], run_dir
            )
        else:
            from natiq.backends.pocket.text_tokens import train_native_tokenizer

            texts = tokenizer_texts(frontend, utterances)
            tokenizer_file = train_native_tokenizer(
                texts, run_dir / "tokenizer.model", kind=config.native_tokenizer, vocab_size=n_bins
            )
        install_tokenizer(tts, tokenizer_file, native=True, seed=config.seed)
        if record is None:
            pieces = tts.config.flow_lm.lookup_table.n_bins
            log(
                f"native text: {pieces}-piece {config.native_tokenizer} tokenizer, new text embedding"
            )
    else:
        tokenizer_file = tokenizer_source(tts)

    configure_text_prep(tts)
    if config.text_mode == "romanized" and record is None:
        report_unknown_tokens(tts, utterances, config, log)
    if not config.use_precomputed_latents:  # on-the-fly encoding: fail before training starts
        from natiq.backends.pocket.base_model import require_mimi_encoder

        require_mimi_encoder(tts, config.base)
    trainable = prepare_trainable(
        tts.flow_lm,
        scope=config.train_scope,
        use_lora=config.use_lora,
        rank=config.lora_r,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
    )
    return RunSetup(
        tts=tts,
        trainable=trainable,
        frontend_config=frontend_config,
        tokenizer_file=tokenizer_file,
        text=ModelTextEncoder(tts, frontend),
        base_record=base_record,
        random_base=random_base,
        resumed=record is not None,
        log=log,
    )


def report_unknown_tokens(
    tts: Any, utterances: Sequence[Any], config: PocketTrainConfig, log: Callable[[str], None]
) -> None:
    """Log every scheme's unknown-piece rate on this corpus; refuse the chosen one above the limit."""
    from natiq.backends.pocket.token_coverage import check_coverage, coverage_report
    from natiq.text.config import SCHEME_NAMES

    report = coverage_report(tts, [u.text for u in utterances], SCHEME_NAMES)
    for item in report:
        chosen = " (chosen)" if item.scheme == config.scheme else ""
        log(f"base tokenizer on romanized text, {item.line()}{chosen}")
    check_coverage(report, config.scheme, config.max_unknown_token_rate)


def tokenizer_texts(frontend: Any, utterances: Sequence[Any]) -> list[str]:
    """What a native tokenizer is trained on: every usable model text, plus its plain form.

    Training varies the diacritization per epoch, so plain words must be
    pieces of the tokenizer too, not only their diacritized spellings. Texts
    the front-end cannot read are left out here (the dataset reports them).
    """
    from natiq.backends.pocket.text_variation import has_marks, strip_marks
    from natiq.common.errors import InputTextError

    texts: list[str] = []
    for utt in utterances:
        try:
            model_text = frontend.prepare(utt.text).model_text
        except InputTextError:
            continue
        texts.append(model_text)
        if has_marks(model_text):
            texts.append(strip_marks(model_text))
    return texts


def save_flac(path: Path, samples: np.ndarray, sample_rate: int) -> Path:
    """Write mono float audio as 16-bit FLAC, atomically; returns the path."""
    import soundfile as sf

    data = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data, sample_rate, subtype="PCM_16", format="FLAC")
    return path
