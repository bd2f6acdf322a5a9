"""``natiq text ...``: the text front-end as line-by-line filters.

Each command reads ``--text``, a ``--file`` or standard input, treats every
input line separately and writes exactly one output line per input line, so
the commands compose in shell pipes. Input bytes that are not UTF-8 are
replaced (and then removed by normalization) instead of crashing the pipe.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer

from natiq.common.errors import NatiqError

app = typer.Typer(
    help="Arabic text front-end: normalize, verbalize, diacritize, romanize, phonemize, prepare.",
    no_args_is_help=True,
)

TextOption = Annotated[
    str | None, typer.Option("--text", "-t", help="Text to process (else --file or stdin).")
]
FileOption = Annotated[
    Path | None,
    typer.Option("--file", "-f", help="UTF-8 text file, one item per line.", dir_okay=False),
]
KeepOption = Annotated[
    bool,
    typer.Option(
        "--keep-diacritics/--strip-diacritics", help="Keep harakat (default) or remove them."
    ),
]
SchemeOption = Annotated[
    str, typer.Option("--scheme", "-s", help="buckwalter | arabizi | latin | ipa")
]
PausalOption = Annotated[
    bool,
    typer.Option(
        "--pausal/--no-pausal",
        help="Read the word before a pause without its case ending, as spoken (default), "
        "or keep every case ending. Phonetic schemes only.",
    ),
]


def split_lines(text: str) -> list[str]:
    """Lines as the shell sees them: split on \\n only (a \\r before it goes too).

    U+2028/U+2029, U+0085, \\v, \\f and a lone \\r stay inside their line (where
    normalization makes them spaces), so ``--text``, ``--file`` and stdin give the
    same number of lines as ``wc -l`` counts. A final line break ends the last
    line; it does not start an empty one.
    """
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _input_lines(text: str | None, file: Path | None) -> Iterator[str]:
    if text is not None and file is not None:
        raise typer.BadParameter("give either --text or --file, not both")
    if text is not None:
        yield from split_lines(text)
        return
    if file is not None:
        if not file.is_file():
            raise typer.BadParameter(f"{file}: no such file")
        data = file.read_bytes().decode("utf-8", errors="replace")
        if data:
            yield from split_lines(data)
        return
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # pragma: no cover - a text-only stdin replacement
        for line in sys.stdin:
            yield from split_lines(line)
        return
    for raw in stream:  # binary lines end at b"\n" only
        yield from split_lines(raw.decode("utf-8", errors="replace"))


def _write(line: str) -> None:
    data = (line + "\n").encode("utf-8", errors="replace")
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:  # pragma: no cover
        sys.stdout.write(line + "\n")


def _run(lines: Iterator[str], transform: Callable[[str], str]) -> None:
    """One output line per input line; a line that fails prints empty + a warning on stderr."""
    failures = 0
    for number, line in enumerate(lines, start=1):
        try:
            _write(transform(line))
        except NatiqError as exc:
            failures += 1
            _write("")
            typer.secho(f"line {number}: {exc}", fg=typer.colors.YELLOW, err=True)
    if failures:
        typer.secho(f"{failures} line(s) could not be processed (printed as empty lines)", err=True)


@app.command()
def normalize(
    text: TextOption = None,
    file: FileOption = None,
    keep_diacritics: KeepOption = True,
    fold: Annotated[
        bool,
        typer.Option("--fold", help="Fold alef/ya/ta-marbuta forms (needs --strip-diacritics)."),
    ] = False,
) -> None:
    """Unicode clean-up: NFC, tatweel/bidi/control removal, digits, whitespace, shadda order."""
    from natiq.text import FrontendConfig
    from natiq.text import normalize as normalize_text

    config = FrontendConfig(diacritics="keep" if keep_diacritics else "strip", fold=fold)
    _run(
        _input_lines(text, file),
        lambda line: normalize_text(line, diacritics=config.diacritics, fold=config.fold),
    )


@app.command()
def verbalize(
    text: TextOption = None, file: FileOption = None, keep_diacritics: KeepOption = True
) -> None:
    """Numbers, dates, times, currencies, units, acronyms -> Arabic words."""
    from natiq.text import normalize as normalize_text
    from natiq.text import verbalize as verbalize_text

    mode = "keep" if keep_diacritics else "strip"
    _run(
        _input_lines(text, file),
        lambda line: verbalize_text(normalize_text(line, diacritics=mode), diacritics=mode).spoken,
    )


@app.command()
def romanize(
    text: TextOption = None,
    file: FileOption = None,
    scheme: SchemeOption = "arabizi",
    keep_diacritics: KeepOption = True,
    pausal: PausalOption = True,
) -> None:
    """Arabic script -> a romanization scheme (digits are left as they are; see `prepare`)."""
    from natiq.text import get_scheme
    from natiq.text import normalize as normalize_text

    found = get_scheme(scheme)
    mode = "keep" if keep_diacritics else "strip"
    _run(
        _input_lines(text, file),
        lambda line: found.from_normalized(normalize_text(line, diacritics=mode), pausal=pausal),
    )


@app.command()
def deromanize(
    text: TextOption = None, file: FileOption = None, scheme: SchemeOption = "buckwalter"
) -> None:
    """A reversible romanization (buckwalter) -> Arabic script."""
    from natiq.text import deromanize as deromanize_text

    _run(_input_lines(text, file), lambda line: deromanize_text(line, scheme))


@app.command()
def diacritize(text: TextOption = None, file: FileOption = None) -> None:
    """Fill in missing harakat with the offline arabic-diacritizer model (keeps existing ones)."""
    from natiq.text import diacritize as diacritize_text

    _run(_input_lines(text, file), diacritize_text)


@app.command()
def phonemize(
    text: TextOption = None, file: FileOption = None, pausal: PausalOption = True
) -> None:
    """IPA phonemes from espeak-ng's Arabic voice, read as spoken (same as romanize -s ipa)."""
    from natiq.text import romanize as romanize_text

    _run(_input_lines(text, file), lambda line: romanize_text(line, "ipa", pausal=pausal))


