"""Dry-needling (IMS) treatment sessions: needle log, e-stim, adverse events, safety gates."""
