"""`receptionist sip doctor`: reads trunks and dispatch rules and reports what will break calls.

Every check encodes a failure operators actually hit (shared/docs/telephony-field-notes.md) and
says how to fix it. `diagnose` is pure (objects in, findings out) so each rule is unit-tested;
`collect` reads the objects from a server.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from livekit import api

from receptionist.domain.phone import is_e164, mask
from receptionist.domain.practice import Practice, TransferMode
from receptionist.ops.sip.provisioning import (
    Existing,
    agent_names,
    fetch_existing,
    number_key,
    rule_pin,
)

# Per-account subdomains that are not the provider's outbound SIP host: (suffix, right host).
# A host equal to the right host is fine (`sip.telnyx.com` ends with `.telnyx.com` too).
_SUBDOMAIN_HOSTS = (
    (".telnyx.com", "sip.telnyx.com"),
    (".sip.twilio.com", "your Elastic SIP Trunk termination URI (<name>.pstn.twilio.com)"),
    (".sip.livekit.cloud", "your provider's SIP host (this is LiveKit's own inbound address)"),
)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    subject: str
    problem: str
    fix: str


@dataclass(frozen=True)
class AgentSide:
    """What the worker side looks like: its agent name and whether it cancels noise itself."""

    agent_name: str
    cancels_noise: bool


@dataclass(frozen=True)
class OutboundNeed:
    """A practice feature that dials out (warm transfers, reminder calls): the outbound trunk it
    names ("" for the one whose numbers hold the practice's phone, as the call looks it up)."""

    practice: str
    feature: str
    trunk_id: str
    number: str


def outbound_needs(practices: Iterable[Practice]) -> list[OutboundNeed]:
    """What each practice's profile will dial out for, with the trunk each call would use."""
    needs = []
    for p in practices:
        number = p.numbers[0] if p.numbers else ""
        if p.transfers.mode != TransferMode.COLD:
            trunk = p.transfers.outbound_trunk or p.reminders.outbound_trunk
            needs.append(OutboundNeed(p.name, "warm transfers", trunk, number))
        if p.reminders.enabled:
            needs.append(OutboundNeed(p.name, "reminder calls", p.reminders.outbound_trunk, number))
    return needs


def unreadable_practice(file: str, problem: str) -> Finding:
    """practice.toml could not be read: the trunk checks still run, the outbound ones cannot."""
    return Finding(
        Severity.ERROR,
        "practice-unreadable",
        file,
        f"{problem} (warm transfers and reminder calls were not checked)",
        f"fix {file} as the message says, then run `receptionist sip doctor` again",
    )


def diagnose(
    existing: Existing, agent: AgentSide, needs: Iterable[OutboundNeed] = ()
) -> list[Finding]:
    """Runs every check; errors first."""
    findings = [
        *_outbound_need_findings(existing.outbound, needs),
        *_rule_agent_findings(existing.rules, agent),
        *_missing_trunk_findings(existing),
        *_number_findings(existing.inbound),
        *_open_trunk_findings(existing.inbound),
        *_noise_findings(existing, agent),
        *_uncovered_number_findings(existing),
        *_conflicting_rule_findings(existing.rules),
        *_outbound_address_findings(existing.outbound),
        *_outbound_caller_id_findings(existing.outbound),
        *_outbound_credential_findings(existing.outbound),
    ]
    return sorted(findings, key=lambda f: f.severity != Severity.ERROR)


def _label(kind: str, obj: object, id_field: str) -> str:
    name = getattr(obj, "name", "") or "(unnamed)"
    return f"{kind} {name} [{getattr(obj, id_field)}]"


def _rule_label(rule: api.SIPDispatchRuleInfo) -> str:
    return _label("dispatch rule", rule, "sip_dispatch_rule_id")


def _trunk_label(trunk: object) -> str:
    return _label("trunk", trunk, "sip_trunk_id")


def _rule_agent_findings(
    rules: Iterable[api.SIPDispatchRuleInfo], agent: AgentSide
) -> list[Finding]:
    """Rules that dispatch no agent (room_config lost) or a different agent than the worker's."""
    findings = []
    for rule in rules:
        names = agent_names(rule)
        if not names:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "rule-no-agent",
                    _rule_label(rule),
                    "dispatches no agent: calls ring, no agent joins, the caller is dropped after "
                    "~30 s (typical of rules created through the deprecated top-level request "
                    "fields, which silently drop room_config)",
                    "run `receptionist sip setup`: it adopts the rule on the practice's trunk "
                    "whatever its name and updates it in place (same id) with "
                    f"room_config.agents=[{agent.agent_name!r}] through the SIPDispatchRuleInfo "
                    "wrapper; or update the rule in place yourself the same way",
                )
            )
        elif agent.agent_name not in names:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "rule-wrong-agent",
                    _rule_label(rule),
                    f"dispatches {', '.join(repr(n) for n in names)} but the worker registers as "
                    f"{agent.agent_name!r}: no worker takes these calls",
                    "make AGENT_NAME and the rule's agent name the same, "
                    "then `receptionist sip setup`",
                )
            )
    return findings


