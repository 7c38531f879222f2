"""Every kind of photo a school uploads, through the engine, the web views, the zip
enrolment and the command line: the right result, or a clear error naming the problem.

Each input is made here from a real portrait in ../shared/faces with Pillow.
"""
import io
import json
import zipfile

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from attendance.roster.enrolment import encode_enrolment_photo
from attendance.models import AttendanceRecord, ClassPhoto, ClassSession, EnrolmentPhoto, Student
from attendance.registers.recognition import process_class_photo
from faces import images, pipeline
from faces.errors import NotAnImage

from .conftest import CONSENT, CONSENT_FIELDS

from .factories import give_consent

pytestmark = pytest.mark.django_db

PORTRAIT = "identities/Joe_Biden/1.jpg"  # 970 x 2204, one face
#: Two descriptors of one photo in another encoding; same-person pairs are below 0.58.
SAME_PHOTO = 0.3


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def with_orientation(image: Image.Image, orientation: int) -> bytes:
    """The JPEG a phone writes: pixels stored turned, EXIF Orientation says how to view them."""
    stored = {6: image.transpose(Image.Transpose.ROTATE_90), 8: image.transpose(Image.Transpose.ROTATE_270),
              3: image.transpose(Image.Transpose.ROTATE_180)}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded(stored, "JPEG", quality=92, exif=exif.tobytes())


def transparent_border(image: Image.Image) -> Image.Image:
    canvas = Image.new("RGBA", (image.width + 200, image.height + 200), (0, 0, 0, 0))
    canvas.paste(image.convert("RGBA"), (100, 100))
    return canvas


def palette_with_transparent_index(image: Image.Image) -> bytes:
    paletted = transparent_border(image).convert("RGB").quantize(255)
    canvas = Image.new("P", paletted.size, 255)
    canvas.putpalette(paletted.getpalette())
    canvas.paste(paletted.crop((100, 100, image.width + 100, image.height + 100)), (100, 100))
    return encoded(canvas, "PNG", transparency=255)


def grey_16_bit(image: Image.Image) -> Image.Image:
    return Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)


def heic(image: Image.Image) -> bytes:
    return encoded(image, "HEIF", quality=90)


#: name -> (function of the portrait returning the file's bytes, upload name)
CASES = {
    "exif_orientation_6": (lambda im: with_orientation(im, 6), "portrait.jpg"),
    "exif_orientation_8": (lambda im: with_orientation(im, 8), "portrait.jpg"),
    "exif_orientation_3": (lambda im: with_orientation(im, 3), "portrait.jpg"),
    "rgba_transparent_border": (lambda im: encoded(transparent_border(im), "PNG"), "portrait.png"),
    "palette_transparent_index": (palette_with_transparent_index, "portrait.png"),
    "greyscale_with_alpha_la": (lambda im: encoded(transparent_border(im).convert("LA"), "PNG"), "portrait.png"),
    "greyscale_jpeg": (lambda im: encoded(im.convert("L"), "JPEG", quality=92), "portrait.jpg"),
    "one_bit_png": (lambda im: encoded(im.convert("1"), "PNG"), "portrait.png"),
    "greyscale_16_bit_png": (lambda im: encoded(grey_16_bit(im), "PNG"), "portrait.png"),
    "greyscale_16_bit_tiff": (lambda im: encoded(grey_16_bit(im), "TIFF"), "portrait.tif"),
    "greyscale_float_tiff": (lambda im: encoded(Image.fromarray(np.asarray(im.convert("L"), dtype=np.float32) / 255,
                                                                "F"), "TIFF"), "portrait.tif"),
    "cmyk_jpeg": (lambda im: encoded(im.convert("CMYK"), "JPEG", quality=92), "portrait.jpg"),
    "heic": (heic, "portrait.heic"),
    "heic_named_jpg": (heic, "IMG_0001.jpg"),
}


@pytest.fixture(scope="module")
def portrait(faces_dir):
    return Image.open(faces_dir / PORTRAIT).convert("RGB")


@pytest.fixture(scope="module")
def reference_descriptor(portrait):
    return pipeline.find_faces(np.asarray(portrait))[0].descriptor


