"""Billing: rate cards, charges from usage, monthly statements and credit/debit notes."""
