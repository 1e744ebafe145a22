"""Text messages to and from patients, no LiveKit: operator-side like `notify/` (the staff app
runs the sender and takes the webhooks); a call only queues a row (`confirmations.py`).

    compose.py        what a text says: the practice's template, the minimum necessary, segments
    config.py         whether a practice's provider has its keys, and the fix when not
    providers.py      Twilio's and Telnyx's REST APIs: send one text, read the answer
    sender.py         claim, check (quiet hours, rate), send, record: `Sender`, `run_text_sender`
    signatures.py     verifying the providers' webhooks (Twilio HMAC-SHA1, Telnyx Ed25519)
    inbound.py        what a patient's text does: STOP, START, HELP, C, R, anything else
    confirmations.py  the text queued after a call books, moves or cancels
"""
