"""Informed consent for dry needling, electrical stimulation and data sharing."""
