"""change tokens: every write to listings, their tags, schedules or venues replaces a token, so caches
kept in each process (the listings a search ranks, venues snapped onto a walking network) know
at once, on one primary-key read, whether they still hold what the database holds; the
index 0017 added for the venues' old stamp (their latest change) goes

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Which tokens a write to each table replaces (assetmap.models.changes names them).
WATCHED = {"activities": ("listings",), "activity_tags": ("listings",),
           "activity_schedules": ("listings",), "venues": ("listings", "venues")}
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "change_tokens",
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_change_tokens"))
    tokens = sa.table("change_tokens", sa.column("name", sa.String),
                      sa.column("token", sa.BigInteger))
    op.bulk_insert(tokens, [{"name": name, "token": secrets.randbits(62)}
                            for name in ("listings", "venues")])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()
    op.drop_index("ix_venues_updated_at", "venues")


def _sqlite_triggers() -> None:
    # SQLite has row triggers only; an upsert keeps working after the row was deleted.
    for table, names in WATCHED.items():
        for operation in OPERATIONS:
            body = "".join(
                f"INSERT INTO change_tokens (name, token) VALUES ('{name}', random()) "
                "ON CONFLICT (name) DO UPDATE SET token = excluded.token; " for name in names)
            op.execute(f"CREATE TRIGGER change_token_{table}_{operation.lower()} AFTER "
                       f"{operation} ON {table} BEGIN {body}END")


def _postgresql_triggers() -> None:
    # Once per statement, before it touches a row: a writer takes the token's row lock
    # before any listing row's, so two writers wait for each other, never deadlock.
    op.execute("""
        CREATE FUNCTION change_token_replace() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            token_name text;
        BEGIN
            FOREACH token_name IN ARRAY TG_ARGV LOOP
                INSERT INTO change_tokens (name, token)
                VALUES (token_name, floor(random() * 9e18)::bigint)
                ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token;
            END LOOP;
            RETURN NULL;
        END $$""")
    for table, names in WATCHED.items():
        arguments = ", ".join(f"'{name}'" for name in names)
        op.execute(f"CREATE TRIGGER change_token_{table} BEFORE INSERT OR UPDATE OR DELETE "
                   f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION change_token_replace({arguments})")


def downgrade() -> None:
    op.create_index("ix_venues_updated_at", "venues", ["updated_at"])
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER change_token_{table} ON {table}")
        op.execute("DROP FUNCTION change_token_replace()")
    else:
        for table in WATCHED:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER change_token_{table}_{operation.lower()}")
    op.drop_table("change_tokens")
