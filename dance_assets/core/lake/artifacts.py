"""What a trained model leaves in its folder (Lake.model_dir), by name.

Training writes these; evaluation, scoring and the registry of current models read
them, and none of those readers needs the training module (or torch) for that.
"""

EXPORT_NAME = "learner.pkl"  # fastai's Learner.export, to train on or inspect in Python
# uint8 images in, probabilities out, for ONNX Runtime: evaluation and scoring run it
# without torch or fastai, so the scoring command starts in a fraction of a second.
PROGRAM_NAME = "model.onnx"
WEIGHTS_NAME = "weights.pth"  # the network's state_dict
CARD_NAME = "model_card.json"  # everything prediction depends on, and how it was trained
