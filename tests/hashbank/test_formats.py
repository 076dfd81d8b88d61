"""Hash lists read and write in the forms python-threatexchange and HMA use: what we write reads
back the same, files written by threatexchange's own code read as they should, what we write
reads in threatexchange's own readers, and a bad line is refused with its number."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from threatexchange.cli.dataset.simple_serialization import HMASerialization
from threatexchange.cli.dataset_cmd import DatasetCommand
from threatexchange.exchanges.clients.fb_threatexchange.descriptor import SimpleDescriptorRollup, ThreatDescriptor
from threatexchange.exchanges.clients.fb_threatexchange.threat_updates import ThreatUpdateJSON
from threatexchange.exchanges.fetch_state import FetchedSignalMetadata
from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.raw_text import RawTextSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.signal_type.trend_query import TrendQuerySignal
from threatexchange.signal_type.url import URLSignal
from threatexchange.signal_type.url_md5 import UrlMD5Signal

from tutela.hashbank.formats import (
    FORMATS,
    HEX_LENGTHS,
    TE_INDICATOR_TYPES,
    TE_TAGGED_INDICATOR_TYPES,
    BankEntry,
    FormatError,
    read_entries,
    te_simple_file_name,
    write_entries,
)

PDQS = PdqSignal.get_examples()[:3]
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def read(text: str, fmt: str, **kw: str) -> list[BankEntry]:
    return list(read_entries(text, fmt, **kw))


def bare(entries: list[BankEntry]) -> list[tuple[str, str]]:
    return [(e.signal_type, e.value) for e in entries]


def local_file_fetch(path: Path, signal_type: str | None = None) -> set[tuple[str, str]]:
    """What threatexchange's own local-file exchange reads from a file."""
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="t", filename=str(path), signal_type=signal_type))
    return {key for delta in api.fetch_iter([PdqSignal], None) for key in delta.updates}


# The signal type tables agree with threatexchange's classes ---------------------------------


def test_signal_type_names_and_indicator_types_are_threatexchanges() -> None:
    classes: list[Any] = [PdqSignal, VideoMD5Signal, UrlMD5Signal, VideoSHA256Signal, URLSignal, RawTextSignal, TrendQuerySignal]
    for cls in classes:
        types = cls.INDICATOR_TYPE
        pairs = {types: None} if isinstance(types, str) else dict.fromkeys(types) if isinstance(types, set) else types
        for indicator, tag in pairs.items():
            if tag is None:
                assert TE_INDICATOR_TYPES[indicator] == cls.get_name()
            else:
                assert TE_TAGGED_INDICATOR_TYPES[indicator][:2] == (tag, cls.get_name())
    assert PdqSignal.validate_signal_str(read(f"{PDQS[0].upper()}\n", "hashes", signal_type="pdq")[0].value) == PDQS[0]
    assert VideoMD5Signal.validate_signal_str(MD5) == read(f"video_md5 {MD5.upper()}\n", "tx-file")[0].value
    assert {"pdq", "video_md5", "url_md5", "video_sha256"} <= set(HEX_LENGTHS)


# Round trips -------------------------------------------------------------------------------


FULL = [
    BankEntry(
        "pdq",
        PDQS[0],
        frozenset({"csam", "media_type_photo"}),
        "3058061737574159",
        {
            "indicator_type": "HASH_PDQ",
            "first_descriptor_id": "4120412041204120",
            "added_on": "2020-07-01T18:31:15+0000",
            "owner_id": "616912251743987",
            "status": "MALICIOUS",
            "last_updated": "1593628275",
        },
    ),
    BankEntry(
        "pdq",
        PDQS[1],
        frozenset(),
        "42",
        {
            "indicator_type": "HASH_PDQ",
            "first_descriptor_id": "7",
            "added_on": "2021-01-02T00:00:00+0000",
            "owner_id": "1",
            "status": "NON_MALICIOUS",
            "last_updated": "1609545600",
        },
    ),
]