def _missing_trunk_findings(existing: Existing) -> list[Finding]:
    """Rules that name a trunk id that does not exist (deleted or mistyped)."""
    known = {t.sip_trunk_id for t in existing.inbound} | {t.sip_trunk_id for t in existing.outbound}
    return [
        Finding(
            Severity.ERROR,
            "rule-missing-trunk",
            _rule_label(rule),
            f"refers to trunk {trunk_id} which does not exist (API: 'object cannot be found')",
            "point the rule at an existing inbound trunk (`receptionist sip setup` does)",
        )
        for rule in existing.rules
        for trunk_id in rule.trunk_ids
        if trunk_id not in known
    ]


def _number_findings(trunks: Iterable[api.SIPInboundTrunkInfo]) -> list[Finding]:
    """Trunk numbers not in E.164: the bridge matches the dialled number as an exact string."""
    findings = []
    for trunk in trunks:
        bad = [n for n in trunk.numbers if not is_e164(n)]
        if bad:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "trunk-number-format",
                    _trunk_label(trunk),
                    f"numbers not in E.164: {', '.join(mask(n) for n in bad)} "
                    "(calls to them get '404 No trunk found')",
                    "write numbers as +<country><number>, e.g. +14145550100, and set the "
                    "provider to send +E.164 (Telnyx: ANI/DNIS format)",
                )
            )
    return findings


def _open_trunk_findings(trunks: Iterable[api.SIPInboundTrunkInfo]) -> list[Finding]:
    """Trunks that accept anyone's calls: toll-fraud and abuse risk."""
    return [
        Finding(
            Severity.ERROR,
            "trunk-open",
            _trunk_label(trunk),
            "has neither credentials nor an address allow-list: it accepts anyone's calls",
            "set SIP_AUTH_USERNAME/SIP_AUTH_PASSWORD (same as the provider connection) or "
            "SIP_ALLOWED_ADDRESSES, then `receptionist sip setup`",
        )
        for trunk in trunks
        if not trunk.auth_username and not trunk.allowed_addresses
    ]


def _noise_findings(existing: Existing, agent: AgentSide) -> list[Finding]:
    """Krisp on the trunk/rule while the agent runs BVC: two NC stages clip the first words."""
    if not agent.cancels_noise:
        return []
    objects: list[tuple[str, api.SIPInboundTrunkInfo | api.SIPDispatchRuleInfo]] = [
        (_trunk_label(t), t) for t in existing.inbound
    ]
    objects += [(_rule_label(r), r) for r in existing.rules]
    return [
        Finding(
            Severity.WARNING,
            "double-noise-cancellation",
            label,
            "krisp_enabled while the agent also cancels noise: two stages make choppy audio "
            "and missing first words",
            "disable krisp_enabled (`receptionist sip setup` does) or set NOISE_CANCELLATION=off",
        )
        for label, obj in objects
        if obj.krisp_enabled
    ]


def _rule_covers(rule: api.SIPDispatchRuleInfo, trunk_id: str, number: str) -> bool:
    """Whether a call to `number` on `trunk_id` can match `rule` (empty lists match all)."""
    trunk_ok = not rule.trunk_ids or trunk_id in rule.trunk_ids
    # number "" stands for a trunk without numbers: any rule on the trunk takes some of its calls.
    number_ok = (
        not number
        or not rule.numbers
        or number_key(number) in {number_key(n) for n in rule.numbers}
    )
    return trunk_ok and number_ok


