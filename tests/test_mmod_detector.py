"""dlib's MMOD CNN face detector run with numpy (faces/detectors/mmod*.py): the same boxes and
scores as dlib's own ``cnn_face_detection_model_v1`` on real photos (with ONNX Runtime and
with numpy), faces HOG misses, the detector seam ("mmod" in DETECTORS) and a damaged model
file refused. Real photos from
../shared/faces and the real model file of face-recognition-models."""
from pathlib import Path

import cv2
import dlib
import numpy as np
import pytest

import faces
from faces import images, model_files
from faces.detectors import DETECTORS, hog, make_detector
from faces.detectors.mmod import MmodDetector, detect_raw, score_map
from faces.detectors.mmod_net import MmodNet
from faces.detectors.mmod_pyramid import pyramid_rects
from faces.errors import ModelFileError
from faces.interfaces import Detector

pytestmark = pytest.mark.engine


def rgb_of(path: Path) -> np.ndarray:
    return images.load_rgb(path.read_bytes())


@pytest.fixture(scope="module")
def dlib_cnn():
    return dlib.cnn_face_detection_model_v1(model_files.verified_path(model_files.MMOD_MODEL))


# Small photos so that dlib's own detector (no BLAS in dlib-bin) takes at most ~1 s each:
# 150 x 150 LFW crops whose face HOG misses (one with a second, cut face), a group photo at
# its own size (faces of 80-115 px) and halved (40-57 px: found once upsampled).
PARITY_CASES = [
    ("identities/Jacques_Chirac/6.jpg", 1, 1.0),
    ("identities/Rudolph_Giuliani/7.jpg", 1, 1.0),
    ("identities/Anna_Kournikova/5.jpg", 1, 1.0),
    ("groups/2008_002506.jpg", 0, 1.0),
    ("groups/2008_002506.jpg", 1, 0.5),
]


@pytest.mark.parametrize("name, upsample, scale", PARITY_CASES)
def test_boxes_and_scores_are_dlibs_own(photo, dlib_cnn, name, upsample, scale):
    rgb = rgb_of(photo(name))
    if scale != 1.0:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    theirs = [((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()), d.confidence)
              for d in dlib_cnn(rgb, upsample)]
    assert theirs, "each case has at least one face for dlib"
    for engine in ("onnxruntime", "numpy"):
        ours = detect_raw(rgb, upsample=upsample, threads=2, engine=engine)
        assert len(ours) == len(theirs), engine
        for (box, score), (their_box, their_score) in zip(ours, theirs):
            assert max(abs(a - b) for a, b in zip(box, their_box)) <= 1, engine
            assert abs(score - their_score) < 1e-3, engine


def test_finds_the_faces_hog_misses(photo):
    # Three LFW crops (150 x 150) where HOG finds no face even upsampled twice.
    for name in ("Jacques_Chirac/6.jpg", "Rudolph_Giuliani/7.jpg", "Anna_Kournikova/5.jpg"):
        rgb = rgb_of(photo("identities") / name)
        assert hog.detect_faces(rgb, upsample=2) == []
        found = MmodDetector(upsample=1).detect(rgb)
        assert found, name
        # The crop's subject is the best-scoring face, in the middle of the crop.
        box, score = found[0]
        assert score > 0.5
        assert 40 <= (box.left + box.right) / 2 <= 110 and 40 <= (box.top + box.bottom) / 2 <= 110
        assert 35 <= box.width <= 75


def test_is_the_mmod_detector_backend_of_the_pipeline(photo):
    assert DETECTORS["mmod"] is MmodDetector
    detector = make_detector("mmod", upsample=1, max_side=250, small_face_px=56, threads=2)
    assert isinstance(detector, Detector)
    rgb = rgb_of(photo("groups/2008_002506.jpg"))  # 500 x 375, three faces of 80-115 px
    full = MmodDetector(upsample=0).detect(rgb)
    halved = detector.detect(rgb)
    assert len(full) == 3 and len(halved) == 3
    # Detection on the photo scaled to 250 px wide and upsampled once, boxes mapped back
    # to the photo's pixels.
    for box in (b for b, _ in halved):
        nearest = min((b for b, _ in full), key=lambda other: abs(other.left - box.left) + abs(other.top - box.top))
        assert abs(nearest.left - box.left) < 25 and abs(nearest.width - box.width) < 30
    found = faces.find_faces(rgb, upsample=0, detector="mmod")
    assert [face.box for face in found] == [box for box, _ in full]
    assert all(face.descriptor.shape == (faces.DESCRIPTOR_SIZE,) for face in found)


