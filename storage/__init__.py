"""Persistence: SQLModel tables, Alembic migrations, the SQL unit of work."""
