"""Hash lists in the forms the field already uses, so a platform's existing lists load as they are.

Platforms that match known images today mostly run Meta's python-threatexchange (`tx`, "pytx")
or Hasher-Matcher-Actioner (HMA, built on pytx). Their lists come in a handful of shapes, each
mirrored here from pytx's own code (threatexchange 1.2.17, the paths below are inside the
installed package):

| format | what it is | pytx source |
|---|---|---|
| `hashes` | one value per line, the signal type given by the caller | `exchanges/impl/file_api.py`: `LocalFileSignalExchangeAPI` with the collaboration's `signal_type` set |
| `tx-file` | `<signal_type> <value>` per line | `exchanges/impl/file_api.py`: `fetch_iter` reads it, `report_opinion` appends to it |
| `csv` | `signal_type,signal_str,collab,category,tags` with a header (or headerless `signal_type,value`) | `cli/dataset_cmd.py`: `tx dataset -P --csv` |
| `te-simple` | the `simple.<INDICATOR_TYPE>.te` CSV files: `indicator,indicator_id,first_descriptor_id,added_on,labels` | `cli/dataset/simple_serialization.py`: `HMASerialization` (and the 4-column `CliIndicatorSerialization`) |
| `te-json` | ThreatExchange `/threat_updates` records: a JSON array, a Graph API page (`{"data": [...]}`) or JSON Lines | `exchanges/clients/fb_threatexchange/threat_updates.py` (`ThreatUpdateJSON`) and `descriptor.py` (`SimpleDescriptorRollup.from_threat_updates_json`) |
| `jsonl` | Tutela's own, lossless: one `{"signal_type", "value", "labels", "source", "metadata"}` object per line | - |

pytx's local-file exchange writes only the plain-text forms (`hashes`, `tx-file`); it has no JSON
writer. The JSON that carries per-entry metadata in the pytx world is ThreatExchange's
`/threat_updates` record (tags, descriptor ids, owner, status), hence `te-json`; `jsonl` is for
everything else Tutela keeps (notes, any metadata) and round-trips exactly.

Signal types are pytx's names (`SignalType.get_name()`): `pdq`, `video_md5`, `url`, `url_md5`,
`video_sha256`, `raw_text`, ... ThreatExchange indicator types map onto them as pytx's
`INDICATOR_TYPE` attributes say (`signal_type/*.py`); `HASH_MD5` and `HASH_SHA256` are video hashes
only when tagged `media_type_video` (pytx's rule), otherwise they load as the generic `md5` and
`sha256`. Values of hash types are checked (PDQ and SHA-256: 64 hex digits; MD5: 32) and
lower-cased; anything else is stripped and must not be empty. A bad line is refused with its
line number and what is wrong with it: a list is imported whole or not at all by the caller,
never silently short.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One hash of a list, with what the list says about it.

    `labels`: tags or categories (`csam`, `ncii`, ThreatExchange tags). `source`: where the
    entry comes from, as an id the source understands (a ThreatExchange indicator id, a
    collaboration name). `metadata`: everything else the format carries (descriptor ids,
    dates, notes), as strings."""

    signal_type: str
    value: str
    labels: frozenset[str] = frozenset()
    source: str = ""
    metadata: dict[str, str] = field(default_factory=dict, hash=False)


