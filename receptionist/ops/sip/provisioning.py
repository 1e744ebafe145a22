"""`receptionist sip setup`: idempotent SIP provisioning through the LiveKit API.

Creates or updates, in place, the inbound trunk that accepts the practice's numbers, the dispatch
rule that sends its calls to our named agent, and optionally an outbound trunk. Never deletes and
recreates (calls arriving in the gap would be rejected). The work is split so that the decision is
pure and testable: `desired_state` (settings -> objects), `plan` (existing + desired -> steps),
`apply` (steps -> API calls), then `verify` reads everything back.

The dispatch rule is always written through the `SIPDispatchRuleInfo` wrapper with
`room_config.agents`: rules created through the deprecated top-level request fields silently lose
the agent name, and calls then ring out with no agent (see shared/docs/telephony-field-notes.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from livekit import api

from receptionist.domain.phone import UNKNOWN, mask, normalize
from receptionist.settings import Settings

Action = Literal["create", "update", "unchanged"]
Kind = Literal["inbound trunk", "dispatch rule", "outbound trunk"]
NEW_TRUNK = "(the inbound trunk)"
# One of the objects setup manages, as the LiveKit API returns and takes them (protobuf messages).
SIPObject = TypeVar(
    "SIPObject", api.SIPInboundTrunkInfo, api.SIPDispatchRuleInfo, api.SIPOutboundTrunkInfo
)


class ProvisioningError(Exception):
    """A setting that makes provisioning impossible; the message names the setting and the fix."""


@dataclass(frozen=True)
class FieldChange:
    """One field that differs; values are already safe to print (masked numbers, no secrets)."""

    name: str
    before: str
    after: str


@dataclass
class Step:
    """What setup will do to one object."""

    kind: Kind
    name: str
    action: Action
    object_id: str = ""
    changes: list[FieldChange] = field(default_factory=list)
    # Set when setup took over an object it did not name: "'<old name>' [<id>]".
    adopted: str = ""


@dataclass
class Plan:
    steps: list[Step]
    notes: list[str] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return any(step.action != "unchanged" for step in self.steps)


@dataclass
class Desired:
    """The objects settings ask for (ids empty; the rule's trunk id is filled in at apply time)."""

    inbound: api.SIPInboundTrunkInfo
    rule: api.SIPDispatchRuleInfo
    outbound: api.SIPOutboundTrunkInfo | None = None


@dataclass
class Existing:
    """What the server has now."""

    inbound: list[api.SIPInboundTrunkInfo]
    rules: list[api.SIPDispatchRuleInfo]
    outbound: list[api.SIPOutboundTrunkInfo]


# --- settings -> desired objects ----------------------------------------------------------------


def split_list(raw: str) -> list[str]:
    """`"a, b,,c"` -> `["a", "b", "c"]` (settings hold lists as comma-separated strings)."""
    return [item.strip() for item in raw.split(",") if item.strip()]


def normalize_numbers(raw: Iterable[str], region: str, setting: str) -> list[str]:
    """E.164 for every number, or an error naming the setting: the bridge matches exact strings."""
    numbers: list[str] = []
    for number in raw:
        e164 = normalize(number, region)
        if e164 == UNKNOWN:
            raise ProvisioningError(
                f"{setting}: {mask(number)} is not a valid phone number for region {region}; "
                "write it in E.164, e.g. +14145550100"
            )
        numbers.append(e164)
    return list(dict.fromkeys(numbers))


def object_names(settings: Settings) -> tuple[str, str, str]:
    """The names setup manages: it finds its own objects again by these names."""
    base = settings.agent_name
    return f"{base}-inbound", f"{base}-dispatch", f"{base}-outbound"


def desired_state(settings: Settings, numbers: list[str], region: str) -> Desired:
    """Builds the trunk(s) and rule that `settings` describe; raises on unsafe settings."""
    inbound_name, rule_name, outbound_name = object_names(settings)
    username = settings.sip_auth_username.strip()
    password = settings.sip_auth_password.get_secret_value()
    addresses = split_list(settings.sip_allowed_addresses)
    if bool(username) != bool(password):
        raise ProvisioningError(
            "SIP_AUTH_USERNAME and SIP_AUTH_PASSWORD must be set together "
            "(the same pair as the provider connection's credentials)"
        )
    if not username and not addresses:
        raise ProvisioningError(
            "the inbound trunk would accept calls from anyone: set SIP_AUTH_USERNAME and "
            "SIP_AUTH_PASSWORD, or SIP_ALLOWED_ADDRESSES (your provider's signalling IPs/CIDRs)"
        )
    if not numbers:
        raise ProvisioningError(
            "no number to answer: set SIP_INBOUND_NUMBERS or the practice's `phone` "
            "in practice.toml"
        )
    inbound = api.SIPInboundTrunkInfo(
        name=inbound_name,
        numbers=numbers,
        allowed_addresses=addresses,
        auth_username=username,
        auth_password=password,
        krisp_enabled=settings.uses_livekit_cloud and not settings.agent_cancels_noise,
    )
    rule = api.SIPDispatchRuleInfo(
        name=rule_name,
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(
                room_prefix=settings.sip_room_prefix
            )
        ),
        room_config=api.RoomConfiguration(
            agents=[api.RoomAgentDispatch(agent_name=settings.agent_name)]
        ),
    )
    return Desired(inbound=inbound, rule=rule, outbound=_desired_outbound(settings, region))


