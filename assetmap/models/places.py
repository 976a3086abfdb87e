"""Every postcode of the place, shared by all web workers (ONSPD, Code-Point Open or OSM)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from assetmap.models.base import Base


class Postcode(Base):
    """One postcode's point. `derived` rows were averaged from OSM addresses, not published."""

    __tablename__ = "postcodes"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)  # normalised "NW1 2DB"
    outward: Mapped[str] = mapped_column(String(4), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    terminated: Mapped[date | None] = mapped_column(Date)
    derived: Mapped[bool]
    dataset: Mapped[str] = mapped_column(String(40))  # ONSPD / NSPL / Code-Point Open / OSM
    ward_code: Mapped[str | None] = mapped_column(String(12))
    district_code: Mapped[str | None] = mapped_column(String(12))

    __table_args__ = (Index("ix_postcodes_lat_lon", "lat", "lon"),)
