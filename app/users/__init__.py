"""Staff accounts (admin-managed)."""