def _desired_outbound(settings: Settings, region: str) -> api.SIPOutboundTrunkInfo | None:
    """The optional outbound trunk (for calling staff or patients back through the provider)."""
    address = settings.sip_outbound_address.strip()
    if not address:
        return None
    numbers = normalize_numbers(
        split_list(settings.sip_outbound_numbers), region, "SIP_OUTBOUND_NUMBERS"
    )
    return api.SIPOutboundTrunkInfo(
        name=object_names(settings)[2],
        address=address,
        numbers=numbers,
        auth_username=settings.sip_outbound_username.strip(),
        auth_password=settings.sip_outbound_password.get_secret_value(),
    )


# --- existing + desired -> plan (pure) -----------------------------------------------------------


def _numbers(values: Iterable[str]) -> str:
    return ", ".join(mask(v) for v in sorted(values)) or "(none)"


def _plain(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "(none)"


def _secret(value: str) -> str:
    return "(set)" if value else "(empty)"


def _compare(pairs: list[tuple[str, str, str]]) -> list[FieldChange]:
    return [
        FieldChange(name, before or "(empty)", after or "(empty)")
        for name, before, after in pairs
        if before != after
    ]


def inbound_changes(
    current: api.SIPInboundTrunkInfo, want: api.SIPInboundTrunkInfo
) -> list[FieldChange]:
    """Managed fields of the inbound trunk that differ (secrets shown only as set/empty)."""
    changes = _compare(
        [
            ("name", current.name, want.name),
            ("numbers", _numbers(current.numbers), _numbers(want.numbers)),
            (
                "allowed_addresses",
                _plain(current.allowed_addresses),
                _plain(want.allowed_addresses),
            ),
            ("auth_username", current.auth_username, want.auth_username),
            ("krisp_enabled", str(current.krisp_enabled), str(want.krisp_enabled)),
        ]
    )
    if current.auth_password != want.auth_password:
        changes.append(
            FieldChange(
                "auth_password",
                _secret(current.auth_password),
                "(changed)" if want.auth_password else "(empty)",
            )
        )
    return changes


def agent_names(rule: api.SIPDispatchRuleInfo) -> list[str]:
    """The agents a rule dispatches (empty for rules made without `room_config`)."""
    return [a.agent_name for a in rule.room_config.agents]


def describe_rule(rule: api.SIPDispatchRule) -> str:
    """`individual(prefix=call-)`, `direct(room=...)`, ...: the rule's kind in one phrase."""
    kind = rule.WhichOneof("rule")
    if kind == "dispatch_rule_individual":
        return f"individual(prefix={rule.dispatch_rule_individual.room_prefix})"
    if kind == "dispatch_rule_direct":
        return f"direct(room={rule.dispatch_rule_direct.room_name})"
    if kind == "dispatch_rule_callee":
        return f"callee(prefix={rule.dispatch_rule_callee.room_prefix})"
    return "(none)"


def rule_trunk_ids(
    current: api.SIPDispatchRuleInfo, trunk_id: str, live: Iterable[str] = ()
) -> list[str]:
    """The trunk ids the rule should carry: the practice's trunk first, then any other trunk it
    already covers that still exists (setup never takes calls away from another live trunk;
    ids of deleted trunks are dropped)."""
    live = set(live)
    return [trunk_id, *(t for t in current.trunk_ids if t != trunk_id and t in live)]


def rule_changes(
    current: api.SIPDispatchRuleInfo, want: api.SIPDispatchRuleInfo, trunk_ids: list[str]
) -> list[FieldChange]:
    """Managed fields of the dispatch rule that differ (`trunk_ids`: from `rule_trunk_ids`)."""
    return _compare(
        [
            ("name", current.name, want.name),
            ("trunk_ids", ", ".join(current.trunk_ids) or "(none)", ", ".join(trunk_ids)),
            ("rule", describe_rule(current.rule), describe_rule(want.rule)),
            ("room_config.agents", _plain(agent_names(current)), _plain(agent_names(want))),
        ]
    )


def outbound_changes(
    current: api.SIPOutboundTrunkInfo, want: api.SIPOutboundTrunkInfo
) -> list[FieldChange]:
    """Managed fields of the outbound trunk that differ."""
    changes = _compare(
        [
            ("name", current.name, want.name),
            ("address", current.address, want.address),
            ("numbers", _numbers(current.numbers), _numbers(want.numbers)),
            ("auth_username", current.auth_username, want.auth_username),
        ]
    )
    if current.auth_password != want.auth_password:
        changes.append(FieldChange("auth_password", _secret(current.auth_password), "(changed)"))
    return changes


def _by_name(objects: Iterable[SIPObject], name: str) -> list[SIPObject]:
    return [o for o in objects if o.name == name]


_NUMBER = re.compile(r"^\+?[\d\- ()]+$")


def number_key(number: str) -> str:
    """A number as the server compares it (livekit protocol `NormalizeNumber`): `+` and digits."""
    if not number or not _NUMBER.match(number):
        return number
    digits = re.sub(r"[ \-()]", "", number)
    return digits if digits.startswith("+") else f"+{digits}"


def rule_pin(rule: api.SIPDispatchRuleInfo) -> str | None:
    """The rule's PIN ("" for none); None for a rule of no known kind."""
    kind = rule.rule.WhichOneof("rule")
    return None if kind is None else getattr(rule.rule, kind).pin


def _object_id(obj: SIPObject) -> str:
    if isinstance(obj, api.SIPDispatchRuleInfo):
        return obj.sip_dispatch_rule_id
    return obj.sip_trunk_id


def _adopted(obj: SIPObject) -> str:
    return f"{obj.name or '(unnamed)'!r} [{_object_id(obj)}]"


def _trunks_to_adopt(
    desired: Desired, trunks: list[api.SIPInboundTrunkInfo]
) -> list[api.SIPInboundTrunkInfo]:
    """Inbound trunks (under any name) that already carry one of the practice's numbers.

    Creating a second trunk for the same number is refused by the server as a conflict, so setup
    takes over the existing one instead.
    """
    wanted = {number_key(n) for n in desired.inbound.numbers}
    return [t for t in trunks if wanted & {number_key(n) for n in t.numbers}]


def _rules_to_adopt(
    desired: Desired, rules: list[api.SIPDispatchRuleInfo], trunk_id: str
) -> list[api.SIPDispatchRuleInfo]:
    """Dispatch rules (under any name) on the practice's trunk that setup must take over.

    First those the server would refuse ours next to (same trunk, no numbers, no caller list, no
    PIN); then those that take the practice's numbers from every caller and would outrank ours
    (a rule naming numbers has priority). Rules for particular callers are left alone.
    """
    wanted = {number_key(n) for n in desired.inbound.numbers}
    on_trunk = [r for r in rules if trunk_id in r.trunk_ids and not r.inbound_numbers]
    same_key = [r for r in on_trunk if not r.numbers and rule_pin(r) == ""]
    outranking = [
        r for r in on_trunk if r not in same_key and wanted & {number_key(n) for n in r.numbers}
    ]
    return same_key + outranking


def _step(
    kind: Kind,
    name: str,
    found: list[SIPObject],
    changes_of: Callable[[SIPObject], list[FieldChange]],
    adopted: bool = False,
) -> tuple[Step, SIPObject | None]:
    """A create step when nothing was found, else update/unchanged for the first match."""
    if not found:
        return Step(kind, name, "create"), None
    current = found[0]
    changes = changes_of(current)
    return Step(
        kind,
        name,
        "update" if changes else "unchanged",
        _object_id(current),
        changes,
        _adopted(current) if adopted else "",
    ), current


def _adoption_note(kind: str, step: Step, why: str, others: list[SIPObject]) -> str:
    note = (
        f"adopted existing {kind} {step.adopted}: {why}; setup updates it in place (same id, "
        f"renamed {step.name!r}) instead of creating a second one next to it (which the server "
        "refuses as a conflict, or which this one would outrank)"
    )
    if others:
        note += f"; also found {', '.join(_adopted(o) for o in others)}, left as they are"
    return note


def plan(desired: Desired, existing: Existing) -> Plan:
    """Decides, without side effects, what to create or update so the server matches settings.

    Setup finds its objects by name; without one of that name it adopts what is already there
    for the practice (a trunk carrying its number, a rule on that trunk), whatever its name.
    """
    notes: list[str] = []
    trunks = _by_name(existing.inbound, desired.inbound.name)
    adopt_trunk = not trunks
    if adopt_trunk:
        trunks = _trunks_to_adopt(desired, existing.inbound)
    trunk_step, trunk = _step(
        "inbound trunk",
        desired.inbound.name,
        trunks,
        lambda cur: inbound_changes(cur, desired.inbound),
        adopted=adopt_trunk,
    )
    if trunk_step.adopted:
        notes.append(
            _adoption_note(
                "inbound trunk", trunk_step, "it carries the practice's number", trunks[1:]
            )
        )
    trunk_id = trunk.sip_trunk_id if trunk is not None else NEW_TRUNK
    live = {t.sip_trunk_id for t in existing.inbound}
    rules = _by_name(existing.rules, desired.rule.name)
    adopt_rule = not rules and trunk is not None
    if adopt_rule:
        rules = _rules_to_adopt(desired, existing.rules, trunk_id)
    rule_step, _ = _step(
        "dispatch rule",
        desired.rule.name,
        rules,
        lambda cur: rule_changes(cur, desired.rule, rule_trunk_ids(cur, trunk_id, live)),
        adopted=adopt_rule,
    )
    if rule_step.adopted:
        notes.append(
            _adoption_note(
                "dispatch rule", rule_step, f"it takes the calls of trunk {trunk_id}", rules[1:]
            )
        )
    steps = [trunk_step, rule_step]
    for kind, found, adopted in (
        ("inbound trunks", trunks, adopt_trunk),
        ("dispatch rules", rules, adopt_rule),
    ):
        if len(found) > 1 and not adopted:
            notes.append(
                f"{len(found)} {kind} are named {found[0].name!r}; setup manages the first and "
                "leaves the others: delete the extras once the managed one is verified"
            )
    if (outbound := desired.outbound) is not None:
        outs = _by_name(existing.outbound, outbound.name)
        out_step, _ = _step(
            "outbound trunk",
            outbound.name,
            outs,
            lambda cur: outbound_changes(cur, outbound),
        )
        steps.append(out_step)
    return Plan(steps=steps, notes=notes)


# --- talking to the server ----------------------------------------------------------------------


async def fetch_existing(lk: api.LiveKitAPI) -> Existing:
    """Reads every inbound trunk, dispatch rule and outbound trunk from the server."""
    inbound = await lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest())
    rules = await lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest())
    outbound = await lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
    return Existing(list(inbound.items), list(rules.items), list(outbound.items))


