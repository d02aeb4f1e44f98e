"""Id alphabets, and tokens derived from a text (the same for every seed).

Random ids come from `Context.token` with one of these alphabets. The planted actors' ids and the
Okta app ids are derived from a name instead, so that they do not depend on the seed.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"
LOWER_NUM = "abcdefghijklmnopqrstuvwxyz0123456789"


def stable_token(text: str, alphabet: str, length: int) -> str:
    """A token derived from `text` only (seed-independent ids for the planted actors)."""
    digest = hashlib.sha256(text.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


@lru_cache(maxsize=4096)
def app_token(text: str) -> str:
    """The 17-character Okta id suffix derived from `text` (app instances, app users)."""
    return stable_token(text, ALNUM, 17)
