"""natiq's SSML subset: a table of valid documents and their plan, malformed ones and their errors.

A valid case pins the whole plan (each sentence's pieces with their kind and
text, the boundary after it, its rate; each break in seconds); a malformed case
pins the error and where it points. ``shape`` writes a plan compactly:
``kind[lang]:text`` pieces joined by `` + ``, then ``/boundary`` and ``xRATE``.
"""

from __future__ import annotations

import time

import pytest

from natiq.common.errors import InputTextError, SsmlError
from natiq.text.normalize import shadda_first
from natiq.text.pauses import Break
from natiq.text.ssml import is_ssml, parse_ssml


def shape(items: list) -> list[str]:
    out = []
    for item in items:
        if isinstance(item, Break):
            out.append(f"break {item.seconds:g}")
            continue
        pieces = " + ".join(
            f"{p.kind}{'[' + p.lang + ']' if p.lang else ''}:{p.text}" for p in item.pieces
        )
        rate = f" x{item.rate:g}" if item.rate != 1 else ""
        out.append(f"{pieces} /{item.boundary}{rate}")
    return out


VALID = [
    ("<speak>مرحبا بكم</speak>", ["text:مرحبا بكم /None"]),
    ("<speak>\n  مرحبا\n   بكم  </speak>", ["text: مرحبا بكم  /None"]),
    (
        "<speak>ذهب الولد. هل عاد؟ نعم!</speak>",
        ["text:ذهب الولد. /sentence", "text:هل عاد؟ /question", "text:نعم! /exclamation"],
    ),
    (
        "<speak><p>الفقرة الأولى.</p><p>الفقرة الثانية</p></speak>",
        ["text:الفقرة الأولى. /paragraph", "text:الفقرة الثانية /paragraph"],
    ),
    (
        "<speak><s>جملة أولى</s><s>جملة ثانية</s></speak>",
        ["text:جملة أولى /sentence", "text:جملة ثانية /sentence"],
    ),
    (
        '<speak>قبل<break time="700ms"/>بعد</speak>',
        ["text:قبل /None", "break 0.7", "text:بعد /None"],
    ),
    (
        '<speak>قبل <break time="1.5s"/> بعد</speak>',
        ["text:قبل  /None", "break 1.5", "text: بعد /None"],
    ),
    (
        '<speak>قبل <break strength="strong"/> بعد</speak>',
        ["text:قبل  /None", "break 0.7", "text: بعد /None"],
    ),
    ("<speak>قبل <break/> بعد</speak>", ["text:قبل  /None", "break 0.4", "text: بعد /None"]),
    (
        '<speak>قبل <break strength="none"/> بعد</speak>',
        ["text:قبل  /None", "break 0", "text: بعد /None"],
    ),
    (
        '<speak>قبل <break time="200ms" strength="x-strong"/> بعد</speak>',
        ["text:قبل  /None", "break 0.2", "text: بعد /None"],
    ),
    (
        '<speak><break time="300ms"/>مرحبا<break time="300ms"/></speak>',
        ["break 0.3", "text:مرحبا /None", "break 0.3"],
    ),
    (
        '<speak>لدي <say-as interpret-as="cardinal">25</say-as> كتابا</speak>',
        ["text:لدي  + spoken:خَمْسَة وَعِشْرُون + text: كتابا /None"],
    ),
    ('<speak><say-as interpret-as="characters">بكم</say-as></speak>', ["spoken:بَاء كَاف مِيم /None"]),
    ('<speak><say-as interpret-as="spell-out">tv</say-as></speak>', ["spoken:تِي فِي /None"]),
    (
        '<speak><say-as interpret-as="ordinal" format="feminine">3</say-as></speak>',
        ["spoken:الثَّالِثَة /None"],
    ),
    (
        '<speak><say-as interpret-as="date" format="mdy">05/12/2024</say-as></speak>',
        ["spoken:الثَّانِي عَشَرَ مِنْ مَايُو عَام أَلْفَيْن وَأَرْبَعَة وَعِشْرِين /None"],
    ),
    (
        '<speak><say-as interpret-as="telephone">+966 50 123</say-as></speak>',
        ["spoken:زَائِد تِسْعَة سِتَّة سِتَّة، خَمْسَة صِفْر، وَاحِد اثْنَان ثَلَاثَة /None"],
    ),
    (
        '<speak><say-as interpret-as="digits">2024</say-as></speak>',
        ["spoken:اثْنَان صِفْر اثْنَان أَرْبَعَة /None"],
    ),
    (
        '<speak><say-as interpret-as="time">10:30</say-as></speak>',
        ["spoken:السَّاعَة الْعَاشِرَة وَالنِّصْف /None"],
    ),
    (
        '<speak><say-as interpret-as="currency" format="SAR">100</say-as></speak>',
        ["spoken:مِئَة رِيَال سُعُودِيّ /None"],
    ),
    (
        '<speak>قالت <sub alias="منظمة الصحة العالمية">WHO</sub> اليوم</speak>',
        ["text:قالت  + text:منظمة الصحة العالمية + text: اليوم /None"],
    ),
    (
        '<speak><phoneme alphabet="buckwalter" ph="muHam~adN">محمد</phoneme> هنا</speak>',
        ["spoken:مُحَمَّدٌ + text: هنا /None"],
    ),
    (
        '<speak>هذا <prosody rate="slow">بطيء</prosody> وهذا عادي</speak>',
        ["text:هذا  /None", "text:بطيء /None x0.75", "text: وهذا عادي /None"],
    ),
    ('<speak><prosody rate="150%">سريع</prosody></speak>', ["text:سريع /None x1.5"]),
    ('<speak><prosody rate="+20%">أسرع</prosody></speak>', ["text:أسرع /None x1.2"]),
    ('<speak><prosody rate="-10%">أبطأ</prosody></speak>', ["text:أبطأ /None x0.9"]),
    (
        '<speak><prosody rate="2"><prosody rate="50%">عادي</prosody></prosody></speak>',
        ["text:عادي /None"],
    ),
    (
        '<speak>قرأت <lang xml:lang="en">the book 2</lang> أمس</speak>',
        ["text:قرأت  + text[en]:the book 2 + text: أمس /None"],
    ),
    ('<speak xml:lang="en-US">hello there</speak>', ["text[en-US]:hello there /None"]),
    ('<speak><lang xml:lang="ar-SA">مرحبا</lang></speak>', ["text:مرحبا /None"]),
    (
        '<?xml version="1.0" encoding="UTF-8"?>\n<speak version="1.1" '
        'xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="ar">مرحبا</speak>',
        ["text:مرحبا /None"],
    ),
    ("<speak>السعر &lt; 5 &amp; الكمية &gt; 3</speak>", ["text:السعر < 5 & الكمية > 3 /None"]),
    ("<speak>أ<!-- تعليق -->ب</speak>", ["text:أب /None"]),
    (
        '<speak><say-as interpret-as="cardinal">3</say-as> <say-as interpret-as="cardinal">4</say-as></speak>',
        ["spoken:ثَلَاثَة  + spoken:أَرْبَعَة /None"],
    ),
    ("<speak>قال، ثم سكت</speak>", ["text:قال، ثم سكت /None"]),
    ("<speak></speak>", []),
]


