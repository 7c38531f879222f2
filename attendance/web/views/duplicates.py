"""The "Possible duplicates" page: pairs of students whose enrolment photos look alike,
for a school admin to merge ("Same child") or set aside ("Different children")
(``roster.merging``)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _, gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from attendance import access
from attendance.models import Student
from attendance.roster import merging


class DuplicateDecisionForm(forms.Form):
    """A pair of students and the admin's answer: "merge" (same child) or "different"."""

    first = forms.IntegerField()
    second = forms.IntegerField()
    decision = forms.ChoiceField(choices=[("merge", gettext_lazy("Same child: merge")),
                                                  ("different", gettext_lazy("Different children"))])


@login_required
def possible_duplicates(request):
    """School admins: the look-alike pairs, nearest first, each with both students' classes."""
    access.require_school_admin(request.user)
    pairs = merging.possible_duplicates()
    return render(request, "attendance/possible_duplicates.html", {"pairs": pairs})


@login_required
@require_POST
def duplicate_decide(request):
    """Merge the pair into the older student, or record that they are different children."""
    access.require_school_admin(request.user)
    form = DuplicateDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a pair and an answer."))
        return redirect("possible_duplicates")
    first = get_object_or_404(Student, pk=form.cleaned_data["first"])
    second = get_object_or_404(Student, pk=form.cleaned_data["second"])
    if form.cleaned_data["decision"] == "different":
        try:
            merging.mark_different(first, second, request.user)
        except merging.MergeError as exc:
            messages.error(request, str(exc))
            return redirect("possible_duplicates")
        messages.success(request, _("%(first)s and %(second)s are kept as different children.")
                         % {"first": first.name, "second": second.name})
        return redirect("possible_duplicates")
    try:
        summary = merging.merge_students(first, second, request.user)
    except merging.MergeError as exc:
        messages.error(request, str(exc))
        return redirect("possible_duplicates")
    classes, records, photos = summary["classes"], summary.get("records", 0), summary.get("photos", 0)
    messages.success(request, _("Merged into #%(kept)s: %(classes)s, %(records)s and %(photos)s moved.") % {
        "kept": summary["kept"],
        "classes": ngettext("%(count)s class", "%(count)s classes", classes) % {"count": classes},
        "records": ngettext("%(count)s record", "%(count)s records", records) % {"count": records},
        "photos": ngettext("%(count)s photo", "%(count)s photos", photos) % {"count": photos}})
    return redirect("student_detail", summary["kept"])
