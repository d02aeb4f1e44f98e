"""Reading a JSON-lines file in blocks of whole lines (the unit of the native bulk path).

`iter_blocks` hands out the decompressed bytes of a file as `Block`s of about `BLOCK_BYTES`,
each ending at a newline, numbered by their first line; `block_values` reads one block line by
line exactly as `records.iter_values` reads the file (blank lines skipped, one `Value` or
`Rejected` per line). A stream that fails to decompress raises one of `DECOMPRESSION_ERRORS`
from `iter_blocks` after the blocks read before the damage; the caller reads the rest with
`iter_values`, which reports the damage as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from engine.archive.formats.records import (
    BOM,
    Rejected,
    Value,
    line_values,
    open_input,
    starts_document,
)
from engine.archive.sources import InputFile

#: Decompressed bytes per block (whole lines: a block ends at the last newline within).
BLOCK_BYTES = 16 << 20


@dataclass(frozen=True)
class Block:
    """Whole lines of a file (`lines` of them), ending with a newline; `first_line` is 1-based."""

    first_line: int
    data: bytes
    lines: int


def is_json_lines(file: InputFile) -> bool:
    """Whether `file` is read as JSON lines: its first non-blank line is not the start of one
    whole JSON document (`records.iter_values`)."""
    with open_input(file) as stream:
        for number, raw in enumerate(stream, start=1):
            text = (raw[len(BOM) :] if number == 1 and raw.startswith(BOM) else raw).strip()
            if text:
                return not starts_document(text)
    return True


def iter_blocks(file: InputFile) -> Iterator[Block]:
    """The file's decompressed bytes in blocks of whole lines (module doc); a last line without
    a newline gets one. The byte order mark of the first line is dropped."""
    size = BLOCK_BYTES
    with open_input(file) as stream:
        line, carry, first = 1, b"", True
        while chunk := stream.read(size):
            if first:
                chunk, first = chunk.removeprefix(BOM), False
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            block, carry = data[:cut], data[cut:]
            count = block.count(b"\n")
            yield Block(line, block, count)
            line += count
        if carry:
            yield Block(line, carry + b"\n", 1)


def block_values(file: InputFile, block: Block) -> Iterator[Value | Rejected]:
    """The values of a block's lines, as `records.iter_values` reads them."""
    for offset, raw in enumerate(block.data.split(b"\n")[:-1]):
        text = raw.strip()
        if text:
            yield from line_values(file, text, block.first_line + offset)
