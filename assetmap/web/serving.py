"""Getting a built app ready to serve requests, before the web server forks its workers."""

from __future__ import annotations

import gc

from flask import Flask
from sqlalchemy.orm import configure_mappers

from assetmap.db import get_engine, session_scope
from assetmap.matching.candidates import candidates
from assetmap.places.area_index import held_areas
from assetmap.walking.router import preload_libraries


def prepare_to_serve(app: Flask) -> None:
    """Do once, before the server forks, what each worker would otherwise do at its first
    requests, then freeze the garbage collector's view of it.

    The forked workers share those pages (copy-on-write) instead of each dirtying a copy:
    routing's libraries, SQLAlchemy's mappers, every compiled template, the listings a search
    ranks (read once here, brought up to date by each worker from the change log) and the
    areas it places its start in. And a full
    collection no longer walks the hundreds of thousands of objects that live as long as the
    process: one took ~90 ms in the middle of a search before, ~15 ms after."""
    preload_libraries()
    configure_mappers()
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)
    with session_scope(app) as session:
        candidates(session)  # held per engine: the engine stays, its connections go
        held_areas(session)
    get_engine(app).dispose()  # each worker opens its own connections after the fork
    gc.freeze()
