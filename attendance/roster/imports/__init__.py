"""Roster import: students, classes, teachers, class memberships and terms from the
school's information system (a OneRoster 1.1 / 1.2 CSV zip, or a plain CSV).

The steps, one function each, used by the web page and ``manage.py import_roster``:

1. ``reading``: the uploaded bytes, bounded (size, zip members, unzipped size, CSV
   fields), as CSV tables with each row's line number.
2. ``oneroster`` / ``plain_csv``: the tables as a ``source.Roster`` (people, classes,
   enrolments, terms; every bad row a ``reading.Refusal`` with file, line and reason).
3. ``planning.plan_import``: the roster compared with the database, a ``planning.Plan``
   (what is new, updated, leaving, refused); writes nothing.
4. ``applying.apply_plan``: the plan written in one transaction, with the audit log.

The web page keeps the uploaded file between the preview and "Import" with
``attendance.web.pending_uploads``, as the consent and photo imports do.
"""
