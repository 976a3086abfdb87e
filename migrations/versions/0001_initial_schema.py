"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import geoalchemy2
from geoalchemy2 import alembic_helpers  # noqa: F401  registers the geospatial operations
import assetmap.models.base
from geoalchemy2 import Geometry

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_areas')),
    sa.UniqueConstraint('code', name=op.f('uq_areas_code'))
    )
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_areas_geom', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=60), nullable=True),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_name'), ['name'], unique=False)

    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('every_seconds', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('complete_list', sa.Boolean(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('last_run_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_geospatial_table('venues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('postcode', sa.String(length=10), nullable=True),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('location_approximate', sa.Boolean(), nullable=False),
    sa.Column('step_free', sa.Boolean(), nullable=True),
    sa.Column('accessible_toilet', sa.Boolean(), nullable=True),
    sa.Column('hearing_loop', sa.Boolean(), nullable=True),
    sa.Column('parking', sa.Boolean(), nullable=True),
    sa.Column('near_public_transport', sa.Boolean(), nullable=True),
    sa.Column('wheelchair', sa.String(length=20), nullable=True),
    sa.Column('kind', sa.String(length=80), nullable=True),
    sa.Column('opening_hours', sa.String(length=300), nullable=True),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('phone', sa.String(length=60), nullable=True),
    sa.Column('osm_ref', sa.String(length=40), nullable=True),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues')),
    sa.UniqueConstraint('osm_ref', name=op.f('uq_venues_osm_ref'))
    )
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_venues_geom', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_venues_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_venues_postcode'), ['postcode'], unique=False)

    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('venue_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('cost_kind', sa.String(length=20), nullable=False),
    sa.Column('cost_amount', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('cost_text', sa.String(length=200), nullable=True),
    sa.Column('age_min', sa.Integer(), nullable=True),
    sa.Column('age_max', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('contact_phone', sa.String(length=60), nullable=True),
    sa.Column('contact_url', sa.String(length=500), nullable=True),
    sa.Column('first_visit', sa.Text(), nullable=True),
    sa.Column('last_verified_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_verified_method', sa.String(length=30), nullable=True),
    sa.Column('last_seen_by_source_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('field_provenance', sa.JSON(), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_activities_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_activities_venue_id_venues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities'))
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activities_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_last_verified_at'), ['last_verified_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_activities_venue_id'), ['venue_id'], unique=False)

    op.create_table('scrape_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('started_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('issues', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_scrape_runs_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scrape_runs'))
    )
    with op.batch_alter_table('scrape_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scrape_runs_source_id'), ['source_id'], unique=False)

    op.create_table('user_areas',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_user_areas_area_id_areas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_areas_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'area_id', name=op.f('pk_user_areas'))
    )
    op.create_table('activity_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_schedules_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_schedules')),
    sa.UniqueConstraint('activity_id', 'position', name=op.f('uq_activity_schedules_activity_id'))
    )
    with op.batch_alter_table('activity_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_schedules_activity_id'), ['activity_id'], unique=False)

    op.create_table('activity_tags',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_activity_tags_activity_id_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'tag', name=op.f('pk_activity_tags'))
    )
    with op.batch_alter_table('activity_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_tags_tag'), ['tag'], unique=False)

    op.create_table('change_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=60), nullable=False),
    sa.Column('old_value', sa.JSON(), nullable=True),
    sa.Column('new_value', sa.JSON(), nullable=True),
    sa.Column('changed_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_type', sa.String(length=20), nullable=False),
    sa.Column('actor_label', sa.String(length=200), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reverts_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_change_history_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reverts_id'], ['change_history.id'], name=op.f('fk_change_history_reverts_id_change_history')),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_change_history_source_id_sources')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_change_history_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_history'))
    )
    with op.batch_alter_table('change_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_history_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_history_changed_at'), ['changed_at'], unique=False)

    op.create_table('source_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=500), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('first_seen_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('missed_runs', sa.Integer(), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('disagreements', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_source_links_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_source_links_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_links')),
    sa.UniqueConstraint('source_id', 'external_id', name=op.f('uq_source_links_source_id'))
    )
    with op.batch_alter_table('source_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_links_activity_id'), ['activity_id'], unique=False)

    op.create_table('verification_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('verified_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=30), nullable=False),
    sa.Column('actor_type', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('note_private', sa.Boolean(), nullable=False),
    sa.Column('judgement', sa.JSON(), nullable=True),
    sa.Column('recorded_at', assetmap.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], name=op.f('fk_verification_events_activity_id_activities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_verification_events_source_id_sources')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_verification_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_events'))
    )
    with op.batch_alter_table('verification_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_events_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_events_verified_at'), ['verified_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('verification_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_events_verified_at'))
        batch_op.drop_index(batch_op.f('ix_verification_events_activity_id'))

    op.drop_table('verification_events')
    with op.batch_alter_table('source_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_links_activity_id'))

    op.drop_table('source_links')
    with op.batch_alter_table('change_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_history_changed_at'))
        batch_op.drop_index(batch_op.f('ix_change_history_activity_id'))

    op.drop_table('change_history')
    with op.batch_alter_table('activity_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_tags_tag'))

    op.drop_table('activity_tags')
    with op.batch_alter_table('activity_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_schedules_activity_id'))

    op.drop_table('activity_schedules')
    op.drop_table('user_areas')
    with op.batch_alter_table('scrape_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scrape_runs_source_id'))

    op.drop_table('scrape_runs')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activities_venue_id'))
        batch_op.drop_index(batch_op.f('ix_activities_status'))
        batch_op.drop_index(batch_op.f('ix_activities_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_activities_name'))
        batch_op.drop_index(batch_op.f('ix_activities_last_verified_at'))
        batch_op.drop_index(batch_op.f('ix_activities_category'))

    op.drop_table('activities')
    with op.batch_alter_table('venues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_venues_postcode'))
        batch_op.drop_index(batch_op.f('ix_venues_name'))
        batch_op.drop_geospatial_index('idx_venues_geom', postgresql_using='gist', column_name='geom')

    op.drop_geospatial_table('venues')
    op.drop_table('users')
    op.drop_table('sources')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_name'))

    op.drop_table('organisations')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_geospatial_index('idx_areas_geom', postgresql_using='gist', column_name='geom')

    op.drop_geospatial_table('areas')
