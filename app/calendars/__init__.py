"""Calendar publishing: iCalendar feeds behind secret links, and the team calendar pages."""