class FormatError(ValueError):
    """A list that cannot be read or written as asked. `source` names the file ("" for text the
    caller passed: the caller knows where it came from), `line` the 1-based line (None when the
    problem is not on one line); the message says what is wrong and what was expected."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = ", ".join(part for part in (source, f"line {line}" if line is not None else "") if part)
        super().__init__(f"{where}: {message}" if where else message)


FORMATS: Final[dict[str, str]] = {
    "hashes": "one value per line; the signal type is given separately (pytx local file with a signal_type)",
    "tx-file": "'<signal_type> <value>' per line (pytx local file exchange)",
    "csv": "signal_type,signal_str,collab,category,tags with a header (tx dataset --csv), or headerless signal_type,value",
    "te-simple": "indicator,indicator_id,first_descriptor_id,added_on,labels (HMA's simple.<INDICATOR_TYPE>.te)",
    "te-json": "ThreatExchange /threat_updates records: JSON array, {'data': [...]} page, or JSON Lines",
    "jsonl": "Tutela's own: one JSON object per line with signal_type, value, labels, source, metadata",
}

# Hash signal types and the number of hex digits of their values. pytx: signal_type/pdq/signal.py
# (PdqSignal.validate_signal_str), signal_type/md5.py, signal_type/url_md5.py, signal_type/sha256.py.
HEX_LENGTHS: Final[dict[str, int]] = {
    "pdq": 64,
    "video_md5": 32,
    "url_md5": 32,
    "md5": 32,
    "video_sha256": 64,
    "sha256": 64,
}

# ThreatExchange indicator type -> pytx signal type name, from each SignalType's INDICATOR_TYPE.
TE_INDICATOR_TYPES: Final[dict[str, str]] = {
    "HASH_PDQ": "pdq",  # signal_type/pdq/signal.py
    "HASH_VIDEO_MD5": "video_md5",  # signal_type/md5.py
    "HASH_URL_MD5": "url_md5",  # signal_type/url_md5.py
    "HASH_VIDEO_SHA256": "video_sha256",  # signal_type/sha256.py
    "URI": "url",  # signal_type/url.py
    "RAW_URI": "url",
    "TEXT_STRING": "raw_text",  # signal_type/raw_text.py
    "TREND_QUERY": "trend_query",  # signal_type/trend_query.py
    "HASH_TEXT_TLSH": "text_tlsh",  # extensions/tlsh/text_tlsh.py
    "HASH_PDQ_OCR": "pdq_ocr",  # extensions/pdq_ocr/pdq_ocr.py
}
# Indicator types that are a pytx signal type only with a tag (pytx: {"HASH_MD5": "media_type_video"}).
# Untagged, they are kept as the generic type rather than dropped.
TE_TAGGED_INDICATOR_TYPES: Final[dict[str, tuple[str, str, str]]] = {
    "HASH_MD5": ("media_type_video", "video_md5", "md5"),  # signal_type/md5.py
    "HASH_SHA256": ("media_type_video", "video_sha256", "sha256"),  # signal_type/sha256.py
}
_INDICATOR_FOR: Final[dict[str, str]] = {
    "pdq": "HASH_PDQ",
    "video_md5": "HASH_VIDEO_MD5",
    "url_md5": "HASH_URL_MD5",
    "video_sha256": "HASH_VIDEO_SHA256",
    "url": "URI",
    "raw_text": "TEXT_STRING",
    "trend_query": "TREND_QUERY",
    "text_tlsh": "HASH_TEXT_TLSH",
    "pdq_ocr": "HASH_PDQ_OCR",
    "md5": "HASH_MD5",
    "sha256": "HASH_SHA256",
}

TX_CSV_COLUMNS: Final = ("signal_type", "signal_str", "collab", "category", "tags")  # cli/dataset_cmd.py
_VALUE_COLUMNS: Final = ("signal_str", "hash", "value", "signal")  # header names accepted for the value column
_SIGNAL_TYPE = re.compile(r"[a-z0-9_]{1,64}")  # pytx's get_name(): lower_with_underscore
_HEX_DIGITS = re.compile(r"[0-9a-f]+")
_TE_FILE = re.compile(r"simple\.([^.]+)\.te")  # cli/dataset/simple_serialization.py: f"simple.{type}.te"


def te_simple_file_name(entry_or_signal_type: BankEntry | str) -> str:
    """The file name HMA and the tx CLI give a te-simple file, e.g. `simple.HASH_PDQ.te`: they
    take the signal type from it, so a file written by write_entries(..., "te-simple") must
    be saved under this name."""
    if isinstance(entry_or_signal_type, BankEntry):
        return f"simple.{_indicator_type(entry_or_signal_type)}.te"
    indicator = _INDICATOR_FOR.get(entry_or_signal_type)
    if indicator is None:
        raise ValueError(f"signal type {entry_or_signal_type!r} has no ThreatExchange indicator type")
    return f"simple.{indicator}.te"


# Values --------------------------------------------------------------------------------------


def normalise_value(signal_type: str, value: str) -> str:
    """The value as stored: hash types lower-cased and checked for length and hex digits, other
    types stripped. Raises ValueError saying what is wrong."""
    if not _SIGNAL_TYPE.fullmatch(signal_type):
        raise ValueError(
            f"signal type {signal_type!r:.40} is not a signal type name (lower-case letters, digits and _, e.g. pdq)"
        )
    v = value.strip()
    length = HEX_LENGTHS.get(signal_type)
    if length is not None:
        v = v.lower()
        if len(v) != length or not _HEX_DIGITS.fullmatch(v):
            raise ValueError(f"{signal_type} value {value!r:.80} is not {length} hexadecimal digits")
    elif not v:
        raise ValueError(f"empty {signal_type} value")
    return v


def _signal_type_for(indicator_type: str, labels: Iterable[str]) -> str:
    tagged = TE_TAGGED_INDICATOR_TYPES.get(indicator_type)
    if tagged is not None:
        tag, with_tag, without = tagged
        return with_tag if tag in labels else without
    signal_type = TE_INDICATOR_TYPES.get(indicator_type)
    if signal_type is None:
        known = ", ".join(sorted([*TE_INDICATOR_TYPES, *TE_TAGGED_INDICATOR_TYPES]))
        raise ValueError(f"ThreatExchange indicator type {indicator_type!r:.40} is not one pytx maps to a signal type ({known})")
    return signal_type


def _indicator_type(entry: BankEntry) -> str:
    """The ThreatExchange type to write: the one the entry was read with, when it still means
    the same signal type (so HASH_MD5 stays HASH_MD5), else pytx's first for the signal type."""
    original = entry.metadata.get("indicator_type")
    if original:
        try:
            if _signal_type_for(original, entry.labels) == entry.signal_type:
                return original
        except ValueError:
            pass
    indicator = _INDICATOR_FOR.get(entry.signal_type)
    if indicator is None:
        raise ValueError(f"signal type {entry.signal_type!r} has no ThreatExchange indicator type")
    return indicator