@app.command()
def prepare(
    text: TextOption = None,
    file: FileOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="natiq_frontend.json (or a checkpoint dir); overrides the flags."
        ),
    ] = None,
    keep_diacritics: KeepOption = True,
    diacritize_missing: Annotated[
        bool,
        typer.Option(
            "--diacritize/--no-diacritize", help="Fill missing harakat (diacritize=auto)."
        ),
    ] = False,
    scheme: Annotated[
        str | None,
        typer.Option("--scheme", "-s", help="Romanize with this scheme (default: Arabic script)."),
    ] = None,
    verbalize_numbers: Annotated[bool, typer.Option("--verbalize/--no-verbalize")] = True,
    map_punct: Annotated[bool, typer.Option("--map-punctuation/--keep-punctuation")] = True,
    fold: Annotated[bool, typer.Option("--fold")] = False,
    pausal: PausalOption = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print original/spoken/model_text as JSON.")
    ] = False,
) -> None:
    """The whole front-end, exactly as training and synthesis run it: prints model_text."""
    from natiq.text import FrontendConfig, TextFrontend

    if config is not None:
        settings = FrontendConfig.load(config)
    else:
        settings = FrontendConfig(
            diacritics="keep" if keep_diacritics else "strip",
            diacritize="auto" if diacritize_missing else "off",
            scheme=scheme,
            verbalize=verbalize_numbers,
            map_punctuation=map_punct,
            fold=fold,
            pausal=pausal,
        )
    frontend = TextFrontend(settings)

    def one(line: str) -> str:
        prepared = frontend.prepare(line)
        if as_json:
            return json.dumps(
                {
                    "original": prepared.original,
                    "spoken": prepared.spoken,
                    "model_text": prepared.model_text,
                },
                ensure_ascii=False,
            )
        return prepared.model_text

    _run(_input_lines(text, file), one)
