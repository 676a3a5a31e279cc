"""Patient demographics: registration, search, deactivation (never deletion)."""
