"""Errors raised by the face engine. Each carries a message a school admin can read."""


class FaceEngineError(Exception):
    """Base class for every error the face engine raises on purpose."""


class ModelFileError(FaceEngineError):
    """A dlib model file is missing or its checksum does not match models/checksums.sha256."""


class ImageError(FaceEngineError):
    """A photo cannot be used. ``str(error)`` is the reason, in words."""

    #: A short machine-readable code for the reason, stored beside the message.
    code = "unreadable"


class NotAnImage(ImageError):
    code = "not_an_image"


class ImageTooLarge(ImageError):
    code = "too_large"


class NoFaceFound(ImageError):
    code = "no_face"


class MultipleFacesFound(ImageError):
    code = "multiple_faces"
