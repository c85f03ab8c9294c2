"""Email: the outbox, templates, the dispatcher and the built-in mail catcher."""
