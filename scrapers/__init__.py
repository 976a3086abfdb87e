"""Scrapers: one module per kind of source, registered under the name a source's kind uses.

Importing this package is cheap: the parsing libraries (icalendar, lxml, osmium, shapely)
are imported when a parser first runs. See `scrapers.records` for the records and the loop a
caller runs.
"""

from scrapers.ical import ICalScraper
from scrapers.jsonld import JsonLdScraper
from scrapers.openactive import OpenActiveScraper
from scrapers.openreferral import OpenReferralScraper
from scrapers.osm import OsmScraper
from scrapers.records import Scraper

SCRAPERS: dict[str, type[Scraper]] = {
    "openactive": OpenActiveScraper,
    "openreferral": OpenReferralScraper,
    "ical": ICalScraper,
    "jsonld": JsonLdScraper,
    "osm": OsmScraper,
}

__all__ = ["SCRAPERS"]
