"""A realistic OneRoster CSV zip, written by the tests themselves (no binary fixture):
``school_files`` gives the files as rows, tests change them, ``oneroster_zip`` zips them.

The school: 40 students (s01..s40), 2 teachers, 3 classes: Maths 7 (s01-s20, taught by
Jo Lee), English 7 (s11-s40, by Sam Patel, who has no username: their email is used) and
Science 7 (every odd-numbered student; Sam Patel's, Jo Lee co-teaching); two terms and a
school year (not a term, so not imported); a guardian (not imported); s02's English
enrolment is ``tobedeleted``.
"""
import csv
import io
import zipfile

USERS_11 = ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username", "userIds",
            "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds",
            "grades", "password"]
USERS_12 = ["sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName",
            "familyName", "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades",
            "password", "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName",
            "preferredFamilyName", "primaryOrgSourcedId", "pronouns"]
ROLES_12 = ["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate", "endDate",
            "orgSourcedId", "userProfileSourcedId"]
ORGS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
COURSES = ["sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title", "courseCode", "grades",
           "orgSourcedId", "subjects", "subjectCodes"]
CLASSES = ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode", "classType",
           "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"]
ENROLLMENTS = ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId", "userSourcedId",
               "role", "primary", "beginDate", "endDate"]
SESSIONS = ["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate", "parentSourcedId",
            "schoolYear"]

GIVEN = ["Ada", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kai", "Lena", "Milo",
         "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara"]
FAMILY = ["Okafor", "Nowak", "Silva"]
STAMP = "2026-08-20T09:00:00Z"


