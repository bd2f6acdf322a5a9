"""A documented subset of SSML for Arabic, parsed safely into sentences and breaks.

Supported (anything else is an ``SsmlError`` naming the element or attribute,
with its line and column):

- ``<speak>`` the root (``version``, ``xml:lang``), ``<p>`` paragraph,
  ``<s>`` sentence (both may carry ``xml:lang``);
- ``<break time="700ms"|"1.5s" strength="none|x-weak|weak|medium|strong|x-strong"/>``:
  a silence (``time`` wins over ``strength``; a bare ``<break/>`` is medium),
  at most ``MAX_BREAK_S``; it replaces the pause the boundary would have had;
- ``<say-as interpret-as="characters|spell-out|cardinal|ordinal|digits|date|time|telephone|currency" format=...>``
  (``natiq.text.say_as``);
- ``<sub alias="...">``: the alias is read (through the whole front-end) instead
  of the content;
- ``<phoneme alphabet="buckwalter" ph="...">``: the diacritized Arabic of the
  Buckwalter ``ph`` is read as given (no verbalizer, lexicon or diacritizer);
  ``alphabet="ipa"``: ``ph`` goes to the model as is, which only a model
  trained on the ``ipa`` scheme can read; for any other model it is an error;
- ``<prosody rate="x-slow|slow|medium|fast|x-fast|N%|+N%|-N%|1.5">``: the
  speaking rate of the enclosed text (nested rates multiply), from
  ``MIN_RATE`` to ``MAX_RATE``; the rate cuts the sentence where it changes;
- ``<lang xml:lang="en">``: text in another language (``code_switch``).

Whitespace inside SSML is collapsed (paragraphs come from ``<p>``, not blank
lines); sentences are cut at their marks as in plain text. Text that does not
start with ``<speak`` (or an XML declaration or DOCTYPE) is never SSML, so
plain text containing ``<`` is never parsed. The XML parser is defusedxml's:
DOCTYPEs, entity declarations and external references are refused, so
neither XXE nor "billion laughs" expansion can happen.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from natiq.common.errors import DataFormatError, InputTextError, SsmlError
from natiq.text.code_switch import espeak_voice, is_arabic_language
from natiq.text.pauses import CLAUSE_BOUNDARIES, Boundary, Break, Sentence, split_at_pauses
from natiq.text.pieces import Piece
from natiq.text.say_as import INTERPRETATIONS, say_as
from natiq.text.user_lexicon import pronunciation

SSML_NAMESPACE = "{http://www.w3.org/2001/10/synthesis}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XSI_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"
MAX_BREAK_S = 10.0
STRENGTH_SECONDS = {
    "none": 0.0,
    "x-weak": 0.1,
    "weak": 0.25,
    "medium": 0.4,
    "strong": 0.7,
    "x-strong": 1.0,
}
RATE_WORDS = {
    "x-slow": 0.5,
    "slow": 0.75,
    "medium": 1.0,
    "default": 1.0,
    "fast": 1.25,
    "x-fast": 1.5,
}
MIN_RATE, MAX_RATE = 0.25, 4.0
ALPHABETS = ("buckwalter", "ipa")
ATTRIBUTES: dict[str, frozenset[str]] = {
    "speak": frozenset({"version", XML_LANG, XSI_LOCATION}),
    "p": frozenset({XML_LANG}),
    "s": frozenset({XML_LANG}),
    "break": frozenset({"time", "strength"}),
    "say-as": frozenset({"interpret-as", "format"}),
    "sub": frozenset({"alias"}),
    "phoneme": frozenset({"alphabet", "ph"}),
    "prosody": frozenset({"rate"}),
    "lang": frozenset({XML_LANG}),
}
_LEAVES = frozenset({"break", "say-as", "sub", "phoneme"})
# <speak, or an XML declaration or DOCTYPE (refused later, but clearly markup, not text)
_START = re.compile(r"\A[\s\ufeff]*(?:<speak[\s>/]|<\?xml[\s?]|<!DOCTYPE[\s>])")
_TIME = re.compile(r"(\d+(?:\.\d+)?)(ms|s)")
_RATE = re.compile(r"([+-]?)(\d+(?:\.\d+)?)(%?)")
_RANK = {None: 0, "comma": 1, "semicolon": 1, "colon": 1, "paragraph": 3}


def is_ssml(text: str) -> bool:
    """True only for text that starts with ``<speak``, an XML declaration or a DOCTYPE."""
    return isinstance(text, str) and _START.match(text) is not None


def parse_ssml(
    text: str, *, clauses: Collection[str] = (), scheme: str | None = None
) -> list[Sentence | Break]:
    """The sentences and breaks of an SSML document, in order.

    ``clauses`` are the clause boundaries to cut sentences at (as for plain
    text); ``scheme`` is the model's romanization, which decides whether
    ``<phoneme alphabet="ipa">`` can be honoured.
    """
    if not is_ssml(text):
        raise SsmlError("SSML must start with <speak> (an <?xml ...?> declaration may precede it)")
    root, positions = _parse_xml(text.lstrip("\ufeff"))
    builder = _Builder(positions, set(clauses) & CLAUSE_BOUNDARIES, scheme)
    if _local(root.tag) != "speak":
        raise builder.error(root, f"the root element must be <speak>, not <{_local(root.tag)}>")
    builder.walk(root, lang=None, inside=())
    builder.close(None)
    return builder.items


def _parse_xml(text: str) -> tuple[Element, dict[Element, tuple[int, int]]]:
    """The element tree (DOCTYPE, entities and external references refused) and each element's position."""
    builder = _PositionedTreeBuilder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    builder.expat = parser.parser
    try:
        parser.feed(text)
        root = parser.close()
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        hint = ""
        if "not well-formed" in reason or "undefined entity" in reason:
            hint = " (inside SSML write & as &amp; and < as &lt;)"
        raise SsmlError(
            f"malformed SSML at line {line}, column {column + 1}: {reason}{hint}"
        ) from None
    except DefusedXmlException:
        raise SsmlError(
            "SSML must not declare a DOCTYPE, entities or external references: they are "
            "refused for safety (no entity expansion, no external files)"
        ) from None
    return root, builder.positions


