"""Nerve-root levels, muscles and their roots, and the conditions a clinic treats."""
