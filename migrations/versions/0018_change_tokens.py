"""change tokens and the listing change log: every write to listings, their tags, schedules
or venues replaces a token and logs which listing or venue it touched, so caches kept in
each process (the listings a search ranks, venues snapped onto a walking network) know at
once, on one primary-key read, whether they still hold what the database holds, and bring
themselves up to date by reading only what changed; the index 0017 added for the venues' old
stamp (their latest change) goes

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

# Per table: the tokens a write replaces, and the change log's column for what it touched
# with the table's column that names it (assetmap.models.changes names both).
WATCHED = {
    "activities": (("listings",), "activity_id", "id"),
    "activity_tags": (("listings",), "activity_id", "activity_id"),
    "activity_schedules": (("listings",), "activity_id", "activity_id"),
    "venues": (("listings", "venues"), "venue_id", "id"),
}
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "change_tokens",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_change_tokens"))
    op.create_table(
        "listing_changes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("venue_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_listing_changes"),
        sqlite_autoincrement=True)
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
    # Row triggers only; an upsert keeps working after the token row was deleted. SQLite
    # has one writer at a time, so the log's order is the order of commits.
    for table, (names, column, key) in WATCHED.items():
        for operation in OPERATIONS:
            touched = {"INSERT": f"SELECT NEW.{key}", "DELETE": f"SELECT OLD.{key}",
                       "UPDATE": f"SELECT NEW.{key} UNION SELECT OLD.{key}"}[operation]
            body = "".join(
                f"INSERT INTO change_tokens (name, token) VALUES ('{name}', random()) "
                "ON CONFLICT (name) DO UPDATE SET token = excluded.token; " for name in names)
            body += f"INSERT INTO listing_changes ({column}) {touched}; "
            op.execute(f"CREATE TRIGGER change_token_{table}_{operation.lower()} AFTER "
                       f"{operation} ON {table} BEGIN {body}END")


def _postgresql_triggers() -> None:
    # The token is replaced before a statement touches a row: a writer takes the token's row
    # lock before any listing row's, so two writers wait for each other, never deadlock, and
    # the log's numbers are taken in the order the writers commit. Once per transaction
    # (the row's xmin is then this transaction's): replacing one row again and again in one
    # transaction grows a chain of versions each replacement walks, and a bulk load of single
    # rows took minutes.
    op.execute("""
        CREATE FUNCTION change_token_replace() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            token_name text;
        BEGIN
            FOREACH token_name IN ARRAY TG_ARGV LOOP
                INSERT INTO change_tokens (name, token)
                VALUES (token_name, floor(random() * 9e18)::bigint)
                ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token
                WHERE change_tokens.xmin::text <> (txid_current() % 4294967296)::text;
            END LOOP;
            RETURN NULL;
        END $$""")
    # The rows a statement touched, logged once per statement from its transition tables;
    # a table emptied (TRUNCATE) logs a row naming nothing: everything changed.
    op.execute("""
        CREATE FUNCTION listing_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                INSERT INTO listing_changes (activity_id, venue_id) VALUES (NULL, NULL);
            ELSIF TG_OP = 'INSERT' THEN
                EXECUTE format('INSERT INTO listing_changes (%1$I) '
                               'SELECT DISTINCT %2$I FROM new_rows', TG_ARGV[0], TG_ARGV[1]);
            ELSIF TG_OP = 'DELETE' THEN
                EXECUTE format('INSERT INTO listing_changes (%1$I) '
                               'SELECT DISTINCT %2$I FROM old_rows', TG_ARGV[0], TG_ARGV[1]);
            ELSE
                EXECUTE format('INSERT INTO listing_changes (%1$I) SELECT %2$I FROM new_rows '
                               'UNION SELECT %2$I FROM old_rows', TG_ARGV[0], TG_ARGV[1]);
            END IF;
            RETURN NULL;
        END $$""")
    for table, (names, column, key) in WATCHED.items():
        arguments = ", ".join(f"'{name}'" for name in names)
        op.execute(f"CREATE TRIGGER change_token_{table} BEFORE INSERT OR UPDATE OR DELETE "
                   f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                   f"EXECUTE FUNCTION change_token_replace({arguments})")
        for operation, tables in (("INSERT", "NEW TABLE AS new_rows"),
                                  ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                  ("DELETE", "OLD TABLE AS old_rows")):
            op.execute(f"CREATE TRIGGER change_log_{table}_{operation.lower()} AFTER "
                       f"{operation} ON {table} REFERENCING {tables} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION listing_changes_log('{column}', '{key}')")
        op.execute(f"CREATE TRIGGER change_log_{table}_truncate AFTER TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION listing_changes_log()")


def downgrade() -> None:
    op.create_index("ix_venues_updated_at", "venues", ["updated_at"])
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER change_token_{table} ON {table}")
            for operation in (*OPERATIONS, "TRUNCATE"):
                op.execute(f"DROP TRIGGER change_log_{table}_{operation.lower()} ON {table}")
        op.execute("DROP FUNCTION change_token_replace()")
        op.execute("DROP FUNCTION listing_changes_log()")
    else:
        for table in WATCHED:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER change_token_{table}_{operation.lower()}")
    op.drop_table("listing_changes")
    op.drop_table("change_tokens")