class _PositionedTreeBuilder(TreeBuilder):
    """A ``TreeBuilder`` that remembers where each element starts."""

    def __init__(self) -> None:
        super().__init__()
        self.expat = None
        self.positions: dict[Element, tuple[int, int]] = {}

    def start(self, tag: str, attrs: dict[str, str]) -> Element:  # type: ignore[override]
        element = super().start(tag, attrs)
        if self.expat is not None:
            self.positions[element] = (
                self.expat.CurrentLineNumber,  # type: ignore[attr-defined]
                self.expat.CurrentColumnNumber + 1,  # type: ignore[attr-defined]
            )
        return element


def _local(tag: str) -> str:
    return tag.removeprefix(SSML_NAMESPACE)


class _Builder:
    """Walks the tree, collecting pieces into sentences and breaks."""

    def __init__(
        self,
        positions: dict[Element, tuple[int, int]],
        clauses: set[str],
        scheme: str | None,
    ) -> None:
        self.positions = positions
        self.clauses = clauses
        self.scheme = scheme
        self.items: list[Sentence | Break] = []
        self.pieces: list[Piece] = []
        self.rate = 1.0

    def error(self, element: Element, message: str) -> SsmlError:
        line, column = self.positions.get(element, (0, 0))
        return SsmlError(f"SSML line {line}, column {column}: {message}")

    # ----- structure
    def close(self, boundary: Boundary | None) -> None:
        """End the current sentence with ``boundary`` (or raise the last one's to it)."""
        if any(piece.text.strip() for piece in self.pieces):
            self.items.append(Sentence(tuple(self.pieces), boundary, self.rate))
        elif self.items and isinstance(self.items[-1], Sentence):
            last = self.items[-1]
            if _RANK.get(boundary, 2) > _RANK.get(last.boundary, 2):
                self.items[-1] = Sentence(last.pieces, boundary, last.rate)
        self.pieces = []

    def text(self, text: str | None, lang: str | None) -> None:
        if not text:
            return
        text = re.sub(r"\s+", " ", text)
        if not text.strip():
            self._space()
            return
        chunks = split_at_pauses(text, clauses=self.clauses)
        for index, chunk in enumerate(chunks):
            piece = chunk.text
            if index == 0 and text.startswith(" "):
                piece = " " + piece
            if index == len(chunks) - 1 and chunk.boundary is None and text.endswith(" "):
                piece += " "
            self.pieces.append(Piece(piece, lang=lang))
            if chunk.boundary is not None:
                self.close(chunk.boundary)

    def _space(self) -> None:
        """Whitespace between two inline elements: a space after the last piece."""
        if self.pieces and not self.pieces[-1].text.endswith(" "):
            last = self.pieces[-1]
            self.pieces[-1] = Piece(last.text + " ", last.kind, last.lang, last.said, last.written)

    def walk(self, element: Element, *, lang: str | None, inside: tuple[str, ...]) -> None:
        name = _local(element.tag)
        self._check(element, name, inside)
        if name in _LEAVES:
            self.leaf(element, name, lang)
            return
        lang = self._lang(element, lang)
        if name in ("p", "s"):
            self.close("paragraph" if name == "p" else "sentence")
        outer_rate = self.rate
        if name == "prosody":
            self._set_rate(outer_rate * self._rate(element), element)
        self.text(element.text, lang)
        for child in element:
            self.walk(child, lang=lang, inside=(*inside, name))
            self.text(child.tail, lang)
        if name in ("p", "s"):
            self.close("paragraph" if name == "p" else "sentence")
        if name == "prosody":
            self._set_rate(outer_rate, element)

    def _check(self, element: Element, name: str, inside: tuple[str, ...]) -> None:
        if not element.tag.startswith(SSML_NAMESPACE) and element.tag.startswith("{"):
            raise self.error(element, f"element {element.tag} is from another namespace")
        if name not in ATTRIBUTES:
            raise self.error(
                element,
                f"<{name}> is not in natiq's SSML subset; use "
                + ", ".join(f"<{known}>" for known in ATTRIBUTES),
            )
        if name == "speak" and inside:
            raise self.error(element, "<speak> may only be the root element")
        if name == "p" and ("p" in inside or "s" in inside):
            raise self.error(element, "<p> cannot be inside another <p> or an <s>")
        if name == "s" and "s" in inside:
            raise self.error(element, "<s> cannot be inside another <s>")
        unknown = sorted(set(element.attrib) - ATTRIBUTES[name])
        if unknown:
            allowed = ", ".join(_attribute_name(a) for a in sorted(ATTRIBUTES[name])) or "none"
            raise self.error(
                element,
                f"<{name}> has no attribute(s) {', '.join(_attribute_name(a) for a in unknown)} "
                f"in natiq's SSML subset (it takes: {allowed})",
            )

    def _lang(self, element: Element, lang: str | None) -> str | None:
        tag = element.get(XML_LANG)
        if tag is None:
            if _local(element.tag) == "lang":
                raise self.error(element, '<lang> needs xml:lang="..." (e.g. "en")')
            return lang
        try:
            espeak_voice(tag)
        except InputTextError as exc:
            raise self.error(element, str(exc)) from None
        return None if is_arabic_language(tag) else tag

    # ----- leaves
    def leaf(self, element: Element, name: str, lang: str | None) -> None:
        if len(element):
            raise self.error(element, f"<{name}> holds text only, not other elements")
        content = re.sub(r"\s+", " ", element.text or "").strip()
        if name == "break":
            if content:
                raise self.error(element, "<break/> is empty: write the text after it")
            self.close(None)
            self.items.append(Break(self._break_seconds(element)))
            return
        try:
            self.pieces.append(self._inline(element, name, content, lang))
        except SsmlError as exc:
            raise self.error(element, str(exc)) from None

    def _inline(self, element: Element, name: str, content: str, lang: str | None) -> Piece:
        if name == "say-as":
            interpret_as = element.get("interpret-as")
            if interpret_as is None:
                raise SsmlError("<say-as> needs interpret-as=" + "|".join(INTERPRETATIONS))
            spoken = say_as(content, interpret_as, format=element.get("format"))
            return Piece(spoken, "spoken", written=content)
        if name == "sub":
            alias = element.get("alias")
            if alias is None or not alias.strip():
                raise SsmlError('<sub> needs a non-empty alias="..." (what to read)')
            return Piece(alias, "text", lang=lang, written=content)
        alphabet, ph = element.get("alphabet"), element.get("ph")
        if alphabet not in ALPHABETS or not ph or not ph.strip():
            raise SsmlError(
                '<phoneme> needs alphabet="buckwalter" or "ipa" and a non-empty ph="..."'
            )
        if alphabet == "ipa":
            if self.scheme != "ipa":
                reads = "Arabic script" if self.scheme is None else f"the {self.scheme} scheme"
                raise SsmlError(
                    f'<phoneme alphabet="ipa"> needs a model trained on the ipa scheme; this '
                    f'model reads {reads}: write the pronunciation with alphabet="buckwalter"'
                )
            return Piece(ph.strip(), "model", said=content or ph.strip(), written=content)
        try:
            arabic = pronunciation(ph)
        except DataFormatError as exc:
            raise SsmlError(f'<phoneme alphabet="buckwalter">: {exc}') from None
        return Piece(arabic, "spoken", written=content)

    def _break_seconds(self, element: Element) -> float:
        time, strength = element.get("time"), element.get("strength")
        if time is not None:
            match = _TIME.fullmatch(time.strip())
            if match is None:
                raise self.error(element, f'<break time={time!r}>: write e.g. "700ms" or "1.5s"')
            seconds = float(match[1]) / (1000 if match[2] == "ms" else 1)
            if seconds > MAX_BREAK_S:
                raise self.error(element, f"<break time={time!r}> is longer than {MAX_BREAK_S:g} s")
            return seconds
        if strength is None:
            return STRENGTH_SECONDS["medium"]
        if strength not in STRENGTH_SECONDS:
            raise self.error(
                element, f"<break strength={strength!r}>: one of {', '.join(STRENGTH_SECONDS)}"
            )
        return STRENGTH_SECONDS[strength]

    def _rate(self, element: Element) -> float:
        rate = element.get("rate")
        if rate is None:
            raise self.error(element, '<prosody> needs rate="..." (natiq supports only the rate)')
        value = rate.strip()
        if value in RATE_WORDS:
            return RATE_WORDS[value]
        match = _RATE.fullmatch(value)
        if match is None:
            raise self.error(
                element,
                f"<prosody rate={rate!r}>: write x-slow, slow, medium, fast, x-fast, 80%, +20% or 1.2",
            )
        sign, number, percent = match[1], float(match[2]), match[3]
        if percent and sign:
            return 1.0 + (number if sign == "+" else -number) / 100
        if percent:
            return number / 100
        if sign:
            raise self.error(element, f"<prosody rate={rate!r}>: a relative rate is a percentage")
        return number

    def _set_rate(self, rate: float, element: Element) -> None:
        if not MIN_RATE <= rate <= MAX_RATE:
            raise self.error(
                element,
                f"<prosody rate> gives a speaking rate of {rate:g}; natiq speaks at "
                f"{MIN_RATE:g}x to {MAX_RATE:g}x",
            )
        if rate != self.rate:
            self.close(None)
            self.rate = rate


def _attribute_name(name: str) -> str:
    return (
        "xml:lang" if name == XML_LANG else "xsi:schemaLocation" if name == XSI_LOCATION else name
    )
