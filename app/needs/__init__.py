"""Needs in a startup's own words, technology brokers, suggestions, drafts and demand."""
