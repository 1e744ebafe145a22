"""A third language is a profile entry plus translated files, no code change: French, added to a
copy of prompts/ and assets/clips/ from tests/support/languages/fr/ (and clips rendered from its
catalogue), then chosen by keypad 3 on a call."""

from __future__ import annotations

import asyncio
import shutil
import tomllib
from pathlib import Path

import pytest

from receptionist.call import clips as playback
from receptionist.domain import languages
from receptionist.domain.practice import parse_practice
from receptionist.ops import clips
from receptionist.ops.startup import language_problems
from receptionist.paths import REPO_ROOT
from tests.support.harness import receptionist_call
from tests.support.scripted_llm import Say, ScriptedLLM

FRENCH = REPO_ROOT / "tests" / "support" / "languages" / "fr"

pytestmark = pytest.mark.skipif(
    not shutil.which("espeak-ng") or not shutil.which("sox"), reason="espeak-ng/sox"
)


@pytest.fixture
def with_french(tmp_path: Path, monkeypatch) -> Path:
    """prompts/fr/ and assets/clips/fr/ as a practice adds them (in a copy of the repo's)."""
    shutil.copytree(REPO_ROOT / "prompts", tmp_path / "prompts")
    shutil.copytree(REPO_ROOT / "assets" / "clips", tmp_path / "clips")
    shutil.copytree(FRENCH, tmp_path / "prompts" / "fr")
    monkeypatch.setattr(languages, "PROMPTS_DIR", tmp_path / "prompts")
    monkeypatch.setattr(clips, "PROMPTS_DIR", tmp_path / "prompts")
    monkeypatch.setattr(playback, "CLIPS_DIR", tmp_path / "clips")
    languages.catalogue.cache_clear()
    for name, text in clips.clip_texts("fr").items():
        clips.render_with_espeak(name, text, tmp_path / "clips" / "fr", "fr")
    yield tmp_path
    languages.catalogue.cache_clear()


def said(call) -> list[str]:
    items = call.session.history.items
    return [i.text_content or "" for i in items if i.type == "message" and i.role == "assistant"]


def french_practice():
    data = tomllib.loads((REPO_ROOT / "practice.toml").read_text(encoding="utf-8"))["practice"]
    return parse_practice({**data, "languages": ["en", "es", "fr"]})


async def test_french_is_offered_chosen_with_3_and_spoken(with_french):
    practice = french_practice()
    assert language_problems([practice]) == []  # prompts, lines and clips: all there
    script = ScriptedLLM([Say("Bien sûr.")])
    async with receptionist_call(script, practice=practice) as call:
        async with asyncio.timeout(5):
            while not said(call):
                await asyncio.sleep(0.02)
        [greeting] = said(call)
        call.state.keypad.press("3")
        await call.state.keypad.drain()
        await call.session.run(user_input="Je voudrais un rendez-vous.")
        heard = [i.text_content for i in call.session.history.items if i.type == "message"]
    assert greeting.endswith(
        "Para español, oprima 2 o diga español. Pour le français, appuyez sur 3 ou dites français."
    )
    assert "Très bien, continuons en français. Comment puis-je vous aider ?" in heard
    assert call.state.language == "fr"
    system = next(i for i in script.requests[0].items if i.type == "message" and i.role == "system")
    assert "toujours français avec cette personne" in (system.text_content or "")
    assert "Lundi de 08:00 à 17:00" in (system.text_content or "")  # Babel's day names


def test_without_its_files_the_third_language_is_refused_at_start_up():
    found = language_problems([french_practice()])
    assert any("'fr' has no" in p and "lines.toml" in p for p in found)
