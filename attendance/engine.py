"""The face engine configured from Django settings: the only place the app calls ``faces``."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from faces import FaceBox, enrolment, images, matching, pipeline, quality
from faces.errors import ImageError

from attendance import image_errors


def model_id() -> str:
    """The id of the model the configured engine computes descriptors with, stamped on every
    stored descriptor (``descriptor_model``): descriptors of two ids are never compared.

    ``faces.model_id`` of ``FACE_LANDMARK_POINTS``, e.g. ``"dlib-resnet-v1/5pt"``: dlib's
    ResNet v1 (``dlib_face_recognition_resnet_model_v1``) on faces aligned with that many
    landmarks; both change the descriptors. ``FACE_DESCRIPTOR_ENGINE`` does not (numpy and
    dlib agree within 5.1e-7), so it is not part of the id. Today's default settings give
    ``"dlib-resnet-v1/5pt"`` (migration 0012). Loads no model file.

    Raises:
        ValueError: ``FACE_LANDMARK_POINTS`` is not 5 or 68.
    """
    return pipeline.model_id(landmark_points=settings.FACE_LANDMARK_POINTS)


def max_pixels() -> int:
    return settings.MAX_PHOTO_MEGAPIXELS * 1_000_000


def decode_limits() -> dict:
    """The configured limits of ``faces.images.load_rgb`` / ``open_image``: most pixels,
    most decoded bytes (``MAX_DECODED_MEGABYTES`` MiB) and the working size."""
    return {"max_pixels": max_pixels(), "max_decoded_bytes": settings.MAX_DECODED_MEGABYTES * 2**20,
            "max_working_pixels": settings.PHOTO_WORKING_MEGAPIXELS * 1_000_000}


def decode_photo(data: bytes):
    """``(H, W, 3) uint8`` RGB array of an uploaded photo, at most
    ``PHOTO_WORKING_MEGAPIXELS`` (bigger photos are reduced while decoded); raises
    ``faces.errors.ImageError`` (``ImageTooLarge`` over ``MAX_PHOTO_MEGAPIXELS`` or
    ``MAX_DECODED_MEGABYTES``)."""
    return images.load_rgb(data, **decode_limits())


#: File extension stored for each image format Pillow reports, so a photo is stored
#: and served by what it is, whatever its uploaded name said.
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif", "GIF": ".gif",
              "MPO": ".jpg", "HEIF": ".heic"}


def check_photo_header(fileobj) -> str:
    """Fail fast on a file that is not an image or is too large (in pixels, or in memory
    to decode: ``decode_limits``), reading only its header.

    Returns:
        the extension for the file's real format, e.g. ".jpg".

    Raises:
        faces.errors.NotAnImage, faces.errors.ImageTooLarge
    """
    position = fileobj.tell() if hasattr(fileobj, "tell") else None
    try:
        image = images.open_image(fileobj, **decode_limits())
        return EXTENSIONS.get(image.format, ".img")
    finally:
        if position is not None:
            fileobj.seek(position)


def check_photos(photo_files) -> list:
    """The uploaded photos (Django ``File`` objects) an upload may store, each checked for
    size (``settings.MAX_PHOTO_BYTES``) and a readable image header (``check_photo_header``)
    and renamed ``photo<extension of its real format>`` (stored under a generated name with
    that extension, whatever the uploaded name said). Every photo of an upload (class
    photos, enrolment photos) is checked here: web forms, API and command line.

    Raises:
        django.core.exceptions.ValidationError: one message per refused photo, each
            starting with its name; or "No photo was given." for none.
    """
    photo_files = [f for f in photo_files if f]
    if not photo_files:
        raise ValidationError(_("No photo was given."), code="required")
    errors = []
    for photo in photo_files:
        if photo.size > settings.MAX_PHOTO_BYTES:
            errors.append(_("%(name)s: %(size)s is over the limit of %(limit)s per photo.") % {
                "name": photo.name, "size": filesizeformat(photo.size),
                "limit": filesizeformat(settings.MAX_PHOTO_BYTES)})
            continue
        try:
            extension = check_photo_header(photo)
        except ImageError as exc:
            errors.append(f"{photo.name}: {image_errors.error_text(exc)}")
        else:
            photo.name = f"photo{extension}"
    if errors:
        raise ValidationError(errors)
    return photo_files


def find_faces(rgb, timings: dict | None = None):
    """Every face in a photo with its descriptor, using the detection settings.

    ``timings``: optional dict receiving seconds per stage (see ``faces.pipeline.run``)."""
    return pipeline.find_faces(
        rgb,
        upsample=settings.FACE_DETECTION_UPSAMPLE,
        max_side=settings.FACE_DETECTION_MAX_SIDE,
        landmark_points=settings.FACE_LANDMARK_POINTS,
        small_face_px=settings.FACE_DETECTION_SMALL_FACE_PX,
        timings=timings,
        threads=settings.FACE_ENGINE_THREADS,
        engine=settings.FACE_DESCRIPTOR_ENGINE,
        detector=settings.FACE_DETECTOR,
    )


def describe_boxes(rgb, boxes):
    """Descriptors of the faces at known boxes, with the configured landmarks and engine
    (``faces.pipeline.compute_descriptors``): how ``reencode`` describes a stored face again.

    Args:
        rgb: ``(H, W, 3) uint8`` photo; boxes: ``(left, top, right, bottom)`` in its pixels.

    Returns:
        ``(N, faces.DESCRIPTOR_SIZE) float32``, one row per box, in the order given.
    """
    return pipeline.compute_descriptors(
        rgb, [FaceBox(*box) for box in boxes], landmark_points=settings.FACE_LANDMARK_POINTS,
        engine=settings.FACE_DESCRIPTOR_ENGINE, threads=settings.FACE_ENGINE_THREADS)


def choose_enrolment_face(rgb):
    """The face an enrolment photo is about (``faces.enrolment.select_enrolment_face`` with
    ``ENROLMENT_DOMINANT_FACE_RATIO`` and the centre rule), before any quality gate.

    Returns:
        ``faces.DetectedFace``.

    Raises:
        NoFaceFound, MultipleFacesFound.
    """
    height, width = rgb.shape[:2]
    return enrolment.select_enrolment_face(find_faces(rgb), settings.ENROLMENT_DOMINANT_FACE_RATIO,
                                           image_size=(width, height))


def enrolment_face(rgb):
    """The face to enrol from a photo and its measured quality, after the quality gate.

    Returns:
        ``(DetectedFace, FaceQuality)``.

    Raises:
        NoFaceFound, MultipleFacesFound, FaceTooSmall, FaceTooBlurry, FaceNotFrontal.
    """
    face = choose_enrolment_face(rgb)
    measured = pipeline.assess_quality(rgb, face)
    quality.check_enrolment_quality(
        measured,
        min_width=settings.ENROLMENT_MIN_FACE_PX,
        min_sharpness=settings.ENROLMENT_MIN_SHARPNESS,
        max_yaw=settings.ENROLMENT_MAX_YAW,
        max_roll_degrees=settings.ENROLMENT_MAX_ROLL_DEGREES,
    )
    return face, measured


def match(probes, widths, gallery, labels, taken=(), groups=None, learnt=None):
    """``faces.matching.decide_faces`` with the configured threshold, margin and minimum
    face widths (``FACE_MIN_PROBE_PX``, ``FACE_MIN_RELATIVE_WIDTH`` of the median of the
    face's group, e.g. its photo), and the small-face rule (faces narrower than
    ``FACE_SMALL_PROBE_PX`` matched only with a gap of ``FACE_SMALL_MATCH_MARGIN`` to the
    next student). With ``FACE_MATCH_THRESHOLD_TIGHTENING``, a student's
    threshold tightens as their learnt templates accumulate (``matching.tightened_threshold``
    of 1 + their number of learnt templates).

    Args:
        probes: ``(N, 128)`` descriptors; widths: N widths in pixels.
        gallery: ``(M, 128)`` descriptors; labels: M student labels.
        taken: labels a person gave to other faces of the session.
        groups: N group keys (photo ids) for the relative width; None: one group.
        learnt: ``{label: number of learnt templates}`` (None: none).
    """
    label_thresholds = None
    if settings.FACE_MATCH_THRESHOLD_TIGHTENING and learnt:
        label_thresholds = {
            label: matching.tightened_threshold(settings.FACE_MATCH_THRESHOLD, 1 + count,
                                                settings.FACE_MATCH_THRESHOLD_TIGHTENING)
            for label, count in learnt.items()}
    return matching.decide_faces(
        probes, widths, gallery, labels, threshold=settings.FACE_MATCH_THRESHOLD,
        margin=settings.FACE_MATCH_MARGIN, min_width=settings.FACE_MIN_PROBE_PX, taken=taken,
        label_thresholds=label_thresholds, groups=groups, min_relative_width=settings.FACE_MIN_RELATIVE_WIDTH,
        strict_mutual_best=settings.FACE_MATCH_STRICT_MUTUAL_BEST,
        small_width=settings.FACE_SMALL_PROBE_PX, small_margin=settings.FACE_SMALL_MATCH_MARGIN,
    )
