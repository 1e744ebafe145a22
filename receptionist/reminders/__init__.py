"""Reminder calls before appointments, without LiveKit: who is due and why (`rules`), the runner
that claims and dispatches them (`runner`), and one call's rules: what is said, what each answer
does, what follows (`call`). The LiveKit side of the call is receptionist/call/outbound.py, the
rows receptionist/store/reminders.py, the commands receptionist/ops/reminders.py.

Nothing is imported here, so loading one part (a call loads `call` and `rules`) loads no other.
"""
