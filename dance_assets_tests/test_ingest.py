"""raw_videos and video_frames run for real: ffmpeg, Parquet and a Dagster instance."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from dance_assets.core.lake import tables
from dance_assets.core.lake.lake import Lake
from dance_assets.core.synthetic.plans import plan_videos
from dance_assets.core.synthetic.specs import video_path
from dance_assets.core.synthetic.writing import write_video
from dance_assets_tests.helpers import (
    TINY,
    checks_of,
    materialize_ingest,
    metadata_of,
    register_classes,
)
from dance_assets_tests.worker import job


@pytest.mark.slow
def test_tiny_lake_goes_from_videos_to_frames(tiny_ingest):
    """The session's tiny lake, ingested class by class by the real assets (conftest)."""
    tiny_lake = tiny_ingest.lake
    assert list(tiny_ingest.runs) == sorted(p.name for p in tiny_lake.raw.iterdir())
    for result in tiny_ingest.runs.values():
        assert result.success
        checks = checks_of(result)
        assert checks["check_videos_readable"].passed
        assert checks["check_frames_per_video"].passed
        frames_meta = metadata_of(result, "video_frames")
        assert frames_meta["extracted"] == TINY.participants
        assert "data:image/png;base64," in frames_meta["contact_sheet"]
    videos = tables.read_table(tiny_lake, "videos")
    frames = tables.read_table(tiny_lake, "frames")
    assert (videos["status"] == "ok").all() and len(videos) == 9
    assert videos["video_id"].str.len().eq(16).all()
    assert frames.groupby("video_id").size().eq(int(TINY.seconds)).all()
    assert all((tiny_lake.root / p).is_file() for p in frames["path"])
    assert frames["frame_id"].is_unique
    assert {"brightness", "sharpness", "noise", "subject_score"} <= set(frames.columns)
    assert (tiny_lake.reports / "contact_sheets" / "renegade.png").is_file()
    assert tiny_lake.warehouse.is_file()


def test_rerun_is_incremental(instance, ingested_tiny_lake, ffmpeg_binary):
    tiny_lake, dance_class = ingested_tiny_lake, "renegade"
    frames_dir = tiny_lake.frames / dance_class
    stamps = {p: p.stat().st_mtime_ns for p in frames_dir.rglob("*.jpg")}

    again = metadata_of(materialize_ingest(instance, tiny_lake, dance_class), "video_frames")
    assert (again["extracted"], again["unchanged"], again["removed"]) == (0, 3, 0)
    assert {p: p.stat().st_mtime_ns for p in frames_dir.rglob("*.jpg")} == stamps

    newcomer = plan_videos([dance_class], 4, TINY.seconds, TINY.video_size, seed=0)[-1]
    write_video(newcomer, video_path(tiny_lake.raw, newcomer), ffmpeg_binary)
    added = metadata_of(materialize_ingest(instance, tiny_lake, dance_class), "video_frames")
    assert (added["extracted"], added["unchanged"]) == (1, 3)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # older frames untouched

    gone = tiny_lake.raw / dance_class / "p01.mp4"
    gone_id = tables.read_table(tiny_lake, "videos", dance_class=dance_class).set_index(
        "path").loc["raw/" + dance_class + "/p01.mp4", "video_id"]
    gone.unlink()
    removed = metadata_of(materialize_ingest(instance, tiny_lake, dance_class), "video_frames")
    assert (removed["extracted"], removed["removed"]) == (0, 1)
    frames = tables.read_table(tiny_lake, "frames", dance_class=dance_class)
    assert gone_id not in set(frames["video_id"]) and frames["video_id"].nunique() == 3
    assert not (frames_dir / gone_id).exists()
    assert "p01" not in set(tables.read_table(tiny_lake, "videos",
                                              dance_class=dance_class)["participant"])


def test_renamed_video_is_not_extracted_again(instance, ingested_tiny_lake):
    tiny_lake, dance_class = ingested_tiny_lake, "renegade"
    folder = tiny_lake.raw / dance_class
    (folder / "p02.mp4").rename(folder / "p09__second_take.mp4")
    meta = metadata_of(materialize_ingest(instance, tiny_lake, dance_class), "video_frames")
    assert (meta["extracted"], meta["unchanged"]) == (0, 3)
    frames = tables.read_table(tiny_lake, "frames", dance_class=dance_class)
    assert "p09" in set(frames["participant"]) and "p02" not in set(frames["participant"])


def test_new_extraction_parameters_reextract(instance, ingested_tiny_lake):
    tiny_lake, dance_class = ingested_tiny_lake, "renegade"
    from dance_assets.assets.ingest import raw_videos, video_frames
    from dance_assets_tests.helpers import resources_for

    result = dg.materialize(
        [raw_videos, video_frames], partition_key=dance_class, instance=instance,
        resources=resources_for(tiny_lake),
        run_config={"ops": {"video_frames": {"config": {"interval_s": 2}}}},
    )
    assert metadata_of(result, "video_frames")["extracted"] == 3
    frames = tables.read_table(tiny_lake, "frames", dance_class=dance_class)
    assert sorted(frames["second"].unique()) == [0, 2]


