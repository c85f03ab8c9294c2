"""Notifications: who hears what, templates, SMTP, the digest and the mail catcher. No SQL here.

- ``routing``: the message bus's handlers (``on_timer_raised``, ``on_state_announced``) queue
  outbox rows through the caller's transaction.
- ``digest``: one daily email per manager instead of one per breach (composed here; read and
  queued through ``storage.queries.digest``).
- ``render``: Jinja2 templates, a text and an HTML part per kind.
- ``dispatch``: sends the rows ``storage.outbox`` claims with aiosmtplib, retrying with backoff.
- ``days``: days left or overdue in a deadline email, counted when it is sent (the dispatcher's clock).
- ``mime``: each email built with the standard library's ``email`` package: one plain address per
  recipient, header values without line breaks, a random boundary, utf-8 text and HTML parts.
- ``catcher``: the built-in aiosmtpd mail catcher; ``storage.mailbox`` keeps what it receives.
- ``outbox``: re-exports ``storage.outbox.counts`` for ``config.bootstrap`` only (moved).
"""

if __name__ != "carepath.notifications":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.notifications, not {__name__}: the repository root is not a package root")