def student_name(number: int) -> tuple[str, str]:
    """(givenName, familyName) of student s<number> (1..40): 40 different names."""
    return GIVEN[(number - 1) % 20], FAMILY[(number - 1) // 20]


def school_files(version: str = "1.1") -> dict:
    """The school's OneRoster files as {file name: (columns, [row dicts])}, bulk, blank
    status and dateLastModified as bulk files usually are."""
    people = [dict(sourcedId="t1", role="teacher", username="jlee", givenName="Jo", familyName="Lee",
                   email="jo.lee@school.example"),
              dict(sourcedId="t2", role="teacher", username="", givenName="Sam", familyName="Patel",
                   email="sam.patel@school.example"),
              dict(sourcedId="g1", role="guardian", username="parent1", givenName="Pat", familyName="Okafor")]
    for number in range(1, 41):
        given, family = student_name(number)
        people.append(dict(sourcedId=f"s{number:02}", role="student", username=f"stu{number:02}", givenName=given,
                           familyName=family, enabledUser="true", orgSourcedIds="org1", grades="07"))
    enrolments = [dict(sourcedId="e-t1-maths", classSourcedId="c-maths", userSourcedId="t1", role="teacher",
                       primary="true"),
                  dict(sourcedId="e-t2-english", classSourcedId="c-english", userSourcedId="t2", role="teacher",
                       primary="true"),
                  dict(sourcedId="e-t2-science", classSourcedId="c-science", userSourcedId="t2", role="teacher",
                       primary="true"),
                  dict(sourcedId="e-t1-science", classSourcedId="c-science", userSourcedId="t1", role="teacher",
                       primary="false")]
    for number in range(1, 41):
        for class_id, member in (("c-maths", number <= 20), ("c-english", number > 10), ("c-science", number % 2)):
            if member:
                enrolments.append(dict(sourcedId=f"e-s{number:02}-{class_id[2:]}", classSourcedId=class_id,
                                       userSourcedId=f"s{number:02}", role="student", primary="false",
                                       beginDate="2026-09-01"))
    enrolments.append(dict(sourcedId="e-s02-english", status="tobedeleted", classSourcedId="c-english",
                           userSourcedId="s02", role="student", primary="false"))
    for row in (*enrolments,):
        row["schoolSourcedId"] = "org1"
    files = {
        "orgs.csv": (ORGS, [dict(sourcedId="org1", name="Riverside Academy", type="school")]),
        "courses.csv": (COURSES, [dict(sourcedId=f"k-{c}", title=c.title(), orgSourcedId="org1")
                                  for c in ("maths", "english", "science")]),
        "classes.csv": (CLASSES, [dict(sourcedId=f"c-{c}", title=f"{c.title()} 7", courseSourcedId=f"k-{c}",
                                       classType="scheduled", schoolSourcedId="org1", termSourcedIds="term1")
                                  for c in ("maths", "english", "science")]),
        "enrollments.csv": (ENROLLMENTS, enrolments),
        "academicSessions.csv": (SESSIONS, [
            dict(sourcedId="y2026", title="2026-27", type="schoolYear", startDate="2026-09-01",
                 endDate="2027-07-20", schoolYear="2027"),
            dict(sourcedId="term1", title="Autumn term 2026", type="term", startDate="2026-09-01",
                 endDate="2026-12-18", parentSourcedId="y2026", schoolYear="2027"),
            dict(sourcedId="term2", title="Spring term 2027", type="term", startDate="2027-01-05",
                 endDate="2027-03-31", parentSourcedId="y2026", schoolYear="2027")]),
    }
    if version == "1.1":
        files["users.csv"] = (USERS_11, people)
    else:
        files["users.csv"] = (USERS_12, [{k: v for k, v in p.items() if k not in ("role", "orgSourcedIds")}
                                         | {"primaryOrgSourcedId": "org1"} for p in people])
        files["roles.csv"] = (ROLES_12, [dict(sourcedId=f"r-{p['sourcedId']}", userSourcedId=p["sourcedId"],
                                              roleType="primary", role=p["role"], orgSourcedId="org1")
                                         for p in people])
    return files


def csv_bytes(columns: list, rows: list, bom: bool = False) -> bytes:
    """The rows as CSV text in UTF-8 (with Excel's byte order mark when ``bom``), CRLF line ends."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def oneroster_zip(files: dict, modes: dict | None = None, version: str = "1.1", raw: dict | None = None,
                  bom: tuple = ()) -> bytes:
    """A OneRoster zip of ``files`` (as ``school_files``) with its manifest.csv: every file
    ``bulk`` unless ``modes`` says otherwise ({"enrollments": "delta"}), the others absent.
    ``raw`` gives files as bytes, as is (a file saved in another encoding); ``bom`` names
    files written with a byte order mark."""
    modes = modes or {}
    names = [n[:-4] for n in {**files, **(raw or {})}]
    manifest = [("manifest.version", "1.0"), ("oneroster.version", version)]
    for name in ("academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
                 "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users", "roles"):
        manifest.append((f"file.{name}", modes.get(name, "bulk") if name in names else "absent"))
    manifest += [("source.systemName", "Test SIS"), ("source.systemCode", "tests/oneroster.py")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.csv", csv_bytes(["propertyName", "value"],
                                                   [dict(propertyName=k, value=v) for k, v in manifest]))
        for name, (columns, rows) in files.items():
            archive.writestr(name, csv_bytes(columns, rows, bom=name in bom))
        for name, data in (raw or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_bad_rows(files: dict) -> tuple[dict, dict]:
    """The school's files with a bad row of each kind, and ``raw`` files for ``oneroster_zip``:
    users.csv: a second row for s05 (duplicate id, line 45) and s41 "Zoë" saved in Windows-1252
    (wrong encoding, line 46); enrollments.csv: a class that does not exist and a beginDate
    that is not a date (the last two lines); academicSessions.csv without its endDate column
    (missing column: the file is refused at line 1)."""
    columns, users = files["users.csv"]
    users = users + [dict(sourcedId="s05", role="student", givenName="Another", familyName="Child")]
    text = csv_bytes(columns, users)
    latin1 = ",".join({"sourcedId": "s41", "role": "student", "givenName": "Zoë", "familyName": "Martin"}.get(c, "")
                      for c in columns).encode("cp1252") + b"\r\n"
    columns, enrolments = files["enrollments.csv"]
    enrolments = enrolments + [
        dict(sourcedId="e-bad-class", classSourcedId="c-history", userSourcedId="s01", role="student"),
        dict(sourcedId="e-bad-date", classSourcedId="c-maths", userSourcedId="s30", role="student",
             beginDate="2026-02-30")]
    columns_s, sessions = files["academicSessions.csv"]
    bad = dict(files, **{"enrollments.csv": (columns, enrolments),
                         "academicSessions.csv": ([c for c in columns_s if c != "endDate"], sessions)})
    del bad["users.csv"]
    return bad, {"users.csv": text + latin1}
