"""Routes of the audit trail API (coordinator only)."""

from django.urls import path

from directory.audit.apis import AuditActionListApi, AuditCheckpointStatusApi, AuditEntryListApi

api_urlpatterns = [
    path("audit/", AuditEntryListApi.as_view(), name="api-audit"),
    path("audit/actions/", AuditActionListApi.as_view(), name="api-audit-actions"),
    path("audit/checkpoint/", AuditCheckpointStatusApi.as_view(), name="api-audit-checkpoint"),
]
