"""AssetMap: community activities near a person, by walking minutes, kept fresh."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from assetmap.config import PROJECT_ROOT, Config, DevConfig

__version__ = "0.1.0"


def create_app(config: Config | None = None) -> Flask:
    """Build the web app. Cheap: the database is connected on first use, not here."""
    # Imported here, not at the top: every `import assetmap.<module>` runs this file first, so a
    # top-level import of the web layer would load the whole app for a scraper's
    # `assetmap.schedule` and close a cycle (scrapers -> schedule -> web -> feeds -> scrapers).
    from assetmap import db  # noqa: I001 - see above
    from assetmap.web import init_app as init_web

    config = config or DevConfig()
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "templates"),
                static_folder=str(Path(__file__).parent / "static"),
                instance_path=str(PROJECT_ROOT / "instance"), instance_relative_config=False)
    app.config.from_mapping(config.as_dict())
    db.init_app(app)
    init_web(app)
    return app
