"""Training the classifiers: the frame CNNs (training.py with its loader
cache, augmentation, losses, callbacks and pretrained weights) and the skeleton model
(pose_model.py), what the two share (learners.py), running either once exported
(inference.py), and the registry of trained models and their cards. It reads the
curated manifest, never the evaluation or scoring built on top of it.
"""
