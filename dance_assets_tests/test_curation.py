"""Cleaning verdicts, human decisions and the two split protocols."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from dance_assets import checks
from dance_assets.core.curation.cleaning import CleaningThresholds, automatic_verdicts
from dance_assets.core.curation.decisions import read_decisions, record_decisions
from dance_assets.core.curation.manifest import ManifestSettings, build_manifest
from dance_assets.core.curation.splits import _uniform, split_by_participant, split_random_frames
from dance_assets.core.ingest.quality import video_features
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.lake.lake import Lake
from dance_assets_tests.helpers import hand_made_person, hand_made_room

SETTINGS = ManifestSettings(CleaningThresholds())
NO_DECISIONS = pd.DataFrame(columns=["frame_id", "decision", "note"])


def _frames_table(n_classes: int, n_people: int, n_videos_each: int = 1, seconds: int = 10,
                  first_person: int = 0) -> pd.DataFrame:
    """Frames with ordinary features, as if extracted from `n_people` dancers."""
    rows = []
    for c in range(n_classes):
        for p in range(first_person, first_person + n_people):
            for v in range(n_videos_each):
                video_id = f"c{c}p{p}v{v}".ljust(16, "0")
                for s in range(seconds):
                    rows.append({
                        "frame_id": f"{video_id}_{s:05d}", "video_id": video_id,
                        "dance_class": f"class{c}", "participant": f"p{p:03d}", "second": s,
                        "path": f"frames/class{c}/{video_id}/{s:05d}.jpg", "width": 144,
                        "height": 256, "brightness": 120.0, "contrast": 30.0,
                        "sharpness": 100.0, "noise": 0.3, "subject_score": 0.12,
                        "near_duplicate_of": None, "uniform_share": 0.2})
    return pd.DataFrame(rows)


def test_verdicts_on_hand_made_frames():
    normal = [hand_made_person(x, up) for x, up in ((40, True), (60, False), (80, True),
                                                 (100, False), (72, True))]
    black = Image.new("RGB", (144, 256), "black")
    white = Image.new("RGB", (144, 256), "white")
    blurred = hand_made_person(55, True).filter(ImageFilter.GaussianBlur(5))
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (256, 144, 3), np.uint8))
    images = [*normal, black, white, blurred, hand_made_room(), noise]
    features = video_features([np.asarray(i) for i in images])
    # What the pose step says: a person in the drawn frames, nobody in the others.
    found = [True] * 5 + [False, False, True, False, False]
    frames = pd.DataFrame([{**f.__dict__, "video_id": "v", "person_found": person}
                           for f, person in zip(features, found, strict=True)])
    verdicts = automatic_verdicts(frames, CleaningThresholds()).tolist()
    assert verdicts == [None] * 5 + ["too dark", "washed out", "blurred", "empty", "noise"]


def test_empty_means_nobody_found_and_the_pixels_agree():
    # Four 5-second videos: a dancer who hardly moves (every frame scores low on pixels,
    # but the pose model sees her), a dancer with one empty second and one second where
    # the pose model missed her (the pixels still see her), an empty room throughout,
    # and a video that was never posed (nobody is called missing there).
    frames = _frames_table(1, 4, seconds=5)
    frames["subject_score"] = [0.035, 0.04, 0.032, 0.045, 0.038,
                               0.12, 0.03, 0.15, 0.10, 0.13,
                               0.004, 0.006, 0.005, 0.004, 0.007,
                               0.12, 0.003, 0.11, 0.12, 0.13]
    frames["person_found"] = pd.array([True] * 5 + [True, False, False, True, True]
                                      + [False] * 5 + [None] * 5, dtype="boolean")
    verdicts = automatic_verdicts(frames, CleaningThresholds()).tolist()
    assert verdicts == ([None] * 5 + [None, "empty", None, None, None] + ["empty"] * 5
                        + [None] * 5)


def test_grain_over_a_person_is_not_noise():
    frames = _frames_table(1, 1, seconds=2)
    frames["noise"] = 6.0
    frames["person_found"] = pd.array([True, False], dtype="boolean")
    assert automatic_verdicts(frames, CleaningThresholds()).tolist() == [None, "noise"]


def test_phone_footage_cards_and_smoothed_static_are_told_from_a_missed_dancer():
    # One handheld video at a phone's bitrate: three seconds with the dancer found, then
    # one where the pose model missed her (as grainy and as far from the room as the
    # others), a title card, and static that the encoder smoothed below noise_above.
    frames = _frames_table(1, 1, seconds=6)
    frames["subject_score"] = [0.30, 0.35, 0.32, 0.33, 0.40, 0.85]
    frames["noise"] = [0.30, 0.25, 0.28, 0.33, 0.05, 0.90]
    frames["uniform_share"] = [0.3, 0.3, 0.4, 0.35, 0.99, 0.15]
    frames["person_found"] = pd.array([True] * 3 + [False] * 3, dtype="boolean")
    verdicts = automatic_verdicts(frames, CleaningThresholds()).tolist()
    assert verdicts == [None] * 4 + ["card", "noise"]
    # Were the pose model to see somebody in them, neither would be dropped.
    frames["person_found"] = True
    assert automatic_verdicts(frames, CleaningThresholds()).isna().all()


def test_near_duplicates_are_dropped_unless_switched_off():
    frames = _frames_table(1, 1, seconds=3)
    frames.loc[2, "near_duplicate_of"] = frames.loc[1, "frame_id"]
    assert automatic_verdicts(frames, CleaningThresholds()).tolist() == [None, None,
                                                                         "near duplicate"]
    lenient = CleaningThresholds(drop_near_duplicates=False)
    assert automatic_verdicts(frames, lenient).isna().all()


def test_splits_are_deterministic_for_a_seed():
    kept = _frames_table(3, 10)
    first = split_random_frames(kept, seed=1)
    assert first.equals(split_random_frames(kept, seed=1))
    assert not first.equals(split_random_frames(kept, seed=2))
    assert split_by_participant(kept, 1).equals(split_by_participant(kept, 1))
    assert 0.15 < (first == "valid").mean() < 0.25


def test_adding_videos_never_moves_an_existing_frame():
    before = build_manifest(_frames_table(4, 20), NO_DECISIONS, SETTINGS)
    # The precondition of stability: the seed put someone in validation by itself.
    people = pd.Series(sorted(before["participant"].unique()))
    assert (_uniform(people, SETTINGS.seed, "people") < SETTINGS.valid_share).any()
    grown_frames = pd.concat([_frames_table(4, 20, n_videos_each=2),
                              _frames_table(4, 8, first_person=20)])
    after = build_manifest(grown_frames.drop_duplicates("frame_id"), NO_DECISIONS, SETTINGS)
    merged = before.merge(after, on="frame_id", suffixes=("_before", "_after"))
    assert len(merged) == len(before) and len(after) > len(before)
    for protocol in ("split_random_frames", "split_by_participant"):
        assert (merged[f"{protocol}_before"] == merged[f"{protocol}_after"]).all(), protocol


def test_fallback_when_the_seed_puts_nobody_in_validation():
    # Three people whose hashes all land at or above the threshold for this seed.
    seed = next(s for s in range(100) if (_uniform(pd.Series(["p000", "p001", "p002"]), s,
                                                   "people") >= 0.2).all())
    kept = _frames_table(2, 3)
    sides = split_by_participant(kept, seed).groupby(kept["participant"]).first()
    scores = pd.Series(_uniform(pd.Series(sides.index), seed, "people"), index=sides.index)
    assert list(sides[sides == "valid"].index) == [scores.idxmin()]


def test_by_participant_keeps_people_on_one_side_with_about_a_fifth_in_validation():
    manifest = build_manifest(_frames_table(3, 60), NO_DECISIONS, SETTINGS)
    sides = manifest.groupby("participant")["split_by_participant"].nunique()
    assert (sides == 1).all()
    assert 0.1 < (manifest["split_by_participant"] == "valid").mean() < 0.3
    assert checks.no_participant_leak(manifest).passed
    assert checks.classes_on_both_sides(manifest).passed


def test_every_class_gets_both_sides_even_when_tiny():
    for seed in range(20):
        manifest = build_manifest(_frames_table(3, 3, seconds=4), NO_DECISIONS,
                                  ManifestSettings(CleaningThresholds(), seed=seed))
        assert checks.classes_on_both_sides(manifest).passed, seed


def test_too_few_participants_says_how_many_are_needed():
    with pytest.raises(DanceAssetsError, match=r"at least 2 participants.*found 1"):
        build_manifest(_frames_table(2, 1), NO_DECISIONS, SETTINGS)


def test_check_names_the_class_without_validation_frames():
    manifest = build_manifest(_frames_table(2, 10), NO_DECISIONS, SETTINGS)
    manifest.loc[(manifest["dance_class"] == "class1")
                 & (manifest["split_random_frames"] == "valid"), "split_random_frames"] = "train"
    result = checks.classes_on_both_sides(manifest)
    assert not result.passed and result.severity.value == "ERROR"
    assert "class1 has no valid frames under random_frames" in result.description


def test_dropped_share_warning_names_the_class():
    manifest = build_manifest(_frames_table(2, 5), NO_DECISIONS, SETTINGS)
    manifest.loc[manifest["dance_class"] == "class0", "keep"] = False
    result = checks.dropped_share(manifest, limit=0.5)
    assert not result.passed and "class0 (100%)" in result.description
    assert "class1" not in result.description


def test_human_decisions_override_automatic_verdicts(tmp_path):
    lake = Lake.resolve(tmp_path)
    frames = _frames_table(1, 3, seconds=3)
    frames["person_found"] = pd.array([False] + [True] * 8, dtype="boolean")
    frames.loc[0, "subject_score"] = 0.0  # nobody there: automatically "empty"
    known = frames["frame_id"]
    record_decisions(lake, [frames.loc[0, "frame_id"]], "include", "dancer is tiny", known)
    record_decisions(lake, [frames.loc[1, "frame_id"]], "exclude", "wrong dance", known)
    decisions = read_decisions(lake.review / "decisions.csv")
    manifest = build_manifest(frames, decisions, SETTINGS).set_index("frame_id")
    first, second = manifest.loc[frames.loc[0, "frame_id"]], manifest.loc[frames.loc[1,
                                                                                   "frame_id"]]
    assert first["keep"] and first["auto_reason"] == "empty" and first["reason"] is None
    assert not second["keep"] and second["reason"] == "excluded by reviewer: wrong dance"
    assert second["split_random_frames"] is None
    # A later decision for the same frame replaces the earlier one.
    record_decisions(lake, [frames.loc[1, "frame_id"]], "include", "", known)
    assert read_decisions(lake.review / "decisions.csv").set_index("frame_id").loc[
        frames.loc[1, "frame_id"], "decision"] == "include"


def test_unknown_frame_ids_are_an_error_that_names_them(tmp_path):
    lake = Lake.resolve(tmp_path)
    known = _frames_table(1, 2)["frame_id"]
    with pytest.raises(DanceAssetsError, match=r"unknown frame id.*nope_00001"):
        record_decisions(lake, ["nope_00001"], "exclude", "", known)
    assert not (lake.review / "decisions.csv").exists()


def test_malformed_decisions_file_names_the_line(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("frame_id,decision,note\na_00001,exclude,\nb_00002,maybe,\n")
    with pytest.raises(DanceAssetsError, match=r"decisions\.csv:3: decision must be"):
        read_decisions(path)
