"""Wide changes (publish many bookings, take a manager's access away) are confirmed first.

The page's button sends its form; in the browser a dialog says what will happen and adds the
confirmation. Without JavaScript the server answers the unconfirmed form with a page that says
the same and sends it again, confirmed. A client that skips both only ever gets that page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import render_template, request

from app.httpsecurity import local_path

FIELD = "confirmed"


def confirmed() -> bool:
    """Tell whether the posted form carries the explicit confirmation."""
    return request.form.get(FIELD) == "yes"


def confirmation_page(*, title: str, message: str, action: str, back: str) -> str:
    """Render the page that asks to confirm the posted form, keeping what else it carried."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        back = local_path(referrer.path + (f"?{referrer.query}" if referrer.query else "")) or back
    carried = {
        name: value
        for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", FIELD)
    }
    return render_template(
        "confirm.html",
        title=title,
        message=message,
        action=action,
        target=request.path,
        carried=carried,
        back=back,
    )
