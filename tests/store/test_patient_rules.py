"""Per-patient rules and the lock-out ledger, on SQLite and PostgreSQL: a patient's own visits
never overlap (the database refuses it, like a provider's), failed identity checks are counted per
name and per number within a window, staff can list and clear locks, and a record the database
refuses is never queued in the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from unittest.mock import patch

import pytest

from receptionist.appointments import find_open_times
from receptionist.domain.identity import Identity
from receptionist.domain.verification import Verdict, Verifier
from receptionist.store import Outbox, PatientBusy, SlotTaken, Store, name_key
from receptionist.store.models import CALLBACK, NAME_LENGTH, SECURITY
from tests.support.profiles import practice as make_practice

T0 = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


async def _patient(store: Store, name: str = "Ann Lee") -> str:
    patient, _ = await store.appointments.register_patient(
        "lakeside", name, date(1980, 2, 29), "+14145550123"
    )
    return patient.id


async def _book(store: Store, patient_id: str, start: datetime, provider: str, minutes: int = 60):
    return await store.appointments.book(
        practice_id="lakeside",
        provider_id=provider,
        patient_id=patient_id,
        visit_type="checkup",
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
    )


async def test_a_patients_own_visits_never_overlap_even_with_two_providers(store: Store):
    ann = await _patient(store)
    await _book(store, ann, T0, "dr-a")
    with pytest.raises(PatientBusy):
        await _book(store, ann, T0 + timedelta(minutes=30), "dr-b")
    with pytest.raises(PatientBusy):  # a long visit that began earlier still counts
        await _book(store, ann, T0 - timedelta(hours=2), "dr-b", minutes=150)
    await _book(store, ann, T0 + timedelta(hours=1), "dr-b")  # back to back is fine
    bob = await _patient(store, "Bob Stone")
    with pytest.raises(SlotTaken):  # the provider's rule is still its own
        await _book(store, bob, T0, "dr-a")
    assert (
        len(await store.appointments.upcoming_for_patient(ann, after=T0 - timedelta(days=1))) == 2
    )


async def test_moving_a_visit_onto_the_patients_other_visit_is_refused(store: Store):
    ann = await _patient(store)
    first = await _book(store, ann, T0, "dr-a")
    await _book(store, ann, T0 + timedelta(hours=3), "dr-b")
    with pytest.raises(PatientBusy):
        await store.appointments.reschedule(
            first.id,
            patient_id=ann,
            provider_id="dr-a",
            starts_at=T0 + timedelta(hours=3),
            ends_at=T0 + timedelta(hours=4),
        )
    assert (
        await store.appointments.get_appointment(first.id)
    ).status == "booked"  # nothing changed


async def test_upcoming_counts_for_the_booking_caps(store: Store):
    ann = await _patient(store)
    await _book(store, ann, T0, "dr-a")
    await store.appointments.book(
        practice_id="lakeside",
        provider_id="dr-b",
        patient_id=ann,
        visit_type="new-patient",
        starts_at=T0 + timedelta(days=1),
        ends_at=T0 + timedelta(days=1, hours=1),
    )
    assert await store.appointments.count_upcoming(ann, after=T0, visit_type="new-patient") == (
        2,
        1,
    )
    assert await store.appointments.count_upcoming(
        ann, after=T0 + timedelta(hours=2), visit_type="x"
    ) == (1, 0)


async def test_identity_failures_count_per_name_and_per_number_within_the_window(store: Store):
    ann = name_key("Ann Lee")
    for minutes, caller in ((0, "+14145550161"), (10, "+14145550162"), (20, "unknown")):
        await store.identity.record_identity_failure(
            "lakeside", ann, caller, call_id="SCL_1", at=T0 + timedelta(minutes=minutes)
        )
    await store.identity.record_identity_failure(
        "lakeside", name_key("Bob Stone"), "+14145550161", call_id="SCL_2", at=T0
    )
    counts = await store.identity.identity_failures("lakeside", ann, "+14145550161", since=T0)
    assert (counts.by_name, counts.by_number) == (3, 2)
    later = await store.identity.identity_failures(
        "lakeside", ann, "+14145550161", since=T0 + timedelta(minutes=5)
    )
    assert (later.by_name, later.by_number) == (2, 0)
    withheld = await store.identity.identity_failures("lakeside", ann, "unknown", since=T0)
    assert withheld.by_number == 0  # a withheld number is nobody's number
    other = await store.identity.identity_failures("elsewhere", ann, "+14145550161", since=T0)
    assert (other.by_name, other.by_number) == (0, 0)


async def test_staff_see_and_clear_locks(store: Store):
    ann = name_key("Ann Lee")
    for i in range(5):
        await store.identity.record_identity_failure(
            "lakeside", ann, f"+1414555016{i}", call_id="c", at=T0 + timedelta(minutes=i)
        )
    locks = await store.identity.identity_locks(since=T0 - timedelta(hours=1), limit=5)
    assert [(lock.what, lock.key, lock.failures) for lock in locks] == [("name", ann, 5)]
    assert locks[0].last_at == T0 + timedelta(minutes=4)
    assert await store.identity.clear_identity_failures("lakeside", name_key=ann) == 5
    assert await store.identity.identity_locks(since=T0 - timedelta(hours=1), limit=5) == []


async def test_messages_have_a_kind(store: Store):
    await store.records.add_message(
        practice_id="lakeside", callback_number="+14145550123", reason="call me"
    )
    await store.records.add_message(
        practice_id="lakeside",
        callback_number="unknown",
        reason="identity checks locked",
        kind=SECURITY,
    )
    kinds = sorted(m.kind for m in await store.records.open_messages())
    assert kinds == [CALLBACK, SECURITY]


async def test_a_record_the_database_refuses_is_not_queued(db_url: str, tmp_path):
    # What each database refuses outright (intake removes both; the store must still not
    # pretend): a lone surrogate cannot be encoded for SQLite, PostgreSQL text holds no NUL.
    refused = "\ud800" if db_url.startswith("sqlite") else "\x00"
    outbox = Outbox(tmp_path / "outbox")
    store = Store(db_url, outbox=outbox)
    try:
        with pytest.raises(Exception):  # noqa: B017 (the driver's own error, raised to the tool)
            await store.records.add_message(
                practice_id="lakeside",
                callback_number="+14145550123",
                reason=f"swelling {refused} since last night",
                urgency="urgent",
            )
        assert await store.records.open_messages() == []
    finally:
        await store.close()
    assert outbox.pending() == []  # raised to the tool, which says it was not saved


# One Arabic ligature (U+FDFA) is 18 characters under NFKD: a short name can make a key longer
# than the 120-character column. Such names must register, match and count like any other.
GROWING_NAMES = [
    "ﷺ" * 10,
    "ﷺ" * NAME_LENGTH,  # as long as a name may be
    "Ann " + "ﷺ" * (NAME_LENGTH - 4),
    "ﷺ" * 10 + " Lee",  # the same start as the first: still another person
]


async def test_names_whose_key_grows_past_the_column_register_and_match(store: Store):
    born = date(1980, 2, 29)
    ids = set()
    for name in GROWING_NAMES:
        assert len(name_key(name)) <= NAME_LENGTH
        assert name_key(name) == name_key(f"  {name} ")  # the same name, the same key
        patient, created = await store.appointments.register_patient(
            "lakeside", name, born, "+14145550123"
        )
        assert created, name
        found = await store.appointments.find_patient("lakeside", name, born)
        assert found is not None and found.id == patient.id
        again, created = await store.appointments.register_patient(
            "lakeside", name, born, "+14145550123"
        )
        assert not created and again.id == patient.id  # no duplicate
        ids.add(patient.id)
    assert len(ids) == len(GROWING_NAMES) == await store.count("patient")


async def test_a_failed_check_of_such_a_name_is_counted_and_locks(store: Store):
    practice = make_practice(identity={"max_failures": 2})
    born = date(1980, 2, 29)

    def verifier(call_id: str) -> Verifier:
        return Verifier(Identity(), store, practice, caller="+14145550161", call_id=call_id, now=T0)

    for index, name in enumerate(GROWING_NAMES[:2]):
        registered = await verifier(f"SCL_r{index}").register(name, born, "+14145550161")
        assert registered.verdict is Verdict.REGISTERED
        verified = await verifier(f"SCL_v{index}").verify(name, born)
        assert verified.verdict is Verdict.VERIFIED
        assert verified.patient.id == registered.patient.id
    for index, name in enumerate(GROWING_NAMES[:2]):
        failed = await verifier(f"SCL_f{index}").verify(name, date(1981, 3, 1))
        assert failed.verdict is Verdict.NO_MATCH
    counts = await store.identity.identity_failures(
        practice.id, name_key(GROWING_NAMES[0]), "+14145550161", since=T0
    )
    assert (counts.by_name, counts.by_number) == (1, 2)
    [security] = [m for m in await store.records.open_messages() if m.kind == SECURITY]
    assert security.caller_name == name_key(GROWING_NAMES[1])  # the lock names the key tried
    assert (await verifier("SCL_x").verify(GROWING_NAMES[0], born)).verdict is Verdict.LOCKED


async def test_open_times_for_a_patient_leave_out_their_own_visits(store: Store):
    practice = make_practice()
    tz = practice.tz
    now = datetime(2027, 3, 1, 7, 0, tzinfo=tz)  # Monday, before opening
    tuesday = date(2027, 3, 2)

    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2027, 3, 2, hour, minute, tzinfo=tz)

    ann, bob = await _patient(store), await _patient(store, "Bob Stone")
    exam = await _book(store, ann, at(9), "dr-a", minutes=30)
    await _book(store, bob, at(10), "dr-b", minutes=30)  # someone else's: only dr-b's time
    day = {"date_from": tuesday, "date_to": tuesday, "limit": 40}

    cleanings = await find_open_times(
        practice, store.appointments, "checkup", now=now, patient_id=ann, **day
    )
    starts = [s.start for s in cleanings]
    assert at(8) in starts and at(9, 30) in starts and at(10) in starts
    assert not [s for s in cleanings if s.start < exam.ends_at and exam.starts_at < s.end]
    anyone = await find_open_times(practice, store.appointments, "checkup", now=now, **day)
    assert at(9) in [s.start for s in anyone]

    # Moving the exam: its own time no longer counts against Ann (dr-a's still does).
    moves = await find_open_times(
        practice, store.appointments, "exam", now=now, patient_id=ann, moving=exam.id, **day
    )
    assert ("dr-b", at(9)) in [(s.provider_id, s.start) for s in moves]
    stays = await find_open_times(
        practice, store.appointments, "exam", now=now, patient_id=ann, **day
    )
    assert at(9) not in [s.start for s in stays]


async def test_migration_bounds_long_keys_sqlite_already_holds(tmp_path):
    # SQLite never enforced the column's length, so an older version stored such keys whole;
    # after the upgrade the patient is still found (and not registered twice), and the failed
    # checks still count for the name.
    from sqlalchemy import insert

    from receptionist.store import upgrade
    from receptionist.store.models import IdentityFailure, Patient

    name, born = GROWING_NAMES[0], date(1980, 2, 29)
    with patch("receptionist.store.appointments.bounded_key", lambda key: key):
        whole = name_key(name)  # the key as an older version stored it
    assert len(whole) > NAME_LENGTH and name_key(name) != whole
    url = f"sqlite+aiosqlite:///{tmp_path}/old.db"
    await upgrade(url, "0008")
    store = Store(url, outbox=Outbox(tmp_path / "outbox"))
    try:
        async with store.sessions.session(write=True) as s:
            await s.execute(
                insert(Patient).values(
                    id="p-1",
                    practice_id="lakeside",
                    full_name=name,
                    name_key=whole,
                    date_of_birth=born,
                    phone="+14145550123",
                    new_patient=False,
                    created_at=T0,
                )
            )
            await s.execute(
                insert(IdentityFailure).values(
                    id="f-1",
                    practice_id="lakeside",
                    name_key=whole,
                    caller="+14145550161",
                    call_id="SCL_1",
                    created_at=T0,
                )
            )
        await upgrade(url)
        found = await store.appointments.find_patient("lakeside", name, born)
        assert found is not None and found.id == "p-1"
        _, created = await store.appointments.register_patient(
            "lakeside", name, born, "+14145550123"
        )
        assert not created
        counts = await store.identity.identity_failures(
            "lakeside", name_key(name), "unknown", since=T0
        )
        assert counts.by_name == 1
    finally:
        await store.close()