def _labels_field(labels: frozenset[str]) -> str:
    for label in labels:
        if not label or any(c.isspace() for c in label):
            raise ValueError(f"label {label!r:.40} is empty or contains whitespace; these formats separate labels with spaces")
    return " ".join(sorted(labels))


# Reading -------------------------------------------------------------------------------------


_Lines = Iterator[tuple[int, str]]  # (1-based line number, text without the line ending)


def _lines_of_text(text: str) -> _Lines:
    """Split at line feeds only, as files are read, so line numbers agree with an editor's."""
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()
    for n, line in enumerate(pieces, 1):
        yield n, line.removesuffix("\r")


def _lines_of_file(path: Path) -> _Lines:
    """Decoded line by line, so a byte that is not UTF-8 is reported with its line. A leading
    byte-order mark (spreadsheet exports) is dropped."""
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise FormatError(str(path), n, f"not UTF-8 text (byte {e.start + 1} of the line)") from None
            yield n, line.rstrip("\r\n")


def read_entries(
    path_or_text: str | os.PathLike[str], fmt: str, *, signal_type: str | None = None, source: str = ""
) -> Iterator[BankEntry]:
    """The entries of a list, one by one, as they are read (a large file is never held whole,
    except a te-json file that is one JSON document).

    `path_or_text` is a path (a `pathlib.Path` or other path object) to read, or the text
    itself (a `str`). `signal_type` is required by `hashes`, and by `te-simple` text (a
    te-simple file takes it from its `simple.<INDICATOR_TYPE>.te` name). `source` is recorded
    on every entry whose format gives it none (e.g. the list's name and date). Raises
    FormatError on the first bad line, naming it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown list format {fmt!r}; use one of {', '.join(FORMATS)}")
    if signal_type is not None and not _SIGNAL_TYPE.fullmatch(signal_type):
        raise ValueError(
            f"signal_type {signal_type!r:.40} is not a signal type name (lower-case letters, digits and _, e.g. pdq)"
        )
    # Checked here, not when the first entry is asked for, so a wrong call fails at once.
    if fmt == "hashes" and signal_type is None:
        raise ValueError("the 'hashes' format has one value per line and no signal type: pass signal_type= (e.g. 'pdq')")
    if fmt == "tx-file" and signal_type is not None:
        raise ValueError("tx-file lines name their own signal type; for one value per line use fmt='hashes' with signal_type=")
    if fmt == "te-json" and signal_type is not None:
        raise ValueError("te-json records name their own type; signal_type= does not apply")
    if fmt == "te-simple" and signal_type is None and isinstance(path_or_text, str):
        raise ValueError("te-simple text has no signal type (a te-simple file takes it from its name): pass signal_type=")
    if isinstance(path_or_text, str):
        text = path_or_text
        if "\n" not in text and text.strip() and _looks_like_a_file(text):
            raise TypeError(f"{text!r} names a file: pass pathlib.Path({text!r}) to read it (a str is read as the list's text)")
        name, lines = "", _lines_of_text(text)
        file_indicator_type = None
    else:
        path = Path(path_or_text)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        name, lines = str(path), _lines_of_file(path)
        file_indicator_type = _te_file_indicator_type(path) if fmt == "te-simple" and signal_type is None else None
    if fmt == "te-simple":
        entries = _read_te_simple(name, lines, signal_type, file_indicator_type)
    else:
        readers: dict[str, Callable[[str, _Lines, str | None], Iterator[BankEntry]]] = {
            "hashes": _read_hashes,
            "tx-file": _read_tx_file,
            "csv": _read_csv,
            "te-json": _read_te_json,
            "jsonl": _read_jsonl,
        }
        entries = readers[fmt](name, lines, signal_type)
    if not source:
        return entries
    return (e if e.source else BankEntry(e.signal_type, e.value, e.labels, source, e.metadata) for e in entries)


def _looks_like_a_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _entry(name: str, line: int | None, signal_type: str, value: str, **rest: Any) -> BankEntry:
    try:
        return BankEntry(signal_type, normalise_value(signal_type, value), **rest)
    except ValueError as e:
        raise FormatError(name, line, str(e)) from None


def _read_hashes(name: str, lines: _Lines, signal_type: str | None) -> Iterator[BankEntry]:
    """pytx file_api.py with the collaboration's signal_type set: each stripped line is a value;
    blank lines are skipped."""
    assert signal_type is not None  # read_entries checked
    for n, line in lines:
        if line.strip():
            yield _entry(name, n, signal_type, line)


def _read_tx_file(name: str, lines: _Lines, signal_type: str | None) -> Iterator[BankEntry]:
    """pytx file_api.py `fetch_iter`: the stripped line partitioned at its first space into the
    signal type and the value; blank lines are skipped. signal_type= is refused: in pytx, a
    file with a configured signal type holds one value per line, which is the 'hashes' format."""
    for n, line in lines:
        text = line.strip()
        if not text:
            continue
        kind, _, value = text.partition(" ")
        if not value.strip():
            raise FormatError(name, n, f"expected '<signal_type> <value>' (e.g. 'pdq f8f8...'), got {text!r:.80}")
        yield _entry(name, n, kind, value)


def _read_csv(name: str, lines: _Lines, signal_type: str | None) -> Iterator[BankEntry]:
    """`tx dataset -P --csv` (cli/dataset_cmd.py): a header naming signal_type, signal_str,
    collab, category and tags (space-separated). `collab` becomes the source, `tags` the labels,
    and `category` and any other column metadata. The value column may also be headed hash,
    value or signal. Without a header, columns are taken in tx's order (at least signal_type
    and value). signal_type= serves a header without a signal_type column."""
    reader = csv.reader(line + "\n" for _, line in lines)  # every line is passed, so line_num is the line number
    header: list[str] | None = None
    value_col = ""
    for row in reader:
        n = reader.line_num
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if header is None:
            lowered = [c.lower() for c in cells]
            if "signal_type" in lowered or any(c in _VALUE_COLUMNS for c in lowered):
                header = lowered
                value_col = next((c for c in header if c in _VALUE_COLUMNS), "")
                if not value_col:
                    raise FormatError(name, n, f"the header names no value column: expected one of {', '.join(_VALUE_COLUMNS)}")
                if "signal_type" not in header and signal_type is None:
                    raise FormatError(name, n, "the header has no signal_type column: add one, or pass signal_type=")
                continue
            header, value_col = list(TX_CSV_COLUMNS), "signal_str"
            if len(cells) < 2:
                raise FormatError(
                    name, n, "one column without a header; expected signal_type,value (for one value per line use fmt='hashes')"
                )
        if len(cells) > len(header):
            raise FormatError(name, n, f"{len(cells)} columns; expected at most {len(header)}: {','.join(header)}")
        record = dict(zip(header, cells, strict=False))
        kind = record.pop("signal_type", "") or signal_type or ""
        value = record.pop(value_col, "")
        if not kind:
            raise FormatError(name, n, "no signal type in this row")
        if not value:
            raise FormatError(name, n, f"no value in this row (column {value_col})")
        labels = frozenset(record.pop("tags", "").split())
        source = record.pop("collab", "")
        metadata = {k: v for k, v in record.items() if v}
        yield _entry(name, n, kind, value, labels=labels, source=source, metadata=metadata)


def _te_file_indicator_type(path: Path) -> str:
    m = _TE_FILE.fullmatch(path.name)
    if m is None:
        raise ValueError(
            f"{path.name!r} is not named like a te-simple file (simple.<INDICATOR_TYPE>.te, e.g. simple.HASH_PDQ.te), "
            "which is where its signal type comes from: rename it, or pass signal_type="
        )
    return m.group(1)


def _read_te_simple(name: str, lines: _Lines, signal_type: str | None, indicator_type: str | None) -> Iterator[BankEntry]:
    """HMASerialization rows (indicator, indicator_id, first_descriptor_id, added_on, labels) or
    the tx CLI's CliIndicatorSerialization rows (the same without indicator_id), both from
    cli/dataset/simple_serialization.py. Labels are space-separated (SimpleDescriptorRollup)."""
    reader = csv.reader(line + "\n" for _, line in lines)  # every line is passed, so line_num is the line number
    for row in reader:
        n = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if len(row) == 5:
            value, indicator_id, descriptor_id, added_on, tags = row
        elif len(row) == 4:
            value, descriptor_id, added_on, tags = row
            indicator_id = ""
        else:
            raise FormatError(
                name,
                n,
                f"{len(row)} columns; expected indicator,indicator_id,first_descriptor_id,added_on,labels (HMA) or 4 without indicator_id (tx CLI)",
            )
        if not descriptor_id.strip().lstrip("-").isdigit():
            raise FormatError(name, n, f"first_descriptor_id {descriptor_id!r:.40} is not an integer")
        labels = frozenset(tags.split())
        kind = signal_type
        metadata = {"first_descriptor_id": descriptor_id.strip(), "added_on": added_on.strip()}
        if kind is None:
            assert indicator_type is not None
            try:
                kind = _signal_type_for(indicator_type, labels)
            except ValueError as e:
                raise FormatError(name, n, str(e)) from None
            metadata["indicator_type"] = indicator_type
        yield _entry(name, n, kind, value, labels=labels, source=indicator_id.strip(), metadata=metadata)


def _read_te_json(name: str, lines: _Lines, signal_type: str | None) -> Iterator[BankEntry]:
    """ThreatExchange /threat_updates records. Tombstones (`should_delete`, or no descriptors,
    as pytx's ThreatUpdateJSON.should_delete decides) are skipped: they delete, they add nothing."""
    first: tuple[int, str] | None = None
    for n, line in lines:
        if line.strip():
            first = (n, line)
            break
    if first is None:
        return
    n, line = first
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            record = json.loads(stripped)
        except json.JSONDecodeError:
            record = None  # a pretty-printed document, not JSON Lines
        if record is not None and not (isinstance(record, dict) and isinstance(record.get("data"), list)):
            yield from _te_record(name, n, None, record)
            for n, line in lines:
                if line.strip():
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise FormatError(name, n, f"not a JSON object: {e.msg} (column {e.colno})") from None
                    yield from _te_record(name, n, None, record)
            return
    rest = "\n".join(text for _, text in lines)
    text = "\n" * (n - 1) + line + "\n" + rest
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(name, e.lineno, f"not valid JSON: {e.msg} (column {e.colno})") from None
    records = doc.get("data") if isinstance(doc, dict) and "data" in doc else doc
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list):
        raise FormatError(name, None, "expected a JSON array of /threat_updates records, or an object with a 'data' array")
    for i, record in enumerate(records, 1):
        yield from _te_record(name, None, i, record)


