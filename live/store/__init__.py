"""Persistence: sqlmodel tables, Alembic migrations, queries and the single writer."""
