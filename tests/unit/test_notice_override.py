"""The staff's override of the callers' notice: it waives the notice and nothing else, and only a
staff member may ask for it (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from receptionist.appointments import Appointments, Caller, Offers
from receptionist.appointments.service import without_notice
from tests.support.profiles import with_new_exam


def test_without_notice_waives_only_the_lead_time():
    practice = with_new_exam()
    waived = without_notice(practice)
    assert all(v.lead_time_hours == 0 for v in waived.visit_types)
    assert [v.model_dump(exclude={"lead_time_hours"}) for v in waived.visit_types] == [
        v.model_dump(exclude={"lead_time_hours"}) for v in practice.visit_types
    ]
    assert waived.model_dump(exclude={"visit_types"}) == practice.model_dump(
        exclude={"visit_types"}
    )
    assert any(v.lead_time_hours > 0 for v in practice.visit_types)  # the original is untouched


async def test_a_caller_cannot_book_or_move_inside_the_notice():
    service = Appointments(book=None, practice=with_new_exam())  # type: ignore[arg-type]  # never reached
    caller = Caller("p1", "SCL_1", Offers())
    now = datetime(2030, 3, 4, 14, tzinfo=UTC)
    with pytest.raises(TypeError, match="only a staff member"):
        await service.book(caller, "opt-1", now=now, override_notice=True)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="only a staff member"):
        await service.move(caller, "a1", "opt-1", now=now, override_notice=True)  # type: ignore[call-overload]


def test_the_booking_page_states_the_callers_notice_in_words():
    from receptionist.web.routes.booking import notice_rule
    from tests.support.harness import example_practice

    practice = example_practice()
    now = datetime(2030, 3, 4, 14, tzinfo=UTC)  # Monday 08:00 in Chicago
    assert notice_rule(practice, "checkup", now) == (
        "Callers need 24 hours' notice for check-up and cleaning: the assistant offers times "
        "from Tue 05 Mar 08:00 on."
    )
    assert notice_rule(practice, "emergency", now).startswith("Callers need 30 minutes' notice")
    assert notice_rule(practice, "no-such-visit", now) == ""
