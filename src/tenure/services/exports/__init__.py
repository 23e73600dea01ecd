"""Exports: CSV of lists and timelines, and the full workspace archive (write and import).

* ``csv_export``      the contact list (its filters and sort) and a contact's timeline as CSV;
* ``spec``            which tables an archive holds, their order, what is left out and why;
* ``archive_export``  write a workspace to a zip of JSON Lines, streamed;
* ``archive_import``  fill an empty workspace from such a zip, ids remapped.
"""

from tenure.services.exports.archive_export import write_archive
from tenure.services.exports.archive_import import ImportReport, check_empty, import_archive
from tenure.services.exports.csv_export import (
    activities_csv,
    cases_csv,
    contacts_csv,
    deliveries_csv,
    timeline_csv,
)

__all__ = [
    "ImportReport",
    "activities_csv",
    "cases_csv",
    "check_empty",
    "contacts_csv",
    "deliveries_csv",
    "import_archive",
    "timeline_csv",
    "write_archive",
]
