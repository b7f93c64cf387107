"""QR codes drawn here, as inline SVG: no image service sees the URL they hold."""

from __future__ import annotations

import io

from markupsafe import Markup


def qr_svg(text: str, title: str) -> Markup:
    """The QR code as inline SVG, made here: no image service sees the URL."""
    import segno  # only the link and invitation pages draw them; not loaded while the hub starts

    out = io.BytesIO()
    segno.make(text, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, scale=5, border=2, title=title,
        svgclass="qr", nl=False,
    )  # fmt: skip
    return Markup(out.getvalue().decode())  # noqa: S704 (segno's own SVG, title escaped by it)
