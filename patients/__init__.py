"""The patient as every clinical app knows them: an identity, never a model of its own.

Liaison sheets and conversations each carry a copy of the patient's identity (encrypted)
next to its blind indexes. `patients.identity` validates that identity and computes its
indexes and the indexes of a search, once for every app, so that what one app stores
another finds. It sits on the floor above `directory` (whose identifier rules it uses) and
below the clinical apps; it imports nothing else of the project.
"""
