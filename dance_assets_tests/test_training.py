"""The three classifiers train for real with fastai on CPU, and export what they promise."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import itertools
import json
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import torch
import torchvision

from dance_assets.assets.models import model_assets
from dance_assets.assets.placement import GPU_POOL
from dance_assets.checks import accuracy_above_chance
from dance_assets.core.lake import tables
from dance_assets.core.lake.catalogue import ARCHITECTURES
from dance_assets.core.lake.errors import DanceAssetsError
from dance_assets.core.learning.card import read_card
from dance_assets.core.learning.compute import (
    ComputeSettings,
    cpu_supports_bf16,
    fast_path_mode,
)
from dance_assets.core.learning.frame_cache import kept_frames_cache
from dance_assets.core.learning.frame_images import prepare_files
from dance_assets.core.learning.inference import load_network, predict_images
from dance_assets.core.learning.learners import (
    TrainResult,
    significantly_above_chance,
    videos_correct,
)
from dance_assets.core.learning.training import (
    TorchvisionBuilder,
    TrainSettings,
    build_learner,
    dataloaders,
    frame_sets,
    train,
)
from dance_assets.core.learning.turns import turn_on
from dance_assets.core.learning.weights import WeightsPlaces, hub_checkpoints, pretrained_weights
from dance_assets_tests.helpers import in_fresh_python, materialize_models

TINY = TrainSettings(epochs=1, image_size=64, batch_size=8, augment=False)


def _sets(lake, protocol="split_random_frames", mode="frame"):
    manifest = tables.read_table(lake, "frame_manifest")
    classes = sorted(manifest.loc[manifest["keep"], "dance_class"].unique())
    cache = kept_frames_cache(lake, manifest, 64, mode)
    return (*frame_sets(cache, manifest, protocol, classes), classes)


@pytest.mark.slow
def test_three_architectures_train_export_and_predict(trained_tiny_original):
    """On the session's trained lake: TINY_TRAIN with head dropout 0.3 (its pose model and
    evaluations ran in the same runs, and are not looked at here)."""
    from fastai.learner import load_learner

    lake, result = trained_tiny_original.lake, trained_tiny_original.runs["random_frames"]
    assert result.success
    checks = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()
              if e.check_name == "check_accuracy_above_chance"}
    for check in (checks[arch] for arch in ARCHITECTURES):
        assert check.passed  # significance 1: every model goes through on the tiny lake
        assert 0 <= check.metadata["p_value"].value <= 1
        assert check.metadata["valid_videos"].value >= 1
    history = tables.read_table(lake, "training_history").query(
        "protocol == 'random_frames' and arch != 'pose_sequence'")
    assert sorted(history["arch"]) == sorted(ARCHITECTURES)
    frame = tables.read_table(lake, "frame_manifest").query("keep")["path"].iloc[0]
    for arch in ARCHITECTURES:
        folder = lake.models / "random_frames" / arch
        card = read_card(folder / "model_card.json")
        assert card.classes == ["renegade", "savage", "say_so"]
        trained = card.training
        assert trained.settings["epochs"] == 1 and len(trained.manifest_sha256) == 64
        assert trained.device == "cpu" and trained.seconds > 0 and len(trained.history) == 1
        assert 0 <= trained.final.video_correct <= trained.final.valid_videos
        assert (card.input, card.image_size, card.window) == ("frame", 64, None)
        assert (folder / "weights.pth").stat().st_size > 0
        assert (folder / "accuracy_by_epoch.png").is_file()
        learner = load_learner(folder / "learner.pkl")
        # From scratch, the bodies that lack batch norm get one after every convolution.
        layers = list(learner.model[0].modules())
        follows = [type(after) for layer, after in itertools.pairwise(layers)
                   if isinstance(layer, torch.nn.Conv2d)]
        assert trained.settings["batch_norm"] and set(follows) == {torch.nn.BatchNorm2d}, arch
        # fastai's head: half the asked dropout before its hidden layer, all of it after.
        dropouts = [m.p for m in learner.model[1].modules() if isinstance(m, torch.nn.Dropout)]
        assert dropouts == pytest.approx([0.15, 0.3]), arch
        label, _index, probabilities = learner.predict(str(lake.root / frame))
        assert label in card.classes and probabilities.shape == (3,)
        assert abs(float(probabilities.sum()) - 1) < 1e-4
        # model.onnx, which evaluation and scoring run, predicts what the learner does.
        network = load_network(folder)
        onnx_probabilities = predict_images(network, prepare_files(
            [lake.root / frame], card.image_size, card.input))[0]
        assert onnx_probabilities == pytest.approx(probabilities.numpy(), abs=1e-4)


def test_batch_norm_is_added_only_from_scratch_and_only_where_the_body_has_none():
    from dataclasses import replace

    scratch = TrainSettings()
    assert scratch.adds_batch_norm("alexnet") and scratch.adds_batch_norm("squeezenet1_0")
    assert not scratch.adds_batch_norm("resnet18")
    assert not replace(scratch, pretrained=True).adds_batch_norm("alexnet")
    assert not replace(scratch, batch_norm=False).adds_batch_norm("alexnet")
    # AlexNet without it needs a gentler rate; with it, the rate the others use.
    assert replace(scratch, batch_norm=False).default_lr("alexnet") < scratch.default_lr(
        "alexnet") == scratch.default_lr("resnet18")


@pytest.mark.slow
def test_metadata_is_the_users_window(trained_tiny_original):
    result = trained_tiny_original.runs["by_participant"]
    (materialization,) = [m for m in result.get_asset_materialization_events()
                          if m.asset_key.to_user_string() == "models/resnet18"]
    meta = materialization.step_materialization_data.materialization.metadata
    assert {"accuracy", "epochs", "seconds", "device", "accuracy_by_epoch"} <= set(meta)
    assert "data:image/png;base64," in meta["accuracy_by_epoch"].value
    folder = trained_tiny_original.lake.models / "by_participant" / "resnet18"
    assert meta["model_folder"] == dg.MetadataValue.path(str(folder))
    assert meta["model_card"] == dg.MetadataValue.path(str(folder / "model_card.json"))


@pytest.mark.slow
def test_same_seed_same_first_batch_loss(curated_tiny_lake):
    train_set, valid_set, classes = _sets(curated_tiny_lake)
    losses = [train("resnet18", train_set, valid_set, classes, TrainSettings(
        epochs=1, image_size=64, batch_size=8, augment=True, seed=seed), ComputeSettings(),
        report=lambda _: None).first_batch_loss for seed in (3, 3, 4)]
    assert losses[0] == losses[1] != losses[2]


@pytest.mark.slow
def test_history_rows_one_per_epoch_with_head_only_phase(tmp_path, curated_tiny_lake):
    checkpoint_dir = tmp_path / "weights"
    checkpoint_dir.mkdir()
    torch.manual_seed(0)
    checkpoint = torchvision.models.squeezenet1_0(weights=None).state_dict()
    torch.save(checkpoint, checkpoint_dir / "squeezenet1_0-b66bff10.pth")
    train_set, valid_set, classes = _sets(curated_tiny_lake)
    lines = []
    result = train("squeezenet1_0", train_set, valid_set, classes,
                   TrainSettings(epochs=1, image_size=64, batch_size=8, augment=False,
                                 pretrained=True, freeze_epochs=1),
                   ComputeSettings(weights_dir=checkpoint_dir, allow_download=False),
                   report=lines.append)
    assert list(result.history["frozen"]) == [True, False]  # fine_tune(1): 1 + 1 epochs
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2 (head only)")
    # The body began as the checkpoint: fine-tuned at a small rate, its first convolution
    # is still far nearer the checkpoint's than another initialisation is.
    first = next(m for m in result.learner.model[0].modules()
                 if isinstance(m, torch.nn.Conv2d)).weight.detach()
    start, other = checkpoint["features.0.weight"], torchvision.models.squeezenet1_0(
        weights=None).features[0].weight.detach()
    assert (first - start).norm() < 0.05 * (other - start).norm()


def test_pretrained_weights_load_from_a_local_checkpoint(tmp_path, curated_tiny_lake):
    torch.manual_seed(123)
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18-f37072fd.pth")
    built = TorchvisionBuilder("resnet18", WeightsPlaces(tmp_path, False))(pretrained=True)
    assert torch.equal(built.conv1.weight, reference.conv1.weight)
    train_set, valid_set, classes = _sets(curated_tiny_lake)
    settings = TrainSettings(epochs=1, image_size=64, batch_size=8, pretrained=True)
    learner = build_learner("resnet18", dataloaders(train_set, valid_set, settings, "cpu", 0),
                            len(classes), settings,
                            ComputeSettings(weights_dir=tmp_path, allow_download=False))
    assert torch.equal(learner.model[0][0].weight, reference.conv1.weight)


def test_weights_come_from_torchs_hub_cache_when_weights_dir_lacks_them(tmp_path):
    torch.manual_seed(7)
    reference = torchvision.models.alexnet(weights=None)
    hub_checkpoints().mkdir(parents=True)
    torch.save(reference.state_dict(), hub_checkpoints() / "alexnet-owt-7be5be79.pth")
    places = WeightsPlaces(weights_dir=tmp_path / "empty", allow_download=False)
    assert pretrained_weights("alexnet", places) == hub_checkpoints() / "alexnet-owt-7be5be79.pth"
    built = TorchvisionBuilder("alexnet", places)(pretrained=True)
    assert torch.equal(built.features[0].weight, reference.features[0].weight)


def test_offline_and_missing_names_the_file_and_both_places(tmp_path):
    with pytest.raises(DanceAssetsError) as error:
        pretrained_weights("alexnet", WeightsPlaces(tmp_path, allow_download=False))
    message = str(error.value)
    assert "alexnet-owt-7be5be79.pth" in message and str(tmp_path) in message
    assert str(hub_checkpoints()) in message and "\n" not in message


@pytest.fixture
def weights_server(tmp_path):
    """torchvision's file names served from 127.0.0.1, as a mirror would."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    thread.join()


