"""Languages in the book, on SQLite and PostgreSQL: a call's language on its record and on the
patients it identified (their reminder calls use it); Spanish names found as callers give them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from receptionist.call.records import finish_call
from receptionist.domain.calls import CallInfo
from receptionist.domain.identity import VerifiedPatient
from receptionist.store import Store
from receptionist.store.appointments import names_match
from tests.support.profiles import practice as make_practice
from tests.support.states import call_state

START = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)
BORN = date(1985, 3, 3)


async def test_a_spanish_call_is_recorded_in_spanish_and_so_is_its_patient(store: Store):
    practice = make_practice()
    patient, _ = await store.appointments.register_patient(
        practice.id, "María José García López", BORN, "+14144007103"
    )
    other, _ = await store.appointments.register_patient(
        practice.id, "Bob Stone", date(1975, 6, 1), "+14144007104"
    )
    state = call_state(
        info=CallInfo(caller="+14144007103", dialled="+14145550100", call_id="SCL_es"),
        practice=practice,
        store=store,
        started_at=START,
        at=START + timedelta(seconds=60),
    )
    state.language = "es"
    state.identity.adopt(VerifiedPatient(id=patient.id, full_name=patient.full_name, is_new=False))
    await finish_call(state, None)
    [call] = await store.records.recent_calls()
    assert call.language == "es"
    found = await store.appointments.get_patient(patient.id)
    untouched = await store.appointments.get_patient(other.id)
    assert found is not None and found.language == "es"
    assert untouched is not None and untouched.language == ""  # the practice's default


@pytest.mark.parametrize(
    "said",
    [
        "María José García López",
        "maria jose garcia lopez",
        "María García",  # the first surname only, as many give it
        "María García López",  # no middle name
        "María José García-López",
    ],
)
async def test_a_name_with_accents_and_two_surnames_is_found_as_callers_give_it(
    store: Store, said: str
):
    practice = make_practice()
    registered, _ = await store.appointments.register_patient(
        practice.id, "María José García López", BORN, "+14144007103"
    )
    found = await store.appointments.find_patient(practice.id, said, BORN)
    assert found is not None and found.id == registered.id


@pytest.mark.parametrize(
    "said", ["María López García", "José García", "María", "María García López Ruiz"]
)
async def test_a_name_that_is_not_the_patients_is_not_found(store: Store, said: str):
    practice = make_practice()
    await store.appointments.register_patient(
        practice.id, "María José García López", BORN, "+14144007103"
    )
    assert await store.appointments.find_patient(practice.id, said, BORN) is None


async def test_two_patients_a_short_name_could_be_is_a_match_for_neither(store: Store):
    practice = make_practice()
    for name in ("María García López", "María García Ruiz"):
        await store.appointments.register_patient(practice.id, name, BORN, "+14144007103")
    assert await store.appointments.find_patient(practice.id, "María García", BORN) is None
    exact = await store.appointments.find_patient(practice.id, "María García Ruiz", BORN)
    assert exact is not None and exact.full_name == "María García Ruiz"


def test_names_match_is_an_ordered_subsequence_with_the_same_first_name():
    assert names_match("Ana Pérez", "Ana Sofía Pérez Gómez")
    assert names_match("Ana Sofía Pérez Gómez", "Ana Pérez")
    assert not names_match("Ana Gómez Pérez", "Ana Sofía Pérez Gómez")
    assert not names_match("Sofía Pérez", "Ana Sofía Pérez Gómez")
