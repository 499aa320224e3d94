"""Models of the security app: key usage counters, the audit trail, API tokens, form drafts."""

from security.models.audit import AuditChainHead, AuditEntry
from security.models.drafts import FormDraft
from security.models.keys import KeyUsage
from security.models.tokens import ApiToken

__all__ = ["ApiToken", "AuditChainHead", "AuditEntry", "FormDraft", "KeyUsage"]
