"""The outbox: every email the system owes is a row here before it is a message.

    owe.py        owing a message (one row, or a fan-out in bulk) and the key that makes it
                  owed once
    doorbell.py   handing rows to the workers on commit
    delivery.py   sending: leases, order per registration, stale news skipped
    rendering.py  a row becomes a message: templates, calendar part, Message-ID
    registry.py   the message kinds, registered by each domain at app start
    tasks.py      the Celery tasks that deliver and sweep

It imports no domain: what a kind of message says, whether it is still worth sending and what
happens once it is sent are asked of the kind's registration (import-linter checks this).
"""
