"""Run a benchmark command again in a fresh process on a throwaway database."""
import os
import subprocess
import sys
import tempfile

from django.conf import settings
from django.core.management.base import CommandError

#: Set in the child process's environment: it runs the benchmark itself.
ISOLATED = "ATTENDANCE_BENCHMARK_ISOLATED"


def is_isolated() -> bool:
    return bool(os.environ.get(ISOLATED))


def run_isolated(command, arguments: list[str]) -> None:
    """Run ``manage.py <arguments>`` in a fresh process whose database is a new SQLite file
    and whose media folder is new, both deleted afterwards; copy its output to
    ``command.stdout``. The school's students and photos neither slow the benchmark down
    nor see its photos.

    Raises:
        CommandError: the child failed (its last line of stderr says why).
    """
    with tempfile.TemporaryDirectory(prefix="attendance-benchmark-") as folder:
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{folder}/benchmark.sqlite3",
                   MEDIA_ROOT=f"{folder}/media", **{ISOLATED: "1"})
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        subprocess.run(manage + ["migrate", "--verbosity", "0"], env=env, check=True)
        completed = subprocess.run(manage + arguments, env=env, capture_output=True, text=True)
    command.stdout.write(completed.stdout.rstrip("\n"))
    if completed.returncode != 0:
        raise CommandError(completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed")
