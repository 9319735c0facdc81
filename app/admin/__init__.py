"""Administration: accounts and roles, and the facilities catalogue sync."""