def _te_record(name: str, line: int | None, index: int | None, record: Any) -> Iterator[BankEntry]:
    where = f"record {index}: " if index is not None else ""

    def fail(message: str) -> FormatError:
        return FormatError(name, line, where + message)

    if not isinstance(record, dict):
        raise fail("expected a /threat_updates record (a JSON object)")
    for key in ("id", "indicator", "type"):
        if key not in record:
            raise fail(f"no {key!r}: a /threat_updates record has id, indicator, type and descriptors")
    descriptors = record.get("descriptors")
    if record.get("should_delete") or descriptors is None:
        return
    data = descriptors.get("data") if isinstance(descriptors, dict) else None
    if not isinstance(data, list):
        raise fail("'descriptors' should be an object with a 'data' array")
    if not data:
        return  # pytx (SimpleDescriptorRollup.from_threat_updates_json) treats no descriptors as deleted
    labels: set[str] = set()
    earliest: dict[str, Any] | None = None
    for d in data:
        if not isinstance(d, dict):
            raise fail("each descriptor should be a JSON object")
        tags = d.get("tags") or []
        if isinstance(tags, dict):  # the Graph API's {"data": [{"text": ...}]} form, as ThreatDescriptor.from_te_json reads it
            tags = [t.get("text", "") for t in tags.get("data", []) if isinstance(t, dict)]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise fail("descriptor tags should be a list of strings")
        labels.update(t for t in tags if t)
        if earliest is None or (str(d.get("added_on", "")), str(d.get("id", ""))) < (
            str(earliest.get("added_on", "")),
            str(earliest.get("id", "")),
        ):
            earliest = d
    assert earliest is not None
    indicator_type = str(record["type"])
    try:
        kind = _signal_type_for(indicator_type, labels)
    except ValueError as e:
        raise fail(str(e)) from None
    owner = earliest.get("owner")
    metadata = {
        "indicator_type": indicator_type,
        "first_descriptor_id": str(earliest.get("id", "")),
        "added_on": str(earliest.get("added_on", "")),
        "owner_id": str(owner.get("id", "")) if isinstance(owner, dict) else "",
        "status": str(earliest.get("status", "")),
    }
    if "last_updated" in record:
        metadata["last_updated"] = str(record["last_updated"])
    metadata = {k: v for k, v in metadata.items() if v}
    if not isinstance(record["indicator"], str):
        raise fail("'indicator' should be a string")
    try:
        value = normalise_value(kind, record["indicator"])
    except ValueError as e:
        raise fail(str(e)) from None
    yield BankEntry(kind, value, frozenset(labels), str(record["id"]), metadata)