class TestEngine:
    @pytest.mark.parametrize("case", CASES)
    def test_face_found_and_encoded_like_the_original(self, case, portrait, reference_descriptor):
        make, _ = CASES[case]
        rgb = images.load_rgb(make(portrait))
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        # Upright: the portrait's own proportions (plus the transparent border).
        assert rgb.shape[0] > rgb.shape[1]
        faces = pipeline.find_faces(rgb)
        assert len(faces) == 1
        assert np.linalg.norm(faces[0].descriptor - reference_descriptor) < SAME_PHOTO

    def test_transparent_area_is_white(self, portrait):
        rgb = images.load_rgb(CASES["rgba_transparent_border"][0](portrait))
        assert (rgb[:50, :50] == 255).all()

    def test_opencv_bgr_array_gives_the_rgb_descriptor(self, photo, reference_descriptor):
        bgr = cv2.imread(str(photo(PORTRAIT)))
        rgb = images.from_opencv(bgr)
        assert rgb.flags["C_CONTIGUOUS"] and rgb.shape == bgr.shape
        face = pipeline.find_faces(rgb)[0]
        # Decoded by OpenCV's libjpeg instead of Pillow's: pixels differ by rounding only.
        assert np.linalg.norm(face.descriptor - reference_descriptor) < 0.01

    @pytest.mark.parametrize("view", ["flipped", "rotated", "cropped"])
    def test_non_contiguous_opencv_views_work(self, photo, view):
        bgr = cv2.imread(str(photo(PORTRAIT)))
        views = {"flipped": bgr[:, ::-1], "rotated": np.rot90(bgr), "cropped": bgr[100:-100:, 50:-50]}
        strided = views[view]
        assert not strided.flags["C_CONTIGUOUS"]
        from_view = pipeline.find_faces(images.from_opencv(strided))
        from_copy = pipeline.find_faces(images.from_opencv(np.ascontiguousarray(strided)))
        assert len(from_view) == len(from_copy) >= (0 if view == "rotated" else 1)
        for a, b in zip(from_view, from_copy):
            assert a.box == b.box and np.linalg.norm(a.descriptor - b.descriptor) < 0.01

    def test_opencv_greyscale_and_bgra_arrays(self, photo):
        grey = cv2.imread(str(photo(PORTRAIT)), cv2.IMREAD_GRAYSCALE)
        assert len(pipeline.find_faces(images.from_opencv(grey))) == 1
        bgra = cv2.cvtColor(cv2.imread(str(photo(PORTRAIT))), cv2.COLOR_BGR2BGRA)
        bgra[:, :, 3] = 255
        assert np.array_equal(images.from_opencv(bgra), images.from_opencv(bgra[:, :, :3]))

    @pytest.mark.parametrize("array, problem", [
        (np.zeros((10, 10, 3), dtype=np.float32), "uint8"),
        (np.zeros((10, 10, 2), dtype=np.uint8), "(10, 10, 2)"),
        (np.zeros((0, 10, 3), dtype=np.uint8), "no pixels"),
        ([[1, 2], [3, 4]], "numpy"),
    ])
    def test_unusable_arrays_are_refused_by_name(self, array, problem):
        with pytest.raises(images.NotAnImage, match=problem.replace("(", r"\(").replace(")", r"\)")):
            images.from_opencv(array)

    def test_huge_photo_is_decoded_to_the_working_size_and_detected_with_boxes_in_its_pixels(self, portrait):
        # 12000 x 9000 (108 MP): one face pasted at a known place. Decoded reduced to the
        # working size (24 MP, same proportions), then detected at 2400 px with the boxes
        # mapped back to the working image's pixels.
        canvas = Image.new("RGB", (12000, 9000), (200, 200, 190))
        face_area = portrait.resize((portrait.width * 2, portrait.height * 2))
        canvas.paste(face_area, (7000, 3000))
        rgb = images.load_rgb(encoded(canvas, "JPEG", quality=85))
        assert rgb.shape == (4242, 5656, 3) and rgb.shape[0] * rgb.shape[1] <= images.DEFAULT_MAX_WORKING_PIXELS
        scale = 5656 / 12000
        faces = pipeline.find_faces(rgb, max_side=2400, threads=2)
        assert len(faces) == 1
        box = faces[0].box
        assert 7000 * scale - 2 <= box.left and box.right <= (7000 + face_area.width) * scale + 2
        assert 3000 * scale - 2 <= box.top and box.bottom <= (3000 + face_area.height) * scale + 2
        assert box.width > 300 * scale  # the face's size in the working pixels, not the detection's


