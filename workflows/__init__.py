"""Journey definitions (``<journey>.v<N>.yaml``) and the loader that validates them."""

if __name__ != "carepath.workflows":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.workflows, not {__name__}: the repository root is not a package root")
