"""Suite-wide test settings, and the rule that under CI nothing but a live eval may skip."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Property tests check behaviour, never speed: Hypothesis's default 200 ms per-example deadline
# fails at random on a loaded two-core CI machine (e.g. when libphonenumber loads its metadata).
settings.register_profile("receptionist", deadline=None)
settings.load_profile("receptionist")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """With CI=true a skip is a failure that keeps its reason, except live evals (which need
    provider keys CI does not have): `.ci/run` installs every other piece, so a skip there
    would hide a missing install step."""
    report = yield
    if (
        os.environ.get("CI") == "true"
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("live") is None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {reason}"
    return report
