"""Pure packet codecs (stdlib only).

Every decoder raises :class:`DecodeError` on malformed input and nothing else;
for every value ``v`` a decoder accepts, ``decode(encode(v)) == v``.
"""


class DecodeError(ValueError):
    """Raised by every decoder in :mod:`bootwright.wire` on malformed input.

    The message names the field and the offset where decoding failed, so a
    dropped packet can be logged with a useful reason.
    """