def _merged(current: SIPObject, want: SIPObject, fields: Iterable[str]) -> SIPObject:
    """`current` with the managed `fields` taken from `want`: unmanaged fields are kept as is."""
    merged = type(current)()
    merged.CopyFrom(current)
    for name in fields:
        merged.ClearField(name)
        value = getattr(want, name)
        if hasattr(value, "extend"):
            getattr(merged, name).extend(value)
        elif hasattr(value, "CopyFrom"):
            getattr(merged, name).CopyFrom(value)
        else:
            setattr(merged, name, value)
    return merged


INBOUND_FIELDS = (
    "name",
    "numbers",
    "allowed_addresses",
    "auth_username",
    "auth_password",
    "krisp_enabled",
)
RULE_FIELDS = ("name", "trunk_ids", "rule", "room_config")
OUTBOUND_FIELDS = ("name", "address", "numbers", "auth_username", "auth_password")


async def apply(lk: api.LiveKitAPI, desired: Desired, existing: Existing) -> Plan:
    """Creates or updates (in place, never delete+create) each object; returns what it did."""
    done = plan(desired, existing)
    trunk_step, rule_step = done.steps[0], done.steps[1]
    trunk_id = await _apply_inbound(lk, trunk_step, desired, existing)
    trunk_step.object_id = trunk_id
    want_rule = api.SIPDispatchRuleInfo()
    want_rule.CopyFrom(desired.rule)
    current = next(
        (r for r in existing.rules if r.sip_dispatch_rule_id == rule_step.object_id), None
    )
    live = {t.sip_trunk_id for t in existing.inbound}
    want_rule.trunk_ids[:] = (
        rule_trunk_ids(current, trunk_id, live) if current is not None else [trunk_id]
    )
    rule_step.object_id = await _apply_rule(lk, rule_step, want_rule, current)
    if desired.outbound is not None:
        out_step = done.steps[2]
        out_step.object_id = await _apply_outbound(lk, out_step, desired.outbound, existing)
    return done


