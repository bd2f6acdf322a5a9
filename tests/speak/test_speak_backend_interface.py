"""The backend interface declares what differs between backends and refuses, with one
wording for all, any option a backend would otherwise ignore (no weights are loaded)."""

from __future__ import annotations

import inspect
from dataclasses import fields

import pytest

from natiq.backends.base import COMMON_LOAD_OPTIONS, SynthesisOptions
from natiq.backends.registry import BACKEND_NAMES, backend_class, load_backend
from natiq.common.errors import OptionError


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_declared_load_options_are_exactly_the_load_keywords(name: str) -> None:
    cls = backend_class(name)
    parameters = inspect.signature(cls.load).parameters.values()
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters)  # no **kwargs to hide options in
    assert [p.name for p in parameters] == [*COMMON_LOAD_OPTIONS, *cls.load_options]
    assert set(cls.sampling_options) <= {f.name for f in fields(SynthesisOptions)}


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("pocket", {"audio_tokenizer": "x"}, "the pocket backend has no load option(s) audio_tokenizer (its own options: scheme, diacritize, temperature, eos_threshold, max_batch)"),
        ("higgs", {"scheme": "latin", "diacritize": "auto"}, "the higgs backend has no load option(s) diacritize, scheme (its own options: audio_tokenizer, system_prompt)"),
    ],
)  # fmt: skip
def test_a_load_option_the_backend_lacks_fails_before_loading(
    name: str, options: dict, message: str
) -> None:
    with pytest.raises(OptionError) as raised:
        load_backend(name, model="/nonexistent/model", device="cpu", **options)
    assert str(raised.value) == message


def test_sampling_options_are_checked_against_each_backend_declaration() -> None:
    pocket, higgs = backend_class("pocket"), backend_class("higgs")
    nucleus = SynthesisOptions(temperature=0.5, top_p=0.9, top_k=20, max_seconds=2.0, seed=1)
    assert higgs.check_options(nucleus) is nucleus
    with pytest.raises(OptionError) as raised:
        pocket.check_options(nucleus)
    assert str(raised.value) == (
        "the pocket backend does not support the sampling option(s) top_p, top_k "
        "(it supports: temperature, max_seconds, seed)"
    )
    plain = SynthesisOptions(temperature=0.0, max_seconds=0.5, seed=3)
    assert pocket.check_options(plain) is plain and higgs.check_options(None) == SynthesisOptions()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"temperature": -0.1}, "temperature must be a finite number >= 0"),
        ({"temperature": float("nan")}, "temperature must be a finite number >= 0"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"top_k": 0}, "top_k must be at least 1"),
        ({"max_seconds": 0}, "max_seconds must be a positive number"),
        ({"max_seconds": float("inf")}, "max_seconds must be a positive number"),
    ],
)
def test_option_values_out_of_range_are_refused(options: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        SynthesisOptions(**options)


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(OptionError, match="unknown backend 'coqui'; choose one of: pocket, higgs"):
        backend_class("coqui")
