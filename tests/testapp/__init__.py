"""A test-only app: models that use the encrypted fields (tables made by syncdb in tests)."""
