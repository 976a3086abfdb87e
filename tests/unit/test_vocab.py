from assetmap import vocab


def test_required_categories_and_tags_exist():
    for needed in ("lunch-club", "walking-group", "tea-dance", "chair-exercise", "repair-cafe",
                   "mens-group", "book-club", "employment-support", "martial-arts"):
        assert needed in vocab.CATEGORY_IDS
    for needed in ("wheelchair-accessible", "dementia-friendly", "welcoming-newcomers",
                   "complex-needs", "activity-focused", "connector-first-session",
                   "languages-spoken", "transport-available"):
        assert needed in vocab.TAG_IDS


def test_openactive_concepts_map_through_broader_chain():
    assert vocab.category_for_openactive("Chair Yoga") == "yoga"
    assert vocab.category_for_openactive("line dancing") == "dance-class"
    assert vocab.category_for_openactive(
        "https://openactive.io/activity-list#c16df6ed-a4a0-4275-a8c3-1c8cff56856f"
    ) == "martial-arts"  # Tai Chi
    assert vocab.category_for_openactive("badminton") == "sport"
    assert vocab.category_for_openactive("not a concept") is None


def test_labels_resolve_to_ids():
    assert vocab.resolve_category("Tea dance") == "tea-dance"
    assert vocab.resolve_tag("Drop-in (no booking)") == "drop-in"
    assert vocab.resolve_tag("nonsense") is None


def test_guess_category_matches_whole_words():
    assert vocab.guess_category("Christmas Party") == "other"
    assert vocab.guess_category("Art Club") == "arts-crafts"
    assert vocab.guess_category("Repair Café at the library") == "repair-cafe"
    assert vocab.guess_category("Job club: CV help") == "employment-support"


def test_a_retired_tag_is_understood_but_not_offered():
    offered = {t.id for t in vocab.NEEDS}
    assert "languages-spoken" not in offered and "languages-spoken" in vocab.NEED_IDS
    assert vocab.NEAR_BUS_STOP in offered
    assert vocab.NEED_LABELS["languages-spoken"]
