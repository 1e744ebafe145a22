"""Operator and developer tooling that no call loads: the `receptionist` command, SIP setup and
diagnosis, start-up checks, clip rendering and the local telephony stack."""
