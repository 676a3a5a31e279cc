"""Contraindication and precaution screens, re-checked at each visit."""
