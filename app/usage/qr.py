"""The QR code of a unit's kiosk page, as SVG (segno)."""

from __future__ import annotations

import io

import segno


def kiosk_qr_svg(url: str) -> bytes:
    """Return an SVG QR code that opens the URL (error correction M, for a printed label)."""
    buffer = io.BytesIO()
    segno.make_qr(url, error="m").save(
        buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title=url
    )
    return buffer.getvalue()
