"""Booking signals other parts of the app listen to (reminders, waitlist re-solves)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the cancelled Booking as sender, after the cancellation is committed.
booking_cancelled = _signals.signal("booking-cancelled")
# Sent with the approved Proposal as sender and `bookings=[...]`, after the commit.
proposal_approved = _signals.signal("proposal-approved")
