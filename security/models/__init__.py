"""Models of the security app: key usage counters and the audit trail."""

from security.models.audit import AuditChainHead, AuditEntry
from security.models.keys import KeyUsage

__all__ = ["AuditChainHead", "AuditEntry", "KeyUsage"]