async def _apply_inbound(
    lk: api.LiveKitAPI, step: Step, desired: Desired, existing: Existing
) -> str:
    if step.action == "create":
        made = await lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(trunk=desired.inbound)
        )
        return made.sip_trunk_id
    if step.action == "update":
        current = next(t for t in existing.inbound if t.sip_trunk_id == step.object_id)
        await lk.sip.update_inbound_trunk(
            step.object_id, _merged(current, desired.inbound, INBOUND_FIELDS)
        )
    return step.object_id


async def _apply_rule(
    lk: api.LiveKitAPI,
    step: Step,
    want: api.SIPDispatchRuleInfo,
    current: api.SIPDispatchRuleInfo | None,
) -> str:
    if current is None:
        made = await lk.sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=want)
        )
        step.action = "create"
        return made.sip_dispatch_rule_id
    if rule_changes(current, want, list(want.trunk_ids)):
        step.action = "update"
        await lk.sip.update_dispatch_rule(step.object_id, _merged(current, want, RULE_FIELDS))
    return step.object_id


async def _apply_outbound(
    lk: api.LiveKitAPI, step: Step, want: api.SIPOutboundTrunkInfo, existing: Existing
) -> str:
    if step.action == "create":
        made = await lk.sip.create_outbound_trunk(api.CreateSIPOutboundTrunkRequest(trunk=want))
        return made.sip_trunk_id
    if step.action == "update":
        current = next(t for t in existing.outbound if t.sip_trunk_id == step.object_id)
        await lk.sip.update_outbound_trunk(step.object_id, _merged(current, want, OUTBOUND_FIELDS))
    return step.object_id


