"""a change token for areas: every write to `areas` replaces it, so each process holds the
wards and boroughs in memory (a search places its start in them and names the areas phone
and online listings serve) and knows on the search's one read of its tokens whether they
are still what the database holds

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    tokens = sa.table("change_tokens", sa.column("name", sa.String),
                      sa.column("token", sa.BigInteger))
    op.bulk_insert(tokens, [{"name": "areas", "token": secrets.randbits(62)}])
    if op.get_bind().dialect.name == "postgresql":
        # 0018's function: replaced before the statement touches a row, once a transaction.
        op.execute("CREATE TRIGGER change_token_areas BEFORE INSERT OR UPDATE OR DELETE OR "
                   "TRUNCATE ON areas FOR EACH STATEMENT "
                   "EXECUTE FUNCTION change_token_replace('areas')")
        return
    for operation in OPERATIONS:
        op.execute(f"CREATE TRIGGER change_token_areas_{operation.lower()} AFTER {operation} "
                   "ON areas BEGIN INSERT INTO change_tokens (name, token) "
                   "VALUES ('areas', random()) "
                   "ON CONFLICT (name) DO UPDATE SET token = excluded.token; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER change_token_areas ON areas")
    else:
        for operation in OPERATIONS:
            op.execute(f"DROP TRIGGER change_token_areas_{operation.lower()}")
    op.execute("DELETE FROM change_tokens WHERE name = 'areas'")
