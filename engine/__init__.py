"""carepath's pure domain: workflows, cases, the statutory clock. No SQL, SMTP or wall clock."""

if __name__ != "carepath.engine":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.engine, not {__name__}: the repository root is not a package root")
