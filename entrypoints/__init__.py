"""Ways in: the CLI, the worker/scheduler and the running service."""