def test_the_tiled_pyramid_is_dlibs_layout():
    # 500 x 375 (groups/2008_002506.jpg): the photo at the top left, the next four levels
    # (416 x 312 ... 240 x 180) below it, then the smaller copies up the right-hand side
    # from the bottom, 10 px apart and 11 px from the edges.
    rects, height, width = pyramid_rects(375, 500, 10, 11)
    assert rects[:2] == [(11, 11, 510, 385), (11, 396, 426, 707)]
    assert rects[4:6] == [(11, 1214, 250, 1393), (311, 1244, 510, 1393)]
    assert (height, width) == (1405, 522) and len(rects) == 22
    assert all(right <= width - 1 and bottom <= height - 1 for _, _, right, bottom in rects)
    # Every level is 5/6 of the one before (rounded down) and none overlaps another.
    sizes = [(r - l + 1, b - t + 1) for l, t, r, b in rects]
    assert all(w == int(prev_w * 5 / 6) for (prev_w, _), (w, _) in zip(sizes, sizes[1:]))
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]


def test_a_damaged_or_other_model_file_is_refused():
    data = Path(model_files.verified_path(model_files.MMOD_MODEL)).read_bytes()
    net = MmodNet(data)
    assert net.window == (80, 80) and len(net.layers) == 7
    with pytest.raises(ModelFileError):
        MmodNet(data[:-100])
    with pytest.raises(ModelFileError):
        MmodNet(Path(model_files.verified_path(model_files.RECOGNITION_MODEL)).read_bytes())


def test_onnx_runtime_and_numpy_give_the_same_scores(photo):
    net = model_files.mmod_net()
    from faces.detectors.mmod_pyramid import tiled_pyramid

    tensor, _ = tiled_pyramid(rgb_of(photo("groups/2008_002506.jpg")), net.means, net.padding, net.outer_padding)
    by_onnx = score_map(tensor, net, threads=2, engine="onnxruntime")
    by_numpy = score_map(tensor, net, threads=2, engine="numpy")
    assert by_onnx.shape == by_numpy.shape == (173, 62)
    assert np.abs(by_onnx - by_numpy).max() < 1e-4
    # Three faces: three separate places score above 0 (before non-max suppression).
    assert (by_onnx > 0).sum() >= 3
    with pytest.raises(ValueError):
        score_map(tensor, net, engine="gpu")
    # A photo of a few pixels (a pyramid too small for the stride-2 layers) has no face.
    for shape in ((1, 1, 3), (3, 200, 3), (6, 6, 3)):
        assert detect_raw(np.full(shape, 128, np.uint8), upsample=0, engine="onnxruntime") == []


def test_face_detector_mmod_is_what_the_app_then_uses(photo, settings, db):
    """FACE_DETECTOR=mmod passes the start's check (attendance.E003) and the app's
    find_faces (enrolment and class photos) then gives the CNN's boxes."""
    from django.core.management import call_command

    from attendance import engine

    rgb = rgb_of(photo("groups/2008_002506.jpg"))
    settings.FACE_DETECTOR = "mmod"
    settings.FACE_DETECTION_UPSAMPLE = 0
    call_command("check")
    found = engine.find_faces(rgb)
    assert [face.box for face in found] == [box for box, _ in MmodDetector(upsample=0).detect(rgb)]
    assert len(found) == 3


def test_the_start_check_names_a_damaged_mmod_file_when_the_setting_uses_it(settings, tmp_path, monkeypatch, db):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    good = model_files.models_dir()
    for name in (model_files.LANDMARKS_5_MODEL, model_files.RECOGNITION_MODEL, model_files.MMOD_MODEL):
        data = bytearray((good / name).read_bytes())
        if name == model_files.MMOD_MODEL:
            data[len(data) // 2] ^= 0x01
        (tmp_path / name).write_bytes(bytes(data))
    monkeypatch.setenv("FACE_MODELS_DIR", str(tmp_path))
    model_files.verified_path.cache_clear()
    try:
        settings.FACE_DETECTOR = "hog"
        call_command("check")  # HOG needs no file
        settings.FACE_DETECTOR = "mmod"
        with pytest.raises(SystemCheckError, match=r"attendance.E001.*mmod_human_face_detector.dat"):
            call_command("check")
    finally:
        monkeypatch.delenv("FACE_MODELS_DIR")
        model_files.verified_path.cache_clear()
