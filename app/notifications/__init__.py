"""Notifications: each user's inbox of what happened to their bookings and requests, and the
e-mail copy of each entry (through the jobs outbox) for the kinds the user keeps on."""