def _read_jsonl(name: str, lines: _Lines, signal_type: str | None) -> Iterator[BankEntry]:
    """One object per line: signal_type and value required; labels (list of strings), source
    (string) and metadata (object of strings) optional. signal_type= fills a missing one."""
    for n, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise FormatError(name, n, f"not a JSON object: {e.msg} (column {e.colno})") from None
        if not isinstance(obj, dict):
            raise FormatError(name, n, "expected a JSON object with signal_type and value")
        unknown = set(obj) - {"signal_type", "value", "labels", "source", "metadata"}
        if unknown:
            raise FormatError(name, n, f"unknown keys {', '.join(sorted(unknown))}; put extra fields in 'metadata'")
        kind = obj.get("signal_type", signal_type)
        value = obj.get("value")
        labels = obj.get("labels", [])
        source = obj.get("source", "")
        metadata = obj.get("metadata", {})
        if not isinstance(kind, str) or not kind:
            raise FormatError(name, n, "no signal_type (a string such as 'pdq')")
        if not isinstance(value, str):
            raise FormatError(name, n, "no value (a string)")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise FormatError(name, n, "labels should be a list of strings")
        if not isinstance(source, str):
            raise FormatError(name, n, "source should be a string")
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise FormatError(name, n, "metadata should be an object whose values are strings")
        yield _entry(name, n, kind, value, labels=frozenset(labels), source=source, metadata=dict(metadata))