class TestAcceptedFormats:
    """Exactly the formats the README lists are opened (JPEG, PNG, HEIC, WebP, BMP, TIFF,
    GIF); every other format Pillow can write is refused, unopened, by a message naming
    the accepted ones (issue 14 follow-up: icons decode inside ``Image.open``, EPS runs
    Ghostscript)."""

    def test_the_accepted_formats_are_the_readmes(self):
        assert set(images.ALLOWED_FORMATS) == {"JPEG", "PNG", "HEIF", "WEBP", "BMP", "TIFF", "GIF"}
        assert images.READABLE_FORMATS == "JPEG, PNG, HEIC, WebP, BMP, TIFF or GIF"

    @pytest.mark.parametrize("fmt", ["JPEG", "MPO", "PNG", "HEIF", "WEBP", "BMP", "TIFF", "GIF"])
    def test_each_accepted_format_is_read(self, portrait, fmt):
        rgb = images.load_rgb(encoded(portrait, fmt))
        assert rgb.shape == (portrait.height, portrait.width, 3)

    def test_every_other_format_pillow_writes_is_refused_by_name(self, portrait):
        small = portrait.resize((97, 220))
        Image.init()
        refused = {}
        for fmt in sorted(set(Image.SAVE) - set(images.ALLOWED_FORMATS) - {"MPO"}):
            data = None
            for mode in ("RGB", "L", "1", "RGBA"):
                try:
                    data = encoded(small.convert(mode), fmt)
                    break
                except Exception:  # noqa: BLE001 - a format that cannot hold this mode
                    continue
            if not data:
                continue  # Pillow only registers it (GRIB, BUFR, HDF5, WMF stubs)
            with pytest.raises(NotAnImage) as error:
                images.load_rgb(data)
            message = str(error.value)
            assert images.READABLE_FORMATS in message, (fmt, message)
            refused[fmt] = message
        # Pillow itself would have opened these: the formats the attack used.
        for fmt in ("ICO", "ICNS", "EPS", "PPM", "PCX", "TGA", "SGI", "DDS", "IM", "SPIDER", "JPEG2000"):
            assert fmt in refused, fmt
        for fmt in ("ICO", "ICNS", "EPS", "PPM", "JPEG2000"):
            assert refused[fmt].startswith(f"This file is in the {fmt} format, which is not accepted"), refused[fmt]


class TestWebEnrolment:
    @pytest.mark.parametrize("case", CASES)
    def test_admin_enrols_from_each_kind_of_photo(self, client, users, school_class, portrait, case):
        make, name = CASES[case]
        client.force_login(users["admin"])
        response = client.post(reverse("student_enrol", args=[school_class.pk]), {**CONSENT_FIELDS,
            "name": "Joe Biden", "photos": SimpleUploadedFile(name, make(portrait), content_type="image/jpeg")})
        assert response.status_code == 302
        stored = EnrolmentPhoto.objects.get(student__name="Joe Biden")
        # Stored under a generated name with the extension of its real format.
        expected = ".heic" if case.startswith("heic") else name[name.rindex("."):]
        assert stored.image.name.startswith("enrolment/") and stored.image.name.endswith(expected)
        encode_enrolment_photo(stored.pk)
        stored.refresh_from_db()
        assert stored.status == EnrolmentPhoto.READY, stored.error
        # Shown upright as a JPEG, whatever was uploaded.
        shown = Image.open(io.BytesIO(client.get(reverse("enrolment_photo_image", args=[stored.pk])).content))
        assert shown.format == "JPEG" and shown.height > shown.width


