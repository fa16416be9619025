"""The pipeline against a real Postgres-backed instance (deploy/dagster.yaml), for real.

A PostgreSQL server from the machine's Debian package is started for the session as an
unprivileged user on a free loopback port, and stopped afterwards. Ingest, curation, one
model and its evaluation run with the multiprocess executor (steps in their own
processes); a second process then reads runs, materializations, check results and the
sensor's cursor back from Postgres.
"""

from __future__ import annotations

import glob
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from dance_assets.core.lake.lake import Lake
from dance_assets_tests.helpers import TINY_TRAIN
from dance_assets_tests.worker import job

pytestmark = pytest.mark.slow  # a PostgreSQL server, multiprocess runs, training

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
CLASSES = ["renegade", "savage", "say_so"]


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], env=env,
                       capture_output=True)
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _as_unprivileged(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the package's postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres() -> Iterator[dict[str, str]]:
    """A running PostgreSQL server and its connection settings as DAGSTER_PG_* variables."""
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql); "
                    "the Postgres instance tests need it")
    # Outside pytest's own temporary folder, which only root may enter.
    root = Path(tempfile.mkdtemp(prefix="dance-assets-postgres-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    run = {"capture_output": True, "text": True}
    initdb = subprocess.run(_as_unprivileged([
        str(binaries / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust"]), **run)
    if initdb.returncode != 0:
        pytest.skip(f"PostgreSQL could not be initialised: {initdb.stderr.strip()[:200]}")
    started = subprocess.run(_as_unprivileged([
        str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"]), **run)
    if started.returncode != 0:
        pytest.skip(f"PostgreSQL could not be started: {started.stderr.strip()[:200]}")
    try:
        yield {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": port,
               "DAGSTER_PG_DB": "dagster", "DAGSTER_PG_USERNAME": "dagster",
               "DAGSTER_PG_PASSWORD": "unused-with-trust-auth"}
    finally:
        subprocess.run(_as_unprivileged([str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                         "fast", "stop"]), **run)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_home(postgres: dict[str, str], tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME with deploy/dagster.yaml, on a database of the test's own."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    database = f"dagster_{tmp_path.name.lower()}"[:60]
    subprocess.run(["createdb", "-h", postgres["DAGSTER_PG_HOST"], "-p",
                    postgres["DAGSTER_PG_PORT"], "-U", postgres["DAGSTER_PG_USERNAME"],
                    database], check=True, capture_output=True,
                   env={**os.environ, "PATH": f"{_postgres_bin()}:{os.environ['PATH']}"})
    for name, value in {**postgres, "DAGSTER_PG_DB": database}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


_READ_BACK = """
import json
import dagster as dg
instance = dg.DagsterInstance.get()
records = instance.get_run_records()
frames = instance.fetch_materializations(dg.AssetKey("video_frames"), limit=100).records
checks = instance.event_log_storage.get_asset_check_execution_history(
    dg.AssetCheckKey(dg.AssetKey(["models", "resnet18"]), "check_accuracy_above_chance"),
    limit=10)
states = [s for s in instance.all_instigator_state()
          if s.instigator_name == "new_videos_sensor"]
print(json.dumps({
    "storage": type(instance.run_storage).__name__,
    "runs": len(records),
    "succeeded": sum(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records),
    "frame_partitions": sorted({r.partition_key for r in frames}),
    "checks": [c.status.value for c in checks],
    "cursor": states[0].instigator_data.cursor if states else None,
}))
"""


@pytest.mark.usefixtures("postgres_home")
def test_the_pipeline_runs_on_a_postgres_instance_and_a_second_process_reads_it_back(
        tmp_path: Path, ingested_tiny_original: Lake, monkeypatch: pytest.MonkeyPatch):
    from dance_assets.resources import LakeResource
    from dance_assets.sensors import new_videos_sensor

    # The tiny lake as ingested (its files' times kept): the ingest runs below record
    # every class on Postgres without extracting again (test_reliability extracts under
    # the multiprocess executor).
    lake = tmp_path / "lake"
    shutil.copytree(ingested_tiny_original.root, lake, symlinks=True)
    monkeypatch.setenv("DANCE_LAKE", str(lake))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        instance.add_dynamic_partitions("dance_classes", CLASSES)
        for dance_class in CLASSES:  # multiprocess: each step in a process of its own
            with dg.execute_job(job("ingest"), instance,
                                tags={"dagster/partition": dance_class}) as result:
                assert result.success
        with dg.execute_job(job("curation"), instance) as result:
            assert result.success
        model = dg.AssetKey(["models", "resnet18"])
        with dg.execute_job(
                job("training"), instance, tags={"dagster/partition": "random_frames"},
                asset_selection=[model, dg.AssetKey(["evaluation", "resnet18"])],
                run_config={"ops": {"models__resnet18": {"config": TINY_TRAIN}}}) as result:
            assert result.success
        # The sensor's cursor, as a daemon tick stores it (a new video since).
        tick = new_videos_sensor(dg.build_sensor_context(
            instance=instance, resources={"lake": LakeResource(root=str(lake))}))
        subprocess.run([sys.executable, "-m", "dagster", "sensor", "cursor",
                        "new_videos_sensor", "-m", "dance_assets.definitions", "--set",
                        tick.cursor], check=True, capture_output=True,
                       env={**os.environ})
    done = subprocess.run([sys.executable, "-c", _READ_BACK], capture_output=True, text=True,
                          env={**os.environ})
    assert done.returncode == 0, done.stderr[-2000:]
    read = json.loads(done.stdout.strip().splitlines()[-1])
    assert read["storage"] == "PostgresRunStorage"
    assert read["runs"] == read["succeeded"] == 5
    assert read["frame_partitions"] == CLASSES
    assert read["checks"] == ["SUCCEEDED"]
    assert json.loads(read["cursor"]) == json.loads(tick.cursor)


def _step_times(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[float]]:
    """Each step's start and end time in one run, from the event log."""
    times: dict[str, list[float]] = {}
    for event in instance.all_logs(run_id):
        if event.step_key and event.dagster_event_type in (dg.DagsterEventType.STEP_START,
                                                           dg.DagsterEventType.STEP_SUCCESS):
            times.setdefault(event.step_key, []).append(event.timestamp)
    return times


def _turns(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    """When each training step of one run had the device, from its log
    (core/learning/turns.py says when a turn starts and ends)."""
    said = [(e.timestamp, e.user_message) for e in instance.all_logs(run_id)
            if e.step_key and e.step_key.startswith("models__") and not e.dagster_event]
    starts = [t for t, message in said if message.startswith("training has the")]
    ends = [t for t, message in said if message.startswith("training gave the")]
    assert len(starts) == len(ends), said
    return list(zip(starts, ends, strict=True))


@pytest.mark.usefixtures("postgres_home")
def test_ten_runs_at_once_all_succeed_and_training_takes_turns_on_the_device(
        tmp_path: Path, curated_tiny_original: Lake, ffmpeg_binary: str,
        monkeypatch: pytest.MonkeyPatch):
    from dance_assets.core.synthetic.dances import DANCE_CLASSES
    from dance_assets.core.synthetic.plans import plan_videos
    from dance_assets.core.synthetic.writing import generate

    # The known classes already ingested and curated: their runs below find nothing to
    # do, and the trainings find a manifest.
    lake = tmp_path / "lake"
    shutil.copytree(curated_tiny_original.root, lake, symlinks=True)
    # One short video per new class: the runs below check that ten succeed at once and
    # that training takes turns, not how much each extracts.
    newcomers = list(DANCE_CLASSES[3:8])
    generate(lake / "raw", plan_videos(newcomers, 1, 2, (180, 320), seed=0), ffmpeg_binary)
    monkeypatch.setenv("DANCE_LAKE", str(lake))
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions("dance_classes", CLASSES + newcomers)
    # The pool's row is otherwise created on first use from dagster.yaml's default_limit;
    # two steps asking at the same instant were both let in (one run in seven here), so a
    # deployment sets the limit once, as the README says.
    subprocess.run([sys.executable, "-m", "dagster", "instance", "concurrency", "set", "gpu",
                    "1"], check=True, capture_output=True)
    # Ten at once: new classes to ingest, known ones again (nothing to do), and two
    # trainings that must queue for the one slot of the gpu pool.
    trainings = [("resnet18", "random_frames"), ("alexnet", "by_participant")]
    requests = [("ingest", c, None, {}) for c in newcomers + CLASSES] + [
        ("training", protocol, [["models", arch]],
         {"ops": {f"models__{arch}": {"config": TINY_TRAIN}}}) for arch, protocol in trainings]
    assert len(requests) == 10
    # Ten processes at once, each running one run against Postgres (forks of one that
    # imported Dagster and the code location: see worker.runs_at_once).
    out = tmp_path / "outcomes"
    out.mkdir()
    launched = subprocess.run([sys.executable, "-m", "dance_assets_tests.worker",
                               "runs_at_once", json.dumps(requests), str(out)],
                              capture_output=True, text=True, timeout=600, env={**os.environ})
    assert launched.returncode == 0, launched.stderr[-2000:]
    outcomes = [json.loads((out / f"{index}.json").read_text())
                for index in range(len(requests))]
    assert all(o["success"] for o in outcomes), [o for o in outcomes if not o["success"]]
    with dg.DagsterInstance.get() as instance:
        turns = []
        for outcome in outcomes:
            run = instance.get_run_by_id(outcome["run_id"])
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            times = _step_times(instance, outcome["run_id"])
            assert times and all(len(t) == 2 for t in times.values()), times  # none lost
            turns += _turns(instance, outcome["run_id"])
    # The pool should already keep the two apart, but Dagster can let both in at the same
    # instant (core/learning/turns.py); then the second waits for the device.
    assert len(turns) == len(trainings)
    turns.sort()
    for (_, end), (start, _) in itertools.pairwise(turns):
        assert start >= end, "two training steps trained on the device at once"
