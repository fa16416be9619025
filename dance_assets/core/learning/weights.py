"""ImageNet weights found the way torchvision and fastai users expect, and nothing else.

In order: the folder `weights_dir` when set; torch's hub cache ($TORCH_HOME/hub/
checkpoints, where torchvision itself keeps them); else, when downloading is allowed,
torchvision's file fetched into that cache with its hash checked (the hex digits in
torchvision's file name are the start of the file's sha256). Offline and missing, one
line names the file and both places.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

from dance_assets.core.lake.errors import DanceAssetsError


@dataclass(frozen=True)
class WeightsPlaces:
    """Where pretrained weights may come from."""

    weights_dir: Path | None = None
    allow_download: bool = True
    base_url: str | None = None  # a mirror of torchvision's files; None: torchvision's own


def torchvision_file(arch: str) -> tuple[str, str]:
    """Torchvision's file name and address for the ImageNet weights of `arch`."""
    from torchvision.models import get_model_weights

    url = get_model_weights(arch).DEFAULT.url
    return url.rsplit("/", 1)[-1], url


def hub_checkpoints() -> Path:
    """torch's hub cache of checkpoints ($TORCH_HOME/hub/checkpoints by default)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def pretrained_weights(arch: str, places: WeightsPlaces,
                       report: Callable[[str], None] = print) -> Path:
    """The local file of `arch`'s ImageNet weights, downloaded into the hub cache if need be."""
    import torch

    filename, url = torchvision_file(arch)
    if places.weights_dir is not None and (Path(places.weights_dir) / filename).is_file():
        return Path(places.weights_dir) / filename
    cached = hub_checkpoints() / filename
    if cached.is_file():
        return cached
    where = (f"weights_dir ({places.weights_dir or 'not set'}) nor torch's hub cache "
             f"({cached.parent})")
    if not places.allow_download:
        raise DanceAssetsError(f"pretrained {arch} needs {filename}, which is in neither "
                               f"{where}; put it in one of them, or allow the download")
    source = f"{places.base_url.rstrip('/')}/{filename}" if places.base_url else url
    match = torch.hub.HASH_REGEX.search(filename)
    report(f"downloading {filename} from {source} into {cached.parent}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:  # torch writes a temporary file and moves it into place once the hash matches
        torch.hub.download_url_to_file(source, str(cached),
                                       hash_prefix=match.group(1) if match else None,
                                       progress=False)
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DanceAssetsError(f"pretrained {arch} needs {filename}, which is in neither "
                               f"{where}, and the download from {source} failed "
                               f"({reason})") from None
    except RuntimeError as exc:  # the hash did not match: nothing was kept
        raise DanceAssetsError(f"the {filename} downloaded from {source} is not torchvision's "
                               f"file ({str(exc).splitlines()[0]}); it was not kept") from None
    return cached