def test_jsonl_round_trips_everything() -> None:
    entries = [
        *FULL,
        BankEntry("video_md5", MD5, frozenset({"ncii"}), "stopncii", {"note": "reported twice, ünïcode kept", "case": "c-1"}),
        BankEntry("url", "https://example.com/a b", frozenset(), "", {}),
    ]
    assert read(write_entries(entries, "jsonl"), "jsonl") == entries


def test_csv_round_trips_labels_source_and_metadata() -> None:
    entries = [
        BankEntry("pdq", PDQS[0], frozenset({"csam", "x:y"}), "Sample Collab", {"category": "POSITIVE_CLASS", "note": "a, b"}),
        BankEntry("video_md5", MD5, frozenset(), "", {}),
    ]
    text = write_entries(entries, "csv")
    assert text.splitlines()[0] == "signal_type,signal_str,collab,category,tags,note"
    assert read(text, "csv") == entries


@pytest.mark.parametrize("fmt", ["hashes", "tx-file"])
def test_plain_text_formats_round_trip_type_and_value(fmt: str) -> None:
    entries = [BankEntry("pdq", h) for h in PDQS]
    kw = {"signal_type": "pdq"} if fmt == "hashes" else {}
    assert read(write_entries(entries, fmt), fmt, **kw) == entries


def test_te_simple_round_trips_through_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / te_simple_file_name(FULL[0])
    assert path.name == "simple.HASH_PDQ.te"
    path.write_text(write_entries(FULL, "te-simple"), newline="")
    keep = ("indicator_type", "first_descriptor_id", "added_on")
    expected = [BankEntry(e.signal_type, e.value, e.labels, e.source, {k: e.metadata[k] for k in keep}) for e in FULL]
    assert list(read_entries(path, "te-simple")) == expected


def test_te_json_round_trips_its_fields() -> None:
    assert read(write_entries(FULL, "te-json"), "te-json") == FULL


def test_md5_indicator_types_follow_threatexchanges_tag_rule(tmp_path: Path) -> None:
    tagged = BankEntry("video_md5", MD5, frozenset({"media_type_video"}), "1", {"indicator_type": "HASH_MD5"})
    untagged = BankEntry("md5", MD5, frozenset(), "2", {"indicator_type": "HASH_MD5"})
    assert [e.signal_type for e in read(write_entries([tagged, untagged], "te-json"), "te-json")] == ["video_md5", "md5"]
    assert json.loads(write_entries([tagged], "te-json"))["type"] == "HASH_MD5"  # kept, not rewritten
    assert te_simple_file_name("video_md5") == "simple.HASH_VIDEO_MD5.te"
    path = tmp_path / "simple.HASH_SHA256.te"
    path.write_text(f"{SHA256.upper()},9,1,2020,media_type_video\n{SHA256},10,2,2020,\n")
    assert [(e.signal_type, e.value, e.source) for e in read_entries(path, "te-simple")] == [
        ("video_sha256", SHA256, "9"),
        ("sha256", SHA256, "10"),
    ]


# Files written by threatexchange's own code --------------------------------------------------


def test_reads_the_local_file_exchanges_format_as_threatexchange_reads_it(tmp_path: Path) -> None:
    """Lines as LocalFileSignalExchangeAPI.report_opinion writes them (f"{type.get_name()} {signal}").
    threatexchange 1.2.17's report_opinion itself cannot run on Python 3.11 (it opens the file
    with mode "wta", which Python refuses), so the lines are written here and its reader,
    fetch_iter, is the reference."""
    path = tmp_path / "signals.txt"
    path.write_text(f"{PdqSignal.get_name()} {PDQS[0]}\n\n{PdqSignal.get_name()} {PDQS[1]}\n{VideoMD5Signal.get_name()} {MD5}")
    ours = list(read_entries(path, "tx-file"))
    assert bare(ours) == [("pdq", PDQS[0]), ("pdq", PDQS[1]), ("video_md5", MD5)]
    assert set(bare(ours)) == local_file_fetch(path)


