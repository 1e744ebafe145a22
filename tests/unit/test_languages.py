"""The profile's languages: parsed with their defaults, broken ones named with the fix, and the
start-up check refusing a language whose prompts, lines or clips are missing."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from receptionist.call import clips as playback
from receptionist.domain import languages
from receptionist.domain.languages import chosen_by_words, fold
from receptionist.domain.practice import PracticeError, parse_practice
from receptionist.ops.startup import language_problems
from receptionist.paths import REPO_ROOT


def profile(**changes) -> dict:
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))["practice"]
    data.pop("language", None)
    return {**data, **changes}


def problems(**changes) -> str:
    with pytest.raises(PracticeError) as caught:
        parse_practice(profile(**changes))
    return str(caught.value)


def test_the_first_language_is_the_default_and_each_gets_its_place_as_digit():
    practice = parse_practice(profile(languages=["en", "es"]))
    en, es = practice.spoken_languages
    assert practice.default_language is not None and practice.default_language.code == "en"
    assert (en.keypad, es.keypad) == ("1", "2")
    assert es.stt_language == "es" and es.tts_voice == ""  # the settings' voice
    assert "espanol" in es.words  # the catalogue's words, folded


def test_a_language_table_overrides_its_defaults():
    practice = parse_practice(
        profile(
            languages=["en", "es"],
            language={"es": {"keypad": "9", "stt_language": "multi", "tts_voice": "aura-2-x"}},
        )
    )
    es = practice.spoken_languages[1]
    assert (es.keypad, es.stt_language, es.tts_voice) == ("9", "multi", "aura-2-x")


def test_a_profile_without_languages_speaks_english():
    data = profile()
    data.pop("languages")
    assert [lang.code for lang in parse_practice(data).spoken_languages] == ["en"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"languages": []}, 'languages: name at least one, e.g. languages = ["en"]'),
        ({"languages": ["en", "zz9"]}, "'zz9' is not a language code"),
        ({"languages": ["en", "en"]}, "a language is listed twice"),
        ({"languages": ["en"], "language": {"es": {}}}, "language.es: 'es' is not in `languages`"),
        (
            {"languages": ["en", "es"], "language": {"es": {"keypad": "0"}}},
            "language.es.keypad: '0' is not a keypad digit from 1 to 9 (0 reaches the staff)",
        ),
        (
            {"languages": ["en", "es"], "language": {"es": {"keypad": "1"}}},
            "two languages share a digit",
        ),
        (
            {"languages": ["en", "es"], "language": {"es": {"voice": "x"}}},
            "practice.language.es.voice: is not a known field",
        ),
    ],
)
def test_a_broken_language_profile_names_the_key_and_the_fix(changes, message):
    assert message in problems(**changes)


def test_the_shipped_languages_have_everything_a_call_needs():
    practice = parse_practice(profile(languages=["en", "es"]))
    assert language_problems([practice]) == []


@pytest.fixture
def prompts(tmp_path: Path, monkeypatch) -> Path:
    """A copy of prompts/ and assets/clips/ a test may break."""
    shutil.copytree(REPO_ROOT / "prompts", tmp_path / "prompts")
    shutil.copytree(REPO_ROOT / "assets" / "clips", tmp_path / "clips")
    monkeypatch.setattr(languages, "PROMPTS_DIR", tmp_path / "prompts")
    monkeypatch.setattr(playback, "CLIPS_DIR", tmp_path / "clips")
    languages.catalogue.cache_clear()
    yield tmp_path
    languages.catalogue.cache_clear()


def test_start_up_refuses_a_language_without_its_prompts_lines_or_clips(prompts):
    practice = parse_practice(profile(languages=["en", "es"]))
    (prompts / "prompts" / "es" / "receptionist.md").unlink()
    (prompts / "clips" / "es" / "trouble-goodbye.wav").unlink()
    lines = prompts / "prompts" / "es" / "lines.toml"
    lines.write_text(lines.read_text(encoding="utf-8").replace("still_there =", "#"), "utf-8")
    found = language_problems([practice])
    assert len(found) == 3
    assert "'es' has no" in found[0] and "translate prompts/en/receptionist.md there" in found[0]
    assert "[lines] still_there is missing" in found[1]
    assert "trouble-goodbye.wav: run `uv run receptionist render-clips`" in found[2]


def test_start_up_names_a_language_with_no_folder_at_all():
    practice = parse_practice(profile(languages=["en", "de"]))
    found = language_problems([practice])
    assert any("'de' has no" in p and "receptionist.md" in p for p in found)
    assert any("'de' has no" in p and "lines.toml" in p for p in found)
    assert any("'de' has no clip" in p for p in found)


@pytest.mark.parametrize(
    ("said", "code"),
    [
        ("Español, por favor.", "es"),
        ("espanol", "es"),
        ("Spanish please", "es"),
        ("In English, please", "en"),
        ("I'd like a cleaning", None),
        ("españolito", None),  # a word, not the language
    ],
)
def test_a_caller_naming_a_language_chooses_it(said, code):
    practice = parse_practice(profile(languages=["en", "es"]))
    chosen = chosen_by_words(practice.spoken_languages, said)
    assert (chosen.code if chosen else None) == code


def test_words_are_compared_without_case_or_accents():
    assert fold("  María JOSÉ Núñez ") == "maria jose nunez"
