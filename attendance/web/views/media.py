"""Photos and face crops, each through a view that checks the signed-in user may see it
(never a public URL); a photo not ready yet answers 503 with Retry-After."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from faces.errors import ImageError

from attendance import access
from attendance import crops
from attendance import renditions
from attendance.models import EnrolmentPhoto


@login_required
@require_GET
def face_crop(request, face_id):
    face = access.get_face(request.user, face_id)
    try:  # a photo still being processed is never decoded here (the worker stores its crops)
        return _private_jpeg(crops.face_crop_jpeg(face, make=face.photo.is_finished))
    except (renditions.NotReady, renditions.Busy) as exc:
        return _try_again(exc)


@login_required
@require_GET
def student_face(request, student_id):
    """The student's reference face for the review page: their first ready enrolment
    photo's face, else their latest learnt template's crop the user may see (``access.get_template``'s
    rule; 404 when neither exists)."""
    student = access.get_student(request.user, student_id)
    photo = student.photos.filter(status=EnrolmentPhoto.READY).order_by("pk").first()
    if photo is not None:
        try:
            return _private_jpeg(crops.enrolment_face_jpeg(photo))
        except renditions.Busy as exc:
            return _try_again(exc)
    template = access.visible_templates(request.user, student).order_by("-learnt_at").first()
    if template is None:
        return HttpResponse(_("No reference photo."), status=404, content_type="text/plain; charset=utf-8")
    with template.crop.open("rb") as fh:
        return _private_jpeg(fh.read())


@login_required
@require_GET
def template_crop(request, template_id):
    template = access.get_template(request.user, template_id)
    with template.crop.open("rb") as fh:
        return _private_jpeg(fh.read())


def _try_again(exc) -> HttpResponse:
    """503 with Retry-After for a photo or crop not ready yet (``renditions.NotReady``: still
    being processed; ``renditions.Busy``: another photo is being prepared): the request does
    not decode it or hold a server thread waiting."""
    response = HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = "5"
    response["Cache-Control"] = "no-store"
    return response


def _private_jpeg(data: bytes) -> HttpResponse:
    """A face JPEG for a signed-in, authorised user: never cached by shared proxies."""
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def class_photo_image(request, photo_id):
    photo = access.get_class_photo(request.user, photo_id)
    return _photo_response(photo.image, renditions.CLASS_PHOTO_DISPLAY_PX, photo.is_finished)


@login_required
@require_GET
def enrolment_photo_image(request, photo_id):
    photo = access.get_enrolment_photo(request.user, photo_id)
    return _photo_response(photo.image, renditions.ENROLMENT_PHOTO_DISPLAY_PX, not photo.is_pending)


@login_required
@require_GET
def enrolment_photo_face(request, photo_id):
    """The face that was enrolled from an enrolment photo: its stored crop
    (``crops.enrolment_face_jpeg``, cut once), for the student's page; the same access
    rule as the whole photo (``access.get_enrolment_photo``). A photo that is not ready
    has no enrolled face (404: the page shows the whole photo instead)."""
    photo = access.get_enrolment_photo(request.user, photo_id)
    if not photo.is_ready or photo.face_left is None:
        return HttpResponse(_("This photo has no enrolled face."), status=404,
                            content_type="text/plain; charset=utf-8")
    try:
        return _private_jpeg(crops.enrolment_face_jpeg(photo))
    except renditions.Busy as exc:
        return _try_again(exc)
    except (ImageError, FileNotFoundError):
        return HttpResponse(_("This photo cannot be shown: its file is missing or unreadable."),
                            status=404, content_type="text/plain; charset=utf-8")


def _photo_response(field_file, max_side: int, finished: bool):
    """The photo's stored upright JPEG (``renditions``, made once): its bytes, or with
    ``PHOTO_SENDFILE`` a header telling the web server which file to send. A photo not
    ``finished`` processing is never decoded here (503 until the worker stored its
    rendition), nor is any photo while another is decoded for longer than
    ``renditions.DECODING_WAIT_SECONDS`` (503)."""
    try:
        if settings.PHOTO_SENDFILE:
            name = renditions.stored_rendition(field_file, max_side, make=finished)
            response = HttpResponse(content_type="image/jpeg")
            if settings.PHOTO_SENDFILE == "x-accel-redirect":
                response["X-Accel-Redirect"] = settings.PHOTO_SENDFILE_PREFIX + name
            else:
                response["X-Sendfile"] = field_file.storage.path(name)
        else:
            response = HttpResponse(renditions.rendition_bytes(field_file, max_side, make=finished),
                                    content_type="image/jpeg")
    except (renditions.NotReady, renditions.Busy) as exc:
        return _try_again(exc)
    except (ImageError, FileNotFoundError):
        return HttpResponse(_("This photo cannot be shown: its file is missing or unreadable."),
                            status=404, content_type="text/plain; charset=utf-8")
    # Photos of children: never cached by shared proxies, never sniffed as another type.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
