"""Outcome measures: instruments, server-side scoring, episode progress."""