def test_threatexchanges_local_file_exchange_reads_what_we_write(tmp_path: Path) -> None:
    entries = [BankEntry("pdq", PDQS[0]), BankEntry("video_md5", MD5), BankEntry("url", "https://example.com/x")]
    path = tmp_path / "list.txt"
    path.write_text(write_entries(entries, "tx-file"))
    assert local_file_fetch(path) == set(bare(entries))
    path.write_text(write_entries(entries[:1], "hashes"))
    assert local_file_fetch(path, signal_type="pdq") == {("pdq", PDQS[0])}


def test_reads_the_csv_tx_dataset_prints() -> None:
    """`tx dataset -P --csv`, written by DatasetCommand's own row printer."""
    out = io.StringIO()
    writer = csv.DictWriter(out, ["signal_type", "signal_str", "collab", "category", "tags"])
    writer.writeheader()
    command = DatasetCommand(print_signals=True, csv=True)
    row: Any = command._print_csv  # pytx annotates the signal type class as an instance
    row(writer, "Sample Collab", PdqSignal, PDQS[0], FetchedSignalMetadata())
    row(writer, "Other", VideoMD5Signal, MD5, FetchedSignalMetadata())
    assert read(out.getvalue(), "csv") == [
        BankEntry("pdq", PDQS[0], frozenset(), "Sample Collab", {"category": "INVESTIGATION_SEED"}),
        BankEntry("video_md5", MD5, frozenset(), "Other", {"category": "INVESTIGATION_SEED"}),
    ]


