"""What runs during a phone call: the LiveKit edge (session, providers, call control, keypad,
clip playback, call records) and the per-call state the tools share."""
