"""Constant-time comparison of text that came with a request against the value we issued."""

from __future__ import annotations

import hmac


def same_text(received: str, issued: str) -> bool:
    """True when ``received`` is ``issued``, compared in constant time.

    Compares UTF-8 bytes: ``hmac.compare_digest`` raises ``TypeError`` for ``str`` arguments with
    non-ASCII characters, and a request can carry any character (``surrogatepass`` takes even an
    unpaired surrogate, so nothing a request holds can make this raise).
    """
    return hmac.compare_digest(received.encode("utf-8", "surrogatepass"), issued.encode("utf-8", "surrogatepass"))
