"""Hash banks: lists of known images' hashes, the exact PDQ match index over them, and the list
formats the field uses (python-threatexchange, HMA) for import and export."""

from tutela.hashbank.formats import FORMATS, BankEntry, FormatError, read_entries, write_entries
from tutela.hashbank.index import PDQIndex, bits_to_hex, hex_to_bits

__all__ = ["FORMATS", "BankEntry", "FormatError", "PDQIndex", "bits_to_hex", "hex_to_bits", "read_entries", "write_entries"]
