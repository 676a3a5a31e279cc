"""Exports: a patient's complete record (JSON, FHIR)."""
