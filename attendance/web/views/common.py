"""What the pages of several rooms share: the status of a page with a form, and the job
queue's refusal as a form error."""
from django.core.exceptions import ValidationError

from attendance.wiring.job_queue import QueueUnavailable


def queue_error(exc: QueueUnavailable) -> ValidationError:
    """The job queue's refusal as a form error (code "queue_unavailable": ``form_status`` answers 503)."""
    return ValidationError(str(exc), code="queue_unavailable")


def form_status(form) -> int:
    """200, 400 for a form with errors, 503 when the job queue was down (try again later)."""
    if not form.errors:
        return 200
    return 503 if any(error.code == "queue_unavailable" for error in form.non_field_errors().as_data()) else 400
