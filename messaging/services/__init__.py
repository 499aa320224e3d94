"""Writes of messaging: conversations (who takes part), messages, and the scheduled jobs."""