def test_reads_hma_te_files_threatexchange_writes_and_hma_reads_ours(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    HMASerialization.store(
        theirs,
        [
            HMASerialization(PDQS[0], "HASH_PDQ", "3058061737574159", SimpleDescriptorRollup(4120, "2020-07-01", {"csam", "x"})),
            HMASerialization(PDQS[1], "HASH_PDQ", "17", SimpleDescriptorRollup(5, "2021-01-01", set())),
        ],
    )
    ours = list(read_entries(theirs / "simple.HASH_PDQ.te", "te-simple"))
    assert ours == [
        BankEntry(
            "pdq",
            PDQS[0],
            frozenset({"csam", "x"}),
            "3058061737574159",
            {"first_descriptor_id": "4120", "added_on": "2020-07-01", "indicator_type": "HASH_PDQ"},
        ),
        BankEntry(
            "pdq",
            PDQS[1],
            frozenset(),
            "17",
            {"first_descriptor_id": "5", "added_on": "2021-01-01", "indicator_type": "HASH_PDQ"},
        ),
    ]
    back = tmp_path / "back"
    back.mkdir()
    (back / te_simple_file_name(ours[0])).write_text(write_entries(ours, "te-simple"), newline="")
    loaded = sorted(HMASerialization.load(back), key=lambda s: s.indicator)
    expected = sorted(HMASerialization.load(theirs), key=lambda s: s.indicator)

    def fields(s: HMASerialization) -> tuple[object, ...]:
        return (s.indicator, s.indicator_type, s.indicator_id, s.rollup.first_descriptor_id, s.rollup.added_on, s.rollup.labels)

    assert [fields(s) for s in loaded] == [fields(s) for s in expected]


def test_threatexchange_reads_our_te_json_records() -> None:
    for line, entry in zip(write_entries(FULL, "te-json").splitlines(), FULL, strict=True):
        record = json.loads(line)
        update = ThreatUpdateJSON(record)
        assert not update.should_delete
        assert (update.id, update.indicator, update.threat_type) == (int(entry.source), entry.value, "HASH_PDQ")
        rollup = SimpleDescriptorRollup.from_threat_updates_json(1, record)  # app 1 owns FULL[1]: pytx adds its own tags
        assert rollup is not None and rollup.labels - ThreatDescriptor.SPECIAL_TAGS == set(entry.labels)
        assert rollup.first_descriptor_id == int(entry.metadata["first_descriptor_id"])
        assert HMASerialization.from_threat_updates_json(1, record).indicator_id == entry.source  # type: ignore[no-untyped-call]


def test_reads_threat_updates_pages_arrays_and_skips_tombstones() -> None:
    """The shape of ThreatExchange's /threat_updates answer, with the Graph API's tag form."""
    page = {
        "data": [
            {
                "id": "3058061737574159",
                "indicator": PDQS[0].upper(),
                "type": "HASH_PDQ",
                "last_updated": 1593628275,
                "should_delete": False,
                "descriptors": {
                    "data": [
                        {
                            "id": "9",
                            "owner": {"id": "5"},
                            "tags": {"data": [{"text": "b"}]},
                            "status": "MALICIOUS",
                            "added_on": "2021",
                        },
                        {"id": "8", "owner": {"id": "6"}, "tags": ["a"], "status": "MALICIOUS", "added_on": "2020"},
                    ]
                },
            },
            {"id": "2", "indicator": PDQS[1], "type": "HASH_PDQ", "should_delete": True},
            {"id": "3", "indicator": PDQS[2], "type": "HASH_PDQ", "should_delete": False},  # no descriptors: pytx deletes
        ]
    }
    expected = [
        BankEntry(
            "pdq",
            PDQS[0],
            frozenset({"a", "b"}),
            "3058061737574159",
            {
                "indicator_type": "HASH_PDQ",
                "first_descriptor_id": "8",
                "added_on": "2020",
                "owner_id": "6",
                "status": "MALICIOUS",
                "last_updated": "1593628275",
            },
        )
    ]
    assert read(json.dumps(page, indent=2), "te-json") == expected
    assert read(json.dumps(page["data"]), "te-json") == expected
    assert read("\n".join(json.dumps(r) for r in page["data"]), "te-json") == expected


# Refusals name the line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "text", "line", "message"),
    [
        ("hashes", f"{PDQS[0]}\n\n{PDQS[1][:-1]}\n", 3, "pdq value .* is not 64 hexadecimal digits"),
        ("tx-file", f"pdq {PDQS[0]}\nvideo_md5 {MD5}0\n", 2, "video_md5 value .* is not 32 hexadecimal digits"),
        ("tx-file", f"pdq {PDQS[0]}\n{PDQS[1]}\n", 2, "expected '<signal_type> <value>'"),
        ("tx-file", f"PDQ {PDQS[0]}\n", 1, "not a signal type name"),
        ("csv", f"signal_type,signal_str\npdq,{PDQS[0]}\npdq,{PDQS[0]},extra\n", 3, "3 columns; expected at most 2"),
        ("csv", f"pdq,{PDQS[0]}\npdq,zz\n", 2, "pdq value 'zz'"),
        ("csv", f"{PDQS[0]}\n", 1, "one column without a header"),
        ("csv", "signal_type,collab\n", 1, "no value column"),
        ("te-simple", f"{PDQS[0]},1,2,2020,a\n{PDQS[1]},1,2\n", 2, "3 columns"),
        ("te-simple", f"{PDQS[0]},1,x,2020,a\n", 1, "first_descriptor_id 'x' is not an integer"),
        (
            "te-json",
            '{"id": "1", "indicator": "a", "type": "HASH_PDQ", "descriptors": {"data": [{}]}}\n{"id": \n',
            1,
            "pdq value 'a'",
        ),
        (
            "te-json",
            f'{{"id": "1", "indicator": "{PDQS[0]}", "type": "HASH_PDQ", "descriptors": {{"data": []}}}}\n{{"id": \n',
            2,
            "not a JSON",
        ),
        (
            "te-json",
            f'{{"id": "1", "indicator": "{PDQS[0]}", "type": "HASH_NOPE", "descriptors": {{"data": [{{}}]}}}}\n',
            1,
            "HASH_NOPE",
        ),
        (
            "jsonl",
            f'{{"signal_type": "pdq", "value": "{PDQS[0]}"}}\n{{"signal_type": "pdq", "value": "{PDQS[0]}", "tags": []}}\n',
            2,
            "unknown keys tags",
        ),
        ("jsonl", '{"signal_type": "pdq", "value": 5}\n', 1, "no value"),
        ("jsonl", f'{{"signal_type": "pdq", "value": "{PDQS[0]}", "metadata": {{"n": 1}}}}\n', 1, "metadata should be"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(fmt: str, text: str, line: int, message: str) -> None:
    kw = {"signal_type": "pdq"} if fmt in ("hashes", "te-simple") else {}
    with pytest.raises(FormatError, match=message) as caught:
        read(text, fmt, **kw)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"line {line}: ")


def test_a_file_error_names_the_file_and_line_and_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(b"\xef\xbb\xbf" + f"pdq {PDQS[0]}\r\npdq \xff\xfe\n".encode("latin-1"))
    entries = read_entries(path, "tx-file")
    assert next(entries) == BankEntry("pdq", PDQS[0])  # byte-order mark and CRLF are fine
    with pytest.raises(FormatError, match="not UTF-8") as caught:
        next(entries)
    assert caught.value.line == 2 and str(caught.value).startswith(f"{path}, line 2: ")
    record = '[{"id": "1", "indicator": "x", "type": "HASH_PDQ", "descriptors": {"data": [{}]}}]'
    with pytest.raises(FormatError, match="record 1: pdq value 'x'"):
        read(record, "te-json")


def test_arguments_that_cannot_work_are_refused_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pass signal_type="):
        read_entries(PDQS[0], "hashes")  # at the call, before any entry is asked for
    with pytest.raises(ValueError, match="unknown list format 'xml'"):
        read("", "xml")
    with pytest.raises(ValueError, match="fmt='hashes'"):
        read_entries(f"pdq {PDQS[0]}", "tx-file", signal_type="pdq")
    with pytest.raises(ValueError, match="does not apply"):
        read_entries("[]", "te-json", signal_type="pdq")
    with pytest.raises(ValueError, match="te-simple text has no signal type"):
        read_entries(f"{PDQS[0]},1,2,2020,", "te-simple")
    path = tmp_path / "list.te"
    path.write_text(f"{PDQS[0]},1,2,2020,\n")
    with pytest.raises(ValueError, match=r"simple\.HASH_PDQ\.te"):
        list(read_entries(path, "te-simple"))
    assert bare(list(read_entries(path, "te-simple", signal_type="pdq"))) == [("pdq", PDQS[0])]
    with pytest.raises(TypeError, match=r"pathlib\.Path"):
        read(str(path), "te-simple", signal_type="pdq")
    with pytest.raises(FileNotFoundError):
        read_entries(tmp_path / "missing.txt", "hashes", signal_type="pdq")
    assert set(FORMATS) == {"hashes", "tx-file", "csv", "te-simple", "te-json", "jsonl"}


def test_source_fills_entries_that_have_none() -> None:
    text = f"signal_type,signal_str,collab\npdq,{PDQS[0]},Collab A\npdq,{PDQS[1]},\n"
    assert [e.source for e in read_entries(text, "csv", source="import 2024-05-01")] == ["Collab A", "import 2024-05-01"]


def test_writing_refuses_what_the_format_cannot_hold() -> None:
    with pytest.raises(FormatError, match=r"entry 2: .*one signal type"):
        write_entries([BankEntry("pdq", PDQS[0]), BankEntry("video_md5", MD5)], "hashes")
    with pytest.raises(FormatError, match="entry 1: pdq value 'nope'"):
        write_entries([BankEntry("pdq", "nope")], "jsonl")
    with pytest.raises(FormatError, match="entry 1: source 'abc' is not a ThreatExchange indicator id"):
        write_entries([BankEntry("pdq", PDQS[0], source="abc")], "te-json")
    with pytest.raises(FormatError, match="entry 2: a te-simple file holds one indicator type"):
        write_entries([BankEntry("pdq", PDQS[0]), BankEntry("video_md5", MD5)], "te-simple")
    with pytest.raises(FormatError, match=r"label 'a b' .* whitespace"):
        write_entries([BankEntry("pdq", PDQS[0], frozenset({"a b"}))], "csv")
    with pytest.raises(FormatError, match="line break"):
        write_entries([BankEntry("raw_text", "two\nlines")], "tx-file")
    assert write_entries([], "csv") == "signal_type,signal_str,collab,category,tags\n"
    assert write_entries([BankEntry("pdq", PDQS[0].upper() + " ")], "hashes") == PDQS[0] + "\n"
