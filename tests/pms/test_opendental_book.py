"""The Open Dental book against the seeded simulator: open times as Open Dental's guide computes
them, and writes that end in the simulator's state (never twice, never when refused)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from receptionist import logs
from receptionist.appointments import Appointments, Posted, Reason, Refused, StaffMember
from receptionist.store import Store, StoreUnavailable
from tests.conversation.book_support import ANN, practice_book
from tests.support.harness import OPEN_TIME
from tests.support.opendental import Office, opendental_office
from tests.support.opendental_sim import CUSTOMER_KEY, DEV_KEY

NOW = OPEN_TIME  # Tuesday 2026-11-24 10:00 in Chicago
WED, MON = date(2026, 11, 25), date(2026, 11, 30)
STAFF = StaffMember("staff-1")
_CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with practice_book(tmp_path) as store:
        yield store


@pytest.fixture
async def office(store: Store) -> AsyncIterator[Office]:
    async with opendental_office(store) as office:
        yield office


def starts(slots) -> list[time]:
    return [s.start.astimezone(s.start.tzinfo).time() for s in slots]


def service(office: Office) -> Appointments:
    return Appointments(office.book, office.practice)


async def ann(store: Store) -> str:
    found = await store.appointments.find_patient("lakeside", *ANN)
    return found.id


# --- open times ----------------------------------------------------------------------------------


async def test_open_times_skip_appointments_and_blockouts_but_not_broken_ones(office):
    """Maria, Hygiene 1, Wednesday: 8:00 and 9:00-9:50 taken, 10:00 unscheduled-list and 11:00
    planned do not block, lunch is a blockout 12-13; open until 19:00."""
    day = await service(office).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    times = starts(day.slots)
    assert not day.later
    assert times[0] == time(10, 0)  # the 10:00 on the Unscheduled List holds no time
    assert time(11, 0) in times  # nor does the planned one at 11:00
    assert not [t for t in times if time(11, 0) < t < time(13, 0)]  # lunch blockout
    assert time(13, 0) in times and times[-1] == time(18, 0)


async def test_blockouts_on_every_chair_and_a_one_off_training(office):
    """Monday, Hygiene 1: the staff meeting on every chair 8-9 (and an ASAP visit), a
    three-hour visit 9-12, the lunch blockout 12-13, training 13-17: nothing left that day."""
    day = await service(office).times_on("checkup", MON, now=NOW, provider_id="maria-santos")
    assert day.later and all(s.start.date() > MON for s in day.slots)
    # Without the three-hour visit, 9:00-11:00 opens up; the blockouts still hold the rest.
    long_visit = next(
        a for a in office.sim.appointments.values() if a["AptDateTime"] == "2026-11-30 09:00:00"
    )
    long_visit["AptStatus"], long_visit["DateTStamp"] = "Broken", office.sim.tick()
    day = await service(office).times_on("checkup", MON, now=NOW, provider_id="maria-santos")
    assert starts(day.slots)[0] == time(9, 0) and starts(day.slots)[-1] == time(11, 0)


async def test_the_pms_schedule_narrows_practice_hours(office):
    """Dr. Okafor: practice.toml gives her Wednesday until 19:00, Open Dental until 17:00; a
    broken 14:00 appointment does not block, the 13:00 half hour does."""
    day = await service(office).times_on("filling", WED, now=NOW, provider_id="dr-okafor")
    times = starts(day.slots)
    assert times[-1] == time(16, 15)  # a 45-minute visit ending at 17:00
    assert time(13, 0) not in times and time(13, 30) in times
    assert time(14, 0) in times


async def test_a_desk_booking_is_seen_by_the_next_search_incrementally(office):
    first = await service(office).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    assert time(15, 0) in starts(first.slots)
    office.sim.add_appointment(5, 3, datetime(2026, 11, 25, 15, 0), 60, prov=1, hyg=3)
    again = await service(office).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    assert time(15, 0) not in starts(again.slots)
    reads = [p for m, p, _ in office.sim.log if m == "GET" and p.startswith("/appointments?")]
    assert "DateTStamp=" in reads[-1] and "dateStart" not in reads[-1]  # only what changed


# --- writes ---------------------------------------------------------------------------------------


async def posted(store: Store, hour: int = 15, day: date = WED) -> Posted:
    start = datetime.combine(day, time(hour)).replace(tzinfo=_CHICAGO)
    return Posted(await ann(store), "checkup", "maria-santos", start)


def ours(office: Office) -> list[dict]:
    pat = office.sim.patient_named("Ann", "Lee")["PatNum"]
    return [a for a in office.sim.scheduled(pat) if a["AptStatus"] == "Scheduled"]


async def test_a_booking_is_written_as_an_open_dental_appointment(office, store):
    booked = await service(office).book(STAFF, await posted(store), now=NOW)
    [written] = ours(office)
    assert written["AptDateTime"] == "2026-11-25 15:00:00"
    assert written["Op"] == 3 and written["ProvHyg"] == 3 and written["IsHygiene"] == "true"
    assert written["Pattern"] == "/XXXXXXXXXX/" and written["AppointmentTypeNum"] == 1
    assert written["IsNewPatient"] == "false"  # Ann has a completed visit in June
    assert "AI receptionist" in written["Note"] and "staff-1" in written["Note"]
    assert booked.appointment.id == str(written["AptNum"])


async def test_the_desk_a_moment_before_us_means_fresh_options_not_a_double_booking(office, store):
    def desk(sim):  # the front desk books 15:00 for someone else just before our write lands
        sim.add_appointment(6, 3, datetime(2026, 11, 25, 15, 0), 60, prov=1, hyg=3)

    office.sim.before("POST", "/appointments", desk)
    with pytest.raises(Refused) as refused:
        await service(office).book(STAFF, await posted(store), now=NOW)
    assert refused.value.refusal.reason is Reason.TAKEN
    assert refused.value.refusal.fresh  # other times offered
    assert all(s.start.hour != 15 or s.start.day != 25 for s in refused.value.refusal.fresh)
    holding = [a for a in office.sim.scheduled() if a["AptDateTime"] == "2026-11-25 15:00:00"]
    assert [a["PatNum"] for a in holding] == [6]  # the desk's only: ours was withdrawn
    assert not ours(office)


async def test_a_lost_answer_is_looked_for_and_never_written_twice(office, store):
    office.sim.fault("POST", "/appointments", lose_answer=True)
    booked = await service(office).book(STAFF, await posted(store), now=NOW)
    [written] = ours(office)
    assert booked.appointment.id == str(written["AptNum"])
    # Asked again (a retry from the screen), the same booking comes back, not a second one.
    again = await office.book.book(
        practice_id="lakeside",
        provider_id="maria-santos",
        patient_id=await ann(store),
        visit_type="checkup",
        starts_at=written_start(),
        ends_at=written_start() + timedelta(hours=1),
        now=NOW,
    )
    assert again.id == booked.appointment.id and len(ours(office)) == 1


def written_start() -> datetime:
    return datetime(2026, 11, 25, 15, 0, tzinfo=_CHICAGO)


@pytest.mark.parametrize("status", [401, 429, 500, 503])
async def test_a_refused_or_failed_write_is_never_called_booked(office, store, status):
    office.sim.fault("POST", "/appointments", status=status)
    with pytest.raises(StoreUnavailable):
        await service(office).book(STAFF, await posted(store), now=NOW)
    assert not ours(office)


async def test_an_expired_key_makes_the_book_unreachable_not_empty(office, store):
    office.sim.customer_key = "re-issued"  # the office revoked the key we hold
    with pytest.raises(StoreUnavailable):
        await service(office).times_on("checkup", WED, now=NOW)


async def test_move_and_cancel_follow_open_dental(office, store):
    booked = await service(office).book(STAFF, await posted(store), now=NOW)
    moved = await service(office).move(
        STAFF, booked.appointment.id, await posted(store, hour=16), now=NOW
    )
    [row] = ours(office)
    assert moved.new.id == booked.appointment.id  # moved in place: same AptNum
    assert row["AptDateTime"] == "2026-11-25 16:00:00"
    cancelled = await service(office).cancel(
        STAFF, booked.appointment.id, now=NOW, patient_id=await ann(store)
    )
    assert cancelled.appointment.status == "cancelled"
    assert office.sim.appointments[int(booked.appointment.id)]["AptStatus"] == "UnschedList"
    assert not ours(office)


async def test_a_new_patient_is_created_in_open_dental(office, store):
    carla, _ = await store.appointments.register_patient(
        "lakeside", "Carla Diaz", date(1992, 7, 14), "+14144007103", new_patient=True
    )
    start = datetime(2026, 11, 25, 15, 0, tzinfo=_CHICAGO)
    await service(office).book(STAFF, Posted(carla.id, "new-patient", "dr-okafor", start), now=NOW)
    patient = office.sim.patient_named("Carla", "Diaz")
    assert patient is not None and patient["Birthdate"] == "1992-07-14"
    [written] = office.sim.scheduled(patient["PatNum"])
    assert written["IsNewPatient"] == "true" and written["Op"] == 1 and written["ProvNum"] == 1


async def test_a_remote_door_pages_with_offset_and_misses_nothing(store):
    async with opendental_office(store, door="remote") as office:
        rows, server_time = await office.book.client.get_all(
            "schedules", dateStart="2026-11-23", dateEnd="2027-03-02"
        )
        assert len(rows) == len(office.sim.schedules) > 300
        assert server_time  # kept for the next DateTStamp
        offsets = [p for m, p, _ in office.sim.log if "Offset=" in p]
        assert [p.rsplit("Offset=", 1)[1] for p in offsets] == ["100", "200", "300"]


async def test_a_write_that_lands_after_we_gave_up_is_found_not_repeated(office, store):
    """Too slow: the caller hears "not reachable" (the look found nothing yet); the write then
    lands in Open Dental, and asking again returns it instead of writing a second one."""
    office.sim.fault("POST", "/appointments", delay=2.5)  # beyond the 2 s timeout
    with pytest.raises(StoreUnavailable):
        await service(office).book(STAFF, await posted(store), now=NOW)
    for _ in range(100):  # the simulator finishes the slow request on its own time
        if ours(office):
            break
        await asyncio.sleep(0.05)
    [landed] = ours(office)
    # A caller's retry goes straight to the book (their offer stands): it finds the write.
    again = await office.book.book(
        practice_id="lakeside",
        provider_id="maria-santos",
        patient_id=await ann(store),
        visit_type="checkup",
        starts_at=written_start(),
        ends_at=written_start() + timedelta(hours=1),
        now=NOW,
    )
    assert again.id == str(landed["AptNum"]) and len(ours(office)) == 1


async def test_no_keys_or_patient_details_reach_the_logs(office, store, caplog):
    """The API's query strings carry names and birth dates (patients/Simple?LName=...): httpx
    logs every request URL at INFO, so its logger is kept quiet; ours log types and routes."""
    logs.install("INFO")
    caplog.set_level(logging.DEBUG)
    office.sim.fault("POST", "/appointments", lose_answer=True)
    await service(office).book(STAFF, await posted(store), now=NOW)
    office.sim.customer_key = "re-issued"
    with pytest.raises(StoreUnavailable):
        await service(office).times_on("checkup", WED, now=NOW)
    text = caplog.text
    assert "open dental refused the keys (401)" in text  # what went wrong is there
    for secret in (CUSTOMER_KEY, DEV_KEY, "ODFHIR", "Lee", "1980", "LName", "PatNum="):
        assert secret not in text, secret


async def test_a_confirmation_by_text_is_written_to_open_dental(office, store):
    booked = await service(office).book(STAFF, await posted(store), now=NOW)
    num = int(booked.appointment.id)
    assert office.sim.appointments[num]["Confirmed"] == 19  # as booked: not confirmed
    confirmed = await service(office).confirm(await ann(store), booked.appointment.id, now=NOW)
    assert confirmed.confirmed_at == NOW
    assert office.sim.appointments[num]["Confirmed"] == 21  # the simulator's "Confirmed"
    assert ("PUT", f"/appointments/{num}/Confirm") in office.sim.writes()
    bob = await store.appointments.find_patient("lakeside", "Bob Stone", date(1975, 6, 1))
    with pytest.raises(Refused) as refused:  # not Bob's visit: nothing written
        await service(office).confirm(bob.id, booked.appointment.id, now=NOW)
    assert refused.value.refusal.reason is Reason.NOT_BOOKED
