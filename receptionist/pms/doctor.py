"""`receptionist pms doctor`'s checks: can we reach each Open Dental or NexHealth location with
our keys, what does the office have, how does practice.toml map onto it, and what is unmapped or
wrong.

Everything is read-only (Open Dental: `GET /providers`, `/operatories`, `/appointmenttypes`;
NexHealth: the token exchange, `GET /locations/{id}`, `/providers`, `/operatories`,
`/appointment_types`), and every problem names its fix, so a practice can be set up from the
output alone. Names of providers and operatories are the office's staff and rooms, not
patients: they may be printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from receptionist.domain.books import BookKind
from receptionist.domain.practice import Practice
from receptionist.pms import nexhealth
from receptionist.pms.books import nexhealth_client
from receptionist.pms.opendental.client import (
    OpenDentalClient,
    OpenDentalError,
    RateLimited,
    Row,
    Timeout,
    Unauthorized,
    Unreachable,
)
from receptionist.settings import Settings


@dataclass
class Diagnosis:
    """One location's findings: what the office has (`lines`) and what to fix (`problems`)."""

    practice_id: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _is(row: Row, key: str) -> bool:
    return str(row.get(key, "false")) == "true"


def _name(row: Row) -> str:
    return f"{row.get('FName', '')} {row.get('LName', '')}".strip() or str(row.get("Abbr", ""))


async def diagnose(practice: Practice, client: OpenDentalClient) -> Diagnosis:
    """The findings for a location whose book is Open Dental (through `client`)."""
    found = Diagnosis(practice.id)
    config = practice.book.opendental
    assert config is not None
    found.lines.append(f"{practice.id}: Open Dental, {config.door.value} door at {config.url}")
    try:
        providers, _ = await client.get_all("providers")
        operatories, _ = await client.get_all("operatories")
        types, _ = await client.get_all("appointmenttypes")
    except Unauthorized:
        found.problems.append(
            f"{practice.id}: Open Dental refused the keys (401): check OPENDENTAL_DEVELOPER_KEY "
            "and OPENDENTAL_CUSTOMER_KEY, and that the office enabled the customer key (Open "
            "Dental: Setup > Advanced Setup > API)"
        )
        return found
    except (Unreachable, Timeout):
        found.problems.append(
            f"{practice.id}: cannot reach {config.url}: check base_url and the door "
            "(remote: the office's eConnector must be running; local: Open Dental must be open "
            "on this machine; service: the API Service on the office server)"
        )
        return found
    except RateLimited:
        found.problems.append(f"{practice.id}: Open Dental is rate-limiting us (429): try later")
        return found
    except OpenDentalError as exc:
        found.problems.append(f"{practice.id}: Open Dental answered {exc.status}: {exc.route}")
        return found
    by_num = {int(p["ProvNum"]): p for p in providers}
    mapped = {num: pid for pid, num in config.providers.items()}
    found.lines.append("  providers:")
    for num, row in sorted(by_num.items()):
        role = "hygienist" if _is(row, "IsSecondary") else "dentist"
        hidden = " (hidden)" if _is(row, "IsHidden") else ""
        who = f"-> {mapped[num]}" if num in mapped else "not mapped"
        found.lines.append(
            f"    {num:>4} {row.get('Abbr', '')} {_name(row)}, {role}{hidden}: {who}"
        )
    for pid, num in sorted(config.providers.items()):
        known = by_num.get(num)
        if known is None:
            found.problems.append(
                f"book.opendental.providers.{pid} = {num}: Open Dental has no ProvNum {num}; "
                "use one listed above"
            )
        elif _is(known, "IsHidden"):
            found.problems.append(
                f"book.opendental.providers.{pid} = {num}: {_name(known)} is hidden in Open "
                "Dental (no longer working): map the provider to a current ProvNum"
            )
    ops = {int(o["OperatoryNum"]): o for o in operatories}
    found.lines.append("  operatories:")
    for num, row in sorted(ops.items()):
        hidden = " (hidden)" if _is(row, "IsHidden") else ""
        used = "" if not config.operatories or num in config.operatories else ", not used"
        found.lines.append(f"    {num:>4} {row.get('OpName', '')}{hidden}{used}")
    for num in config.operatories:
        if num not in ops or _is(ops[num], "IsHidden"):
            found.problems.append(
                f"book.opendental.operatories: {num} is not a visible operatory; use one "
                "listed above"
            )
    type_nums = {int(t["AppointmentTypeNum"]): t for t in types}
    found.lines.append("  appointment types:")
    for num, row in sorted(type_nums.items()):
        found.lines.append(
            f"    {num:>4} {row.get('AppointmentTypeName', '')} ({row.get('Pattern', '')})"
        )
    for visit in practice.visit_types:
        mapping = config.visit_types.get(visit.id)
        pattern = config.pattern_for(visit.id, visit.duration_minutes)
        if mapping is None or not mapping.appointment_type:
            found.lines.append(f"  visit type {visit.id}: pattern {pattern}, no appointment type")
            continue
        if mapping.appointment_type not in type_nums:
            found.problems.append(
                f"book.opendental.visit_types.{visit.id}.appointment_type = "
                f"{mapping.appointment_type}: Open Dental has no such appointment type; use one "
                "listed above"
            )
        else:
            name = type_nums[mapping.appointment_type].get("AppointmentTypeName", "")
            found.lines.append(f"  visit type {visit.id}: {name}, pattern {pattern}")
    return found


def _nh_name(row: nexhealth.Row) -> str:
    return str(row.get("name") or f"{row.get('first_name', '')} {row.get('last_name', '')}").strip()


