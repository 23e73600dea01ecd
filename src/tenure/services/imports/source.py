"""Reading an import's file: encoding and delimiter detection, then records as a stream.

Memory stays constant whatever the file's size: the file is read through a decoding text
stream by ``csv.reader``; only a sample (``SAMPLE_BYTES``) is read whole, for detection.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

from charset_normalizer import from_bytes

from tenure.domain.errors import FieldError, InvalidInput
from tenure.domain.imports.sniff import detect_delimiter

SAMPLE_BYTES = 64 * 1024
#: A cell longer than this is not a contact's data (and csv's own limit is 128 KiB).
MAX_CELL = 1_000_000
#: More than this share of control characters in the sample: not a text file.
MAX_CONTROL_SHARE = 0.01

Opener = Callable[[], BinaryIO]


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str
    headers: list[str]


def _file_error(rule: str, message: str) -> InvalidInput:
    return InvalidInput([FieldError("file", rule, message)])


def detect_encoding(sample: bytes) -> str:
    """A byte-order mark, else UTF-8 when the sample is valid UTF-8, else charset-normalizer's
    best guess; refuses what is not text."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise _file_error("binary", "this is not a text (CSV) file")
    try:
        # An incremental decoder: a sample cut inside a multi-byte character is still UTF-8.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample).best()
    if best is None:
        raise _file_error("encoding", "the file's text encoding could not be recognized")
    return str(best.encoding)


def inspect(open_binary: Opener, *, delimiter: str | None = None) -> Dialect:
    """Encoding, delimiter and header of a file; a clear error for what cannot be imported."""
    with open_binary() as raw:
        sample = raw.read(SAMPLE_BYTES)
    if not sample.strip():
        raise _file_error("empty", "the file is empty")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > MAX_CONTROL_SHARE * len(text) or text.count("\ufffd") > MAX_CONTROL_SHARE * len(
        text
    ):
        raise _file_error("binary", "this is not a text (CSV) file")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in "\r\n\"'"):
        raise InvalidInput.one("delimiter", "delimiter", "one character, like , ; | or a tab")
    chosen = delimiter or detect_delimiter(text.lstrip("\ufeff"))
    with records(open_binary, encoding, chosen, skip_header=False) as rows:
        headers = next(rows, None)
    if headers is None or not any(h.strip() for h in headers):
        raise _file_error("header", "the first row must name the columns")
    headers = [h.replace("\ufeff", "").strip() for h in headers]
    if any("@" in h or h.replace(".", "").replace("-", "").isdigit() for h in headers if h):
        raise _file_error("header", "the first row must name the columns; it looks like data")
    return Dialect(encoding, chosen, headers)


@contextmanager
def records(
    open_binary: Opener, encoding: str, delimiter: str, *, skip_header: bool = True, skip: int = 0
) -> Iterator[Iterator[list[str]]]:
    """The records of the file (after the header, and after ``skip`` records when resuming).

    Undecodable bytes become U+FFFD rather than stopping an import half way; a malformed
    record is an ``InvalidInput`` naming its row."""
    with open_binary() as raw:
        stream = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(stream, delimiter=delimiter, strict=False)
        rows = _guarded(reader, first_row=1 if not skip_header else 2 + skip)
        if skip_header:
            next(rows, None)
        if skip:
            for _ in islice(rows, skip):
                pass
        yield rows


def _guarded(reader: Iterator[list[str]], first_row: int) -> Iterator[list[str]]:
    row = first_row
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _file_error("csv", f"row {row}: {exc}") from None
        yield record
        row += 1


def set_field_limit() -> None:
    csv.field_size_limit(MAX_CELL)


def open_bytes(content: bytes) -> Opener:
    return lambda: io.BytesIO(content)


def open_path(path: str) -> Opener:
    return lambda: open(path, "rb")
