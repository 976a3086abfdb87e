"""Users with roles, and the areas (wards, boroughs) they look after."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assetmap.models.base import Base, utcnow

user_areas = Table(
    "user_areas",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
)


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # ward / borough
    code: Mapped[str] = mapped_column(String(20), unique=True)
    # People living there (ONS mid-year estimate), to weigh coverage gaps; None if unknown.
    population: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=True),
                         nullable=False)
    # A ward abolished by a boundary review is kept (history and coverage still resolve).
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # One more at each sign-out, deactivation and password change: a session cookie carries
    # the version it was made under, and an older one no longer signs anyone in.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    areas: Mapped[list[Area]] = relationship(secondary=user_areas)

    # Flask-Login protocol, kept free of Flask imports.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie keeps: the id and the session version it was made under."""
        return f"{self.id}:{self.session_version or 0}"

    def has_role(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles
