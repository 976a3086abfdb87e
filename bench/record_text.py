"""Benchmark what cleaning record text costs: records made per second with and without it.

    .venv/bin/python bench/record_text.py [--records 50000] [--repeat 5]

Every feed record's text is cleaned of control characters when it is made (scrapers.records),
for every record of every run, so it must stay cheap beside ingest (2,000-30,000 records/s).
The baseline is the same records made with the cleaning step switched off, in the same run.
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import timeit

import scrapers.records as base
from scrapers.records import ActivityRecord, OrganisationRecord, VenueRecord

TEXTS = {
    "plain": "Sequence and ballroom dancing with tea and cake. No partner needed.",
    "line breaks": "Sequence and ballroom dancing.\nTea and cake.\nNo partner needed.",
    "a NUL": "Sequence and ballroom dancing\x00 with tea and cake.",
}


def make(description: str) -> ActivityRecord:
    return ActivityRecord(
        "openactive", "session-series-123", "Somers Town Tea Dance",
        source_url="https://opendata.example.org/session-series/123", description=description,
        cost_text="£3 including tea", venue=VenueRecord(
            "openactive", name="Somers Town Community Centre", address="150 Ossulston Street",
            postcode="NW1 1EE", lat=51.53, lon=-0.13),
        organisation=OrganisationRecord("Somers Town Community Association",
                                        url="https://stca.example.org"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cleaning = base._store_text_fields
    for label, text in TEXTS.items():
        timings = {}
        for mode in ("baseline", "cleaned"):
            base._store_text_fields = cleaning if mode == "cleaned" else (lambda record: None)
            timings[mode] = min(timeit.repeat(lambda t=text: make(t), number=args.records,
                                              repeat=args.repeat))
        base._store_text_fields = cleaning
        rate = {mode: args.records / seconds for mode, seconds in timings.items()}
        ratio = timings["cleaned"] / timings["baseline"]
        print(f"{label:12} cleaned {rate['cleaned']:>9,.0f} records/s, baseline "
              f"{rate['baseline']:>9,.0f} records/s, cost x{ratio:.2f}")


if __name__ == "__main__":
    main()
