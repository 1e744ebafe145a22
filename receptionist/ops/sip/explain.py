"""`receptionist sip explain CODE`: likely causes and fixes of a SIP status or LiveKit SIP error.

The table encodes shared/docs/telephony-field-notes.md so an operator with a status code from a
provider's call log, a `SipCallError`, or a LiveKit log line gets the fix without a search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DIRECTIONS = ("inbound", "outbound", "transfer")


@dataclass(frozen=True)
class Explanation:
    code: str
    title: str
    causes: tuple[str, ...]
    fixes: tuple[str, ...]
    # The likeliest causes by where the code was seen: a patient calling in (the bridge's answer
    # to the provider), a call the practice places, or a transfer (REFER) to staff.
    inbound: tuple[str, ...] = ()
    outbound: tuple[str, ...] = ()
    transfer: tuple[str, ...] = ()

    def by_direction(self) -> dict[str, tuple[str, ...]]:
        return {d: getattr(self, d) for d in DIRECTIONS if getattr(self, d)}


_ENTRIES = (
    Explanation(
        "401",
        "Unauthorized: the digest authentication challenge failed",
        (
            "the username/password the provider sends differ from the trunk's "
            "auth_username/auth_password (or the reverse, on an outbound trunk)",
        ),
        (
            "set the same credential pair on the provider connection and on the trunk "
            "(SIP_AUTH_USERNAME/SIP_AUTH_PASSWORD, then `receptionist sip setup`)",
        ),
    ),
    Explanation(
        "403",
        "Forbidden: the far side refused the call",
        (
            "wrong credentials",
            "the source IP is not on the carrier's allow-list",
            "'Domestic Anchored Terms Not Met': the call was routed through another country",
        ),
        (
            "check the credentials on both sides",
            "send the carrier your SIP egress IP addresses",
            "pin the region / set `destination_country` on the outbound trunk",
        ),
    ),
    Explanation(
        "404",
        "Not Found / 'No trunk found': the INVITE matched no trunk or the number is unknown",
        (
            "on a shared SIP endpoint the INVITE could not be matched to a trunk (no credentials, "
            "shared provider IPs)",
            "the dialled number is not on the inbound trunk, or not in E.164 form there",
            "outbound: the destination number is invalid or the trunk id does not exist",
        ),
        (
            "use credential auth on both sides (provider connection user/password = trunk "
            "auth_username/auth_password)",
            "put the numbers on the trunk in E.164 (`receptionist sip setup` normalises them)",
            "run `receptionist sip doctor` to list trunks, numbers and rules",
        ),
    ),
    Explanation(
        "407",
        "Proxy Authentication Required: the proxy's digest challenge failed",
        ("credentials mismatch between the provider and the trunk",),
        ("set matching credentials on the provider connection and the trunk",),
    ),
    Explanation(
        "408",
        "Request Timeout: nobody answered",
        (
            "a firewall drops the SIP packets, or the bridge is unreachable",
            "on a transfer: the far side never answered the REFER",
        ),
        (
            "open UDP/TCP 5060 (and the RTP range) to the bridge; allow-list the provider's IPs",
            "verify the transfer URI (tel:+E.164 or sip:user@host) and that the trunk may "
            "transfer (Twilio: 'Enable PSTN Transfer'; Telnyx: ask for SIP REFER)",
        ),
    ),
    Explanation(
        "480",
        "Temporarily Unavailable",
        ("the called party (or transfer target) is unavailable or not registered",),
        ("retry later; check the destination is reachable; have a fallback (take a message)",),
        inbound=(
            "the bridge found no agent for the call in time: the worker is down or not "
            "registered, or AGENT_NAME differs from the dispatch rule's agent name",
        ),
        outbound=("the patient's phone is switched off or out of coverage: retry later",),
        transfer=("the staff phone is not registered (a SIP desk phone or softphone offline)",),
    ),
    Explanation(
        "486",
        "Busy Here",
        ("the called party or transfer target is busy",),
        ("retry later or offer to take a message",),
        inbound=(
            "most often here: livekit-sip answers the provider's INVITE with 486 when no agent "
            "joined the room before the ring timeout: the worker is down, AGENT_NAME differs from "
            "the dispatch rule's agent (`receptionist sip doctor` compares them), or every worker "
            "is full (load above LOAD_THRESHOLD, or MAX_CALLS calls in progress)",
        ),
        outbound=("the patient is on another call: retry at the next slot",),
        transfer=("the staff line is busy: the caller hears the apology and is offered a message",),
    ),
    Explanation(
        "488",
        "Not Acceptable Here: no common codec",
        ("the SDP offer and the trunk/bridge share no codec",),
        ("align allowed codecs; keep G.711 (PCMU/PCMA) enabled on the provider and the trunk",),
    ),
    Explanation(
        "503",
        "Service Unavailable",
        (
            "outbound: the trunk address is wrong, e.g. a per-account subdomain instead of the "
            "provider's SIP host (Telnyx: sip.telnyx.com)",
            "a carrier upstream problem",
            "the SIP bridge is overloaded (CPU above its max_cpu_utilization)",
        ),
        (
            "use the provider's documented SIP host as the outbound address",
            "check DNS resolution of the address; retry later",
            "add bridge capacity or lower the call rate",
        ),
    ),
    Explanation(
        "603",
        "Decline",
        ("the far side declined; on a transfer this often means SIP REFER is not enabled",),
        (
            "enable REFER/PSTN transfer on the provider trunk (Telnyx: ask support; Twilio: "
            "'Enable PSTN Transfer')",
        ),
        inbound=("a dispatch rule or trunk refused the caller (caller-number filters)",),
        outbound=("the patient rejected the call",),
        transfer=("the provider does not allow SIP REFER on this trunk",),
    ),
    Explanation(
        "no_rule_matched",
        "The call reached LiveKit but no enabled dispatch rule matched it",
        (
            "no rule covers the trunk or the dialled number (wrong DID wiring)",
            "rules limited by time windows or caller numbers",
        ),
        (
            "run `receptionist sip setup` (one rule for the practice's trunk), or add an "
            "always-on fallback rule",
            "run `receptionist sip doctor` to find numbers no rule covers",
        ),
    ),
    Explanation(
        "object cannot be found",
        "The LiveKit API was given an id that does not exist",
        (
            "a trunk id or dispatch rule id is wrong or was deleted (e.g. a rule pointing at a "
            "deleted trunk)",
            "outbound: the destination number is invalid",
        ),
        (
            "list objects with `receptionist sip doctor`; re-run `receptionist sip setup` to "
            "recreate missing objects under the managed names",
        ),
    ),
    Explanation(
        "media timeout",
        "The bridge hung up because no RTP (audio) arrived",
        (
            "NAT: the SDP `c=` line advertises a private address, so audio goes nowhere",
            "the RTP UDP port range is blocked in one direction (one-way audio first)",
            "no agent joined: the dispatch rule has no agent name (the caller hears ringing, "
            "then is dropped after ~30 s)",
        ),
        (
            "advertise a reachable media address and open the RTP range both ways",
            "run `receptionist sip doctor` to check the rule dispatches the agent",
        ),
    ),
)

ALIASES = {
    "no rule matched": "no_rule_matched",
    "no-rule-matched": "no_rule_matched",
    "norulematched": "no_rule_matched",
    "not found": "object cannot be found",
    "object not found": "object cannot be found",
    "media-timeout": "media timeout",
    "media_timeout": "media timeout",
    "rtp timeout": "media timeout",
}
_BY_CODE = {entry.code: entry for entry in _ENTRIES}


def known_codes() -> list[str]:
    return [entry.code for entry in _ENTRIES]


def explain(raw: str) -> Explanation | None:
    """Finds the entry for a code, a name (`no_rule_matched`) or a whole error/log line."""
    text = " ".join(raw.strip().lower().split())
    if text in _BY_CODE:
        return _BY_CODE[text]
    if text in ALIASES:
        return _BY_CODE[ALIASES[text]]
    for phrase, code in [*((c, c) for c in _BY_CODE if not c.isdigit()), *ALIASES.items()]:
        if phrase in text and phrase != "not found":
            return _BY_CODE[code]
    status = re.search(r"(?<!\d)([1-6]\d\d)(?!\d)", text)
    if status and status.group(1) in _BY_CODE:
        return _BY_CODE[status.group(1)]
    return None
