"""Spooled files for downloads: an export is written inside the transaction, then sent.

Written in memory up to ``SPOOL_BYTES`` and on disk past it, so a large export costs disk, not
memory, and the response streams after the request's transaction has ended.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any

SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 64 * 1024


def spooled() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")


def spool_text(write: Callable[[IO[str]], Any]) -> IO[bytes]:
    """``write`` fills a text stream (UTF-8, CSV newlines kept); the bytes, rewound."""
    out = spooled()
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    write(text)
    text.flush()
    text.detach()  # leave ``out`` open for the response
    out.seek(0)
    return out


def spool_bytes(write: Callable[[IO[bytes]], Any]) -> IO[bytes]:
    out = spooled()
    write(out)
    out.seek(0)
    return out


def chunks(file: IO[bytes]) -> Iterator[bytes]:
    """The file's bytes in chunks; closed (its disk space freed) when done or abandoned."""
    try:
        while block := file.read(CHUNK):
            yield block
    finally:
        file.close()
