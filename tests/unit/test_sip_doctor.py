"""`sip doctor` rules, each on the smallest set of objects that shows the failure it encodes."""

from __future__ import annotations

from livekit import api

from receptionist.ops.sip.doctor import AgentSide, Severity, diagnose, has_errors, outbound_needs
from receptionist.ops.sip.provisioning import Existing

AGENT = AgentSide(agent_name="receptionist", cancels_noise=False)


def trunk(tid="ST_1", numbers=("+14145550100",), user="u", addresses=(), krisp=False):
    return api.SIPInboundTrunkInfo(
        sip_trunk_id=tid, name=f"trunk-{tid}", numbers=list(numbers), auth_username=user,
        auth_password="p" if user else "", allowed_addresses=list(addresses), krisp_enabled=krisp,
    )  # fmt: skip


def rule(
    rid="SDR_1",
    trunks=("ST_1",),
    agents=("receptionist",),
    numbers=(),
    krisp=False,
    callers=(),
    pin="",
):
    return api.SIPDispatchRuleInfo(
        sip_dispatch_rule_id=rid, name=f"rule-{rid}", trunk_ids=list(trunks),
        numbers=list(numbers), inbound_numbers=list(callers), krisp_enabled=krisp,
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix="call-", pin=pin)
        ),
        room_config=api.RoomConfiguration(
            agents=[api.RoomAgentDispatch(agent_name=a) for a in agents]
        ),
    )  # fmt: skip


def codes(existing: Existing, agent: AgentSide = AGENT) -> set[str]:
    return {f.code for f in diagnose(existing, agent)}


def test_a_correct_setup_has_no_findings():
    assert diagnose(Existing([trunk()], [rule()], []), AGENT) == []


def test_rule_without_room_config_is_an_error():
    findings = diagnose(Existing([trunk()], [rule(agents=())], []), AGENT)
    assert [f.code for f in findings] == ["rule-no-agent"]
    assert findings[0].severity == Severity.ERROR and "sip setup" in findings[0].fix
    assert has_errors(findings)


def test_rule_for_another_agent_name_is_an_error():
    assert codes(Existing([trunk()], [rule(agents=("old-agent",))], [])) == {"rule-wrong-agent"}


def test_trunk_numbers_must_be_e164_and_are_masked():
    findings = diagnose(Existing([trunk(numbers=("4145550100",))], [rule()], []), AGENT)
    assert [f.code for f in findings] == ["trunk-number-format"]
    assert "4145550100" not in findings[0].problem and "***0100" in findings[0].problem


def test_trunk_open_to_anyone_is_an_error_but_an_allow_list_is_enough():
    assert codes(Existing([trunk(user="")], [rule()], [])) == {"trunk-open"}
    assert codes(Existing([trunk(user="", addresses=("203.0.113.0/24",))], [rule()], [])) == set()


def test_krisp_on_trunk_warns_only_when_the_agent_cancels_noise_too():
    existing = Existing([trunk(krisp=True)], [rule()], [])
    assert codes(existing) == set()
    findings = diagnose(existing, AgentSide("receptionist", cancels_noise=True))
    assert [(f.code, f.severity) for f in findings] == [
        ("double-noise-cancellation", Severity.WARNING)
    ]
    assert not has_errors(findings)


def test_rule_pointing_at_a_missing_trunk():
    found = codes(Existing([trunk()], [rule(), rule("SDR_2", trunks=("ST_gone",))], []))
    assert "rule-missing-trunk" in found


def test_trunk_no_rule_covers():
    existing = Existing([trunk(), trunk("ST_2", numbers=("+14145550111",))], [rule()], [])
    findings = diagnose(existing, AGENT)
    assert [f.code for f in findings] == ["number-no-rule"]
    assert "ST_2" in findings[0].subject and "***0111" in findings[0].problem


def test_rule_without_trunk_ids_covers_every_trunk():
    assert codes(Existing([trunk(), trunk("ST_2")], [rule(trunks=())], [])) == set()


