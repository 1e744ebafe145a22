"""The domain: the practice, phone numbers, calls, scheduling and identity. No LiveKit here."""
