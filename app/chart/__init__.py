"""The patient chart: today's visit at a glance, in one call."""