def verification_problems(desired: Desired, existing: Existing, agent_name: str) -> list[str]:
    """What still differs after apply, read back from the server (empty when all is in place)."""
    after = plan(desired, existing)
    problems = [
        f"{s.kind} {s.name!r}: "
        + (
            "missing"
            if s.action == "create"
            else ", ".join(c.name for c in s.changes) + " not as set"
        )
        for s in after.steps
        if s.action != "unchanged"
    ]
    rules = {r.sip_dispatch_rule_id: r for r in existing.rules}
    trunks = {t.sip_trunk_id: t for t in existing.inbound}
    rule = rules.get(after.steps[1].object_id)
    if rule is not None and agent_name not in agent_names(rule):
        problems.append(f"dispatch rule {desired.rule.name!r} does not dispatch {agent_name!r}")
    trunk = trunks.get(after.steps[0].object_id)
    if trunk is not None and not (trunk.auth_username or trunk.allowed_addresses):
        problems.append(f"inbound trunk {desired.inbound.name!r} has no authentication")
    return problems


@dataclass
class SetupResult:
    plan: Plan
    applied: bool
    problems: list[str]


async def run_setup(
    lk: api.LiveKitAPI, desired: Desired, *, dry_run: bool, agent_name: str
) -> SetupResult:
    """Plan, then (unless dry-run) apply and verify by reading every object back."""
    existing = await fetch_existing(lk)
    if dry_run:
        return SetupResult(plan(desired, existing), applied=False, problems=[])
    done = await apply(lk, desired, existing)
    after = await fetch_existing(lk)
    return SetupResult(
        done, applied=True, problems=verification_problems(desired, after, agent_name)
    )
