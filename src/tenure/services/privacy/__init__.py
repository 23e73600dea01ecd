"""Personal-data rights of a contact: access and portability (``personal_data``) and erasure
(``erase``); see the modules for what each covers and what stays."""

from __future__ import annotations

from tenure.services.privacy.access import personal_data
from tenure.services.privacy.erasure import ERASED, ERASED_NAME, ErasureResult, erase

__all__ = ["ERASED", "ERASED_NAME", "ErasureResult", "erase", "personal_data"]
