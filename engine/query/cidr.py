"""CIDR blocks (SPEC §2.9): validation at parse time and pure-polars IP matching.

IP text is parsed with string and integer expressions only (no Python callbacks):

- IPv4: four dotted decimal octets 0-255 (no leading zeros, as Python's `ipaddress`) -> one integer;
- IPv6: hex groups with at most one `::`, an optional embedded IPv4 tail (`::ffff:1.2.3.4`) and an
  optional zone id (`fe80::1%eth0`, ignored) -> 32 fixed-width hex digits, which order like the
  128-bit number.

An address matches a block when it lies between the block's first and last address. IPv4 values
only match IPv4 blocks and IPv6 values IPv6 blocks; anything else (non-IP text) never matches.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
from lark import Token

from engine.query.ast import Cidr, Field
from engine.query.lexical import LocatedSyntaxError, field_from_token, token_span
from engine.query.scope import EXISTS, MISSING
from engine.query.values import either, let

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
_DOTTED_TAIL = r":([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)$"
_H = "[0-9a-f]{1,4}"
#: Every valid compressed or full IPv6 text without an IPv4 tail (lower-case hex).
_IPV6 = (
    "^(?:"
    + "|".join(
        [
            f"(?:{_H}:){{7}}{_H}",
            f"(?:{_H}:){{1,7}}:",
            f"(?:{_H}:){{1,6}}:{_H}",
            f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
            f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
            f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
            f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
            f"{_H}:(?::{_H}){{1,6}}",
            f":(?:(?::{_H}){{1,7}}|:)",
        ]
    )
    + ")$"
)
_BYTE_HEX = {str(value): f"{value:02x}" for value in range(256)}


@dataclass(frozen=True)
class Block:
    """A network as the inclusive integer range of its addresses."""

    version: int
    first: int
    last: int

    @classmethod
    def parse(cls, text: str) -> Block:
        """A block from CIDR text; host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`).

        Raises `ValueError` for text that is not an IPv4/IPv6 network.
        """
        network = ipaddress.ip_network(text.strip(), strict=False)
        return cls(network.version, int(network.network_address), int(network.broadcast_address))


def normalize_block(text: str) -> str:
    """The canonical text of a block (`10.1.2.3/8` -> `10.0.0.0/8`); raises `ValueError`."""
    return str(ipaddress.ip_network(text.strip(), strict=False))


def ipv4_value(text: pl.Expr) -> pl.Expr:
    """The IPv4 address in `text` as an Int64, or null when it is not a dotted-quad address."""

    def combine(octets: pl.Expr) -> pl.Expr:
        value = pl.lit(0, dtype=pl.Int64())
        for index in range(4):
            octet = octets.struct.field(str(index + 1)).cast(pl.Int64(), strict=False)
            value = value * 256 + octet
        return value

    return let(text.str.extract_groups(_IPV4), combine)


def _tail_groups(lowered: pl.Expr) -> pl.Expr:
    """`:hhhh:hhhh` for a valid dotted IPv4 tail (`:1.2.3.4` -> `:0102:0304`), else ""."""
    octets = lowered.str.extract(_DOTTED_TAIL, 1).str.split(".")
    hexes = octets.list.eval(pl.element().replace_strict(_BYTE_HEX, default="x")).list.join("")
    return (pl.lit(":") + hexes.str.replace(r"^(.{4})(.{4})$", "${1}:${2}")).fill_null("")


def _expand(hexes: pl.Expr) -> pl.Expr:
    """32 hex digits from valid IPv6 text without a tail: fill `::`, pad groups, join."""
    missing = 8 - hexes.str.count_matches("[0-9a-f]+")
    zeros = pl.lit(":" + "0:" * 8).str.head(1 + 2 * missing)
    full = hexes.str.replace("::", zeros, literal=True).str.strip_chars(":")
    return full.str.split(":").list.eval(pl.element().str.pad_start(4, "0")).list.join("")


def ipv6_hex(text: pl.Expr) -> pl.Expr:
    """The IPv6 address in `text` as 32 lower-case hex digits, or null when it is not one.

    Fixed-width hex text orders like the 128-bit number, so ranges compare as strings. Steps: drop
    a zone id, rewrite an IPv4 tail as two hex groups, validate, fill `::` with the missing zero
    groups, left-pad every group to four digits and join them.
    """
    lowered = text.str.to_lowercase().str.replace(r"%[^%]+$", "")
    hexes = let(lowered, lambda value: value.str.replace(_DOTTED_TAIL, _tail_groups(value)))
    return let(
        hexes,
        lambda value: pl.when(value.str.contains(_IPV6)).then(_expand(value)).otherwise(None),
    )


def in_blocks(text: pl.Expr, blocks: tuple[Block, ...]) -> pl.Expr:
    """True when the IP text lies in one of `blocks` (false for non-IP text and nulls)."""
    tests: list[pl.Expr] = []
    v4 = [block for block in blocks if block.version == 4]
    v6 = [block for block in blocks if block.version == 6]
    if v4:
        tests.append(
            let(
                ipv4_value(text),
                lambda address: either(
                    [address.is_between(pl.lit(b.first), pl.lit(b.last)) for b in v4]
                ),
            )
        )
    if v6:
        tests.append(
            let(
                ipv6_hex(text),
                lambda address: either(
                    [
                        address.is_between(pl.lit(f"{b.first:032x}"), pl.lit(f"{b.last:032x}"))
                        for b in v6
                    ]
                ),
            )
        )
    if not tests:
        return pl.lit(False)
    return either(tests).fill_null(False)


# ---- the CIDR(...) call -----------------------------------------------------------------------


def parse_call(token: Token, terminals: Callable[[str], str]) -> Cidr:
    """The `Cidr` node of a `CIDR(...)` token; `terminals` gives a grammar terminal's regex."""
    text = str(token.value)
    offset = (token.start_pos or 0) + len("CIDR(")
    arguments: list[tuple[str, int, int]] = []
    for piece in text[len("CIDR(") : -1].split(","):
        stripped = piece.strip()
        start = offset + (piece.index(stripped) if stripped else 0)
        arguments.append((stripped, start, start + max(1, len(stripped))))
        offset += len(piece) + 1
    usage = "write CIDR(@network.client.ip, 10.0.0.0/8[, more blocks])"
    for argument, start, end in arguments:
        if not argument:
            raise LocatedSyntaxError("empty CIDR argument", start, end, usage)
    if len(arguments) < 2:
        raise LocatedSyntaxError(
            "CIDR needs a field and at least one block",
            token.start_pos or 0,
            token.end_pos or 0,
            usage,
        )
    field = _call_field(*arguments[0], terminals)
    blocks: list[str] = []
    for block, start, end in arguments[1:]:
        try:
            blocks.append(normalize_block(block))
        except ValueError:
            raise LocatedSyntaxError(
                f"invalid CIDR block {block!r}",
                start,
                end,
                "write an IPv4 or IPv6 network such as 10.0.0.0/8 or fe80::/10",
            ) from None
    return Cidr(field, tuple(blocks), span=token_span(token))


def _call_field(text: str, start: int, end: int, terminals: Callable[[str], str]) -> Field:
    """The field named by the first argument of `CIDR(...)`."""
    kind = "ATTR" if text.startswith("@") else "CALC" if text.startswith("#") else "TERM"
    pattern = terminals(kind)
    if not re.fullmatch(pattern, text) or text == "*" or text.lower() in (EXISTS, MISSING):
        raise LocatedSyntaxError(
            f"invalid CIDR field {text!r}",
            start,
            end,
            "the first CIDR argument names a field, e.g. CIDR(@network.client.ip, 10.0.0.0/8)",
        )
    return field_from_token(Token(kind, text, start_pos=start, end_pos=end))
