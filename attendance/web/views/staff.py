"""The Staff page (school admins): staff accounts, their roles and passwords. Each view
validates a form and calls one function of ``attendance.staff``."""
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from attendance import access, staff
from attendance.web.school_forms import (
    ONE_TIME_PASSWORD,
    StaffActiveForm,
    StaffAddForm,
    StaffPasswordForm,
    StaffRoleForm,
)


@login_required
def staff_list(request):
    """The staff: name, username, e-mail, role, active, classes; the form to add one."""
    access.require_school_admin(request.user)
    return _staff_page(request, StaffAddForm())


def _staff_page(request, add_form, status=200, credentials=None):
    response = render(request, "attendance/staff.html", {
        "members": staff.staff_members(), "add_form": add_form, "role_choices": staff.ROLE_CHOICES,
        "credentials": credentials,
    }, status=status)
    if credentials:
        response["Cache-Control"] = "no-store"  # a password or link shown once is never cached
    return response


def _credentials(request, user, how: str) -> dict:
    """A one-time password or a set-password link for ``user``, to show the admin once."""
    if how == ONE_TIME_PASSWORD:
        return {"user": user, "password": staff.issue_one_time_password(user, request.user)}
    link = staff.set_password_link(user, request.build_absolute_uri("/"), request.user)
    return {"user": user, "link": link}


@login_required
@require_POST
def staff_add(request):
    access.require_school_admin(request.user)
    form = StaffAddForm(request.POST)
    if not form.is_valid():
        return _staff_page(request, form, status=400)
    try:
        user = staff.add_staff(form.cleaned_data["name"], form.cleaned_data["email"], form.cleaned_data["role"],
                               request.user)
    except staff.StaffError as exc:
        form.add_error(None, str(exc))
        return _staff_page(request, form, status=400)
    messages.success(request, _("%(name)s added as %(role)s.") % {
        "name": user.get_full_name(), "role": staff.role_label(form.cleaned_data["role"])})
    return _staff_page(request, StaffAddForm(), credentials=_credentials(request, user,
                                                                         form.cleaned_data["password"]))


def _member(user_id):
    return get_object_or_404(get_user_model(), pk=user_id)


@login_required
@require_POST
def staff_password(request, user_id):
    """A new set-password link or one-time password for a staff member (forgotten password)."""
    access.require_school_admin(request.user)
    user, form = _member(user_id), StaffPasswordForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a set-password link or a one-time password."))
        return redirect("staff_list")
    try:
        credentials = _credentials(request, user, form.cleaned_data["password"])
    except staff.StaffError as exc:
        messages.error(request, str(exc))
        return redirect("staff_list")
    return _staff_page(request, StaffAddForm(), credentials=credentials)


@login_required
@require_POST
def staff_role(request, user_id):
    access.require_school_admin(request.user)
    user, form = _member(user_id), StaffRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role: teacher, office staff or school admin."))
        return redirect("staff_list")
    try:
        staff.change_role(user, form.cleaned_data["role"], request.user)
    except staff.StaffError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(username)s is now %(role)s.") % {
            "username": user.get_username(), "role": staff.role_label(form.cleaned_data["role"])})
    return redirect("staff_list")


@login_required
@require_POST
def staff_active(request, user_id):
    access.require_school_admin(request.user)
    user, form = _member(user_id), StaffActiveForm(request.POST)
    form.is_valid()  # a boolean: always valid
    active = form.cleaned_data.get("active", False)
    try:
        staff.set_active(user, active, request.user)
    except staff.StaffError as exc:
        messages.error(request, str(exc))
    else:
        text = (_("%(username)s reactivated.") if active else
                _("%(username)s deactivated: they can no longer sign in; their classes and records stay."))
        messages.success(request, text % {"username": user.get_username()})
    return redirect("staff_list")


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """A set-password link (``staff.set_password_link``): Django's password-reset page; the
    token works until the password changes or the user signs in, and not while the account
    is deactivated (Django's token does not cover ``is_active``)."""

    template_name = "registration/set_password.html"
    success_url = reverse_lazy("password_set_done")
    reset_url_token = "set-password"

    def get_user(self, uidb64):
        """The link's user, or None (the link "does not work") when unknown or deactivated."""
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/set_password_done.html"
