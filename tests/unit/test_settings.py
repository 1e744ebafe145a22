"""Settings are validated once, and every problem names the variable and the fix."""

import pytest

from receptionist.settings import SettingsError, load_settings

KEYS = (
    "DEEPGRAM_API_KEY",
    "OPENAI_API_KEY",
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in (*KEYS, "PROVIDER_FACTORY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout


def test_console_without_keys_names_each_missing_key_and_where_to_get_it():
    with pytest.raises(SettingsError) as err:
        load_settings("console")
    text = str(err.value)
    assert "DEEPGRAM_API_KEY is not set" in text and "console.deepgram.com" in text
    assert "OPENAI_API_KEY is not set" in text
    assert "LIVEKIT_URL" not in text  # console mode needs no LiveKit server


def test_start_also_needs_livekit_credentials(monkeypatch):
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg")
    monkeypatch.setenv("OPENAI_API_KEY", "oa")
    with pytest.raises(SettingsError) as err:
        load_settings("start")
    assert [p.split(" ")[0] for p in err.value.problems] == [
        "LIVEKIT_URL",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
    ]


def test_invalid_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("NOISE_CANCELLATION", "maybe")
    monkeypatch.setenv("LIVEKIT_URL", "localhost:7880")
    monkeypatch.setenv("ENDPOINTING_MAX_DELAY", "abc")
    with pytest.raises(SettingsError) as err:
        load_settings()
    text = str(err.value)
    assert "NOISE_CANCELLATION is invalid" in text
    assert "LIVEKIT_URL is invalid" in text and "wss://" in text
    assert "ENDPOINTING_MAX_DELAY is invalid" in text


def test_agent_name_defaults_to_receptionist_and_is_configurable(monkeypatch):
    assert load_settings().agent_name == "receptionist"
    monkeypatch.setenv("AGENT_NAME", "front-desk")
    assert load_settings().agent_name == "front-desk"


def test_provider_factory_replaces_the_provider_keys(monkeypatch):
    monkeypatch.setenv("PROVIDER_FACTORY", "tests.support.e2e_providers:build")
    assert load_settings("console").provider_factory


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    assert "sk-very-secret" not in repr(load_settings())


def test_env_example_lists_every_setting_and_loads_as_is(tmp_path):
    from dotenv import dotenv_values

    from receptionist.paths import REPO_ROOT
    from receptionist.settings import Settings

    example = REPO_ROOT / ".env.example"
    assert {name.lower() for name in dotenv_values(example)} == set(Settings.model_fields)
    (tmp_path / ".env").write_text(example.read_text())
    settings = load_settings()  # cwd is tmp_path: reads the copied .env
    assert settings.agent_name == "receptionist"