@pytest.mark.parametrize(
    ("document", "expected"), VALID, ids=[f"valid{i}" for i in range(len(VALID))]
)
def test_valid_ssml_becomes_this_plan(document: str, expected: list[str]) -> None:
    # marks compared in the front-end's order (shadda before the vowel)
    assert shape(parse_ssml(document)) == [shadda_first(line) for line in expected]


def test_clause_marks_cut_only_when_the_pause_policy_asks() -> None:
    document = "<speak>قال، ثم سكت: انتهى</speak>"
    assert shape(parse_ssml(document, clauses={"comma", "colon"})) == [
        "text:قال، /comma",
        "text:ثم سكت: /colon",
        "text:انتهى /None",
    ]


def test_ipa_phonemes_reach_an_ipa_model_as_written() -> None:
    document = '<speak><phoneme alphabet="ipa" ph="salaːm">سلام</phoneme></speak>'
    (sentence,) = parse_ssml(document, scheme="ipa")
    (piece,) = sentence.pieces
    assert (piece.kind, piece.text, piece.said, piece.written) == (
        "model",
        "salaːm",
        "سلام",
        "سلام",
    )


MALFORMED = [
    ("<speak>مرحبا", "malformed SSML at line 1, column 13: no element found"),
    ("<speak>مرحبا</p>", "line 1, column 15: mismatched tag"),
    (
        "<speak>أ & ب</speak>",
        "column 11: not well-formed (invalid token) (inside SSML write & as &amp;",
    ),
    ("<speak>&nbsp;</speak>", "undefined entity"),
    ("<speak>a</speak><speak>b</speak>", "junk after document element"),
    ("<?xml version='1.0'?><p>مرحبا</p>", "the root element must be <speak>, not <p>"),
    (
        "<speak>\n<emphasis>مهم</emphasis></speak>",
        "SSML line 2, column 1: <emphasis> is not in natiq's SSML subset",
    ),
    ('<speak><break time="500ms" pitch="high"/></speak>', "<break> has no attribute(s) pitch"),
    ("<speak><say-as>25</say-as></speak>", "<say-as> needs interpret-as="),
    (
        '<speak><say-as interpret-as="roman">XIV</say-as></speak>',
        "interpret-as='roman'> is not supported",
    ),
    ('<speak><say-as interpret-as="cardinal">خمسة</say-as></speak>', "'خمسة' is not a number"),
    ('<speak><say-as interpret-as="ordinal">0</say-as></speak>', "is not a positive whole number"),
    (
        '<speak><say-as interpret-as="date">31/02/2024</say-as></speak>',
        "'31/02/2024' is not a valid date",
    ),
    ('<speak><say-as interpret-as="date" format="qq">1/2</say-as></speak>', "format is one of dmy"),
    ('<speak><say-as interpret-as="time">الظهر</say-as></speak>', "is not a time"),
    ('<speak><say-as interpret-as="telephone">call me</say-as></speak>', "must hold digits"),
    (
        '<speak><say-as interpret-as="cardinal"><sub alias="x">5</sub></say-as></speak>',
        "holds text only",
    ),
    ('<speak><say-as interpret-as="characters">!!!</say-as></speak>', "nothing to spell"),
    ("<speak><sub>WHO</sub></speak>", '<sub> needs a non-empty alias="..."'),
    ('<speak><phoneme alphabet="buckwalter">محمد</phoneme></speak>', 'and a non-empty ph="..."'),
    (
        '<speak><phoneme alphabet="x-sampa" ph="a">ا</phoneme></speak>',
        '<phoneme> needs alphabet="buckwalter" or "ipa"',
    ),
    (
        '<speak><phoneme alphabet="ipa" ph="salaːm">سلام</phoneme></speak>',
        "this model reads Arabic script",
    ),
    (
        '<speak><phoneme alphabet="buckwalter" ph="Hello">سلام</phoneme></speak>',
        "characters 'e' are not Buckwalter symbols",
    ),
    ('<speak><break time="fast"/></speak>', "<break time='fast'>: write e.g. \"700ms\""),
    ('<speak><break time="11s"/></speak>', "is longer than 10 s"),
    (
        '<speak><break strength="loud"/></speak>',
        "one of none, x-weak, weak, medium, strong, x-strong",
    ),
    ('<speak><break time="1s">نص</break></speak>', "<break/> is empty"),
    ("<speak><prosody>نص</prosody></speak>", "natiq supports only the rate"),
    (
        '<speak><prosody rate="5">نص</prosody></speak>',
        "a speaking rate of 5; natiq speaks at 0.25x to 4x",
    ),
    (
        '<speak><prosody rate="x-slow"><prosody rate="40%">نص</prosody></prosody></speak>',
        "column 31: <prosody rate> gives a speaking rate of 0.2",
    ),
    (
        '<speak><prosody rate="quick">نص</prosody></speak>',
        "write x-slow, slow, medium, fast, x-fast",
    ),
    ("<speak><lang>hello</lang></speak>", '<lang> needs xml:lang="..."'),
    ('<speak><lang xml:lang="english!">hello</lang></speak>', "'english!' is not a language tag"),
    (
        "<speak><s>جملة <p>فقرة</p></s></speak>",
        "column 16: <p> cannot be inside another <p> or an <s>",
    ),
    ("<speak><speak>مرحبا</speak></speak>", "<speak> may only be the root element"),
    (
        '<speak xmlns:m="http://www.w3.org/2001/mstts"><m:express-as>مرحبا</m:express-as></speak>',
        "express-as is from another namespace",
    ),
    ("مرحبا <speak>", "SSML must start with <speak>"),
]


