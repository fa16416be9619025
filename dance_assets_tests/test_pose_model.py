"""The pose model, the choreography references and the alignment behind the score."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pytest
import torch

from dance_assets.core.ingest.pose_features import (
    JOINT_NAMES,
    MIRRORED,
    STEP_FEATURES,
    frame_windows,
    mirror,
    mirror_permutation,
    normalise,
    skeletons_of,
    windows,
)
from dance_assets.core.lake import tables
from dance_assets.core.learning.card import read_card
from dance_assets.core.learning.inference import load_network, predict_windows
from dance_assets.core.learning.pose_model import mirror_averaged, pose_network
from dance_assets.core.scoring.routines import (
    RECOGNISED_FROM,
    Reference,
    align_to_routine,
    barycentre,
    nearest_dance,
    references_from_table,
    references_table,
)
from dance_assets_tests.helpers import materialize, resources_for

# A standing body in torso lengths from the hips (y down), in pose_features.JOINTS order.
STANDING = np.array([[0, -1.5], [-0.4, -1], [0.4, -1], [-0.6, -0.5], [0.6, -0.5], [-0.7, 0],
                     [0.7, 0], [-0.2, 0], [0.2, 0], [-0.25, 1], [0.25, 1], [-0.25, 2],
                     [0.25, 2]], np.float32)


def _key_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    """n distinct poses: arms and legs moved from standing; torso kept."""
    poses = np.repeat(STANDING[None], n, axis=0)
    limbs = [3, 4, 5, 6, 9, 10, 11, 12]
    poses[:, limbs] += rng.uniform(-0.8, 0.8, (n, len(limbs), 2)).astype(np.float32)
    return poses


def _performance(keys: np.ndarray, rng: np.random.Generator, seconds: int = 12,
                 noise: float = 0.04) -> np.ndarray:
    """The dance's key poses in order, from a random place in the loop, at a random tempo
    (0.8-1.25 key poses per second), with a little noise."""
    phase, tempo = rng.uniform(0, len(keys)), rng.uniform(0.8, 1.25)
    index = (phase + tempo * np.arange(seconds)).astype(int) % len(keys)
    return keys[index] + rng.normal(0, noise, (seconds, *keys.shape[1:])).astype(np.float32)


@pytest.fixture(scope="module")
def dances():
    rng = np.random.default_rng(7)
    return {name: _key_poses(rng, 6) for name in ("one", "two", "three", "four")}


@pytest.fixture(scope="module")
def references(dances):
    rng = np.random.default_rng(8)
    built = {}
    for name, keys in dances.items():
        performances = [_performance(keys, rng) for _ in range(6)]
        performances[1] = mirror(performances[1])  # one trainee dances it as in a mirror
        reference, spread = barycentre(performances)
        own = np.median([align_to_routine(p, reference).cost for p in performances])
        built[name] = (reference, spread, own)
    others = {name: np.median([align_to_routine(_performance(keys, rng), built[name][0]).cost
                               for other, keys in dances.items() if other != name])
              for name in dances}
    return {name: Reference(dance=name, skeletons=ref, spread=spread, own_cost=float(own),
                            other_cost=float(others[name]), n_videos=6)
            for name, (ref, spread, own) in built.items()}


def test_normalised_skeletons_ignore_where_and_how_big():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.3, 0.7, 33).astype(np.float32), rng.uniform(0.2, 0.9, 33).astype(
        np.float32)
    base = normalise(x, y, 360, 640)
    moved = normalise(0.5 * x + 0.1, 0.5 * y + 0.3, 360, 640)  # half the size, elsewhere
    assert moved == pytest.approx(base, abs=1e-5)
    hips = base[[7, 8]].mean(axis=0)
    shoulders = base[[1, 2]].mean(axis=0)
    assert hips == pytest.approx([0, 0], abs=1e-6)
    assert float(np.linalg.norm(shoulders - hips)) == pytest.approx(1.0, abs=1e-5)


def test_mirror_swaps_sides_and_is_its_own_inverse():
    skeleton = STANDING + np.arange(26, dtype=np.float32).reshape(13, 2) / 100
    flipped = mirror(skeleton)
    assert mirror(flipped) == pytest.approx(skeleton)
    left_wrist, right_wrist = JOINT_NAMES.index("left wrist"), JOINT_NAMES.index("right wrist")
    assert flipped[left_wrist, 0] == pytest.approx(-skeleton[right_wrist, 0])
    assert all(JOINT_NAMES[MIRRORED[i]].replace("left", "right") == name.replace("left",
               "right") for i, name in enumerate(JOINT_NAMES))
    # The flat-feature permutation the exported model uses agrees with mirror().
    index, sign = mirror_permutation()
    step = np.append(skeleton.reshape(-1), 1.0)
    assert (step[index] * sign)[:-1].reshape(13, 2) == pytest.approx(flipped)


def test_windows_mark_the_seconds_without_a_pose():
    skeletons = np.stack([STANDING + i for i in range(3)])
    out = windows(np.array([0, 1, 3]), skeletons, [1, 3], width=3)
    assert out.shape == (2, 3, STEP_FEATURES)
    assert out[0, :, -1].tolist() == [1, 1, 0]  # seconds 0, 1 posed; 2 not
    assert out[1, :, -1].tolist() == [0, 1, 0]  # second 2 missing, 3 posed, 4 past the end
    assert out[0, 1, :-1] == pytest.approx((STANDING + 1).reshape(-1))
    assert not out[1, 0].any()


def test_a_dance_scores_highest_against_its_own_reference(dances, references):
    rng = np.random.default_rng(9)
    for name, keys in dances.items():
        for _ in range(5):
            performance = _performance(keys, rng)
            scores = {other: ref.score(align_to_routine(performance, ref.skeletons).cost)
                      for other, ref in references.items()}
            assert max(scores, key=scores.get) == name, scores
            assert scores[name] >= 60


def test_standing_still_is_no_dance_and_a_dance_is_recognised(dances, references):
    rng = np.random.default_rng(13)
    still = STANDING[None] + rng.normal(0, 0.03, (12, *STANDING.shape)).astype(np.float32)
    name, score = nearest_dance(still, references)
    assert score < RECOGNISED_FROM, (name, score)
    assert nearest_dance(_performance(dances["four"], rng), references)[0] == "four"
    assert nearest_dance(_performance(dances["four"], rng), references)[1] >= RECOGNISED_FROM


def test_a_long_video_goes_round_the_reference_as_often_as_it_needs(dances, references):
    rng = np.random.default_rng(12)
    short = _performance(dances["three"], rng, seconds=12)
    long = _performance(dances["three"], rng, seconds=90)
    reference = references["three"]
    assert len(long) > 4 * len(reference.skeletons)
    short_score = reference.score(align_to_routine(short, reference.skeletons).cost)
    long_score = reference.score(align_to_routine(long, reference.skeletons).cost)
    assert long_score >= 60 and abs(long_score - short_score) <= 10


def test_the_same_poses_in_the_wrong_order_score_lower(dances, references):
    rng = np.random.default_rng(10)
    lower = []
    for name, keys in dances.items():
        for _ in range(10):
            performance = _performance(keys, rng)
            shuffled = performance[rng.permutation(len(performance))]
            ref = references[name]
            lower.append(ref.score(align_to_routine(shuffled, ref.skeletons).cost) <
                         ref.score(align_to_routine(performance, ref.skeletons).cost))
    assert np.mean(lower) >= 0.95


def test_a_mirrored_dancer_scores_as_well(dances, references):
    rng = np.random.default_rng(11)
    performance = _performance(dances["two"], rng)
    reference = references["two"]
    as_filmed = align_to_routine(performance, reference.skeletons)
    mirrored = align_to_routine(mirror(performance), reference.skeletons)
    assert mirrored.cost == pytest.approx(as_filmed.cost, rel=1e-4)
    assert as_filmed.mirrored != mirrored.mirrored


def test_references_survive_the_table(references):
    table = references_table(list(references.values()))
    assert set(table.columns) == set(tables.SCHEMAS["choreography"].names)
    back = references_from_table(tables.to_arrow("choreography", table).to_pandas())
    for name, ref in references.items():
        assert back[name].skeletons == pytest.approx(ref.skeletons)
        assert back[name].spread == pytest.approx(ref.spread)
        assert back[name].score(ref.own_cost) == ref.score(ref.own_cost) == 88


def test_the_exported_pose_model_does_not_care_about_mirrors():
    torch.manual_seed(0)
    model = mirror_averaged(pose_network(3, 4, 32, 0.0).eval())
    batch = torch.randn(5, 3, STEP_FEATURES)
    batch[..., -1] = 1
    index, sign = mirror_permutation()
    flipped = batch[..., torch.from_numpy(index)] * torch.from_numpy(sign)
    with torch.no_grad():
        assert model(flipped) == pytest.approx(model(batch), abs=1e-6)
        assert model(batch).sum(dim=1) == pytest.approx(torch.ones(5), abs=1e-5)


@pytest.mark.slow
def test_pose_model_and_choreography_materialize_and_evaluate(instance, curated_tiny_lake):
    from dance_assets.assets.choreography import choreography
    from dance_assets.assets.evaluation import evaluation_assets
    from dance_assets.assets.models import pose_sequence_model

    lake = curated_tiny_lake
    evaluation = next(a for a in evaluation_assets
                      if a.key == dg.AssetKey(["evaluation", "pose_sequence"]))
    assert materialize([choreography], instance=instance,
                       resources=resources_for(lake)).success
    result = materialize(
        [pose_sequence_model, evaluation], partition_key="by_participant", instance=instance,
        resources=resources_for(lake), raise_on_error=False,
        run_config={"ops": {"models__pose_sequence": {"config": {
            "epochs": 20, "significance": 1.0}}}})
    assert result.success
    folder = lake.models / "by_participant" / "pose_sequence"
    card = read_card(folder / "model_card.json")
    assert (card.input, card.window, card.image_size) == ("pose", 3, None)
    assert card.training.settings["epochs"] == 20 and len(card.training.history) == 20
    materialization = next(m for m in result.get_asset_materialization_events()
                           if m.asset_key == dg.AssetKey(["models", "pose_sequence"]))
    meta = materialization.step_materialization_data.materialization.metadata
    assert "data:image/png;base64," in meta["what_the_model_sees"].value
    assert meta["window_seconds"].value == 3

    # The ONNX graph, which evaluation and score run, agrees with the trained network.
    manifest = tables.read_table(lake, "frame_manifest")
    valid = manifest[manifest["keep"] & (manifest["split_by_participant"] == "valid")]
    skeletons = skeletons_of(tables.read_table(lake, "poses"), tables.read_table(lake, "frames"))
    inputs = frame_windows(skeletons, valid, 3)
    network = load_network(folder)
    state = torch.load(folder / "weights.pth", weights_only=True)
    torch_model = pose_network(3, len(card.classes), 256, 0.3)
    torch_model.load_state_dict(state)
    with torch.no_grad():
        expected = mirror_averaged(torch_model.eval())(torch.from_numpy(inputs)).numpy()
    assert predict_windows(network, inputs) == pytest.approx(expected, abs=1e-5)

    metrics = tables.read_table(lake, "model_metrics")
    row = metrics[metrics["arch"] == "pose_sequence"].iloc[0]
    assert row["n_valid_frames"] == len(valid) and row["protocol"] == "by_participant"
    assert tables.read_table(lake, "predictions")["arch"].eq("pose_sequence").sum() == len(valid)
    reference = tables.read_table(lake, "choreography")
    assert sorted(reference["dance_class"].unique()) == ["renegade", "savage", "say_so"]
    assert (lake.reports / "choreography.png").is_file()
