"""Staff accounts: a one-time password that must be changed at the next sign-in."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class PasswordChangeRequired(models.Model):
    """The user signs in with a one-time password a school admin was shown on the Staff
    page (``attendance.staff.issue_one_time_password``): until they choose their own, every
    page sends them to /password/ (``wiring.middleware.RequirePasswordChangeMiddleware``).
    Deleted when the user's password changes by any path (``wiring.signin``)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="password_change_required")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("password change required")
        verbose_name_plural = gettext_lazy("password changes required")

    def __str__(self):
        return f"{self.user} must change the one-time password set on {self.set_at:%Y-%m-%d %H:%M}"


class LanguagePreference(models.Model):
    """The language a user chose in the header's menu (a code of settings.LANGUAGES, e.g.
    "zh-hans"), applied at each of their requests once signed in, on any device
    (``attendance.wiring.language.UserLanguageMiddleware``). No row: the browser's language."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="language_preference")
    language = models.CharField(max_length=16)
    chosen_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = gettext_lazy("language preference")
        verbose_name_plural = gettext_lazy("language preferences")

    def __str__(self):
        return f"{self.user}: {self.language}"
