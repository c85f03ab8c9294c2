"""Ways in: the CLI, the worker/scheduler and the running service."""

if __name__ != "carepath.entrypoints":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.entrypoints, not {__name__}: the repository root is not a package root")
