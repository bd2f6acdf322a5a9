"""``FrontendConfig``: every choice the text front-end makes, in one frozen record.

The config is saved as ``natiq_frontend.json`` in every checkpoint, export and
adapter directory, and inference reads it back from there, so a model is always
fed text prepared exactly as during training. ``from_dict`` rejects unknown
keys and bad values with a message that names them, instead of silently
ignoring a typo that would change what the model hears.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from natiq.common.errors import NatiqError
from natiq.common.files import atomic_write_json

FRONTEND_FILENAME = "natiq_frontend.json"
SCHEME_NAMES = ("buckwalter", "arabizi", "latin", "ipa")
LATIN_MODES = ("auto", "pass", "transliterate")


class FrontendConfigError(NatiqError, ValueError):
    """A text front-end setting is unknown or has an invalid value."""


#: Settings added after checkpoints were already trained: a saved config that
#: lacks one was trained without it, so it loads with the old behaviour.
LEGACY_DEFAULTS: dict[str, Any] = {"pausal": False, "reading_rules": 1}

#: Version of the reading rules of the phonetic schemes (``natiq.text.reading``):
#: 1 = letters and marks as written; 2 = hamzat al-wasl elision, the spelling
#: rules (ى with a vowel, marks on the alef of لا, dagger and long alef, Uthmani
#: shadda). Only the current version is implemented; a checkpoint recorded
#: with another one is loaded with a warning, because its model never heard
#: text read this way.
READING_RULES = 2
PHONETIC_SCHEMES = ("arabizi", "latin", "ipa")


class ReadingRulesWarning(UserWarning):
    """A checkpoint's phonetic scheme was trained with older reading rules."""


