"""Fields and helpers the models share: names people type, generated file names, descriptor bytes."""
import unicodedata
import uuid
from pathlib import PurePath

import numpy as np
from django.db import models

from attendance.text import validate_single_line_text
from faces import DESCRIPTOR_SIZE


class NameField(models.CharField):
    """A single-line name people type (student, class, period, term, holiday, code):
    refused with a message when it holds a control, bidi-control or noncharacter
    (``text.validate_single_line_text``: model ``full_clean``, so the admin, ModelForms and
    ModelSerializers), and stored in Unicode NFC whatever path saves it."""

    default_validators = [validate_single_line_text]

    def deconstruct(self):
        # The path the migrations name it by (the field was defined in attendance/models.py).
        name, _, args, kwargs = super().deconstruct()
        return name, "attendance.models.NameField", args, kwargs

    def pre_save(self, instance, add):
        value = getattr(instance, self.attname)
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", value)
            setattr(instance, self.attname, value)
        return value


def _generated_name(folder: str, original: str) -> str:
    # Never trust an uploaded name: it may hold "../" or an absolute path. Keep only a
    # known image extension, so the stored file is recognisable when inspecting disk.
    suffix = PurePath(original.replace("\\", "/")).suffix.lower()
    if suffix not in (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".heic", ".heif"):
        suffix = ".img"
    return f"{folder}/{uuid.uuid4().hex}{suffix}"


def enrolment_upload_to(instance, filename):
    return _generated_name("enrolment", filename)


def class_photo_upload_to(instance, filename):
    return _generated_name("class-photos", filename)


def template_crop_upload_to(instance, filename):
    return _generated_name("templates", filename)


#: ``descriptor_model`` of a class-photo face whose photo could no longer be read when
#: ``reencode`` ran: its descriptor (of an older model) was removed, it is left out of matching
#: and keeps its decision.
UNDESCRIBED = "undescribed"


def descriptor_to_bytes(descriptor: np.ndarray) -> bytes:
    """Serialise a ``(DESCRIPTOR_SIZE,)`` (128) descriptor as 512 bytes of little-endian float32."""
    return np.asarray(descriptor, dtype="<f4").reshape(DESCRIPTOR_SIZE).tobytes()


def descriptor_from_bytes(data: bytes) -> np.ndarray:
    """The ``(128,) float32`` descriptor stored by ``descriptor_to_bytes``."""
    return np.frombuffer(bytes(data), dtype="<f4").astype(np.float32)
