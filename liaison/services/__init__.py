"""Write operations on liaison sheets, one module per concern (drafts, transitions,
discharge letters, attachments, scheduled alerts). Each public function enforces the state
machine, writes the audit trail and queues notifications in one transaction."""