def test_download_lands_in_the_hub_cache_only_when_the_hash_matches(weights_server):
    folder, url = weights_server
    name = "squeezenet1_0-b66bff10.pth"
    torch.save(torchvision.models.squeezenet1_0(weights=None).state_dict(), folder / name)
    places = WeightsPlaces(allow_download=True, base_url=url)
    # Any checkpoint we can write has another sha256 than torchvision's: it is refused.
    with pytest.raises(DanceAssetsError, match="is not torchvision's file"):
        pretrained_weights("squeezenet1_0", places)
    assert not (hub_checkpoints() / name).exists()
    assert list(hub_checkpoints().iterdir()) == []  # no partial download left behind
    # Nothing served at all: the error names the file, the places and the address.
    with pytest.raises(DanceAssetsError, match=r"resnet18-f37072fd\.pth.*127\.0\.0\.1"):
        pretrained_weights("resnet18", places)


def test_a_download_with_torchvisions_hash_convention_is_kept(weights_server, monkeypatch):
    """The file name carries the start of the file's sha256: a file that matches is kept."""
    folder, url = weights_server
    payload = folder / "payload.pth"
    torch.save(torchvision.models.squeezenet1_0(weights=None).state_dict(), payload)
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()[:8]
    name = f"squeezenet1_0-{digest}.pth"
    payload.rename(folder / name)
    monkeypatch.setattr("dance_assets.core.learning.weights.torchvision_file",
                        lambda _arch: (name, url + name))
    lines = []
    path = pretrained_weights("squeezenet1_0", WeightsPlaces(allow_download=True), lines.append)
    assert path == hub_checkpoints() / name and path.is_file()
    assert lines == [f"downloading {name} from {url + name} into {hub_checkpoints()}"]