# Writing -------------------------------------------------------------------------------------


def write_entries(entries: Iterable[BankEntry], fmt: str) -> str:
    """The entries as text in a format (see FORMATS), each value checked and normalised the way
    read_entries does, so what is written reads back the same. What a format cannot carry is
    left out: `hashes` and `tx-file` keep only signal types and values, `csv` keeps labels,
    source and metadata, `te-simple` and `te-json` keep labels, source and their own fields;
    `jsonl` keeps everything. Raises FormatError naming the entry (1-based) it cannot write."""
    writers: dict[str, Callable[[list[BankEntry]], str]] = {
        "hashes": _write_hashes,
        "tx-file": _write_tx_file,
        "csv": _write_csv,
        "te-simple": _write_te_simple,
        "te-json": _write_te_json,
        "jsonl": _write_jsonl,
    }
    if fmt not in writers:
        raise ValueError(f"unknown list format {fmt!r}; use one of {', '.join(FORMATS)}")
    checked: list[BankEntry] = []
    for i, e in enumerate(entries, 1):
        try:
            value = normalise_value(e.signal_type, e.value)
        except ValueError as err:
            raise FormatError("", None, f"entry {i}: {err}") from None
        checked.append(BankEntry(e.signal_type, value, e.labels, e.source, e.metadata))
    try:
        return writers[fmt](checked)
    except _EntryError as err:
        raise FormatError("", None, f"entry {err.index}: {err.message}") from None


