"""System checks (``manage.py check``, and on every ``runserver`` / ``migrate``): the face
model files are present and intact before a photo is ever processed."""
from django.conf import settings
from django.core import checks

from faces import model_files
from faces.errors import ModelFileError


@checks.register()
def face_model_files(app_configs=None, **kwargs):
    """An error per model file that is missing or does not match models/checksums.sha256."""
    errors = []
    names = [model_files.LANDMARKS_5_MODEL, model_files.RECOGNITION_MODEL]
    if settings.FACE_LANDMARK_POINTS == 68:
        names.append(model_files.LANDMARKS_68_MODEL)
    for name in names:
        try:
            model_files.verified_path(name)
        except ModelFileError as exc:
            errors.append(checks.Error(
                str(exc), id="attendance.E001",
                hint="Reinstall the face models: make venv (pip install -r requirements.txt), "
                     "or point FACE_MODELS_DIR at a folder holding the files listed in models/checksums.sha256.",
            ))
    return errors
