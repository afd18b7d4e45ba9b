"""Raster image outputs (PNG, JPEG, GIF) checked before they reach a slide.

A notebook output claims a MIME type and carries a base64 payload. Before it
becomes an ``<img src="data:…">`` of a deck, :func:`data_uri`

- decodes the payload as strict base64 (only the base64 alphabet, with the
  line breaks and blanks that the notebook format allows between lines);
- checks that the bytes start as an image of the declared type does, and that
  Pillow reads them as that format and verifies them;
- writes the URI from the decoded bytes again, so that it holds base64 letters
  only, whatever the payload held.

So a payload that would close the attribute and inject markup, another file
type renamed, or a corrupt picture never reaches a deck.
"""

from __future__ import annotations

import base64
import binascii
import io

__all__ = ["RASTER_TYPES", "data_uri"]

#: the raster types a slide shows: their signatures and Pillow's name of the format
RASTER_TYPES = {
    "image/png": ((b"\x89PNG\r\n\x1a\n",), "PNG"),
    "image/jpeg": ((b"\xff\xd8\xff",), "JPEG"),
    "image/gif": ((b"GIF87a", b"GIF89a"), "GIF"),
}
#: a slide picture is a few hundred KiB; beyond this an output is refused rather than embedded twice
MAX_BYTES = 32 * 1024 * 1024
#: and Pillow refuses to open pictures larger than this many pixels (a decompression bomb)
MAX_PIXELS = 64_000_000
_BLANKS = str.maketrans("", "", " \t\r\n")


def _payload_text(payload: object) -> str:
    if isinstance(payload, list) and all(isinstance(p, str) for p in payload):
        payload = "".join(payload)
    if not isinstance(payload, str):
        raise ValueError(f"expected base64 text, got {type(payload).__name__}")
    return payload.translate(_BLANKS)


def data_uri(mime: str, payload: object) -> str:
    """``data:<mime>;base64,…`` of a checked raster image; ValueError (one line) when it is not one."""
    signatures, pil_format = RASTER_TYPES[mime]
    text = _payload_text(payload)
    if len(text) > MAX_BYTES * 4 // 3 + 4:
        raise ValueError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    if not raw.startswith(signatures):
        raise ValueError(f"not a {pil_format} image (its first bytes are {raw[:8]!r})")
    _check_with_pillow(raw, pil_format)
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _check_with_pillow(raw: bytes, pil_format: str) -> None:
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=[pil_format]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise ValueError(f"{image.width}×{image.height} pixels is too large for a slide")
                image.verify()
    except ValueError:
        raise
    except Exception as exc:  # Pillow raises many types for a corrupt file
        raise ValueError(f"not a readable {pil_format} image ({type(exc).__name__})") from None
