"""The face engine's refusals of a photo in the reader's language.

``faces/`` knows nothing of Django: its ``ImageError`` messages are English sentences with
the details (sizes, formats, counts), each with a ``code``. The pages show the engine's
own sentence in English and, in another language, the fixed phrase of its code below. The
same codes are stored with a failed enrolment photo (``EnrolmentPhoto.failure_code``,
beside the English ``failure_reason``), with three of this app's own: "duplicate"
(looks like another student), "models" (``MODEL_FILES_BROKEN``) and "error"
(an error nobody expected); a class photo's ``ClassPhoto.error_code`` adds "interrupted" and
"timeout"."""
from django.utils.translation import get_language, gettext as _, gettext_lazy, gettext_noop

#: The words stored for a photo the worker could not process because a model file is
#: missing or damaged (``job_queue.failure_message``; code "models").
MODEL_FILES_BROKEN = gettext_noop("Face recognition is not installed correctly on the server (a model file is "
                                  "missing or damaged). Ask your IT administrator to run `manage.py check` and then "
                                  "process the photo again (admin: failed photos).")

#: The phrase of each code (``faces.errors``: ImageError.code and its subclasses').
MESSAGES = {
    "unreadable": gettext_lazy("This photo cannot be read."),
    "not_an_image": gettext_lazy("This file is not a photo the app can read (or it is damaged): use a JPEG, PNG "
                                 "or HEIC photo."),
    "too_large": gettext_lazy("This photo is too large (too many pixels): save it smaller, or as an ordinary JPEG."),
    "no_face": gettext_lazy("No face was found in this photo."),
    "multiple_faces": gettext_lazy("This photo shows several faces and it is not clear which one is the student; "
                                   "use a photo of the student alone."),
    "models": gettext_lazy(MODEL_FILES_BROKEN),
    "error": gettext_lazy("Unexpected error while processing the photo."),
    # A class photo's own (``registers.recognition``).
    "interrupted": gettext_lazy("Processing was interrupted several times; please upload the photo again."),
    "timeout": gettext_lazy("The photo took too long to process; try a smaller photo."),
}


def in_english() -> bool:
    """True when the active language is English (or none is active): the engine's own
    detailed sentence is shown."""
    return (get_language() or "en").lower().startswith("en")


def image_error_text(code: str, english: str) -> str:
    """What a person reads for an engine refusal with ``code`` whose English sentence is
    ``english``: ``english`` in English (or for a code without a phrase), else the
    code's phrase (``MESSAGES``) in the active language."""
    if in_english() or code not in MESSAGES:
        return english
    return str(MESSAGES[code])


def error_text(exc) -> str:
    """``image_error_text`` of an ``ImageError`` (``exc.code``, ``str(exc)``)."""
    return image_error_text(getattr(exc, "code", "unreadable"), str(exc))


def duplicate_text(other_name: str) -> str:
    """The words for an enrolment photo whose face looks like ``other_name``'s, in the
    active language (no distance: people read words, the number stays in the record)."""
    return _("This face looks like %(name)s, who is already enrolled. Check the photo is of the right student "
             "before using it.") % {"name": other_name}
