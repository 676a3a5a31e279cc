"""Bringing patients over from other practice software (CSV or FHIR)."""
