"""`receptionist pms doctor`'s checks: can we reach each Open Dental location with our keys, what
does the office have, how does practice.toml map onto it, and what is unmapped or wrong.

Everything is read-only (`GET /providers`, `/operatories`, `/appointmenttypes`), and every problem
names its fix, so a practice can be set up from the output alone. Names of providers and
operatories are the office's staff and rooms, not patients: they may be printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from receptionist.domain.books import BookKind
from receptionist.domain.practice import Practice
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


async def diagnose_all(settings: Settings, practices: list[Practice]) -> list[Diagnosis]:
    """Every location on Open Dental, each with its own client (closed afterwards)."""
    results = []
    for practice in practices:
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
