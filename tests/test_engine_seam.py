"""The face engine's seam (faces.interfaces, faces.pipeline): any detector object can feed the
pipeline, model ids name what made a descriptor, the quality gate takes the pipeline's
landmarks, and faces/ stays free of Django. Real photos and the real dlib models."""
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

import faces
from faces import FaceBox, images, pipeline, quality
from faces.embedders import DESCRIPTOR_SIZE, make_embedder
from faces.embedders.dlib_resnet import DlibResNetEmbedder
from faces.interfaces import Detector, Embedder

pytestmark = pytest.mark.engine

REPO = Path(__file__).resolve().parent.parent


class AnnotatedBoxes:
    """A detector that "finds" the faces dlib's imglab annotations give for a photo
    (../shared/faces/groups/testing.xml): a second backend made of real, hand-drawn boxes."""

    def __init__(self, annotations, file_name: str):
        image = next(element for element in ElementTree.parse(annotations).getroot().iter("image")
                     if element.get("file") == file_name)
        self.boxes = [FaceBox(int(b.get("left")), int(b.get("top")), int(b.get("left")) + int(b.get("width")),
                              int(b.get("top")) + int(b.get("height")))
                      for b in image.iter("box") if b.get("ignore") != "1"]

    def detect(self, image: np.ndarray) -> list[tuple[FaceBox, float]]:
        return [(box, 1.0) for box in self.boxes]


def rgb_of(path):
    return images.load_rgb(path.read_bytes())


def test_the_pipeline_takes_any_object_meeting_the_detector_interface(photo):
    # 2008_002506.jpg: three people, faces of 90-109 px, boxes drawn by hand for dlib.
    detector = AnnotatedBoxes(photo("groups/testing.xml"), "2008_002506.jpg")
    assert isinstance(detector, Detector) and len(detector.boxes) == 3
    rgb = rgb_of(photo("groups/2008_002506.jpg"))
    annotated = faces.run(rgb, detector, make_embedder())
    assert [face.box for face in annotated] == detector.boxes
    assert all(face.descriptor.shape == (DESCRIPTOR_SIZE,) and face.landmarks.shape == (5, 2) for face in annotated)
    # The same descriptors as for those boxes computed directly ...
    direct = faces.compute_descriptors(rgb, detector.boxes)
    assert np.array_equal(np.stack([face.descriptor for face in annotated]), direct)
    # ... and each of the three people found by HOG is one of them: near one annotated
    # face (a slightly different box gives slightly different landmarks), far from the others.
    found = faces.find_faces(rgb)
    assert len(found) == 3
    nearest = []
    for face in found:
        distances = sorted((np.linalg.norm(face.descriptor - other.descriptor), i) for i, other in enumerate(annotated))
        assert distances[0][0] < 0.2 and distances[1][0] > faces.DEFAULT_THRESHOLD
        nearest.append(distances[0][1])
    assert sorted(nearest) == [0, 1, 2]


def test_model_id_names_the_landmarks_but_not_the_engine(photo):
    assert faces.model_id() == faces.model_id(landmark_points=5) == "dlib-resnet-v1/5pt"
    assert faces.model_id(landmark_points=68) == "dlib-resnet-v1/68pt"
    numpy_engine, dlib_engine = DlibResNetEmbedder(engine="numpy"), DlibResNetEmbedder(engine="dlib")
    assert isinstance(numpy_engine, Embedder)
    assert numpy_engine.model_id == dlib_engine.model_id == faces.model_id(5)
    assert DlibResNetEmbedder(landmark_points=68, engine="dlib").model_id == faces.model_id(68)
    assert (numpy_engine.descriptor_size, numpy_engine.default_threshold) == (128, 0.6)
    # Why: on a real face the two engines agree, while the 68-point chips give another descriptor.
    rgb = rgb_of(photo("identities/Joe_Biden/1.jpg"))
    box = faces.find_faces(rgb)[0].box
    by_numpy, by_dlib = (pipeline.compute_descriptors(rgb, [box], engine=engine)[0] for engine in ("numpy", "dlib"))
    with_68 = pipeline.compute_descriptors(rgb, [box], landmark_points=68)[0]
    assert np.abs(by_numpy - by_dlib).max() < 1e-4
    assert np.linalg.norm(by_numpy - with_68) > 1e-2
    with pytest.raises(ValueError, match="5 or 68"):
        faces.model_id(landmark_points=7)


def test_attendance_stamps_the_model_id_of_its_landmark_setting(settings):
    from attendance import engine

    settings.FACE_LANDMARK_POINTS = 5
    assert engine.model_id() == faces.model_id(5)
    settings.FACE_LANDMARK_POINTS = 68
    assert engine.model_id() == faces.model_id(68)
    settings.FACE_DESCRIPTOR_ENGINE = "dlib"
    assert engine.model_id() == faces.model_id(68)


def test_the_quality_gate_measures_the_pipeline_s_5_point_landmarks_whatever_the_setting(photo):
    rgb = rgb_of(photo("identities/Joe_Biden/1.jpg"))
    (five,), (sixty_eight,) = faces.find_faces(rgb), faces.find_faces(rgb, landmark_points=68)
    assert five.landmarks.shape == (5, 2) and sixty_eight.landmarks.shape == (68, 2)
    measured = faces.assess_quality(rgb, five)
    assert faces.assess_quality(rgb, sixty_eight) == measured
    assert measured.width == five.box.width and measured.sharpness > 50 and abs(measured.yaw) < 0.2
    with pytest.raises(ValueError, match="5 landmark points"):
        quality.assess_face(five.box, sixty_eight.landmarks, np.zeros((150, 150, 3), np.uint8))


def test_the_engine_package_lists_its_api_and_knows_nothing_of_django_or_dlib_at_import():
    assert all(hasattr(faces, name) for name in faces.__all__)
    code = "import sys, faces; print(sorted(m for m in ('django', 'dlib') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    for module in (REPO / "faces").rglob("*.py"):
        assert not re.search(r"^\s*(import|from) django", module.read_text(), re.MULTILINE), module
    assert "import dlib" not in (REPO / "faces" / "quality.py").read_text()


def test_the_face_detector_setting_chooses_the_backend_the_app_uses(photo, settings, monkeypatch, db):
    """A backend listed in faces.detectors.DETECTORS is used by the app once FACE_DETECTOR
    names it (attendance.engine.find_faces: enrolment and class photos); an unknown name
    stops the start (system check attendance.E003)."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from attendance import engine
    from faces import detectors

    annotated = AnnotatedBoxes(photo("groups/testing.xml"), "2008_002506.jpg")
    monkeypatch.setitem(detectors.DETECTORS, "annotated", lambda **options: annotated)
    rgb = rgb_of(photo("groups/2008_002506.jpg"))
    assert [face.box for face in engine.find_faces(rgb)] != annotated.boxes  # HOG's own boxes
    settings.FACE_DETECTOR = "annotated"
    assert [face.box for face in engine.find_faces(rgb)] == annotated.boxes
    call_command("check")
    settings.FACE_DETECTOR = "cnn-typo"
    with pytest.raises(SystemCheckError, match="FACE_DETECTOR is 'cnn-typo'"):
        call_command("check")
