"""Signed-in users' own account: the password change, throttled like sign-in."""
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.utils.translation import gettext as _

from attendance.wiring import signin


class PasswordChangeView(auth_views.PasswordChangeView):
    """/password/: Django's form, throttled like sign-in (attendance/wiring/signin.py).

    Wrong old passwords count per user; after settings.LOGIN_FAILURE_LIMIT within
    LOGIN_COOLOFF_MINUTES the form is refused with 429, even with the right one. A change
    revokes the user's API tokens (attendance.wiring.signin, on every path that saves a password).
    """

    success_url = "/"

    def post(self, request, *args, **kwargs):
        refusal = signin.password_change_refusal(request.user)
        if refusal:
            return signin.refused_response(request, refusal)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error("old_password", "password_incorrect"):
            signin.record_failure(self.request, signin.PASSWORD_CHANGE, self.request.user.get_username())
            refusal = signin.password_change_refusal(self.request.user)
            if refusal:
                return signin.refused_response(self.request, refusal)
        return super().form_invalid(form)

    def form_valid(self, form):
        response = super().form_valid(form)
        signin.clear_failures(self.request, signin.PASSWORD_CHANGE, self.request.user.get_username())
        messages.success(self.request, _("Password changed. Any API tokens of yours were revoked: ask an admin "
                                         "for a new one if you use the API."))
        return response
