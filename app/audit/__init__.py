"""Reading the audit trail (writing it is app.kit.audit)."""
