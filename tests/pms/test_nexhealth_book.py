"""The NexHealth book against the seeded simulator: open times as NexHealth offers them, and
writes that end in the PMS behind it (the simulator's state): confirmed before "booked", never
twice, never when refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from receptionist.appointments import Appointments, Posted, Reason, Refused, StaffMember
from receptionist.store import Store, StoreUnavailable
from tests.conversation.book_support import ANN, practice_book
from tests.support.harness import OPEN_TIME
from tests.support.nexhealth import Location, nexhealth_location
from tests.support.nexhealth_sim import NexHealthSim

NOW = OPEN_TIME  # Tuesday 2026-11-24 10:00 in Chicago
WED, MON = date(2026, 11, 25), date(2026, 11, 30)
STAFF = StaffMember("staff-1")
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with practice_book(tmp_path) as store:
        yield store


@pytest.fixture
async def location(store: Store) -> AsyncIterator[Location]:
    async with nexhealth_location(store) as location:
        yield location


def starts(slots) -> list[time]:
    return [s.start.astimezone(CHICAGO).time() for s in slots]


def service(location: Location) -> Appointments:
    return Appointments(location.book, location.practice)


async def ann(store: Store) -> str:
    return (await store.appointments.find_patient("lakeside", *ANN)).id


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHICAGO)


async def posted(store: Store, hour: int = 15, day: date = WED) -> Posted:
    return Posted(await ann(store), "checkup", "maria-santos", at(day, hour))


def anns(sim: NexHealthSim) -> list[dict]:
    """What the PMS holds for Ann (inserted, not cancelled)."""
    return sim.held(sim.patient_named("Ann", "Lee")["id"])


# --- open times ----------------------------------------------------------------------------------


async def test_open_times_are_nexhealths_slots_minus_blocks_and_bookings(location):
    """Maria, Hygiene 1, Wednesday: 8:00 and 9:00-9:50 booked, the 10:00 cancelled visit holds
    nothing, lunch is a schedule block 12-13; working hours to 19:00."""
    day = await service(location).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    times = starts(day.slots)
    assert times[0] == time(10, 0)  # the cancelled 10:00 does not block
    assert not [t for t in times if time(11, 0) < t < time(13, 0)]  # lunch block
    assert time(13, 0) in times and times[-1] == time(18, 0)
    assert not location.sim.unknown_params  # every parameter one NexHealth takes


async def test_a_block_and_the_pms_schedule_narrow_practice_hours(location):
    """Monday the 30th: Maria's training block 13-17; Dr. Okafor's Wednesday ends at 17:00 in
    the PMS though practice.toml opens until 19:00, and her 13:00 half hour is booked."""
    monday = await service(location).times_on("checkup", MON, now=NOW, provider_id="maria-santos")
    assert starts(monday.slots)[-1] == time(12, 0)
    wed = await service(location).times_on("filling", WED, now=NOW, provider_id="dr-okafor")
    times = starts(wed.slots)
    assert times[-1] == time(16, 15) and time(13, 0) not in times and time(13, 30) in times
    assert time(14, 0) in times  # the cancelled 14:00 frees it


async def test_a_desk_booking_in_the_pms_is_seen_by_the_next_search(location):
    first = await service(location).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    assert time(15, 0) in starts(first.slots)
    location.sim.add_appointment(None, 303, at(WED, 15), 60, provider=203, note="desk")
    again = await service(location).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    assert time(15, 0) not in starts(again.slots)


async def test_a_fresh_mirror_costs_no_request(store):
    async with nexhealth_location(store, refresh_seconds=300) as location:
        await service(location).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
        before = len(location.sim.log)
        await service(location).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
        assert len(location.sim.log) == before


# --- writes --------------------------------------------------------------------------------------


async def test_a_booking_is_booked_only_once_the_pms_has_it(location, store):
    booked = await service(location).book(STAFF, await posted(store), now=NOW)
    [written] = anns(location.sim)[-1:]
    assert written["start_time"].startswith("2026-11-25T15:00:00")
    assert written["operatory_id"] == 303 and written["provider_id"] == 203
    assert written["appointment_type_id"] == 401 and written["foreign_id"]
    assert "AI receptionist" in written["note"] and "staff-1" in written["note"]
    assert booked.appointment.id == str(written["id"])
    assert ("appointment_insertion.complete", written["id"]) in location.sim.events


async def test_the_desk_a_moment_before_the_pms_write_means_fresh_options(location, store):
    def desk(sim: NexHealthSim, ours: dict) -> None:  # booked in the PMS a moment before ours
        sim.add_appointment(None, 303, at(WED, 15), 60, provider=203, note="desk")

    location.sim.before_insert(desk)
    with pytest.raises(Refused) as refused:
        await service(location).book(STAFF, await posted(store), now=NOW)
    assert refused.value.refusal.reason is Reason.TAKEN and refused.value.refusal.fresh
    assert all(s.start != at(WED, 15) for s in refused.value.refusal.fresh)
    holding = [a for a in location.sim.held() if a["start_time"].startswith("2026-11-25T15:00")]
    assert [a["note"] for a in holding] == ["desk"]  # only the desk's: never a double booking


async def test_a_time_taken_before_our_check_is_never_written(location, store):
    """The service's own look sees 15:00 open; the desk takes it before the book's check of
    that very time (the second slots request), so nothing is written."""
    reads = []

    def desk(sim: NexHealthSim) -> None:
        reads.append(1)
        if len(reads) == 2:
            sim.add_appointment(None, 303, at(WED, 15), 60, provider=203)

    location.sim.before("GET", "/available_slots", desk, times=2)
    with pytest.raises(Refused) as refused:
        await service(location).book(STAFF, await posted(store), now=NOW)
    assert refused.value.refusal.reason is Reason.TAKEN
    assert not [w for w in location.sim.writes() if w[1].startswith("/appointments")]


async def test_a_lost_answer_is_looked_for_and_never_written_twice(location, store):
    location.sim.fault("POST", "/appointments", lose_answer=True)
    booked = await service(location).book(STAFF, await posted(store), now=NOW)
    mine = [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]
    assert [a["id"] for a in mine] == [int(booked.appointment.id)]
    again = await location.book.book(  # a retry (the screen, the caller) finds the first write
        practice_id="lakeside",
        provider_id="maria-santos",
        patient_id=await ann(store),
        visit_type="checkup",
        starts_at=at(WED, 15),
        ends_at=at(WED, 16),
        now=NOW,
    )
    assert again.id == booked.appointment.id
    assert len([a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]) == 1


@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
async def test_a_refused_or_failed_write_is_never_called_booked(location, store, status):
    location.sim.fault("POST", "/appointments", status=status, times=3, retry_after="30")
    with pytest.raises(StoreUnavailable):
        await service(location).book(STAFF, await posted(store), now=NOW)
    assert not [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]


async def test_a_write_the_pms_does_not_confirm_in_time_is_withdrawn_not_told_booked(
    location, store
):
    location.sim.settle_on_read = False  # the synchronizer is slow (the office PC is off)
    with pytest.raises(StoreUnavailable):
        await service(location).book(STAFF, await posted(store), now=NOW)
    [ours] = [a for a in location.sim.appointments.values() if "ref:" in a["note"]]
    assert ours["cancelled"] is True  # withdrawn: it cannot land in the PMS unseen later
    location.sim.settle()
    assert not [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]


async def test_an_expired_key_makes_the_book_unreachable_not_empty(location):
    location.sim.api_key = "rotated"
    location.sim.expire_tokens()
    with pytest.raises(StoreUnavailable):
        await service(location).times_on("checkup", WED, now=NOW)


async def test_move_books_the_new_time_then_cancels_the_old(location, store):
    booked = await service(location).book(STAFF, await posted(store), now=NOW)
    moved = await service(location).move(
        STAFF, booked.appointment.id, await posted(store, hour=16), now=NOW
    )
    old = location.sim.appointments[int(booked.appointment.id)]
    new = location.sim.appointments[int(moved.new.id)]
    assert old["cancelled"] is True and new["foreign_id"]
    assert new["start_time"].startswith("2026-11-25T16:00") and "Moved by" in new["note"]
    cancelled = await service(location).cancel(
        STAFF, moved.new.id, now=NOW, patient_id=await ann(store)
    )
    assert cancelled.appointment.status == "cancelled"
    assert not [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]


async def test_a_move_whose_old_visit_cannot_be_cancelled_leaves_one_visit(location, store):
    booked = await service(location).book(STAFF, await posted(store), now=NOW)
    location.sim.fault("PATCH", rf"/appointments/{booked.appointment.id}", status=503, times=3)
    with pytest.raises(StoreUnavailable):
        await service(location).move(
            STAFF, booked.appointment.id, await posted(store, hour=16), now=NOW
        )
    held = [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]
    assert [a["id"] for a in held] == [int(booked.appointment.id)]  # the new one withdrawn


async def test_a_new_patient_is_created_in_nexhealth_once(location, store):
    carla, _ = await store.appointments.register_patient(
        "lakeside", "Carla Diaz", date(1992, 7, 14), "+14144007103", new_patient=True
    )
    await service(location).book(
        STAFF, Posted(carla.id, "new-patient", "dr-okafor", at(WED, 15)), now=NOW
    )
    patient = location.sim.patient_named("Carla", "Diaz")
    assert patient is not None and patient["bio"]["date_of_birth"] == "1992-07-14"
    [written] = location.sim.held(patient["id"])
    assert written["provider_id"] == 201 and written["operatory_id"] == 301
    # Another process (an empty cache) finds her by name and birth date, never a second record.
    location.book._nh_ids.clear()
    [visit] = await location.book.upcoming_for_patient(carla.id, after=NOW)
    assert visit.id == str(written["id"]) and visit.patient_id == carla.id
    assert [p["name"] for p in location.sim.patients.values()].count("Carla Diaz") == 1


async def test_two_bookings_at_once_for_one_time_end_in_one_appointment(location, store):
    """Two staff screens book Ann's 15:00 together: serialised per patient, the second finds
    the first's write (its ref), so the PMS holds one."""
    post = await posted(store)
    results = await asyncio.gather(
        service(location).book(STAFF, post, now=NOW),
        service(location).book(StaffMember("staff-2"), post, now=NOW),
        return_exceptions=True,
    )
    ids = {r.appointment.id for r in results if not isinstance(r, BaseException)}
    held = [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]
    assert len(held) == 1 and ids <= {str(held[0]["id"])}


