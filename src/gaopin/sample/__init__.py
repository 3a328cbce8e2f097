"""Deterministic sample data for gaopin: the 新村街道 street sample and a district-scale file.

The street sample plants the cases of the street's write-up into plausible background
tickets and records, from the plan itself, which warnings and ledger entries they must
produce (ground_truth.json). The district mode makes large files for benchmarks.

This package depends only on gaopin.errors, gaopin.config, gaopin.schema, gaopin.privacy
and gaopin.io: it never runs gaopin's rules, so its ground truth can check them.
"""

from gaopin.sample.district import generate_rows, write_district_sample
from gaopin.sample.files import write_street_sample
from gaopin.sample.street import DEFAULT_SEED, StreetSample, build_street
from gaopin.sample.truth import ground_truth

__all__ = [
    "DEFAULT_SEED",
    "StreetSample",
    "build_street",
    "generate_rows",
    "ground_truth",
    "write_district_sample",
    "write_street_sample",
]
