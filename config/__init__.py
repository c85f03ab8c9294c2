"""Settings and the one bootstrap that chooses adapters."""

if __name__ != "carepath.config":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.config, not {__name__}: the repository root is not a package root")
