"""API tokens: the member-facing side of security.tokens (pages, API, who sees which)."""