@dataclass(frozen=True)
class FrontendConfig:
    """How raw text becomes ``model_text``.

    - ``diacritics``: keep harakat ("keep") or remove them ("strip").
    - ``diacritize``: "auto" fills missing harakat with the offline diacritizer
      when ``diacritics`` is "keep"; "off" never runs it.
    - ``scheme``: None feeds Arabic script to the model, otherwise a name from
      ``natiq.text.SCHEMES``.
    - ``verbalize``: numbers, dates, currencies, acronyms ... become Arabic words.
    - ``map_punctuation``: ؟ ، ؛ « » become ? , ; " for Latin-trained tokenizers.
    - ``fold``: fold alef/hamza forms, alef maqsura and ta marbuta (needs "strip").
    - ``pausal``: phonetic schemes read the last word before a pause (``. , ? ...``
      and the end) in its pausal form, as Arabic is read aloud (مَدْرَسَةٌ. ->
      madrasah). A saved config without this key predates it and loads as
      ``False``, the behaviour it was trained with; new configs default to ``True``.
    - ``reading_rules``: the version of the reading rules the phonetic schemes
      used (``READING_RULES``); recorded so that a model trained with other
      rules is reported instead of silently fed differently read text.
    - ``latin``: what happens to Latin-script words inside Arabic text
      (``natiq.text.code_switch``): "pass" hands them to the model as written
      (a model that reads English), "transliterate" writes them in Arabic
      letters; "auto" passes them for the ``latin``/``arabizi``/``ipa`` schemes
      and transliterates for Arabic script and ``buckwalter``.
    - ``lexicon``: the user pronunciation lexicon (``natiq.text.user_lexicon``),
      as (written form, diacritized Arabic) pairs; recorded here so that a model
      trained with a lexicon applies it at inference without being told again.
    """

    diacritics: Literal["keep", "strip"] = "keep"
    diacritize: Literal["auto", "off"] = "off"
    scheme: str | None = None
    verbalize: bool = True
    map_punctuation: bool = True
    fold: bool = False
    pausal: bool = True
    reading_rules: int = READING_RULES
    latin: Literal["auto", "pass", "transliterate"] = "auto"
    lexicon: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.diacritics not in ("keep", "strip"):
            raise FrontendConfigError(
                f"diacritics must be 'keep' or 'strip', not {self.diacritics!r}"
            )
        if self.diacritize not in ("auto", "off"):
            raise FrontendConfigError(
                f"diacritize must be 'auto' or 'off', not {self.diacritize!r}"
            )
        if self.scheme is not None and self.scheme not in SCHEME_NAMES:
            raise FrontendConfigError(
                f"scheme must be null or one of {', '.join(SCHEME_NAMES)}, not {self.scheme!r}"
            )
        for name in ("verbalize", "map_punctuation", "fold", "pausal"):
            if not isinstance(getattr(self, name), bool):
                raise FrontendConfigError(
                    f"{name} must be true or false, not {getattr(self, name)!r}"
                )
        if not isinstance(self.reading_rules, int) or not 1 <= self.reading_rules <= READING_RULES:
            raise FrontendConfigError(
                f"reading_rules must be an integer from 1 to {READING_RULES}, "
                f"not {self.reading_rules!r} (a newer natiq wrote this config?)"
            )
        if self.fold and self.diacritics == "keep":
            raise FrontendConfigError(
                "fold=true needs diacritics='strip' (folding corrupts diacritized words)"
            )
        if self.latin not in LATIN_MODES:
            raise FrontendConfigError(
                f"latin must be one of {', '.join(LATIN_MODES)}, not {self.latin!r}"
            )
        if not isinstance(self.lexicon, tuple) or not all(
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(side, str) and side.strip() for side in pair)
            for pair in self.lexicon
        ):
            raise FrontendConfigError(
                "lexicon must be a list of [written form, pronunciation] pairs of non-empty strings"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON values (the lexicon as lists), equal to what ``save`` writes
        and reads back, so a config compares equal to its own saved copy."""
        data = dataclasses.asdict(self)
        data["lexicon"] = [list(pair) for pair in self.lexicon]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrontendConfig:
        """Build a config from ``to_dict()`` output; unknown keys are an error.

        Keys added after a config was written take the value that reproduces the
        behaviour it was written with (``LEGACY_DEFAULTS``), not today's default.
        """
        if not isinstance(data, dict):
            raise FrontendConfigError(
                f"a front-end config must be a JSON object, not {type(data).__name__}"
            )
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise FrontendConfigError(
                f"unknown front-end config key(s): {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
            )
        values = {**LEGACY_DEFAULTS, **data}
        if isinstance(values.get("lexicon"), list):
            values["lexicon"] = tuple(
                tuple(pair) if isinstance(pair, list) else pair for pair in values["lexicon"]
            )
        config = cls(**values)
        if config.scheme in PHONETIC_SCHEMES and config.reading_rules != READING_RULES:
            warnings.warn(
                f"this model's front-end ({config.scheme}) was trained with reading rules "
                f"v{config.reading_rules}; natiq now reads text with v{READING_RULES} (hamzat "
                "al-wasl elision and spelling rules), which the model never heard: expect "
                "small pronunciation differences, or fine-tune again to match",
                ReadingRulesWarning,
                stacklevel=2,
            )
        return config

    def save(self, directory: str | Path) -> Path:
        """Write ``natiq_frontend.json`` into ``directory`` (atomically)."""
        path = Path(directory) / FRONTEND_FILENAME
        atomic_write_json(path, self.to_dict())
        return path

    @classmethod
    def load(cls, path: str | Path) -> FrontendConfig:
        """Read a config from a ``natiq_frontend.json`` file or the directory holding one."""
        source = Path(path)
        if source.is_dir():
            source = source / FRONTEND_FILENAME
        if not source.is_file():
            raise FrontendConfigError(
                f"{source}: no front-end config found; every checkpoint/export directory must "
                f"contain {FRONTEND_FILENAME} (written by training)"
            )
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FrontendConfigError(f"{source}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        try:
            return cls.from_dict(data)
        except FrontendConfigError as exc:
            raise FrontendConfigError(f"{source}: {exc}") from None
