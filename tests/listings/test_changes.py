from decimal import Decimal

import pytest

from assetmap.errors import ValidationError
from assetmap.listings.changes import (
    Actor,
    apply_changes,
    create_activity,
    history,
    human_fields,
    revert,
)

CONNECTOR = Actor("user", "Pat (connector)", user_id=None)
FEED = Actor("source", "OpenActive feed")


def test_every_change_is_recorded_per_field(session):
    activity = create_activity(session, {"name": "Lunch Club", "category": "lunch-club",
                                         "cost_kind": "amount", "cost_amount": "3",
                                         "schedules": ["Tuesdays 12:00-14:00"]}, FEED)
    apply_changes(session, activity, {"cost_amount": "3.50", "name": "Lunch Club"}, CONNECTOR)
    session.commit()
    rows = history(session, activity.id)
    cost_changes = [r for r in rows if r.field == "cost_amount"]
    assert [(r.old_value, r.new_value) for r in cost_changes] == [(None, "3.00"),
                                                                  ("3.00", "3.50")]
    assert cost_changes[-1].actor_label == "Pat (connector)"
    assert not [r for r in rows if r.field == "name" and r.actor_type == "user"]
    assert activity.cost_amount == Decimal("3.50")


def test_human_edits_are_remembered_and_feed_edits_are_not(session):
    activity = create_activity(session, {"name": "Walk", "category": "walking-group"}, FEED)
    assert human_fields(activity) == set()
    apply_changes(session, activity, {"description": "Meet at the gate"}, CONNECTOR)
    assert human_fields(activity) == {"description"}


def test_revert_restores_the_old_value_as_a_new_change(session):
    activity = create_activity(session, {"name": "Choir", "category": "singing",
                                         "tags": ["free"]}, CONNECTOR)
    (change,) = apply_changes(session, activity, {"tags": ["free", "drop-in"]}, FEED)
    session.commit()
    undo = revert(session, change.id, CONNECTOR)
    session.commit()
    assert activity.tags == ["free"]
    assert undo.reverts_id == change.id
    assert len([r for r in history(session, activity.id) if r.field == "tags"]) == 3


@pytest.mark.parametrize("fields, field", [
    ({"name": "", "category": "other"}, "name"),
    ({"name": "x", "category": "juggling"}, "category"),
    ({"name": "x", "category": "other", "tags": ["sparkly"]}, "tags"),
    ({"name": "x", "category": "other", "schedules": ["Blursday 10-11"]}, "schedule"),
    ({"name": "x", "category": "other", "cost_amount": "lots"}, "cost_amount"),
    ({"name": "x", "category": "other", "status": "vanished"}, "status"),
])
def test_invalid_fields_name_themselves(session, fields, field):
    with pytest.raises(ValidationError) as info:
        create_activity(session, fields, CONNECTOR)
    assert info.value.field == field


def test_optimistic_version_increments(session):
    activity = create_activity(session, {"name": "Bingo", "category": "bingo"}, CONNECTOR)
    session.commit()
    first = activity.version
    apply_changes(session, activity, {"description": "Eyes down at two"}, CONNECTOR)
    session.commit()
    assert activity.version == first + 1
