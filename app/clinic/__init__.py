"""The clinic profile and clinic-wide settings."""
