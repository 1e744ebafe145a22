"""`sip setup` decisions: settings -> desired objects -> plan, without a server."""

from __future__ import annotations

import pytest
from livekit import api

from receptionist.ops.sip.provisioning import (
    NEW_TRUNK,
    Existing,
    ProvisioningError,
    _merged,
    agent_names,
    apply,
    desired_state,
    normalize_numbers,
    plan,
    verification_problems,
)
from receptionist.settings import load_settings

NUMBERS = ["+14145550100"]


def settings(**overrides):
    base = {"sip_allowed_addresses": "203.0.113.0/24", "agent_name": "receptionist"}
    return load_settings(**{**base, **overrides})


def desired(**overrides):
    return desired_state(settings(**overrides), NUMBERS, "US")


def existing_from(want, trunk_id="ST_1", rule_id="SDR_1") -> Existing:
    """What the server holds after a successful setup of `want`."""
    trunk = api.SIPInboundTrunkInfo()
    trunk.CopyFrom(want.inbound)
    trunk.sip_trunk_id = trunk_id
    rule = api.SIPDispatchRuleInfo()
    rule.CopyFrom(want.rule)
    rule.sip_dispatch_rule_id = rule_id
    rule.trunk_ids[:] = [trunk_id]
    return Existing([trunk], [rule], [])


def test_fresh_server_creates_trunk_and_rule_naming_the_agent():
    want = desired()
    result = plan(want, Existing([], [], []))
    assert [(s.kind, s.action) for s in result.steps] == [
        ("inbound trunk", "create"),
        ("dispatch rule", "create"),
    ]
    assert agent_names(want.rule) == ["receptionist"]
    assert want.rule.rule.dispatch_rule_individual.room_prefix == "call-"
    assert list(want.inbound.numbers) == NUMBERS


def test_second_run_changes_nothing():
    want = desired()
    result = plan(want, existing_from(want))
    assert not result.changes_anything
    assert [s.object_id for s in result.steps] == ["ST_1", "SDR_1"]


def test_rule_without_room_config_is_updated_in_place():
    want = desired()
    existing = existing_from(want)
    existing.rules[0].ClearField("room_config")
    step = plan(want, existing).steps[1]
    assert (step.action, step.object_id) == ("update", "SDR_1")
    assert [(c.name, c.before, c.after) for c in step.changes] == [
        ("room_config.agents", "(none)", "receptionist")
    ]


def test_changed_credentials_are_reported_without_showing_them():
    want = desired(sip_auth_username="practice", sip_auth_password="s3cret-value")
    existing = existing_from(desired())
    step = plan(want, existing).steps[0]
    shown = " ".join(f"{c.name} {c.before} {c.after}" for c in step.changes)
    assert "auth_password" in shown and "s3cret-value" not in shown
    assert step.action == "update"


def test_numbers_in_the_plan_are_masked():
    want = desired()
    existing = existing_from(want)
    existing.inbound[0].numbers[:] = ["+14145550199"]
    change = plan(want, existing).steps[0].changes[0]
    assert change.name == "numbers"
    assert "+1414" not in change.before + change.after and "***0100" in change.after


def test_rule_follows_a_newly_created_trunk():
    want = desired()
    existing = existing_from(want)
    existing.inbound.clear()
    result = plan(want, existing)
    assert result.steps[0].action == "create"
    assert result.steps[1].changes[0].after == NEW_TRUNK


def test_duplicates_by_name_are_noted_not_deleted():
    want = desired()
    existing = existing_from(want)
    extra = api.SIPDispatchRuleInfo()
    extra.CopyFrom(existing.rules[0])
    extra.sip_dispatch_rule_id = "SDR_2"
    existing.rules.append(extra)
    result = plan(want, existing)
    assert result.steps[1].object_id == "SDR_1"
    assert any("2 dispatch rules" in note for note in result.notes)


def test_krisp_is_off_when_the_agent_cancels_noise_on_cloud():
    cloud = "wss://practice.livekit.cloud"
    assert desired(livekit_url=cloud, noise_cancellation="on").inbound.krisp_enabled is False
    assert desired(livekit_url=cloud, noise_cancellation="off").inbound.krisp_enabled is True
    assert desired(noise_cancellation="off").inbound.krisp_enabled is False  # self-hosted


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sip_allowed_addresses": ""}, "accept calls from anyone"),
        ({"sip_auth_username": "u"}, "must be set together"),
    ],
)
def test_unsafe_settings_are_refused(overrides, message):
    with pytest.raises(ProvisioningError, match=message):
        desired(**overrides)


def test_numbers_are_normalised_or_refused_by_setting_name():
    assert normalize_numbers(["(414) 555-0100", "+14145550100"], "US", "X") == NUMBERS
    with pytest.raises(ProvisioningError, match="SIP_INBOUND_NUMBERS"):
        normalize_numbers(["12"], "US", "SIP_INBOUND_NUMBERS")


def test_outbound_trunk_only_when_configured():
    assert desired().outbound is None
    want = desired(sip_outbound_address="sip.telnyx.com", sip_outbound_numbers="+14145550100")
    assert want.outbound is not None and want.outbound.address == "sip.telnyx.com"
    assert [s.kind for s in plan(want, Existing([], [], [])).steps][-1] == "outbound trunk"


