"""Flask extensions the blueprints share, made here so no blueprint imports the package."""

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
