"""community, outbox, coverage, freshness cache

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import alembic_helpers  # noqa: F401  registers the geospatial operations
import assetmap.models.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coverage_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=True),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('street_metres', sa.Float(), nullable=False),
    sa.Column('covered_metres', sa.Float(), nullable=False),
    sa.Column('computed_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_coverage_results_area_id_areas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_results'))
    )
    with op.batch_alter_table('coverage_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_results_area_id'), ['area_id'], unique=False)

    op.create_table('organiser_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_for', sa.String(length=20), nullable=True),
    sa.Column('reminder_level', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_organiser_links_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organiser_links')),
    sa.UniqueConstraint('nonce', name=op.f('uq_organiser_links_nonce'))
    )
    with op.batch_alter_table('organiser_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organiser_links_activity_id'), ['activity_id'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_outbox_activity_id_activities'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_status'), ['status'], unique=False)

    op.create_table('review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=True),
    sa.Column('raised_by_user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_review_items_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raised_by_user_id'], ['users.id'], name=op.f('fk_review_items_raised_by_user_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_user_id'], ['users.id'], name=op.f('fk_review_items_resolved_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items'))
    )
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_items_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_items_status'), ['status'], unique=False)

    op.create_table('suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('suggester_name', sa.String(length=200), nullable=True),
    sa.Column('suggester_contact', sa.String(length=320), nullable=True),
    sa.Column('contact_consent', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('activity_id', sa.Integer(), nullable=True),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_suggestions_activity_id_activities')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_suggestions_decided_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestions')),
    sa.UniqueConstraint('reference', name=op.f('uq_suggestions_reference'))
    )
    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestions_status'), ['status'], unique=False)

    # Plain ADD COLUMN, not batch mode: recreating `activities` on SQLite with foreign keys
    # on would cascade-delete its tags, schedules and history.
    op.add_column('activities', sa.Column('freshness_state', sa.String(length=20), nullable=True))
    op.add_column('activities', sa.Column(
        'freshness_due_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column('activities', sa.Column('possibly_closed', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    # No foreign key: SQLite cannot add one without recreating the table (see above).
    op.add_column('activities', sa.Column('assigned_user_id', sa.Integer(), nullable=True))
    op.create_index('ix_activities_assigned_user_id', 'activities', ['assigned_user_id'])
    op.create_index('ix_activities_freshness_due_at', 'activities', ['freshness_due_at'])
    op.create_index('ix_activities_freshness_state', 'activities', ['freshness_state'])


def downgrade() -> None:
    op.drop_index('ix_activities_freshness_state', 'activities')
    op.drop_index('ix_activities_freshness_due_at', 'activities')
    op.drop_index('ix_activities_assigned_user_id', 'activities')
    op.drop_column('activities', 'assigned_user_id')
    op.drop_column('activities', 'possibly_closed')
    op.drop_column('activities', 'freshness_due_at')
    op.drop_column('activities', 'freshness_state')

    with op.batch_alter_table('suggestions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestions_status'))
        batch_op.drop_index(batch_op.f('ix_suggestions_created_at'))

    op.drop_table('suggestions')
    with op.batch_alter_table('review_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_items_status'))
        batch_op.drop_index(batch_op.f('ix_review_items_activity_id'))

    op.drop_table('review_items')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_kind'))
        batch_op.drop_index(batch_op.f('ix_outbox_activity_id'))

    op.drop_table('outbox')
    with op.batch_alter_table('organiser_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organiser_links_activity_id'))

    op.drop_table('organiser_links')
    with op.batch_alter_table('coverage_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverage_results_area_id'))

    op.drop_table('coverage_results')
