"""Reports and exports for facility managers and administrators."""