@pytest.mark.parametrize(
    ("document", "message"), MALFORMED, ids=[f"bad{i}" for i in range(len(MALFORMED))]
)
def test_malformed_or_unsupported_ssml_is_an_error_naming_the_place(
    document: str, message: str
) -> None:
    with pytest.raises(SsmlError) as raised:
        parse_ssml(document)
    assert message in str(raised.value)
    assert isinstance(raised.value, InputTextError)  # the server answers 422


def test_entity_expansion_and_external_entities_are_refused_before_any_work(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    laughs = "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    bombs = [
        f'<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY l0 "ha">{laughs}]><speak>&l9;</speak>',
        f'<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY x SYSTEM "file://{secret}">]><speak>&x;</speak>',
        '<!DOCTYPE speak SYSTEM "http://example.com/speak.dtd"><speak>a</speak>',
    ]
    for bomb in bombs:
        started = time.thread_time()  # CPU time: a busy machine does not count
        with pytest.raises(SsmlError, match="must not declare a DOCTYPE") as raised:
            parse_ssml(bomb)
        assert time.thread_time() - started < 1.0  # refused at the DOCTYPE, nothing expanded
        assert "TOP SECRET" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<speak>مرحبا</speak>", True),
        ("  \n<speak version='1.1'>", True),
        ("\ufeff<speak>", True),
        ("<speak/>", True),
        ('<?xml version="1.0"?><speak>', True),
        ("<!DOCTYPE speak><speak>", True),
        ("السعر < 5 دولارات", False),
        ("<b>عريض</b>", False),
        ("<speaker>أحمد</speaker>", False),
        ("<speakers>", False),
        ("قال <speak>مرحبا</speak>", False),
        ("", False),
    ],
)
def test_only_text_that_starts_with_speak_is_ssml(text: str, expected: bool) -> None:
    assert is_ssml(text) is expected
