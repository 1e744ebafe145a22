"""Suite-wide test settings."""

from hypothesis import settings

# Property tests check behaviour, never speed: Hypothesis's default 200 ms per-example deadline
# fails at random on a loaded two-core CI machine (e.g. when libphonenumber loads its metadata).
settings.register_profile("receptionist", deadline=None)
settings.load_profile("receptionist")
