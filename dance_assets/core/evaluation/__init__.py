"""Judging trained classifiers on held-out videos: frame and video
predictions, confusion and per-class scores (evaluation.py) and the comparison of
every model the lake holds (comparison.py).
"""