class _EntryError(Exception):
    def __init__(self, index: int, message: str) -> None:
        self.index = index
        self.message = message


def _single_line(i: int, e: BankEntry) -> None:
    if "\n" in e.value or "\r" in e.value:
        raise _EntryError(i, f"the {e.signal_type} value holds a line break, which this line-based format cannot write")


def _write_hashes(entries: list[BankEntry]) -> str:
    kinds = sorted({e.signal_type for e in entries})
    if len(kinds) > 1:
        raise _EntryError(
            next(i for i, e in enumerate(entries, 1) if e.signal_type != entries[0].signal_type),
            f"the 'hashes' format holds one signal type, these entries have {', '.join(kinds)}: write one list per type, or use tx-file",
        )
    for i, e in enumerate(entries, 1):
        _single_line(i, e)
    return "".join(f"{e.value}\n" for e in entries)


def _write_tx_file(entries: list[BankEntry]) -> str:
    """As pytx's LocalFileSignalExchangeAPI.report_opinion appends: f"{type} {signal}\\n"."""
    for i, e in enumerate(entries, 1):
        _single_line(i, e)
    return "".join(f"{e.signal_type} {e.value}\n" for e in entries)


def _write_csv(entries: list[BankEntry]) -> str:
    """The tx dataset --csv columns, then one column per other metadata key (sorted)."""
    extra = sorted({k for e in entries for k in e.metadata} - set(TX_CSV_COLUMNS) - set(_VALUE_COLUMNS))
    clashing = sorted({k for e in entries for k in e.metadata} & ({"signal_type", "collab", "tags"} | set(_VALUE_COLUMNS)))
    if clashing:
        raise _EntryError(
            next(i for i, e in enumerate(entries, 1) if set(e.metadata) & set(clashing)),
            f"metadata key {clashing[0]!r} is a column of this format; rename it",
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*TX_CSV_COLUMNS, *extra])
    for i, e in enumerate(entries, 1):
        try:
            tags = _labels_field(e.labels)
        except ValueError as err:
            raise _EntryError(i, str(err)) from None
        writer.writerow(
            [e.signal_type, e.value, e.source, e.metadata.get("category", ""), tags, *(e.metadata.get(k, "") for k in extra)]
        )
    return out.getvalue()