def test_merge_keeps_unmanaged_fields():
    current = api.SIPInboundTrunkInfo(
        sip_trunk_id="ST_1", name="old", metadata="keep me", numbers=["+1"], krisp_enabled=True
    )
    want = api.SIPInboundTrunkInfo(name="new", numbers=NUMBERS, krisp_enabled=False)
    merged = _merged(current, want, ("name", "numbers", "krisp_enabled"))
    assert (merged.sip_trunk_id, merged.metadata) == ("ST_1", "keep me")
    assert (merged.name, list(merged.numbers), merged.krisp_enabled) == ("new", NUMBERS, False)


def test_verification_reports_what_did_not_stick():
    want = desired()
    existing = existing_from(want)
    assert verification_problems(want, existing, "receptionist") == []
    existing.rules[0].ClearField("room_config")
    problems = verification_problems(want, existing, "receptionist")
    assert any("room_config.agents" in p for p in problems)
    assert any("does not dispatch 'receptionist'" in p for p in problems)


# --- adopting objects setup did not name ---------------------------------------------------------


def hand_made(want, trunk_name="main-line", rule_name="old-rule") -> Existing:
    """A trunk with the practice's number and a rule on it, made by hand under other names,
    the rule without room_config (the deprecated top-level request fields)."""
    existing = existing_from(want, trunk_id="ST_hand", rule_id="SDR_hand")
    existing.inbound[0].name = trunk_name
    existing.rules[0].name = rule_name
    existing.rules[0].ClearField("room_config")
    return existing


def test_setup_adopts_a_hand_made_trunk_and_rule_instead_of_creating_conflicts():
    want = desired()
    result = plan(want, hand_made(want))
    trunk_step, rule_step = result.steps
    assert (trunk_step.action, trunk_step.object_id) == ("update", "ST_hand")
    assert (rule_step.action, rule_step.object_id) == ("update", "SDR_hand")
    assert trunk_step.adopted == "'main-line' [ST_hand]"
    assert rule_step.adopted == "'old-rule' [SDR_hand]"
    assert {c.name for c in rule_step.changes} == {"name", "room_config.agents"}
    assert any("adopted existing inbound trunk 'main-line' [ST_hand]" in n for n in result.notes)
    assert any("adopted existing dispatch rule 'old-rule' [SDR_hand]" in n for n in result.notes)


def test_trunk_sharing_one_number_in_another_format_is_adopted():
    want = desired()
    existing = hand_made(want)
    existing.inbound[0].numbers[:] = ["+1 414 555 0100", "+14145550199"]
    step = plan(want, existing).steps[0]
    assert (step.action, step.object_id, step.adopted) == (
        "update",
        "ST_hand",
        "'main-line' [ST_hand]",
    )


def test_rules_for_other_trunks_or_particular_callers_are_not_adopted():
    want = desired()
    existing = hand_made(want)
    existing.rules[0].trunk_ids[:] = ["ST_other"]
    assert plan(want, existing).steps[1].action == "create"
    existing.rules[0].trunk_ids[:] = ["ST_hand"]
    existing.rules[0].inbound_numbers[:] = ["+14145550123"]
    assert plan(want, existing).steps[1].action == "create"


def test_no_trunk_shares_a_number_so_nothing_is_adopted():
    want = desired()
    existing = hand_made(want)
    existing.inbound[0].numbers[:] = ["+14145550199"]
    result = plan(want, existing)
    assert [(s.action, s.adopted) for s in result.steps] == [("create", ""), ("create", "")]
    assert not any("adopted" in note for note in result.notes)


def test_adopted_rule_keeps_the_other_live_trunks_it_covers():
    want = desired()
    existing = hand_made(want)
    other = api.SIPInboundTrunkInfo(sip_trunk_id="ST_other", name="other", numbers=["+1999"])
    existing.inbound.append(other)
    existing.rules[0].trunk_ids[:] = ["ST_gone", "ST_hand", "ST_other"]
    change = next(c for c in plan(want, existing).steps[1].changes if c.name == "trunk_ids")
    assert change.after == "ST_hand, ST_other"


class FakeSip:
    """Records the calls `apply` makes; creating what already exists would be a server conflict."""

    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    async def update_inbound_trunk(self, trunk_id, trunk):
        self.calls.append(("update_inbound_trunk", trunk_id))
        self.trunk = trunk

    async def update_dispatch_rule(self, rule_id, rule):
        self.calls.append(("update_dispatch_rule", rule_id))
        self.rule = rule

    async def create_inbound_trunk(self, request):
        raise AssertionError("conflict: a trunk already carries this number")

    async def create_dispatch_rule(self, request):
        raise AssertionError("conflict: a rule already covers this trunk")


def test_apply_updates_adopted_objects_in_place():
    import asyncio
    from types import SimpleNamespace

    want = desired()
    fake = FakeSip()
    done = asyncio.run(apply(SimpleNamespace(sip=fake), want, hand_made(want)))
    assert fake.calls == [
        ("update_inbound_trunk", "ST_hand"),
        ("update_dispatch_rule", "SDR_hand"),
    ]
    assert [s.object_id for s in done.steps] == ["ST_hand", "SDR_hand"]
    assert fake.rule.name == "receptionist-dispatch" and list(fake.rule.trunk_ids) == ["ST_hand"]
    assert agent_names(fake.rule) == ["receptionist"]
