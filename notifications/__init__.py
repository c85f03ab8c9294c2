"""Notifications: who hears what, the transactional outbox, templates, SMTP and the mail catcher.

- ``routing``: ``on_timer`` (sweep) and ``on_event`` (write path) insert outbox rows in the
  caller's transaction; ``recipients`` resolves roles to active users.
- ``digest``: one daily email per manager instead of one per breach.
- ``render``: Jinja2 templates, a text and an HTML part per kind.
- ``dispatch``: claims due outbox rows and sends them with aiosmtplib, retrying with backoff.
- ``catcher``: the built-in aiosmtpd mail catcher that stores what it receives.
"""

if __name__ != "carepath.notifications":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.notifications, not {__name__}: the repository root is not a package root")