async def diagnose_nexhealth(practice: Practice, client: nexhealth.NexHealthClient) -> Diagnosis:
    """The findings for a location behind NexHealth (through `client`)."""
    found = Diagnosis(practice.id)
    config = practice.book.nexhealth
    assert config is not None
    found.lines.append(
        f"{practice.id}: NexHealth, subdomain {config.subdomain}, location {config.location_id}"
    )
    scope = {"location_id": config.location_id}
    try:
        location = await client.get(f"locations/{config.location_id}")
        providers = await client.get_all("providers", **scope)
        operatories = await client.get_all("operatories", **scope)
        types = await client.get_all("appointment_types", **scope)
    except nexhealth.Unauthorized:
        found.problems.append(
            f"{practice.id}: NexHealth refused the API key (401): check NEXHEALTH_API_KEY (the "
            "production key from NexHealth's developer portal, API Key page; a rotated key "
            "must be replaced here too)"
        )
        return found
    except nexhealth.Forbidden:
        found.problems.append(
            f"{practice.id}: the key may not see subdomain {config.subdomain!r} (403): check "
            "book.nexhealth.subdomain, or ask NexHealth to give the key access to it"
        )
        return found
    except (nexhealth.Unreachable, nexhealth.Timeout):
        found.problems.append(
            f"{practice.id}: cannot reach NexHealth: check NEXHEALTH_BASE_URL "
            "(https://nexhealth.info) and this machine's outbound HTTPS"
        )
        return found
    except nexhealth.RateLimited:
        found.problems.append(f"{practice.id}: NexHealth is rate-limiting us (429): try later")
        return found
    except nexhealth.Refused as exc:
        fix = (
            f"book.nexhealth.location_id = {config.location_id}: not a location of "
            f"{config.subdomain}; use the id NexHealth shows for the location (GET /locations)"
            if exc.status == 404
            else f"NexHealth answered {exc.status} to {exc.route}: {exc.detail}"
        )
        found.problems.append(f"{practice.id}: {fix}")
        return found
    except nexhealth.NexHealthError as exc:
        found.problems.append(f"{practice.id}: NexHealth answered {exc.status}: {exc.route}")
        return found
    tz = str((location or {}).get("tz", ""))
    found.lines.append(f"  location: {(location or {}).get('name', '')} ({tz or 'no time zone'})")
    if tz and tz != practice.timezone:
        found.problems.append(
            f"timezone: practice.toml says {practice.timezone} but NexHealth's location is in "
            f"{tz}: make them agree (times are written in the location's zone)"
        )
    by_id = {int(p["id"]): p for p in providers}
    mapped = {num: pid for pid, num in config.providers.items()}
    found.lines.append("  providers:")
    for num, row in sorted(by_id.items()):
        off = " (inactive)" if row.get("inactive") else ""
        who = f"-> {mapped[num]}" if num in mapped else "not mapped"
        found.lines.append(f"    {num:>6} {_nh_name(row)}{off}: {who}")
    for pid, num in sorted(config.providers.items()):
        known = by_id.get(num)
        if known is None:
            found.problems.append(
                f"book.nexhealth.providers.{pid} = {num}: NexHealth has no provider {num} at "
                "this location; use one listed above"
            )
        elif known.get("inactive"):
            found.problems.append(
                f"book.nexhealth.providers.{pid} = {num}: {_nh_name(known)} is inactive in "
                "NexHealth: map the provider to a current id"
            )
    ops = {int(o["id"]): o for o in operatories}
    found.lines.append("  operatories:")
    for num, row in sorted(ops.items()):
        off = "" if row.get("active", True) else " (inactive)"
        used = "" if not config.operatories or num in config.operatories else ", not used"
        found.lines.append(f"    {num:>6} {row.get('name', '')}{off}{used}")
    for num in config.operatories:
        if num not in ops or not ops[num].get("active", True):
            found.problems.append(
                f"book.nexhealth.operatories: {num} is not an active operatory; use one listed "
                "above"
            )
    kinds = {int(t["id"]): t for t in types}
    found.lines.append("  appointment types:")
    for num, row in sorted(kinds.items()):
        found.lines.append(f"    {num:>6} {row.get('name', '')} ({row.get('minutes', '?')} min)")
    for visit in practice.visit_types:
        type_id = config.visit_types.get(visit.id)
        if type_id is None:
            found.lines.append(f"  visit type {visit.id}: no appointment type")
        elif type_id not in kinds:
            found.problems.append(
                f"book.nexhealth.visit_types.{visit.id} = {type_id}: NexHealth has no such "
                "appointment type; use one listed above"
            )
        else:
            minutes = kinds[type_id].get("minutes")
            note = (
                ""
                if minutes in (None, visit.duration_minutes)
                else f" (NexHealth's lasts {minutes} min; bookings take the visit's "
                f"{visit.duration_minutes})"
            )
            found.lines.append(f"  visit type {visit.id}: {kinds[type_id].get('name', '')}{note}")
    return found


async def diagnose_all(settings: Settings, practices: list[Practice]) -> list[Diagnosis]:
    """Every location on Open Dental or NexHealth, each with its own client (closed afterwards)."""
    results = []
    for practice in practices:
        if practice.book.kind is BookKind.NEXHEALTH and practice.book.nexhealth is not None:
            nh = nexhealth_client(settings, practice)
            try:
                results.append(await diagnose_nexhealth(practice, nh))
            finally:
                await nh.aclose()
            continue
        config = practice.book.opendental
        if practice.book.kind is not BookKind.OPENDENTAL or config is None:
            continue
        client = OpenDentalClient(
            config,
            developer_key=settings.opendental_developer_key.get_secret_value(),
            customer_key=settings.opendental_customer_key.get_secret_value(),
        )
        try:
            results.append(await diagnose(practice, client))
        finally:
            await client.aclose()
    return results
