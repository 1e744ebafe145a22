"""The staff app's pages, one module each: login, today (+ booking), messages, calls, week,
closures, accounts (+ audit). Each module has a `router`; `receptionist.web.app` includes them."""
