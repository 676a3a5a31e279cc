"""Gunn segmental assessments: per-level findings, impression, summary and map."""