def _uncovered_number_findings(existing: Existing) -> list[Finding]:
    """Trunk numbers no dispatch rule covers (checked per number): `no_rule_matched`.

    A rule covers a number when its trunk_ids are empty or name the trunk AND its numbers are
    empty or contain the number. Rules limited to some callers (inbound_numbers) leave everyone
    else unmatched: a number reached only through such rules is a warning.
    """
    findings = []
    for trunk in existing.inbound:
        # A trunk without numbers takes calls to any number: any rule on it covers some of them.
        numbers = list(trunk.numbers) or [""]
        uncovered, restricted = [], []
        for number in numbers:
            rules = [r for r in existing.rules if _rule_covers(r, trunk.sip_trunk_id, number)]
            if not rules:
                uncovered.append(number)
            elif all(r.inbound_numbers for r in rules):
                restricted.append(number)
        if uncovered:
            shown = ", ".join(mask(n) if n else "all numbers" for n in uncovered)
            findings.append(
                Finding(
                    Severity.ERROR,
                    "number-no-rule",
                    _trunk_label(trunk),
                    f"no dispatch rule covers {shown} on this trunk: calls end with "
                    "no_rule_matched",
                    "run `receptionist sip setup` to give the practice's numbers a rule, or add "
                    "the number to a rule's numbers (a rule without numbers covers all of them)",
                )
            )
        if restricted:
            shown = ", ".join(mask(n) if n else "all numbers" for n in restricted)
            findings.append(
                Finding(
                    Severity.WARNING,
                    "number-callers-restricted",
                    _trunk_label(trunk),
                    f"only rules limited to some callers (inbound_numbers) cover {shown}: "
                    "everyone else ends with no_rule_matched",
                    "add an always-on fallback rule for this trunk without inbound_numbers",
                )
            )
    return findings


def _rule_keys(rule: api.SIPDispatchRuleInfo) -> set[tuple[str, str, str, str]]:
    """The server's conflict keys: (PIN, trunk or "", caller or "", dialled number or "").

    An empty list is a wildcard that collides only with other wildcards: rules naming a trunk
    or number take priority over it (livekit protocol sip.DispatchRuleValidator).
    """
    pin = rule_pin(rule)
    if pin is None:
        return set()
    return {
        (pin, trunk, number_key(caller), number_key(number))
        for trunk in (list(rule.trunk_ids) or [""])
        for caller in (list(rule.inbound_numbers) or [""])
        for number in (list(rule.numbers) or [""])
    }


def _describe_key(key: tuple[str, str, str, str]) -> str:
    pin, trunk, caller, number = key
    parts = [
        f"trunk {trunk}" if trunk else "any trunk",
        f"callers {mask(caller)}" if caller else "any caller",
        f"number {mask(number)}" if number else "any number",
    ]
    if pin:
        parts.append("the same PIN")
    return ", ".join(parts)


def _conflicting_rule_findings(rules: list[api.SIPDispatchRuleInfo]) -> list[Finding]:
    """Duplicate names, and rules the server would refuse as the same match."""
    findings = []
    by_name: dict[str, list[api.SIPDispatchRuleInfo]] = defaultdict(list)
    for rule in rules:
        by_name[rule.name].append(rule)
    for name, same in by_name.items():
        if name and len(same) > 1:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "rule-duplicate-name",
                    f"dispatch rule {name}",
                    f"{len(same)} rules share this name: setup and operators cannot tell them "
                    "apart",
                    "keep one (verify it with a test call), then delete the others",
                )
            )
    keys = [_rule_keys(rule) for rule in rules]
    for i, first in enumerate(rules):
        for j in range(i + 1, len(rules)):
            shared = keys[i] & keys[j]
            if not shared:
                continue
            findings.append(
                Finding(
                    Severity.ERROR,
                    "rule-conflict",
                    f"{_rule_label(first)} / {_rule_label(rules[j])}",
                    f"both rules match the same calls ({_describe_key(min(shared))}): the "
                    "server refuses such a pair and calls may fail to dispatch",
                    "limit each rule to its own trunk (trunk_ids), numbers or callers, or give "
                    "it a PIN, or delete one (a rule without trunk_ids or numbers is a "
                    "fallback and only collides with another fallback)",
                )
            )
    return findings


