"""Tiny, randomly initialised Pocket TTS models for tests, demos and benchmarks.

Pretrained weights cannot be downloaded everywhere (the gated ``kyutai/pocket-tts``
repository, offline CI), so every test in natiq runs on a shrunken copy of the
``english`` LSD config with random weights. ``write_tiny_model`` writes a
self-contained directory that the stock ``pocket-tts generate --config`` CLI
loads offline:

- ``<name>.yaml``: the ``english`` config with small dimensions, absolute paths
  to the files below, ``capitalize_first_letter: false`` (romanizations are
  case-sensitive) and the Arabic punctuation mapped to the ASCII marks that
  pocket-tts recognizes;
- ``<name>.safetensors``: the random weights (seeded, so two calls with the same
  arguments give identical models);
- ``<name>.model``: a SentencePiece tokenizer trained on ``corpus_texts`` (or a
  built-in set of Arabic and romanized sentences) whose vocabulary is exactly
  ``n_bins``.

Nothing here is meant for real speech: the weights are random.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from natiq.common.errors import DataFormatError, ModelLoadError
from natiq.common.files import atomic_path, atomic_write_bytes, atomic_write_text

# Arabic punctuation pocket-tts' text preparation does not know (it only treats
# `.!?…` as sentence ends): the same mapping every natiq Pocket config carries.
ARABIC_PUNCTUATION_MAP: dict[str, str] = {"؟": "?", "،": ",", "؛": ";"}

# Enough varied text (Arabic script with and without diacritics, Buckwalter and
# Arabizi romanizations) for a 256-piece BPE tokenizer to reach its size exactly.
BUILTIN_CORPUS: tuple[str, ...] = (
    "السلام عليكم ورحمة الله وبركاته.",
    "مرحبا بكم في هذا البرنامج الجديد.",
    "كيف حالك اليوم يا صديقي؟",
    "ذهب الولد إلى المدرسة في الصباح الباكر.",
    "قرأت كتابا جميلا عن تاريخ العرب.",
    "الطقس جميل والسماء صافية، والشمس مشرقة.",
    "أحب أن أشرب القهوة مع الحليب.",
    "هل تستطيع أن تساعدني في حل هذه المسألة؟",
    "تعلم اللغة العربية ممتع ومفيد.",
    "سافرنا إلى القاهرة ثم إلى دمشق وبغداد.",
    "العلم نور والجهل ظلام.",
    "في البدء كانت الكلمة، وكانت الكلمة عند الله.",
    "إِنَّ مَعَ الْعُسْرِ يُسْرًا.",
    "ذَهَبَ الطَّالِبُ إِلَى الْمَكْتَبَةِ لِيَقْرَأَ.",
    "كَتَبَ الْمُعَلِّمُ الدَّرْسَ عَلَى السَّبُّورَةِ.",
    "الْحَمْدُ لِلَّهِ رَبِّ الْعَالَمِينَ.",
    "يَا أَيُّهَا النَّاسُ اتَّقُوا رَبَّكُمْ.",
    "سَمِعْتُ صَوْتًا جَمِيلًا فِي الْحَدِيقَةِ.",
    "ثلاثة وعشرون طالبا حضروا المحاضرة؛ وغاب خمسة.",
    "ظننت أن الضيف سيصل غدا، لكنه وصل اليوم.",
    "AlslAm Elykm wrHmp Allh wbrkAth.",
    "mrHbA bkm fy h*A AlbrnAmj Aljdyd.",
    "kyf HAlk Alywm yA Sdyqy?",
    "*hb Alwld <lY Almdrsp fy AlSbAH.",
    "qr>t ktAbA jmylA En tAryx AlErb.",
    "<in~a maEa AloEusori yusoraN.",
    "*ahaba AlT~Alibu <ilaY Alomakotabapi.",
    "Al~Hamodu lil~ahi rab~i AlEAlamiyna.",
    "Elm nwr wAljhl ZlAm.",
    "vlAvp wEXrwn TAlbA HDrwA AlmHADrp.",
    "marhaba bikom fi hatha el barnamaj el jadid.",
    "kayf 7alak el yom ya sadi2i?",
    "el salamu 3alaykum wa ra7matu allah.",
    "ana o7ebb el 2ahwa ma3a el 7aleeb.",
    "7abibi ta3ala hena besor3a.",
    "el 3elm nour wel jahl zalam.",
    "thahaba al waladu ila al madrasati fi al sabah.",
    "qara'tu kitaban jamilan 'an tarikh al 'arab.",
    "as-salamu 'alaykum wa rahmatu allahi wa barakatuh.",
    "al-hamdu lillahi rabbi al-'alamin.",
    # every Buckwalter symbol, so the romanized-mode unknown-token check passes on it
    "$amsN wa qamarF; kitAbK |mana {lo&umamu ji}tu >amo ri}aAsapN `a Y o.",
    "Hello world, this is a tiny test model.",
    "The quick brown fox jumps over the lazy dog.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9, and symbols - ( ) ' \" : ;",
    "١٢٣ ٤٥٦ ٧٨٩ ٠",
)


def train_sentencepiece(texts: Sequence[str], vocab_size: int, *, model_type: str = "bpe") -> bytes:
    """Train a SentencePiece model whose vocabulary is exactly ``vocab_size``.

    Returns the serialized model. Every character of ``texts`` is covered
    (``character_coverage=1.0``), so Arabic diacritics survive. Raises
    ``DataFormatError`` when the texts are too few or too uniform to reach the
    requested size.
    """
    import sentencepiece as spm

    lines = [line.strip() for line in texts if line and line.strip()]
    if not lines:
        raise DataFormatError("cannot train a tokenizer on an empty corpus")
    buffer = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=buffer,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=1.0,
            hard_vocab_limit=True,
            split_digits=True,
            normalization_rule_name="identity",
            remove_extra_whitespaces=True,
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as exc:
        raise DataFormatError(
            f"could not train a {vocab_size}-piece SentencePiece tokenizer on "
            f"{len(lines)} lines ({exc}); give more text or a smaller vocabulary"
        ) from None
    return buffer.getvalue()


def tiny_config_dict(
    *,
    tokenizer_path: str,
    d_model: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    flow_dim: int = 64,
    flow_depth: int = 2,
    n_bins: int = 256,
    tiny_mimi: bool = True,
    flow_type: str = "lsd",
) -> dict[str, Any]:
    """The ``english`` config with small dimensions, as a plain dict (no weights paths)."""
    from pocket_tts.utils.config import CONFIGS_DIR

    with open(CONFIGS_DIR / "english.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    for key in ("weights_path", "weights_path_without_voice_cloning"):
        config.pop(key, None)
    config["capitalize_first_letter"] = False
    config["replace_characters"] = {
        **config.get("replace_characters", {}),
        **ARABIC_PUNCTUATION_MAP,
    }

    flow_lm = config["flow_lm"]
    flow_lm["flow"] = {"dim": flow_dim, "depth": flow_depth, "type": flow_type}
    flow_lm["transformer"].update(d_model=d_model, num_heads=num_heads, num_layers=num_layers)
    flow_lm["lookup_table"] = {
        "dim": d_model,
        "n_bins": n_bins,
        "tokenizer": "sentencepiece",
        "tokenizer_path": tokenizer_path,
    }
    if tiny_mimi:
        mimi = config["mimi"]
        width = 32
        mimi["outer_dim"] = width
        mimi["seanet"].update(dimension=width, n_filters=4)
        mimi["transformer"].update(
            d_model=width,
            num_heads=2,
            num_layers=1,
            dim_feedforward=2 * width,
            input_dimension=width,
            output_dimensions=[width],
        )
        mimi["quantizer"]["output_dimension"] = width
    return config


def write_tiny_model(
    out_dir: str | Path,
    *,
    corpus_texts: Sequence[str] | None = None,
    d_model: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    flow_dim: int = 64,
    flow_depth: int = 2,
    n_bins: int = 256,
    tiny_mimi: bool = True,
    seed: int = 0,
    flow_type: str = "lsd",
    name: str = "tiny",
) -> Path:
    """Write ``<name>.yaml`` + ``.safetensors`` + ``.model`` into ``out_dir``; return the YAML path.

    The weights are drawn from ``seed`` without touching the caller's global
    RNG. ``flow_type`` is the sampler head's objective as pocket-tts names it
    (``lsd``: two time conditions, 1-step decoding; ``flow_matching``: one time
    condition, multi-step Euler decoding).
    """
    import safetensors.torch
    import torch

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tokenizer_file = out / f"{name}.model"
    texts = list(corpus_texts) if corpus_texts is not None else list(BUILTIN_CORPUS)
    atomic_write_bytes(tokenizer_file, train_sentencepiece(texts, n_bins))

    config = tiny_config_dict(
        tokenizer_path=str(tokenizer_file),
        d_model=d_model,
        num_layers=num_layers,
        num_heads=num_heads,
        flow_dim=flow_dim,
        flow_depth=flow_depth,
        n_bins=n_bins,
        tiny_mimi=tiny_mimi,
        flow_type=flow_type,
    )
    yaml_path = out / f"{name}.yaml"
    weights_file = out / f"{name}.safetensors"

    # Build once without weights (random init under our seed), save, then point the YAML at it.
    atomic_write_text(yaml_path, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _load_quietly(yaml_path)
        # pocket-tts builds the voice projection as zeros (it expects trained weights);
        # give it random values so a voice prompt changes the output, as it does for real.
        torch.nn.init.kaiming_uniform_(model.flow_lm.speaker_proj_weight, a=5**0.5)
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    with atomic_path(weights_file) as tmp:
        safetensors.torch.save_file(state, str(tmp))

    config["weights_path"] = str(weights_file)
    atomic_write_text(yaml_path, yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return yaml_path


def load_tiny_tts(path: str | Path, **load_kwargs: Any):
    """Load a model written by ``write_tiny_model`` (its YAML, or the directory holding one).

    ``load_kwargs`` go to ``TTSModel.load_model`` (``temp``, ``eos_threshold``, ...).
    """
    source = Path(path)
    if source.is_dir():
        candidates = sorted(source.glob("*.yaml"))
        if len(candidates) != 1:
            raise ModelLoadError(
                f"{source}: expected exactly one .yaml model config, found {len(candidates)}"
            )
        source = candidates[0]
    if not source.is_file():
        raise ModelLoadError(f"{source}: no such model config; create one with write_tiny_model()")
    return _load_quietly(source, **load_kwargs)


def _load_quietly(yaml_path: Path, **load_kwargs: Any):
    """``TTSModel.load_model`` without its 'model is uninitialized' warning for our own build step."""
    import logging

    from pocket_tts import TTSModel

    flow_logger = logging.getLogger("pocket_tts.models.tts_model")
    previous = flow_logger.level
    flow_logger.setLevel(logging.ERROR)
    try:
        return TTSModel.load_model(config=str(yaml_path), **load_kwargs)
    finally:
        flow_logger.setLevel(previous)
