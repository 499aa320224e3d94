"""What a liaison sheet becomes when it leaves the service: paper, PDF, FHIR, indicators.

Each module reads sheets through liaison.selectors (so every read is audited) and never
changes the liaison app's behaviour: print and PDF render `liaison.forms.filled_sections`,
the FHIR export and import speak DOMAIN.md Part A's keys, and the indicators aggregate the
clear timestamps of the loop.
"""
