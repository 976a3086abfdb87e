"""Scrapers: one module per kind of source, registered under the name a source's kind uses.

Importing this package is cheap: the parsing libraries (icalendar, lxml, osmium, shapely)
are imported when a parser first runs. See `scrapers.base` for the records and the loop a
caller runs.
"""

from .base import Scraper
from .ical import ICalScraper
from .jsonld import JsonLdScraper
from .openactive import OpenActiveScraper
from .openreferral import OpenReferralScraper
from .osm import OsmScraper

SCRAPERS: dict[str, type[Scraper]] = {
    "openactive": OpenActiveScraper,
    "openreferral": OpenReferralScraper,
    "ical": ICalScraper,
    "jsonld": JsonLdScraper,
    "osm": OsmScraper,
}

__all__ = ["SCRAPERS"]
