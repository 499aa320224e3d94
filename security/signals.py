"""What happens at login and logout, beyond Django's own: second factor, form drafts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from security import actions, drafts
from security.reauth import PASSWORD, note_authentication
from security.two_factor import note_enrolment_at_login


@receiver(user_logged_in, dispatch_uid="security.on_login")
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    note_enrolment_at_login(request, user)
    if not getattr(request, "psc_login", False):
        # A password login; a PSC login notes and audits itself (directory.psc.views).
        note_authentication(request, method=PASSWORD)
        from security import audit  # noqa: PLC0415  (audit imports the auth models)
        from security.principals import active_member_of  # noqa: PLC0415

        audit.record(actor=active_member_of(user), action=actions.LOGIN, extra={"method": PASSWORD})
    # FormDraftMiddleware names the account in a signed cookie on the answer (security.drafts).
    request.form_owner_logged_in = user.pk
    pending = request.session.get(drafts.SESSION_KEY)
    if isinstance(pending, dict) and not drafts.belongs_to(str(pending.get("key")), user):
        # Someone else logs in at this browser: the previous person's draft is not theirs.
        drafts.discard(str(pending.get("key")))
        del request.session[drafts.SESSION_KEY]


@receiver(user_logged_out, dispatch_uid="security.on_logout")
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None:
        request.form_owner_logged_out = True