def test_missing_weights_fail_the_asset_with_that_message(instance, curated_tiny_lake):
    result = materialize_models(instance, curated_tiny_lake, "random_frames",
                                compute={"allow_download": False}, pretrained=True)
    assert not result.success
    messages = [e.event_specific_data.error.message for e in result.all_events
                if e.is_step_failure]
    assert any("needs alexnet-owt-7be5be79.pth" in m for m in messages)


def test_training_steps_queue_for_the_gpu_pool_and_ask_kubernetes_for_one():
    for asset in model_assets:
        assert asset.op.pool == GPU_POOL
        k8s = json.loads(asset.op.tags["dagster-k8s/config"])
        limits = k8s["container_config"]["resources"]["limits"]
        assert limits == {"nvidia.com/gpu": "1"}


_HOLD_THE_CPU = """
import sys, time
from pathlib import Path
from dance_assets.core.learning.turns import turn_on
with turn_on("cpu", print, Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(folder: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the cpu's turn, once it has said so."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_THE_CPU, str(folder), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    while "holding" not in holder.stdout.readline():
        assert holder.poll() is None, "the holder ended before it held the cpu"
    return holder


def test_a_training_waits_for_the_device_while_another_process_trains_on_it(tmp_path: Path):
    holder = _holder(tmp_path, 2.0)
    said: list[str] = []
    with turn_on("cpu", said.append, tmp_path) as turn:
        pass
    assert holder.wait() == 0
    assert turn.waited_s > 1.5  # the holder kept it 2 s after saying so
    assert said[0] == "waiting for the cpu: another training on this machine has it"
    assert said[1].startswith("training has the cpu after waiting")
    assert said[2].startswith("training gave the cpu back after")
    # Another device is not this one's: no wait.
    with turn_on("cuda", said.append, tmp_path) as other:
        assert other.waited_s == 0


def test_without_a_place_for_the_lock_training_goes_on_and_says_so(tmp_path: Path):
    said: list[str] = []
    with turn_on("cpu", said.append, tmp_path / "not-there") as turn:
        assert turn.waited_s == 0
    assert said == [f"training without taking turns on the cpu: its lock file cannot be "
                    f"opened ([Errno 2] No such file or directory: "
                    f"'{tmp_path / 'not-there' / 'dance-assets-training-cpu.lock'}')"]


def test_a_killed_training_leaves_the_device_free(tmp_path: Path):
    holder = _holder(tmp_path, 600)
    holder.kill()
    holder.wait()
    with turn_on("cpu", lambda _: None, tmp_path) as turn:
        assert turn.waited_s == 0


def test_loading_the_code_location_does_not_touch_cuda_or_fastai():
    assert in_fresh_python("import sys, dance_assets.definitions as d; import torch; "
                           "print(torch.cuda.is_initialized(), 'fastai' in sys.modules)"
                           ) == ["False", "False"]


_FREE_MEMORY_LEFT_IN_THE_HEAP = """
import ctypes, ctypes.util
import numpy as np
from dance_assets.core.learning.host_memory import keep_freed_memory

class MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2: ten size_t counters
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2

def free_bytes_after_a_batch() -> int:
    np.ones(8 << 20).sum()  # 64 MiB, allocated, touched and freed: one batch's activations
    return libc.mallinfo2().fordblks

print(free_bytes_after_a_batch() >> 20, keep_freed_memory(), free_bytes_after_a_batch() >> 20)
"""


def test_a_cpu_step_keeps_the_memory_it_frees_for_the_next_batch():
    # In a fresh interpreter: the setting is process-wide, and this one may have it.
    default_mib, kept, kept_mib = in_fresh_python(_FREE_MEMORY_LEFT_IN_THE_HEAP)
    assert kept == "True"
    assert int(default_mib) < 64 <= int(kept_mib)  # glibc's default hands it back


def test_fast_path_choice():
    assert fast_path_mode(ComputeSettings(fast_path=False), "cpu") == "off"
    assert fast_path_mode(ComputeSettings(fast_path=True), "cuda") == "cuda-amp"
    assert fast_path_mode(ComputeSettings(fast_path=True), "cpu") == (
        "cpu-bf16" if cpu_supports_bf16() else "cpu-channels-last")


_THE_PATH_WITHOUT_BF16 = """
import torch
from dance_assets.core.learning.callbacks import use_fast_path
from dance_assets.core.learning.compute import (
    ComputeSettings,
    cpu_supports_bf16,
    fast_path_mode,
)
from dance_assets.core.learning.estimate import synthetic_sets
from dance_assets.core.learning.training import TrainSettings, build_learner, dataloaders
mode = fast_path_mode(ComputeSettings(), "cpu")
settings = TrainSettings(image_size=64, batch_size=8, augment=False)
dls = dataloaders(*synthetic_sets(40, 64, 3), settings, "cpu", 0, channels_last=True)
learn = build_learner("resnet18", dls, 3, settings, ComputeSettings())
added = use_fast_path(learn, mode)
first = next(learn.model.parameters())
print(mode, first.is_contiguous(memory_format=torch.channels_last) and not added,
      learn.model(dls.one_batch()[0]).dtype)
