"""The apology clips ship in the repo, decode to real speech, and re-render offline."""

import array
import shutil

import pytest
from typer.testing import CliRunner

from receptionist.call import clips as playback
from receptionist.ops import clips
from receptionist.ops.cli import app


def rms(frames) -> float:
    samples = array.array("h")
    for frame in frames:
        samples.frombytes(bytes(frame.data))
    return (sum(s * s for s in samples) / max(len(samples), 1)) ** 0.5


@pytest.mark.parametrize("lang", clips.catalogued_languages())
@pytest.mark.parametrize("name", sorted(clips.CLIP_TEXT))
def test_shipped_clip_is_audible_speech_in_20ms_frames(name, lang):
    path = playback.clip_path(name, lang)
    frames = list(playback.read_frames(path))
    assert clips.clip_seconds(path) > 2.0
    assert {f.samples_per_channel for f in frames} == {playback.SAMPLE_RATE // 50}
    assert rms(frames) > 300  # speech, not silence


@pytest.mark.skipif(
    not shutil.which("espeak-ng") or not shutil.which("sox"), reason="espeak-ng/sox"
)
def test_render_with_espeak_writes_a_playable_clip(tmp_path):
    path = clips.render_with_espeak("hello", "Hello from the dental office.", out_dir=tmp_path)
    assert rms(playback.read_frames(path)) > 300
    assert [p.name for p in tmp_path.iterdir()] == ["hello.wav"]


@pytest.mark.skipif(
    not shutil.which("espeak-ng") or not shutil.which("sox"), reason="espeak-ng/sox"
)
def test_render_clips_command_renders_every_clip(monkeypatch, tmp_path):
    """`receptionist render-clips` writes each clip (here into tmp_path, not the shipped ones).
    It once looked the clips up in the playback module and stopped with AttributeError."""
    render = clips.render_with_espeak
    monkeypatch.setattr(
        clips,
        "render_with_espeak",
        lambda name, text, folder, lang: render(name, text, tmp_path / folder.name, lang),
    )
    result = CliRunner().invoke(app, ["render-clips"])
    assert result.exit_code == 0, result.output
    langs = clips.catalogued_languages()
    assert {"en", "es"} <= set(langs)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/*")) == sorted(
        f"{lang}/{n}.wav" for lang in langs for n in clips.CLIP_TEXT
    )
    for lang in langs:
        for name in clips.CLIP_TEXT:
            assert rms(playback.read_frames(tmp_path / lang / f"{name}.wav")) > 300


def test_the_spanish_clips_say_the_spanish_words():
    assert clips.clip_texts("es")["trouble-goodbye"].startswith("Lo siento, tengo un problema")
