"""Authentication (passwords, bearer tokens) and authorisation (permissions per role)."""
