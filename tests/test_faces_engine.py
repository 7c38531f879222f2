"""The face engine on real photos and the real dlib models, without Django."""
import io

import numpy as np
import pytest
from PIL import Image

from faces import FaceBox, enrolment, images, matching, pipeline
from faces.detectors import hog
from faces.errors import ImageTooLarge, MultipleFacesFound, NoFaceFound, NotAnImage

pytestmark = pytest.mark.engine


def rgb_of(path):
    return images.load_rgb(path.read_bytes())


def encode(image: Image.Image, fmt="JPEG", **kwargs) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


class TestDecoding:
    def test_jpeg_decodes_to_contiguous_rgb_uint8(self, photo):
        array = rgb_of(photo("identities/Barack_Obama/1.jpg"))
        assert array.dtype == np.uint8 and array.shape == (1137, 910, 3)
        assert array.flags["C_CONTIGUOUS"]

    def test_exif_orientation_is_applied(self, photo):
        original = Image.open(photo("identities/Barack_Obama/1.jpg"))
        exif = Image.Exif()
        exif[0x0112] = 6  # stored turned; viewer must rotate 90 degrees clockwise
        data = encode(original.rotate(90, expand=True), exif=exif.tobytes())
        assert images.load_rgb(data).shape == (1137, 910, 3)

    def test_transparent_border_is_put_on_white_and_face_still_found(self, photo):
        portrait = Image.open(photo("identities/Joe_Biden/1.jpg")).convert("RGBA")
        canvas = Image.new("RGBA", (portrait.width + 100, portrait.height + 100), (0, 0, 0, 0))
        canvas.paste(portrait, (50, 50))
        array = images.load_rgb(encode(canvas, "PNG"))
        assert array.shape == (portrait.height + 100, portrait.width + 100, 3)
        assert (array[:50] == 255).all() and (array[:, :50] == 255).all()
        assert len(pipeline.find_faces(array)) == 1

    def test_text_file_is_not_an_image(self):
        with pytest.raises(NotAnImage):
            images.load_rgb(b"%PDF-1.4 this is not a photo")

    def test_empty_file_is_not_an_image(self):
        with pytest.raises(NotAnImage):
            images.load_rgb(b"")

    def test_truncated_jpeg_is_refused(self, photo):
        data = photo("identities/Barack_Obama/1.jpg").read_bytes()
        with pytest.raises(NotAnImage, match="incomplete .* please upload it again"):
            images.load_rgb(data[: len(data) // 3])

    def test_decompression_bomb_refused_from_header(self):
        bomb = encode(Image.new("1", (20000, 20000)), "PNG")
        assert len(bomb) < 200_000
        with pytest.raises(ImageTooLarge, match="400 megapixels"):
            images.load_rgb(bomb)


class TestDetectionAndDescriptors:
    def test_one_face_found_with_box_on_the_face(self, photo):
        faces = pipeline.find_faces(rgb_of(photo("identities/Barack_Obama/1.jpg")))
        assert len(faces) == 1
        box = faces[0].box
        assert 300 < box.left < box.right < 700 and 100 < box.top < box.bottom < 500
        assert faces[0].descriptor.shape == (128,) and faces[0].descriptor.dtype == np.float32

    def test_no_face_in_photo_of_dogs(self, photo):
        assert pipeline.find_faces(rgb_of(photo("misc/dogs.jpg"))) == []

    def test_downscaled_detection_maps_boxes_back_to_original_pixels(self, photo):
        image = rgb_of(photo("identities/Barack_Obama/1.jpg"))
        full = hog.detect_faces(image, upsample=0)[0][0]
        scaled = hog.detect_faces(image, upsample=1, max_side=500)[0][0]
        # Same face, in the same coordinates, within the scale step (1137/500 ~ 2.3 px per px).
        assert abs(full.left - scaled.left) < 25 and abs(full.bottom - scaled.bottom) < 25

    @pytest.mark.parametrize("relative", [
        "identities/Barack_Obama/1.jpg",
        "identities/Joe_Biden/1.jpg",
        "identities/Ariel_Sharon/1.jpg",
        "identities/George_W_Bush/1.jpg",
        "groups/obama_and_biden.jpg",
    ])
    @pytest.mark.parametrize("engine", pipeline.DESCRIPTOR_ENGINES)
    def test_descriptors_equal_face_recognition_reference(self, photo, relative, engine):
        face_recognition = pytest.importorskip("face_recognition")
        path = photo(relative)
        reference = face_recognition.face_encodings(face_recognition.load_image_file(path))
        # face_recognition's boxes are HOG's upsampled once: the "hog" detector's. (The
        # default coarse-to-fine detector finds large faces at a coarser scale, whose
        # boxes, and so landmarks and descriptors, differ slightly.)
        ours = pipeline.find_faces(rgb_of(path), engine=engine, detector="hog")
        assert len(ours) == len(reference) >= 1
        # Pair by nearest: detection order may differ.
        for ref in reference:
            differences = [np.abs(ref - face.descriptor).max() for face in ours]
            assert min(differences) < 1e-4

    def test_numpy_network_equals_dlib_on_a_class_photo_with_threads(self, classroom):
        # About 33 faces: several chunks of 8 computed in two threads.
        image = rgb_of(classroom / "classes" / "0.jpg")
        boxes = [box for box, _ in hog.detect_faces(image, upsample=1)]
        dlib_descriptors = pipeline.compute_descriptors(image, boxes, engine="dlib")
        numpy_descriptors = pipeline.compute_descriptors(image, boxes, engine="numpy", threads=2)
        assert numpy_descriptors.shape == dlib_descriptors.shape == (len(boxes), 128)
        assert numpy_descriptors.dtype == np.float32
        assert np.abs(numpy_descriptors - dlib_descriptors).max() < 1e-4

    def test_numpy_network_refuses_a_file_that_is_not_the_resnet(self):
        from pathlib import Path

        from faces import model_files
        from faces.embedders.descriptor_net import DescriptorNet
        from faces.errors import ModelFileError

        resnet = Path(model_files.verified_path(model_files.RECOGNITION_MODEL)).read_bytes()
        landmarks = Path(model_files.verified_path(model_files.LANDMARKS_5_MODEL)).read_bytes()
        for wrong in (landmarks, resnet[: len(resnet) // 2], resnet + b"\x01\x00"):
            with pytest.raises(ModelFileError, match="not dlib's ResNet v1"):
                DescriptorNet(wrong)

    def test_concurrent_calls_from_threads_agree_and_leave_blas_threads_as_they_were(self, photo):
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_info

        image = rgb_of(photo("groups/obama_and_biden.jpg"))
        boxes = [box for box, _ in hog.detect_faces(image)]
        before = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
        expected = pipeline.compute_descriptors(image, boxes, threads=2)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: pipeline.compute_descriptors(image, boxes, threads=2), range(8)))
        assert all(np.array_equal(result, expected) for result in results)
        assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == before

    def test_unknown_descriptor_engine_is_refused(self, photo):
        image = rgb_of(photo("identities/Joe_Biden/1.jpg"))
        with pytest.raises(ValueError, match="engine"):
            pipeline.compute_descriptors(image, [FaceBox(0, 0, 50, 50)], engine="gpu")

    def test_detection_in_bands_finds_the_same_faces_as_one_pass(self, classroom):
        # A 1920 x 1080 class photo is split into two bands detected at once. Every face
        # found in one pass is found in bands too, on the same spot (HOG's cell grid
        # starts at each band's top, so a box may move a few pixels or change by one
        # pyramid step), and no face is found twice.
        def overlap(a, b):
            width = min(a.right, b.right) - max(a.left, b.left)
            height = min(a.bottom, b.bottom) - max(a.top, b.top)
            inter = max(0, width) * max(0, height)
            return inter / (a.width * a.height + b.width * b.height - inter)

        image = rgb_of(classroom / "classes" / "0.jpg")
        assert image.shape == (1080, 1920, 3)
        whole = [box for box, _ in hog.detect_faces(image, upsample=1)]
        bands = [box for box, _ in hog.detect_faces(image, upsample=1, threads=2)]
        assert len(whole) >= 25
        for box in whole:
            assert max(overlap(box, other) for other in bands) > 0.6
        for box in bands:
            assert sorted((overlap(box, other) for other in bands), reverse=True)[1] < 0.3

    def test_68_point_landmarks_give_a_different_but_compatible_descriptor(self, photo):
        image = rgb_of(photo("identities/Barack_Obama/1.jpg"))
        box = hog.detect_faces(image)[0][0]
        five = pipeline.compute_descriptors(image, [box], 5)[0]
        sixty_eight = pipeline.compute_descriptors(image, [box], 68)[0]
        assert 0 < np.linalg.norm(five - sixty_eight) < 0.2

    def test_same_person_is_near_and_different_people_far(self, photo):
        def descriptor(relative):
            return pipeline.find_faces(rgb_of(photo(relative)))[0].descriptor

        obama_1, obama_2 = descriptor("identities/Barack_Obama/1.jpg"), descriptor("identities/Barack_Obama/2.jpg")
        biden = descriptor("identities/Joe_Biden/1.jpg")
        assert np.linalg.norm(obama_1 - obama_2) < matching.DLIB_THRESHOLD
        assert np.linalg.norm(obama_1 - biden) > matching.DLIB_THRESHOLD


class TestEnrolmentFace:
    def test_single_face_is_selected(self, photo):
        faces = pipeline.find_faces(rgb_of(photo("identities/Joe_Biden/1.jpg")))
        assert enrolment.select_enrolment_face(faces) is faces[0]

    def test_no_face_is_refused(self, photo):
        with pytest.raises(NoFaceFound):
            enrolment.select_enrolment_face(pipeline.find_faces(rgb_of(photo("misc/dogs.jpg"))))

    def test_two_similar_faces_are_refused(self, photo):
        rgb = rgb_of(photo("groups/two_people.jpg"))
        faces = pipeline.find_faces(rgb)
        assert len(faces) == 2
        with pytest.raises(MultipleFacesFound, match="2 faces"):
            enrolment.select_enrolment_face(faces)
        # Neither face is at the centre either, so the centre rule does not pick one.
        with pytest.raises(MultipleFacesFound, match="alone at the centre"):
            enrolment.select_enrolment_face(faces, image_size=(rgb.shape[1], rgb.shape[0]))

    def test_centred_face_is_the_subject_even_when_a_bystander_is_as_large(self, photo):
        # Andre_Agassi/1.jpg: a bystander's face at the edge is 1.09x the area of Agassi's,
        # who is in the centre of the photo.
        rgb = rgb_of(photo("identities/Andre_Agassi/1.jpg"))
        faces = pipeline.find_faces(rgb)
        assert len(faces) == 2
        with pytest.raises(MultipleFacesFound):
            enrolment.select_enrolment_face(faces)
        chosen = enrolment.select_enrolment_face(faces, image_size=(rgb.shape[1], rgb.shape[0]))
        other = next(face for face in faces if face is not chosen)
        agassi = pipeline.find_faces(rgb_of(photo("identities/Andre_Agassi/2.jpg")))[0].descriptor
        assert np.linalg.norm(chosen.descriptor - agassi) < matching.DLIB_THRESHOLD
        assert np.linalg.norm(other.descriptor - agassi) > matching.DLIB_THRESHOLD

    def test_clearly_dominant_face_is_accepted(self, photo):
        # Gonzalo_Sanchez_de_Lozada/7.jpg: the labelled person's face has 4x the area
        # of a bystander's.
        faces = pipeline.find_faces(rgb_of(photo("identities/Gonzalo_Sanchez_de_Lozada/7.jpg")))
        assert len(faces) == 2
        chosen = enrolment.select_enrolment_face(faces)
        assert chosen.box.width == max(f.box.width for f in faces)


class TestMatching:
    def test_distance_matrix_is_euclidean(self):
        rng = np.random.default_rng(0)
        probes, gallery = rng.normal(size=(3, 128)), rng.normal(size=(5, 128))
        expected = np.linalg.norm(probes[:, None, :] - gallery[None, :, :], axis=2)
        assert np.allclose(matching.distance_matrix(probes, gallery), expected)

    def test_per_student_distance_is_smallest_over_their_descriptors(self):
        gallery = np.zeros((3, 128))
        gallery[1, 0] = 1.0
        gallery[2, 0] = 0.2
        distances, labels = matching.distances_per_label(np.zeros((1, 128)), gallery, ["a", "b", "b"])
        assert labels == ["a", "b"]
        assert distances[0].tolist() == pytest.approx([0.0, 0.2])

    def test_one_student_is_given_to_one_face_only(self):
        student = np.zeros(128)
        close, closer = student.copy(), student.copy()
        close[0], closer[0] = 0.3, 0.1
        result = matching.match_faces(np.stack([close, closer]), student[None, :], ["s"], threshold=0.6)
        assert [r.decision for r in result] == [matching.UNSURE, matching.MATCHED]
        assert result[1].label == "s"

    def test_face_beyond_threshold_is_unknown(self):
        probe = np.zeros(128)
        probe[0] = 0.7
        (result,) = matching.match_faces(probe[None, :], np.zeros((1, 128)), ["s"], threshold=0.6)
        assert result.decision == matching.UNKNOWN and result.label is None

    def test_close_call_between_two_students_is_unsure_with_a_margin(self):
        a, b, probe = np.zeros(128), np.zeros(128), np.zeros(128)
        b[0] = 0.5
        probe[0] = 0.24  # 0.24 from a, 0.26 from b
        (result,) = matching.match_faces(probe[None, :], np.stack([a, b]), ["a", "b"], threshold=0.6, margin=0.05)
        assert result.decision == matching.UNSURE and result.label == "a"
        (result,) = matching.match_faces(probe[None, :], np.stack([a, b]), ["a", "b"], threshold=0.6, margin=0.0)
        assert result.decision == matching.MATCHED

    @staticmethod
    def point(x, y=0.0):
        """A 128-D descriptor at (x, y, 0, ...): distances are plain geometry."""
        v = np.zeros(128)
        v[0], v[1] = x, y
        return v

    def test_a_face_is_never_given_the_student_it_fits_second_best(self):
        # Students a (at 0) and b (at 1.0). The face of a at 0.1; a stranger at 0.45,
        # within 0.58 of both a (0.45) and b (0.55): its best student a is taken by a's
        # own face, so it is unsure "maybe a", and absent b is not given to it.
        gallery, labels = np.stack([self.point(0), self.point(1.0)]), ["a", "b"]
        own, stranger = self.point(0.1), self.point(0.45)
        results = matching.match_faces(np.stack([own, stranger]), gallery, labels, threshold=0.58)
        assert [(r.decision, r.label) for r in results] == [("matched", "a"), ("unsure", "a")]
        assert results[1].reason == matching.CLOSER_FACE and results[1].candidates == ("a", "b")

    def test_a_face_clearly_of_another_student_does_not_take_a_student_from_their_own_face(self):
        # Students x (at 0) and y (at 1.0); y's face at 0.62 is nearer to x (0.62) than
        # x's own face at -0.7 is (0.7 from x), but y's face is y's (0.38). The faces
        # compared for x are those whose nearest student is x; strictly, every face.
        gallery, labels = np.stack([self.point(0), self.point(1.0)]), ["x", "y"]
        probes = np.stack([self.point(-0.7), self.point(0.62)])
        results = matching.match_faces(probes, gallery, labels, threshold=0.75)
        assert [(r.decision, r.label) for r in results] == [("matched", "x"), ("matched", "y")]
        strict = matching.match_faces(probes, gallery, labels, threshold=0.75, strict_mutual_best=True)
        assert [(r.decision, r.label, r.reason) for r in strict] == [("unsure", "x", matching.CLOSER_FACE),
                                                                     ("matched", "y", "")]

    def test_a_student_a_person_gave_to_another_face_is_taken(self):
        (result,) = matching.match_faces(self.point(0.1)[None, :], self.point(0)[None, :], ["a"], threshold=0.6,
                                         taken={"a"})
        assert (result.decision, result.label, result.reason) == ("unsure", "a", matching.TAKEN)

    def test_the_gallery_row_that_matched_is_reported(self):
        gallery = np.stack([self.point(0), self.point(0.3), self.point(2.0)])
        (result,) = matching.match_faces(self.point(0.28)[None, :], gallery, ["a", "a", "b"], threshold=0.6)
        assert (result.decision, result.gallery_row) == ("matched", 1)

    def test_threshold_tightens_with_the_gallery(self):
        assert matching.tightened_threshold(0.58, 1, 0.02) == pytest.approx(0.58)
        assert matching.tightened_threshold(0.58, 8, 0.02) == pytest.approx(0.52)
        (result,) = matching.match_faces(self.point(0.55)[None, :], self.point(0)[None, :], ["a"], threshold=0.58,
                                         label_thresholds={"a": 0.52})
        assert result.decision == "unknown"

    def test_a_face_much_smaller_than_its_photo_s_others_is_not_judged(self):
        probes = np.stack([self.point(0), self.point(5), self.point(10)])
        gallery = np.stack([self.point(0), self.point(5), self.point(10)])
        results = matching.decide_faces(probes, [80, 84, 30], gallery, ["a", "b", "c"], threshold=0.6,
                                        groups=[1, 1, 1], min_relative_width=0.5)
        assert [r.decision for r in results] == ["matched", "matched", "unsure"]
        assert results[2].label is None and results[2].reason == matching.SMALL_FOR_PHOTO

    def test_real_group_photo_matches_enrolled_people(self, photo):
        gallery = np.stack([
            pipeline.find_faces(rgb_of(photo("identities/Barack_Obama/1.jpg")))[0].descriptor,
            pipeline.find_faces(rgb_of(photo("identities/Joe_Biden/1.jpg")))[0].descriptor,
        ])
        probes = np.stack([f.descriptor for f in pipeline.find_faces(rgb_of(photo("groups/obama_and_biden.jpg")))])
        matched = {r.label for r in matching.match_faces(probes, gallery, ["obama", "biden"]) if r.decision == "matched"}
        assert matched == {"obama", "biden"}


class TestEnrolmentQualityGate:
    def gate(self, rgb):
        from faces import quality

        faces = pipeline.find_faces(rgb)
        face = enrolment.select_enrolment_face(faces)
        measured = pipeline.assess_quality(rgb, face)
        quality.check_enrolment_quality(measured)
        return measured

    def test_sharp_frontal_portrait_passes(self, photo):
        measured = self.gate(rgb_of(photo("identities/Joe_Biden/1.jpg")))
        assert measured.width > 200 and measured.sharpness > 50 and abs(measured.yaw) < 0.2

    def test_blurred_photo_is_refused(self, photo):
        from PIL import ImageFilter

        from faces.quality import FaceTooBlurry

        blurred = Image.open(photo("identities/Joe_Biden/1.jpg")).filter(ImageFilter.GaussianBlur(8))
        with pytest.raises(FaceTooBlurry, match="too blurred"):
            self.gate(np.asarray(blurred.convert("RGB")))

    def test_small_face_is_refused_with_its_size(self, photo):
        from faces.quality import FaceTooSmall

        image = Image.open(photo("identities/Joe_Biden/1.jpg"))
        small = image.resize((image.width // 8, image.height // 8))
        with pytest.raises(FaceTooSmall, match=r"only \d+ pixels wide"):
            self.gate(np.asarray(small.convert("RGB")))

    @pytest.mark.parametrize("relative", ["identities/Bill_Simon/6.jpg", "identities/Carlos_Menem/3.jpg"])
    def test_head_turned_away_is_refused(self, photo, relative):
        from faces.quality import FaceNotFrontal

        with pytest.raises(FaceNotFrontal, match="not looking at the camera"):
            self.gate(rgb_of(photo(relative)))


def test_gallery_index_finds_the_same_nearest_as_brute_force():
    rng = np.random.default_rng(3)
    gallery = rng.normal(0, 0.09, size=(5000, 128)).astype(np.float32)
    probe = gallery[1234] + rng.normal(0, 0.01, size=128).astype(np.float32)
    indices, distances = matching.GalleryIndex(gallery).nearest(probe, k=3)
    brute = np.linalg.norm(gallery.astype(np.float64) - probe, axis=1)
    assert indices[0] == 1234
    assert list(indices) == list(np.argsort(brute)[:3])
    assert np.allclose(distances, np.sort(brute)[:3], atol=1e-4)


@pytest.mark.parametrize("size", [1, 2047, 2048, 6001])
def test_gallery_index_chunks_give_the_brute_force_answer(size):
    # Sizes around and across matching.GALLERY_CHUNK_ROWS (2048): the chunked products
    # must cover every row once, the last chunk being partial.
    rng = np.random.default_rng(size)
    gallery = rng.normal(0, 0.09, size=(size, 128)).astype(np.float32)
    index = matching.GalleryIndex(gallery)
    for probe in [gallery[-1] + 0.001, rng.normal(0, 0.09, size=128).astype(np.float32)]:
        brute = np.linalg.norm(gallery.astype(np.float64) - probe, axis=1)
        nearest, distance = index.nearest(probe)
        assert list(nearest) == [int(np.argmin(brute))] and np.allclose(distance, brute.min(), atol=1e-4)
        indices, distances = index.nearest(probe, k=5)
        assert list(indices) == list(np.argsort(brute)[:5])
        assert np.allclose(distances, np.sort(brute)[:5], atol=1e-4)


def test_second_detection_pass_only_when_faces_are_near_the_floor(photo):
    from PIL import Image as PILImage

    portrait = PILImage.open(photo("identities/Joe_Biden/1.jpg")).convert("RGB")
    # Eight copies of a face about 45 px wide on a canvas: near HOG's floor at upsample 1.
    canvas = PILImage.new("RGB", (1200, 300), (128, 128, 128))
    for i in range(8):
        canvas.paste(portrait.resize((90, 204)), (20 + i * 145, 40))
    image = np.asarray(canvas)
    once = hog.detect_faces(image, upsample=1)
    assert once and all(box.width < 56 for box, _ in once)
    adaptive = hog.detect_faces_adaptive(image, upsample=1, small_face_px=56)
    assert adaptive == hog.detect_faces(image, upsample=2)
    large = rgb_of(photo("identities/Joe_Biden/1.jpg"))
    assert hog.detect_faces_adaptive(large, upsample=1, small_face_px=56) == hog.detect_faces(large, upsample=1)
