"""The audit trail API for the coordination, on top of security.audit."""