async def test_a_patient_busy_with_another_visit_is_refused(location, store):
    await service(location).book(STAFF, await posted(store), now=NOW)
    upcoming = await location.book.upcoming_for_patient(await ann(store), after=NOW)
    assert [a.starts_at for a in upcoming] == [at(WED, 15)]
    assert not await location.book.is_new_patient(await ann(store), now=NOW)
    busy = await location.book.patient_busy(await ann(store), at(WED, 14), at(WED, 18))
    assert [(b.starts_at, b.ends_at) for b in busy] == [(at(WED, 15), at(WED, 16))]
    assert await location.book.get_appointment("999999") is None


async def test_a_lapsed_token_and_a_short_429_still_book_once(location, store):
    """The hour's token lapses between the search and the booking, and NexHealth rate-limits
    the write for a moment: a fresh token, the wait honoured, one appointment."""
    await service(location).times_on("checkup", WED, now=NOW, provider_id="maria-santos")
    location.sim.expire_tokens()
    location.sim.fault("POST", "/appointments", status=429, retry_after="0.1")
    booked = await service(location).book(STAFF, await posted(store), now=NOW)
    held = [a for a in anns(location.sim) if a["start_time"].startswith("2026-11-25")]
    assert [a["id"] for a in held] == [int(booked.appointment.id)]
    assert location.sim.authentications == 2
    posts = [s for m, p, s in location.sim.log if m == "POST" and p.startswith("/appointments")]
    assert posts == [429, 201]


async def test_a_confirmation_by_text_is_written_to_nexhealth(location, store):
    booked = await service(location).book(STAFF, await posted(store), now=NOW)
    row = location.sim.appointments[int(booked.appointment.id)]
    assert row["confirmed"] is False  # as booked
    location.sim.fault("PATCH", rf"/appointments/{row['id']}", lose_answer=True, times=1)
    confirmed = await service(location).confirm(await ann(store), booked.appointment.id, now=NOW)
    assert confirmed.confirmed_at == NOW
    assert location.sim.appointments[int(booked.appointment.id)]["confirmed"] is True
    bob = await store.appointments.find_patient("lakeside", "Bob Stone", date(1975, 6, 1))
    with pytest.raises(Refused) as refused:  # not Bob's visit: nothing written
        await service(location).confirm(bob.id, booked.appointment.id, now=NOW)
    assert refused.value.refusal.reason is Reason.NOT_BOOKED
