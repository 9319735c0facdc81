"""Usage: check-in and check-out of bookings, no-shows and manager corrections."""
