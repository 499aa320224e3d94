"""Tele-expertise (issue #19): a professional asks a specialist service for a written opinion.

A request is a LiaisonSheet of kind "expertise": its identity, encryption, timeline,
attachments, access rules, If-Match and Idempotency-Key handling are the sheet's. This
sub-area adds what only tele-expertise has (liaison.models.ExpertiseRequest): the answer, the
consent record, the billing trace, its alerts and its figures. docs/teleexpertise.md.
"""