def test_overlapping_rules_conflict_and_duplicate_names_warn():
    first, second = rule(), rule("SDR_2")
    second.name = first.name
    found = codes(Existing([trunk()], [first, second], []))
    assert {"rule-conflict", "rule-duplicate-name"} <= found


def test_rules_on_different_numbers_do_not_conflict():
    rules = [rule(numbers=("+14145550100",)), rule("SDR_2", numbers=("+14145550101",))]
    assert codes(Existing([trunk()], rules, [])) == set()


def test_practice_rule_plus_always_on_fallback_is_not_a_conflict():
    # The field notes' fix for no_rule_matched: a rule without trunk_ids is a fallback that
    # collides only with another fallback; the rule naming the trunk takes priority.
    assert codes(Existing([trunk()], [rule(), rule("SDR_fallback", trunks=())], [])) == set()


def test_two_fallback_rules_conflict():
    rules = [rule(trunks=()), rule("SDR_2", trunks=())]
    assert codes(Existing([trunk()], rules, [])) == {"rule-conflict"}


def test_rule_for_one_number_takes_priority_over_the_rule_for_the_whole_trunk():
    rules = [rule(numbers=("+14145550100",)), rule("SDR_2")]
    assert codes(Existing([trunk()], rules, [])) == set()


def test_pins_and_callers_separate_rules_but_equal_ones_conflict():
    by_pin = [rule(pin="1234"), rule("SDR_2", pin="9876")]
    assert codes(Existing([trunk()], by_pin, [])) == set()
    same_pin = [rule(pin="1234"), rule("SDR_2", pin="1234")]
    assert codes(Existing([trunk()], same_pin, [])) == {"rule-conflict"}
    by_caller = [
        rule(callers=("+14145550123",)),
        rule("SDR_2", callers=("+14145550124",)),
        rule("SDR_everyone", trunks=()),
    ]
    assert codes(Existing([trunk()], by_caller, [])) == set()


def test_conflict_keys_normalise_numbers_like_the_server():
    rules = [rule(numbers=("+1 414 555-0100",)), rule("SDR_2", numbers=("14145550100",))]
    findings = diagnose(Existing([trunk()], rules, []), AGENT)
    assert [f.code for f in findings] == ["rule-conflict"]
    assert "SDR_1" in findings[0].subject and "SDR_2" in findings[0].subject
    assert "***0100" in findings[0].problem and "4145550100" not in findings[0].problem


def test_each_trunk_number_needs_a_rule_covering_that_number():
    two = trunk(numbers=("+14145550100", "+14145550111"))
    findings = diagnose(Existing([two], [rule(numbers=("+14145550100",))], []), AGENT)
    assert [f.code for f in findings] == ["number-no-rule"]
    assert "***0111" in findings[0].problem and "***0100" not in findings[0].problem
    both = [rule(numbers=("+14145550100",)), rule("SDR_2", numbers=("+14145550111",))]
    assert codes(Existing([two], both, [])) == set()


def test_number_reached_only_by_caller_limited_rules_warns():
    findings = diagnose(Existing([trunk()], [rule(callers=("+14145550123",))], []), AGENT)
    assert [(f.code, f.severity) for f in findings] == [
        ("number-callers-restricted", Severity.WARNING)
    ]


def test_rule_without_room_config_fix_says_setup_adopts_it_in_place():
    fix = diagnose(Existing([trunk()], [rule(agents=())], []), AGENT)[0].fix
    assert "adopts" in fix and "in place" in fix and "'receptionist'" in fix


def outbound(tid="ST_o", address="sip.telnyx.com", numbers=("+14145550100",), user="u"):
    return api.SIPOutboundTrunkInfo(
        sip_trunk_id=tid, name=f"out-{tid}", address=address, numbers=list(numbers),
        auth_username=user, auth_password="p" if user else "",
    )  # fmt: skip


