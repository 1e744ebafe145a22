"""`receptionist check`: the profile alone, every problem at once, type mistakes in plain words.

Before, fixing a profile was one problem per run: an unknown top-level table hid the [practice]
table's mistakes, and those hid every location's; and `duration_minutes = "45 min"` was pydantic's
"Input should be a valid integer, unable to parse string as an integer".
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from receptionist.ops.cli import app

REPO_ROOT = Path(__file__).resolve().parents[2]


def broken_profile(folder: Path) -> Path:
    """The example profile with four mistakes in four places."""
    text = (REPO_ROOT / "practice.toml").read_text()
    text = text.replace("duration_minutes = 60", 'duration_minutes = "45 min"', 1)
    text = text.replace('region = "US"', 'region = "US"\nparkng = "typo"', 1)
    text += "\n[reminder]\nhours = 24\n"  # not a table this file knows
    text += '\n[[location]]\nid = "north"\nname = "North"\nphone = "+14145550199"\ntimezone = 5\n'
    path = folder / "practice.toml"
    path.write_text(text)
    return path


def test_check_lists_every_problem_of_the_profile_at_once(tmp_path):
    result = CliRunner().invoke(app, ["check", "--file", str(broken_profile(tmp_path))])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "reminder: is not a known top-level table" in said
    assert "practice.parkng: is not a known field" in said
    assert (
        "practice.visit_types[0].duration_minutes: should be a whole number, not '45 min'" in said
    )
    assert "write 45 without quotes or units" in said
    assert "location[0].timezone: should be text in quotes, not 5" in said
    assert "4 problem(s)" in said
    # A location inherits the [practice] table's mistakes; each is said once, not per location.
    assert said.count("duration_minutes") == 1


def test_check_says_a_valid_profile_is_valid(tmp_path):
    result = CliRunner().invoke(app, ["check", "--file", str(REPO_ROOT / "practice.toml")])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "Lakeside Family Dental (lakeside)" in result.output


def test_a_folder_with_two_broken_files_names_both(tmp_path):
    good = (REPO_ROOT / "practice.toml").read_text()
    (tmp_path / "practice.toml").write_text(good.replace('id = "lakeside"', "id = 7", 1))
    (tmp_path / "north.toml").write_text("[practice]\nname = 'North'\n")
    result = CliRunner().invoke(app, ["check", "--file", str(tmp_path)])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "practice.toml: practice.id" in said and "north.toml: practice.timezone" in said
