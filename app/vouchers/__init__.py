"""Innovation vouchers and the centre's redemption claims."""
