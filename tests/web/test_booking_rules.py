"""The staff screens under the agent's booking rules, on SQLite and PostgreSQL: any name a
patient can have registers and is found."""

from __future__ import annotations

import re


async def test_a_name_that_grows_when_matched_registers_and_is_found(staff_client, rig):
    # U+FDFA is one character that becomes 18 when names are matched: ten of them made a key
    # too long for its column, and registering was an HTTP 500 on PostgreSQL.
    client, csrf = staff_client
    name = "ﷺ" * 10 + " Lee"
    form = {"csrf_token": csrf, "practice": "lakeside", "name": name, "dob": "1990-01-02"}
    registered = await client.post("/patients", data=form)
    assert registered.status_code == 303 and "notice=registered" in registered.headers["location"]
    patient_id = re.search(r"patient=([0-9a-f-]+)", registered.headers["location"]).group(1)
    found = await client.post("/patients/find", data=form)
    assert found.status_code == 303 and f"patient={patient_id}" in found.headers["location"]
    again = await client.post("/patients", data=form)
    assert "notice=already_patient" in again.headers["location"]
    assert await rig.store.count("patient") == 1
