"""Episodes of care: a presenting problem from intake to discharge."""
