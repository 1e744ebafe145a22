"""Call info is read from the SIP participant's attributes, safely."""

from receptionist.domain.calls import CallInfo, Outcome
from receptionist.domain.phone import UNKNOWN
from receptionist.store.models import CALL_ID_LENGTH
from tests.support.states import call_state


def test_sip_attributes_become_call_info_with_e164_numbers():
    info = CallInfo.from_attributes(
        {
            "sip.phoneNumber": "14144007103",
            "sip.trunkPhoneNumber": "4145550100",
            "sip.callID": "SCL_abc",
            "sip.callIDFull": "a84b4c76e66710@carrier",
            "sip.trunkID": "ST_1",
            "sip.ruleID": "SDR_1",
        },
        "US",
        is_sip=True,
    )
    assert info.caller == "+14144007103"
    assert info.dialled == "+14145550100"
    assert (info.call_id, info.sip_call_id, info.trunk_id, info.rule_id) == (
        "SCL_abc",
        "a84b4c76e66710@carrier",
        "ST_1",
        "SDR_1",
    )
    assert info.log_id == "SCL_abc"


def test_console_participant_without_attributes_is_unknown_not_a_crash():
    info = CallInfo.from_attributes({}, "US")
    assert info.caller == UNKNOWN and info.dialled == UNKNOWN
    assert info.is_sip is False
    assert info.log_id == "local"


def test_odd_attribute_values_are_tolerated():
    info = CallInfo.from_attributes(
        {"sip.phoneNumber": "anonymous", "sip.callID": "x" * 5000, "sip.trunkID": None}, "US"
    )
    assert info.caller == UNKNOWN
    assert len(info.call_id) == CALL_ID_LENGTH  # what the call id columns hold
    assert info.trunk_id == ""


def test_headline_outcome_is_the_most_consequential():
    state = call_state()
    assert state.outcome == Outcome.ABANDONED
    state.record(Outcome.INFORMATION)
    state.record(Outcome.BOOKED)
    state.record(Outcome.BOOKED)
    assert state.outcomes == [Outcome.INFORMATION, Outcome.BOOKED]
    assert state.outcome == Outcome.BOOKED


def test_without_livekits_call_id_the_log_id_never_carries_the_sip_header():
    # The raw Call-ID header may be built from the caller's number (`+14145550123@carrier`).
    info = CallInfo.from_attributes({"sip.callIDFull": "+14145550123-77@carrier.example"}, "US")
    assert info.log_id.startswith("sip-") and "5550123" not in info.log_id
    again = CallInfo.from_attributes({"sip.callIDFull": "+14145550123-77@carrier.example"}, "US")
    assert again.log_id == info.log_id  # stable: every line of one call carries the same id


def test_the_dialled_number_picks_the_practice_in_each_practices_own_region():
    from receptionist.domain.practice import load_directory
    from receptionist.paths import REPO_ROOT

    directory = load_directory(REPO_ROOT / "practice.toml")
    home = directory.default
    assert directory.for_dialled("+14145550100") is home
    assert directory.for_dialled("(414) 555-0100") is home  # written locally, read in its region
