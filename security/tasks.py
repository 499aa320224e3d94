"""Scheduled jobs of the security app: thin entry points to security.audit."""

from __future__ import annotations

from celery import shared_task

from worker.tasks import IdempotentTask


@shared_task(base=IdempotentTask, ignore_result=True)
def write_audit_checkpoint() -> int:
    """Sign the audit chain's head into AUDIT_CHECKPOINT_DIR; return the checkpointed sequence.

    Idempotent enough: a second run writes a second checkpoint of the same or a later head,
    which only adds evidence. A head that does not verify raises (and is logged by Celery)
    rather than being signed.
    """
    from security import audit  # noqa: PLC0415

    checkpoint, _path = audit.write_checkpoint()
    return checkpoint.sequence