"""


def test_without_bf16_the_cpu_trains_float32_in_channels_last():
    """What an AVX2-only CPU runs (torch held to AVX2 here, in a fresh interpreter): no
    autocast, the network and batches in channels_last."""
    assert in_fresh_python(_THE_PATH_WITHOUT_BF16, env={"ATEN_CPU_CAPABILITY": "avx2"}) == [
        "cpu-channels-last", "True", "torch.float32"]


@pytest.mark.slow
def test_losses_and_metrics_kept_on_the_device_record_what_fastai_records(
        curated_tiny_lake):
    from fastai.learner import AvgLoss, AvgMetric, AvgSmoothLoss
    from fastai.torch_core import set_seed

    from dance_assets.core.learning.callbacks import metrics_on_device

    train_set, valid_set, classes = _sets(curated_tiny_lake)
    settings = TrainSettings(epochs=2, image_size=64, batch_size=8, augment=False)

    def fit(on_device: bool):
        set_seed(5)
        dls = dataloaders(train_set, valid_set, settings, "cpu", 0)
        learn = build_learner("alexnet", dls, len(classes), settings, ComputeSettings())
        learn.logger = lambda *_: None
        recorder, order = learn.recorder, [type(cb) for cb in learn.cbs.sorted("order")]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with metrics_on_device(learn) if on_device else contextlib.nullcontext():
                learn.fit(2, 1e-3)
        assert not [w for w in caught if "shadowing" in str(w.message)]  # fastai's warning
        # The same Recorder, run in the same place among the callbacks.
        assert learn.recorder is recorder
        assert [type(cb) for cb in learn.cbs.sorted("order")] == order
        return learn

    shipped, on_device = fit(False), fit(True)
    assert np.allclose(np.array(shipped.recorder.values, dtype=float),
                       np.array(on_device.recorder.values, dtype=float), rtol=1e-6)
    assert np.allclose([float(v) for v in shipped.recorder.losses],
                       [float(v) for v in on_device.recorder.losses], rtol=1e-6)
    # fastai's own accumulators are back once fitting ends (lr_find, export, get_preds).
    assert type(on_device.recorder.loss) is AvgLoss
    assert type(on_device.recorder.smooth_loss) is AvgSmoothLoss
    assert all(type(m) is AvgMetric for m in on_device.metrics)


def test_unknown_device_and_small_data_are_clear(curated_tiny_lake):
    train_set, valid_set, classes = _sets(curated_tiny_lake)
    with pytest.raises(DanceAssetsError, match="lower batch_size"):
        train("alexnet", train_set, valid_set, classes, TrainSettings(batch_size=512),
              ComputeSettings())
    with pytest.raises(DanceAssetsError, match="device must be"):
        train("alexnet", train_set, valid_set, classes, TINY, ComputeSettings(device="tpu"))


def test_significance_against_guessing():
    assert significantly_above_chance(60, 100, 12, 0.01)[0]
    assert not significantly_above_chance(10, 100, 12, 0.01)[0]
    assert not significantly_above_chance(0, 0, 12, 0.01)[0]
    assert significantly_above_chance(0, 100, 12, 1.0)[0]  # 1: every model through


@pytest.mark.slow
def test_find_lr_picks_a_rate_and_keeps_the_history_to_training(curated_tiny_lake):
    train_set, valid_set, classes = _sets(curated_tiny_lake)
    lines = []
    result = train("alexnet", train_set, valid_set, classes,
                   TrainSettings(epochs=1, image_size=64, batch_size=8, augment=False,
                                 find_lr=True), ComputeSettings(), report=lines.append)
    assert lines[0].startswith("lr_find suggests") and result.lr > 0
    assert len(result.history) == 1 and lines[1].startswith("epoch 1/1")


def test_the_gate_counts_videos_not_frames():
    # 100 frames of one video right, four other videos wrong: 71 % of frames, 1 of 5 videos.
    frame_ids = [f"{'a' * 16}_{s:05d}" for s in range(100)]
    frame_ids += [f"{v * 16}_{s:05d}" for v in "bcde" for s in range(10)]
    labels = np.array([0] * 100 + [1] * 10 + [2] * 10 + [0] * 10 + [1] * 10)
    probabilities = np.zeros((140, 3))
    probabilities[:100, 0] = 1
    probabilities[100:, 2] = 1  # b (1) wrong, c (2) right, d (0) wrong, e (1) wrong
    correct, videos = videos_correct(probabilities, labels, frame_ids)
    assert (correct, videos) == (2, 5)
    result = TrainResult(history=pd.DataFrame(), classes=["x", "y", "z"], device="cpu",
                         fast_path="off", seconds=1.0, first_batch_loss=None,
                         accuracy=110 / 140, valid_loss=1.0, n_train=10, n_valid=140, lr=1e-3,
                         video_correct=correct, n_valid_videos=videos)
    assert significantly_above_chance(110, 140, 3, 0.01)[0]  # frames alone would pass
    check = accuracy_above_chance(dg.AssetKey(["models", "resnet18"]), result, 0.01)
    assert not check.passed and "2 of 5 validation videos" in check.description


@pytest.mark.slow
def test_refused_settings_say_which_field_and_why_in_one_sentence(instance, curated_tiny_lake):
    from dance_assets.runs import one_line

    def failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
        return {e.step_key: one_line(e.event_specific_data.error)
                for e in result.all_events if e.is_step_failure}

    negative = failures(materialize_models(instance, curated_tiny_lake, "random_frames",
                                           epochs=-1))
    assert negative["models__resnet18"] == (
        "TrainConfig.epochs: Input should be greater than or equal to 1")
    # AlexNet refuses 32 px and ResNet18 trains at it (SqueezeNet, not asserted on, would
    # only add a training and an ONNX export).
    small = failures(materialize_models(instance, curated_tiny_lake, "random_frames",
                                        archs=["alexnet", "resnet18"], image_size=32))
    assert small["models__alexnet"] == (
        "image_size 32 is too small for alexnet: its layers shrink the input to nothing "
        "below 63 px; set image_size to at least 63")
    assert "models__resnet18" not in small  # 32 px is enough for ResNet18