def _outbound_address_findings(trunks: Iterable[api.SIPOutboundTrunkInfo]) -> list[Finding]:
    """Outbound addresses that look like a per-account subdomain: calls fail with 503."""
    findings = []
    for trunk in trunks:
        host = trunk.address.lower().split(":")[0].strip()
        for suffix, right in _SUBDOMAIN_HOSTS:
            if host.endswith(suffix) and host != right:
                findings.append(
                    Finding(
                        Severity.WARNING,
                        "outbound-subdomain",
                        _trunk_label(trunk),
                        f"address {host} looks like a per-account subdomain, not the provider's "
                        "outbound SIP host (typical cause of 503 Service Unavailable)",
                        f"use {right} as the outbound trunk address (SIP_OUTBOUND_ADDRESS)",
                    )
                )
                break
    return findings


def _outbound_caller_id_findings(trunks: Iterable[api.SIPOutboundTrunkInfo]) -> list[Finding]:
    """The number an outbound call shows (reminders, transfers): missing or not E.164 fails."""
    findings = []
    for trunk in trunks:
        bad = [n for n in trunk.numbers if not is_e164(n)]
        if trunk.numbers and not bad:
            continue
        problem = (
            f"caller-id numbers not in E.164: {', '.join(mask(n) for n in bad)}"
            if bad
            else "has no number to call from: the provider rejects or anonymises the call"
        )
        findings.append(
            Finding(
                Severity.ERROR,
                "outbound-number",
                _trunk_label(trunk),
                f"{problem} (reminder calls and transfers fail, often with 403 or 404)",
                "set SIP_OUTBOUND_NUMBERS to the practice's number as +<country><number>, "
                "e.g. +14145550100, then `receptionist sip setup`",
            )
        )
    return findings


def _outbound_credential_findings(trunks: Iterable[api.SIPOutboundTrunkInfo]) -> list[Finding]:
    """Outbound trunks with no sign-in: fine only where the provider trusts LiveKit's address."""
    return [
        Finding(
            Severity.WARNING,
            "outbound-no-credentials",
            _trunk_label(trunk),
            "has no username/password: a provider that does not allow-list your SIP bridge's "
            "address answers 401/407 and every outbound call fails",
            "set SIP_OUTBOUND_USERNAME/SIP_OUTBOUND_PASSWORD (the provider's outbound "
            "credentials), then `receptionist sip setup`; ignore this if the provider "
            "authenticates the bridge by IP address",
        )
        for trunk in trunks
        if not trunk.auth_username or not trunk.auth_password
    ]


async def collect(lk: api.LiveKitAPI) -> Existing:
    """Reads trunks and rules from the server (the same read `sip setup` plans from)."""
    return await fetch_existing(lk)


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == Severity.ERROR for f in findings)


def _outbound_need_findings(
    trunks: Iterable[api.SIPOutboundTrunkInfo], needs: Iterable[OutboundNeed]
) -> list[Finding]:
    """A warm transfer or reminder call with no outbound trunk to dial over fails on every call."""
    trunks = list(trunks)
    ids = {t.sip_trunk_id for t in trunks}
    findings = []
    for need in needs:
        if need.trunk_id and need.trunk_id not in ids:
            problem = f"name outbound trunk {need.trunk_id}, which the server does not have"
        elif not need.trunk_id and not any(need.number in list(t.numbers) for t in trunks):
            problem = (
                f"dial out, but no outbound trunk carries the practice's number {mask(need.number)}"
            )
        else:
            continue
        findings.append(
            Finding(
                Severity.ERROR,
                "outbound-trunk-missing",
                f"practice {need.practice}",
                f"its {need.feature} {problem}: every one of them would fail",
                "set SIP_OUTBOUND_ADDRESS and SIP_OUTBOUND_NUMBERS (with the practice's number) "
                "and run `receptionist sip setup`, or put an existing trunk's id in "
                "[practice.transfers] / [practice.reminders] outbound_trunk",
            )
        )
    return findings
