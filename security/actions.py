"""The names of audited actions, `"<model>.<verb>"`, all in one module.

One module so that the trail can be grepped and reported on: a reviewer sees every action the
service can record, and a report on "who read this sheet" filters on a constant, not on a
string typed twice. Each app adds its own block here when it starts recording (liaison sheets:
`liaison_sheet.read`, `liaison_sheet.send`, ...; messaging, protocols, ...), and passes the
constant to `security.audit.record(action=...)`, which checks the shape.
"""

from __future__ import annotations

# The audit trail itself: reading it reveals who touched which patient's records.
AUDIT_LIST = "audit.list"

# Logins: one client address blocked after failed logins across usernames (password spraying).
# The entry carries the address (its `ip`) and counts, never the usernames tried.
LOGIN_ADDRESS_BLOCKED = "login.address_blocked"

# API tokens: who made which token (kind, prefix) and when and why it died; never the secret.
API_TOKEN_CREATE = "api_token.create"  # noqa: S105  (an action name)
API_TOKEN_REVOKE = "api_token.revoke"  # noqa: S105

# Second factor: an account's devices removed by an administrator (lost phone and codes).
TWO_FACTOR_RESET = "two_factor.reset"