class TestOtherPaths:
    def test_zip_of_each_kind_of_photo(self, client, users, school_class, portrait):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            for case, (make, name) in CASES.items():
                archive.writestr(f"class/{case}/{name}", make(portrait))
        client.force_login(users["admin"])
        response = client.post(reverse("roster_zip", args=[school_class.pk]), {**CONSENT_FIELDS,
            "archive": SimpleUploadedFile("class.zip", out.getvalue(), content_type="application/zip")})
        assert response.status_code == 302
        assert school_class.students.count() == len(CASES)
        # All are the same face: each is deleted once encoded, so that the next is not
        # held as a duplicate of another student.
        for stored in EnrolmentPhoto.objects.order_by("pk"):
            encode_enrolment_photo(stored.pk)
            stored.refresh_from_db()
            assert stored.status == EnrolmentPhoto.READY, (stored.student.name, stored.error)
            stored.delete()

    # Transactional: the commands queue their tasks on commit, as outside tests.
    @pytest.mark.django_db(transaction=True)
    def test_command_line_enrols_and_takes_attendance_from_phone_formats(self, users, portrait, tmp_path, faces_dir):
        folder = tmp_path / "enrol" / "Joe_Biden"
        folder.mkdir(parents=True)
        (folder / "IMG_0001.heic").write_bytes(heic(portrait))
        out = io.StringIO()
        call_command("enrol", str(tmp_path / "enrol"), "--class", "7A", "--teacher", "teacher", *CONSENT, "--inline", stdout=out)
        assert "Joe Biden: 1 of 1 photos ready" in out.getvalue()
        class_photo = tmp_path / "class.jpg"
        group = Image.open(faces_dir / "groups" / "obama_and_biden.jpg")
        exif = Image.Exif()
        exif[0x0112] = 6
        class_photo.write_bytes(encoded(group.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif.tobytes()))
        out = io.StringIO()
        call_command("take_attendance", "--class", "7A", "--date", "2026-11-02", "--inline", str(class_photo),
                     stdout=out)
        assert json.loads(out.getvalue().strip().splitlines()[-1])["present"] == ["Joe Biden"]


class TestClassPhotos:
    @pytest.fixture
    def session(self, school_class, users, photo):
        joe = Student.objects.create(name="Joe Biden")
        school_class.students.add(joe)
        give_consent(joe)
        stored = EnrolmentPhoto.objects.create(
            student=joe, image=SimpleUploadedFile("j.jpg", photo(PORTRAIT).read_bytes()))
        encode_enrolment_photo(stored.pk)
        return ClassSession.objects.create(school_class=school_class, date="2026-11-02", period="1")

    def test_class_photo_without_faces_is_a_finished_session_with_nobody_present(self, client, users, session):
        wall = Image.new("RGB", (1920, 1080), (180, 170, 160))
        photo = ClassPhoto.objects.create(session=session, image=SimpleUploadedFile("wall.jpg", encoded(wall, "JPEG")))
        assert process_class_photo(photo.pk) == ClassPhoto.DONE
        assert photo.faces.count() == 0
        record = AttendanceRecord.objects.get(session=session)
        assert record.status == AttendanceRecord.ABSENT and record.source == AttendanceRecord.PHOTO
        # The teacher is told, rather than left with a class marked absent in silence.
        client.force_login(users["teacher"])
        page = client.get(reverse("session_detail", args=[session.pk])).content.decode()
        assert "No face was found in this photo, so it marks nobody present." in page

    def test_portrait_phone_class_photo_is_matched_and_shown_upright(self, client, users, session, portrait):
        photo = ClassPhoto.objects.create(session=session, image=SimpleUploadedFile(
            "class.jpg", with_orientation(portrait, 6)))
        assert process_class_photo(photo.pk) == ClassPhoto.DONE
        photo.refresh_from_db()
        assert (photo.width, photo.height) == portrait.size
        face = photo.faces.get()
        assert face.decision == "matched" and face.student.name == "Joe Biden"
        client.force_login(users["teacher"])
        shown = Image.open(io.BytesIO(client.get(reverse("class_photo_image", args=[photo.pk])).content))
        assert shown.height > shown.width

    @pytest.mark.parametrize("name", ["../../x.jpg", "/tmp/y.jpg", "..\\..\\z.jpg"])
    def test_hostile_file_names_are_stored_under_a_generated_name(self, client, users, school_class, photo, name,
                                                                  settings, tmp_path):
        client.force_login(users["teacher"])
        response = client.post(reverse("session_upload", args=[school_class.pk]), {
            "date": "2026-11-03", "period": "2",
            "photos": SimpleUploadedFile(name, photo(PORTRAIT).read_bytes(), content_type="image/jpeg")})
        assert response.status_code == 302
        stored = ClassPhoto.objects.get(session__date="2026-11-03")
        path = stored.image.path
        assert path.startswith(str(settings.MEDIA_ROOT)) and stored.image.name.startswith("class-photos/")
        for part in ("x.jpg", "y.jpg", "z.jpg", ".."):
            assert part not in stored.image.name
        assert not (tmp_path.parent / "x.jpg").exists()
