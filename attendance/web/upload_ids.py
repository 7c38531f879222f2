"""Class-photo uploads already stored, remembered in the uploader's session by the upload id
the take-attendance page's script sends with them (``ClassPhotoUploadForm.upload_id``), so a
retry after a lost response (weak Wi-Fi: the server stored the photos, the phone never got
the answer) is answered with the same session instead of storing the photos twice."""
import datetime

from django.utils import timezone

#: The session key of the remembered uploads: {upload id: [class id, session id, ISO time]}.
SESSION_KEY = "class_photo_uploads"
#: An upload id is remembered this long; the page's script makes a new one on every page load,
#: and retries of one upload come within minutes (3 automatic, then "Try again").
MAX_AGE = datetime.timedelta(days=1)


def stored_session_id(session, upload_id: str, class_id: int) -> int | None:
    """The id of the ClassSession that upload ``upload_id`` of class ``class_id`` was stored
    in by this browser session less than ``MAX_AGE`` ago, else None (also for an empty id)."""
    if not upload_id:
        return None
    entry = _fresh(session).get(upload_id)
    if entry and entry[0] == class_id:
        return entry[1]
    return None


def remember(session, upload_id: str, class_id: int, session_id: int) -> None:
    """Remember that upload ``upload_id`` of class ``class_id`` was stored in ClassSession
    ``session_id``; entries older than ``MAX_AGE`` are dropped. Nothing for an empty id."""
    if not upload_id:
        return
    uploads = _fresh(session)
    uploads[upload_id] = [class_id, session_id, timezone.now().isoformat()]
    session[SESSION_KEY] = uploads


def _fresh(session) -> dict:
    oldest = timezone.now() - MAX_AGE
    return {key: entry for key, entry in session.get(SESSION_KEY, {}).items()
            if datetime.datetime.fromisoformat(entry[2]) >= oldest}
