"""Booking signals other parts of the app listen to (notifications, waitlist re-solves).

Each is sent after the change is committed, with the acting user as `by` (None: the
scheduler) and the manager's `reason` where the change has one."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the cancelled Booking as sender; `proposal=` when an approval dropped it.
booking_cancelled = _signals.signal("booking-cancelled")
# Sent with the approved Proposal as sender, `bookings=[...]` published and `moved=[...]` of
# those, the ones that were published before at another place.
proposal_approved = _signals.signal("proposal-approved")
# Sent with the moved Booking as sender and `before={"equipment": slug, "start", "end"}`.
booking_moved = _signals.signal("booking-moved")
# Sent with the released Booking as sender.
booking_released = _signals.signal("booking-released")
