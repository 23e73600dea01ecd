"""vCard 3.0 / 4.0 import and export of contacts (vobject does the reading and writing).

``parse`` reads files as address books write them, ``write`` writes cards, ``importer`` brings
cards into a workspace, ``export`` takes contacts out.
"""

from __future__ import annotations

from tenure.services.vcard.cards import (
    VERSIONS,
    Card,
    CardEmail,
    CardPhone,
    CardProblem,
    ParsedCard,
    check_version,
)
from tenure.services.vcard.export import (
    MEDIA_TYPE,
    VCardFile,
    card_of,
    export_contact,
    export_page,
    export_stream,
)
from tenure.services.vcard.importer import (
    ImportReport,
    OnDuplicate,
    check_on_duplicate,
    import_vcards,
)
from tenure.services.vcard.parse import decode_bytes, parse_vcards
from tenure.services.vcard.write import to_vcard, to_vcards

__all__ = [
    "MEDIA_TYPE",
    "VERSIONS",
    "Card",
    "CardEmail",
    "CardPhone",
    "CardProblem",
    "ImportReport",
    "OnDuplicate",
    "ParsedCard",
    "VCardFile",
    "card_of",
    "check_on_duplicate",
    "check_version",
    "decode_bytes",
    "export_contact",
    "export_page",
    "export_stream",
    "import_vcards",
    "parse_vcards",
    "to_vcard",
    "to_vcards",
]