def _write_te_simple(entries: list[BankEntry]) -> str:
    """HMASerialization.as_csv_row: indicator, indicator_id, first_descriptor_id, added_on,
    labels. The signal type lives in the file name (te_simple_file_name), so one type per file."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # csv.writer's default, as pytx writes it
    indicator: str | None = None
    for i, e in enumerate(entries, 1):
        try:
            this = _indicator_type(e)
            tags = _labels_field(e.labels)
        except ValueError as err:
            raise _EntryError(i, str(err)) from None
        if indicator is None:
            indicator = this
        elif this != indicator:
            raise _EntryError(i, f"a te-simple file holds one indicator type; this entry is {this}, earlier ones {indicator}")
        descriptor_id = e.metadata.get("first_descriptor_id", "0") or "0"
        if not descriptor_id.lstrip("-").isdigit():
            raise _EntryError(i, f"first_descriptor_id {descriptor_id!r:.40} is not an integer, which pytx requires")
        _single_line(i, e)
        writer.writerow([e.value, e.source, descriptor_id, e.metadata.get("added_on", ""), tags])
    return out.getvalue()


def _write_te_json(entries: list[BankEntry]) -> str:
    """JSON Lines of /threat_updates records, one descriptor each, as pytx's ThreatUpdateJSON
    and SimpleDescriptorRollup.from_threat_updates_json read them. ThreatExchange ids are
    integers: an entry's source must be one."""
    lines = []
    for i, e in enumerate(entries, 1):
        try:
            indicator = _indicator_type(e)
        except ValueError as err:
            raise _EntryError(i, str(err)) from None
        if not e.source.isdigit():
            raise _EntryError(i, f"source {e.source!r:.40} is not a ThreatExchange indicator id (an integer); te-json needs one")
        descriptor_id = e.metadata.get("first_descriptor_id", "0") or "0"
        owner_id = e.metadata.get("owner_id", "0") or "0"
        for key, v in (("first_descriptor_id", descriptor_id), ("owner_id", owner_id)):
            if not v.isdigit():
                raise _EntryError(i, f"metadata {key} {v!r:.40} is not an integer, which ThreatExchange requires")
        record: dict[str, Any] = {
            "id": e.source,
            "indicator": e.value,
            "type": indicator,
            "should_delete": False,
            "descriptors": {
                "data": [
                    {
                        "id": descriptor_id,
                        "owner": {"id": owner_id},
                        "tags": sorted(e.labels),
                        "status": e.metadata.get("status", "MALICIOUS"),
                        "added_on": e.metadata.get("added_on", ""),
                    }
                ]
            },
        }
        if e.metadata.get("last_updated", "").isdigit():
            record["last_updated"] = int(e.metadata["last_updated"])
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return "".join(f"{line}\n" for line in lines)


def _write_jsonl(entries: list[BankEntry]) -> str:
    return "".join(
        json.dumps(
            {
                "signal_type": e.signal_type,
                "value": e.value,
                "labels": sorted(e.labels),
                "source": e.source,
                "metadata": e.metadata,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        + "\n"
        for e in entries
    )
