"""The face engine: decoding photos, finding faces, face descriptors and matching.

Nothing here knows about HTTP or Django. Functions take and return plain Python
values and numpy arrays; dlib objects stay private to this package.
"""
