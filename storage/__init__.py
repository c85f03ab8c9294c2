"""Persistence: SQLAlchemy Core tables, Alembic migrations, the SQL unit of work."""

if __name__ != "carepath.storage":  # installed under carepath (docs/adr/0005); never by the bare folder name
    raise ImportError(f"import carepath.storage, not {__name__}: the repository root is not a package root")