def test_outbound_trunk_on_a_per_account_subdomain_warns():
    bad = outbound(address="acme.sip.telnyx.com")
    good = outbound("ST_p")
    findings = diagnose(Existing([trunk()], [rule()], [bad, good]), AGENT)
    assert [(f.code, f.subject) for f in findings] == [
        ("outbound-subdomain", "trunk out-ST_o [ST_o]")
    ]
    assert "sip.telnyx.com" in findings[0].fix


def test_outbound_caller_id_missing_or_not_e164_is_an_error_naming_the_setting():
    local = outbound(numbers=("4145550100",))
    none = outbound("ST_n", numbers=())
    findings = diagnose(Existing([trunk()], [rule()], [local, none, outbound("ST_ok")]), AGENT)
    assert [(f.code, f.subject, f.severity) for f in findings] == [
        ("outbound-number", "trunk out-ST_o [ST_o]", Severity.ERROR),
        ("outbound-number", "trunk out-ST_n [ST_n]", Severity.ERROR),
    ]
    assert "***0100" in findings[0].problem and "4145550100" not in findings[0].problem
    assert "no number" in findings[1].problem
    assert all("SIP_OUTBOUND_NUMBERS" in f.fix for f in findings)


def test_outbound_trunk_without_credentials_warns():
    findings = diagnose(Existing([trunk()], [rule()], [outbound(user="")]), AGENT)
    assert [(f.code, f.severity) for f in findings] == [
        ("outbound-no-credentials", Severity.WARNING)
    ]
    assert "SIP_OUTBOUND_USERNAME" in findings[0].fix


def test_errors_come_before_warnings():
    existing = Existing([trunk(krisp=True)], [rule(agents=())], [])
    findings = diagnose(existing, AgentSide("receptionist", cancels_noise=True))
    assert [f.severity for f in findings] == [Severity.ERROR, Severity.WARNING, Severity.WARNING][
        : len(findings)
    ]
    assert findings[0].severity == Severity.ERROR


def _dialling_out(mode="warm", transfer_trunk="", reminders=False, reminder_trunk=""):
    from tests.support.harness import example_practice

    practice = example_practice()
    transfers = practice.transfers.model_copy(
        update={"mode": mode, "outbound_trunk": transfer_trunk}
    )
    wanted = practice.reminders.model_copy(
        update={"enabled": reminders, "outbound_trunk": reminder_trunk}
    )
    return practice.model_copy(update={"transfers": transfers, "reminders": wanted})


def test_warm_transfers_and_reminders_need_an_outbound_trunk_that_exists():
    practice = _dialling_out(reminders=True)
    needs = outbound_needs([practice])
    assert [(n.feature, n.trunk_id) for n in needs] == [
        ("warm transfers", ""),
        ("reminder calls", ""),
    ]
    none = diagnose(Existing([trunk()], [rule()], []), AGENT, needs)
    assert [(f.code, f.severity) for f in none] == [("outbound-trunk-missing", Severity.ERROR)] * 2
    assert practice.numbers[0] not in none[0].problem and "SIP_OUTBOUND" in none[0].fix
    carrying = outbound(numbers=(practice.numbers[0],))
    assert not diagnose(Existing([trunk()], [rule()], [carrying]), AGENT, needs)


def test_a_named_outbound_trunk_must_be_on_the_server():
    needs = outbound_needs([_dialling_out(transfer_trunk="ST_gone")])
    findings = diagnose(Existing([trunk()], [rule()], [outbound("ST_o")]), AGENT, needs)
    assert [f.code for f in findings] == ["outbound-trunk-missing"]
    assert "ST_gone" in findings[0].problem
    assert not diagnose(Existing([trunk()], [rule()], [outbound("ST_gone")]), AGENT, needs)


def test_cold_transfers_without_reminders_dial_nothing_out():
    assert outbound_needs([_dialling_out(mode="cold")]) == []
