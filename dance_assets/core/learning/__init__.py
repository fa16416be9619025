"""Training the classifiers: the frame CNNs (training.py, with its frame cache,
augmentation, losses, callbacks, pretrained weights, where it computes (compute.py) and
what it exports (cnn_export.py)) and the skeleton model (pose_model.py), what the two
share (learners.py), running either once exported (inference.py), and the registry of
trained models and their cards. It reads the curated manifest, never the evaluation or
scoring built on top of it.
"""