@pytest.mark.slow
def test_awkward_files_are_accounted_for_and_never_fail_the_partition(instance, corpus, tmp_path):
    source, expectations = corpus
    lake = Lake.resolve(tmp_path / "lake")
    shutil.copytree(source / "raw", lake.raw, symlinks=True)
    for dance_class in register_classes(instance, lake):
        result = materialize_ingest(instance, lake, dance_class)
        assert result.success, dance_class
        assert not checks_of(result)["check_videos_readable"].passed  # rejects are listed
        assert checks_of(result)["check_frames_per_video"].passed
    videos = tables.read_table(lake, "videos").set_index("path")
    assert set(videos.index) == set(expectations)  # junk and sidecars ignored, rest recorded
    frames = tables.read_table(lake, "frames")
    for path, expected in expectations.items():
        row = videos.loc[path]
        assert row["status"] == expected.status, (path, row["reason"])
        if expected.reason:
            assert expected.reason in row["reason"], (path, row["reason"])
        if expected.status == "ok":
            mine = frames[frames["video_id"] == row["video_id"]]
            assert len(mine) >= 1, path
            assert (mine["width"] > mine["height"]).all() == expected.landscape, path
        else:
            assert row["video_id"] not in set(frames["video_id"]) or expected.status != "ok"
    assert videos.loc["raw/awkward_a/with space__take 2.mp4", "participant"] == "with space"
    assert videos.loc["raw/awkward_a/uhd_4k.mp4", "width"] == 3840


@pytest.mark.parametrize("limit, phrase", [({"max_duration_s": 2.5}, "too long"),
                                           ({"max_side": 1000}, "too large")])
def test_limits_reject_with_a_reason(instance, corpus, tmp_path, limit, phrase):
    from dance_assets.assets.ingest import raw_videos
    from dance_assets.lake_tables import LAKE_TABLES, lake_tables_io_manager
    from dance_assets.resources import FfmpegResource, LakeResource

    source, _ = corpus
    lake = Lake.resolve(tmp_path / "lake")
    shutil.copytree(source / "raw" / "awkward_a", lake.raw / "awkward_a", symlinks=True)
    register_classes(instance, lake)
    result = dg.materialize([raw_videos], partition_key="awkward_a", instance=instance,
                            resources={"lake": LakeResource(root=str(lake.root)),
                                       LAKE_TABLES: lake_tables_io_manager,
                                       "ffmpeg": FfmpegResource(**limit)})
    assert result.success
    reasons = tables.read_table(lake, "videos")["reason"].dropna()
    assert reasons.str.contains(phrase).any()


def test_a_plan_cuts_its_work_into_batches_with_reposing_first():
    import pandas as pd

    from dance_assets.core.ingest.frames import ClassPlan

    videos = {f"v{i}": {"video_id": f"v{i}", "path": f"raw/x/p{i}.mp4", "participant": f"p{i}"}
              for i in range(5)}
    before = {vid: {**video, "status": "extracted"} for vid, video in videos.items()}
    plan = ClassPlan(dance_class="x", current=videos, done_before=before, reused=["v0", "v1"],
                     reposed=["v1"],
                     todo=[videos["v2"], videos["v3"], videos["v4"]])
    frames = pd.DataFrame({"video_id": ["v1", "v1", "v0"], "second": [1, 0, 0],
                           "path": ["frames/x/v1/00001.jpg", "frames/x/v1/00000.jpg",
                                    "frames/x/v0/00000.jpg"]})
    first, second = plan.batches(frames, videos_per_batch=2)
    assert (first.label, second.label) == ("videos_1_to_2", "videos_3_to_4")
    assert [summary["video_id"] for summary, _ in first.repose] == ["v1"]
    assert first.repose[0][1] == [(0, "frames/x/v1/00000.jpg"), (1, "frames/x/v1/00001.jpg")]
    assert [v["video_id"] for v in first.extract + second.extract] == ["v2", "v3", "v4"]
    (whole,) = plan.batches(frames)  # 0: the class in one batch
    assert len(whole) == 4
    nothing = ClassPlan(dance_class="x", current=videos, done_before=before, reused=list(videos),
                        reposed=[], todo=[])
    (empty,) = nothing.batches(frames, videos_per_batch=2)
    assert (empty.label, len(empty)) == ("nothing_changed", 0)


def _published(lake: Lake, dance_class: str) -> dict[str, object]:
    """The class's frames and poses as a reader sees them, without timings."""
    frames = tables.read_table(lake, "frames", dance_class=dance_class)
    poses = tables.read_table(lake, "poses", dance_class=dance_class)
    extractions = tables.read_table(lake, "extractions", dance_class=dance_class)
    return {"frames": frames.to_dict("records"), "poses": poses.to_json(),
            "extracted": sorted(extractions.loc[extractions["status"] == "extracted",
                                                "video_id"])}


@pytest.mark.slow
def test_a_class_fans_out_over_steps_and_publishes_what_one_step_would(
        instance, tiny_lake, ingested_tiny_original, monkeypatch):
    (dance_class, *_) = register_classes(instance, tiny_lake)
    # The same videos, each class ingested in one step by the real assets (only read).
    alone = ingested_tiny_original

    monkeypatch.setenv("DANCE_LAKE", str(tiny_lake.root))  # the step processes' lake
    one_video_a_step = {"resources": {"ffmpeg": {"config": {"videos_per_step": 1}}}}
    runs = []
    for _ in range(2):
        with dg.execute_job(job("ingest"), instance,
                            tags={"dagster/partition": dance_class},
                            run_config=one_video_a_step) as result:
            assert result.success
            runs.append((result.run_id, sorted(
                e.step_key for e in result.all_events if e.is_step_success)))
    (first_run, first_steps), (_, second_steps) = runs
    videos = [f"video_frames.extract_frames[videos_{i}_to_{i}]" for i in (1, 2, 3)]
    assert first_steps == sorted(["raw_videos", "video_frames.plan_frames",
                                  "video_frames.publish_frames", *videos])
    # Nothing changed: one empty batch, so the tables are still written and checked.
    assert "video_frames.extract_frames[nothing_changed]" in second_steps
    assert _published(tiny_lake, dance_class) == _published(alone, dance_class)
    assert not (tiny_lake.step_outputs / first_run).exists()  # passed on, then removed
