"""The tests' descriptor cache returns exactly what the real engine returns (tests/descriptor_cache.py)."""
import numpy as np
import pytest

from attendance import engine

from .descriptor_cache import DescriptorCache



def same_faces(ours, theirs) -> bool:
    return len(ours) == len(theirs) and all(
        a.box == b.box and a.detection_score == b.detection_score and a.descriptor.dtype == b.descriptor.dtype
        and np.array_equal(a.descriptor, b.descriptor) for a, b in zip(ours, theirs))


@pytest.mark.engine  # engine.find_faces is the real function here
def test_cache_returns_the_engines_faces_on_a_miss_and_on_a_hit(photo):
    cache = DescriptorCache(engine.find_faces)
    for relative in ("groups/obama_and_biden.jpg", "identities/Joe_Biden/1.jpg", "misc/dogs.jpg"):
        rgb = engine.decode_photo(photo(relative).read_bytes())
        real = engine.find_faces(rgb)
        first, second = cache(rgb), cache(rgb.copy())
        assert same_faces(first, real) and same_faces(second, real), relative
    assert (cache.misses, cache.hits) == (3, 3)
    assert len(real) == 0 and len(first) == 0  # dogs.jpg: no face, remembered as such


@pytest.mark.engine  # engine.find_faces is the real function here
def test_a_hit_is_a_copy_with_the_timings_measured_by_the_engine(photo):
    cache = DescriptorCache(engine.find_faces)
    rgb = engine.decode_photo(photo("identities/Joe_Biden/1.jpg").read_bytes())
    measured, replayed = {}, {}
    first = cache(rgb, measured)
    first[0].descriptor[:] = 0  # a caller changing its copy changes nothing stored
    again = cache(rgb, replayed)
    assert same_faces(again, engine.find_faces(rgb))
    assert replayed == measured and measured["detection"] > 0 and measured["descriptors"] > 0


@pytest.mark.engine  # engine.find_faces is the real function here
def test_other_pixels_or_other_face_settings_run_the_engine_again(photo, settings):
    cache = DescriptorCache(engine.find_faces)
    rgb = engine.decode_photo(photo("identities/Joe_Biden/1.jpg").read_bytes())
    five_points = cache(rgb)
    changed = rgb.copy()
    changed[0, 0, 0] ^= 1
    cache(changed)
    settings.FACE_LANDMARK_POINTS = 68 if settings.FACE_LANDMARK_POINTS == 5 else 5
    other_landmarks = cache(rgb)
    assert cache.misses == 3 and cache.hits == 0
    assert same_faces(other_landmarks, engine.find_faces(rgb))
    assert not np.array_equal(other_landmarks[0].descriptor, five_points[0].descriptor)


@pytest.mark.engine
def test_a_test_marked_engine_runs_the_real_engine(descriptor_cache):
    assert engine.find_faces is descriptor_cache.find_faces


def test_other_tests_use_the_session_cache(descriptor_cache):
    assert engine.find_faces is descriptor_cache
