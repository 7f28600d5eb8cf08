"""Training data: image folders, the official augmentations, and a deterministic sample order.

Every sample is named by its *global position* in an endless stream (epoch ``e`` covers
positions ``e·L … (e+1)·L − 1`` for an epoch of ``L`` samples). What a position holds (which
files, which crop, which flip) follows from ``(seed, position)`` alone, so the stream is the
same whatever the number of DataLoader workers, ranks or restarts: a run resumed at step ``s``
reads exactly what the uninterrupted run read at step ``s``, and ``N`` ranks with per-rank
batch ``B`` read what one process with batch ``N·B`` reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from ..errors import InvalidDataError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}
)
_MIX = 0x9E3779B97F4A7C15  # a large odd constant, to spread (seed, position) over 63 bits


def position_seed(seed: int, position: int, stream: int = 0) -> int:
    """A 63-bit seed for one sample, from the run's seed, the position and a stream id."""
    value = (seed * _MIX + position * 0xBF58476D1CE4E5B9 + stream * 0x94D049BB133111EB) & (
        (1 << 64) - 1
    )
    value ^= value >> 31
    return value & ((1 << 63) - 1)


def image_files(folder: str | os.PathLike[str], what: str) -> list[Path]:
    """The image files under ``folder`` (recursively, sorted); a clear error when there are
    none. ``what`` names the folder's role in messages (``"domain A"``)."""
    path = Path(folder)
    if not path.exists():
        raise InvalidDataError(f"The {what} folder {str(path)!r} does not exist.")
    if path.is_file():
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return [path]
        raise InvalidDataError(
            f"The {what} path {str(path)!r} is a file, not an image folder; name a folder of "
            f"images ({', '.join(sorted(IMAGE_SUFFIXES))})."
        )
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InvalidDataError(
            f"The {what} folder {str(path)!r} holds no images "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}); add some or name another folder."
        )
    return files


def readable(files: Sequence[Path], what: str) -> tuple[list[Path], list[Path]]:
    """Split ``files`` into readable images and skipped ones (one warning each).

    Reads each header and checks what PIL can check without decoding; a file that passes and
    still fails to decode later is replaced by its next readable neighbour (with a warning).
    """
    good: list[Path] = []
    bad: list[Path] = []
    for file in files:
        try:
            with Image.open(file) as image:
                image.verify()
        except Exception as exc:  # PIL raises many kinds; all mean "not a usable image"
            logger.warning("Skipping %s: not a readable image (%s).", file, exc)
            bad.append(file)
        else:
            good.append(file)
    if not good:
        raise InvalidDataError(
            f"None of the {len(files)} files of the {what} is a readable image "
            f"(first: {str(files[0])!r}); check the folder."
        )
    return good, bad


@dataclass(frozen=True)
class Augment:
    """How a training image becomes a crop (the official ``--preprocess`` steps).

    Attributes:
        resize: ``"squash"`` (both sides to ``load_size``, as the junyanz and AdaIN code),
            ``"shorter"`` (shorter side to ``load_size``, as fast neural style) or ``"none"``.
        load_size: the size images are resized to before cropping.
        crop_size: the square crop the networks see.
        crop: ``"random"`` or ``"center"``.
        flip: random horizontal flips (p = 0.5).
    """

    resize: str = "squash"
    load_size: int = 286
    crop_size: int = 256
    crop: str = "random"
    flip: bool = True

    def __post_init__(self) -> None:
        if self.resize not in ("squash", "shorter", "none"):
            raise InvalidDataError(
                f"resize must be 'squash', 'shorter' or 'none', got {self.resize!r}."
            )
        if self.crop not in ("random", "center"):
            raise InvalidDataError(f"crop must be 'random' or 'center', got {self.crop!r}.")
        if self.crop_size < 1 or self.load_size < 1:
            raise InvalidDataError(
                f"load_size and crop_size must be positive, got {self.load_size} and "
                f"{self.crop_size}."
            )
        if self.resize != "none" and self.load_size < self.crop_size:
            raise InvalidDataError(
                f"load_size ({self.load_size}) must be at least crop_size ({self.crop_size})."
            )

    def plan(self, size: tuple[int, int], rng: torch.Generator) -> tuple[Any, ...]:
        """The resize, crop box and flip for an image of ``size`` (width, height)."""
        width, height = size
        if self.resize == "squash":
            width = height = self.load_size
        elif self.resize == "shorter":
            scale = self.load_size / min(width, height)
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        crop = min(self.crop_size, width, height)
        if self.crop == "random":
            left = int(torch.randint(0, width - crop + 1, (1,), generator=rng))
            top = int(torch.randint(0, height - crop + 1, (1,), generator=rng))
        else:
            left, top = (width - crop) // 2, (height - crop) // 2
        flip = bool(self.flip and torch.rand((), generator=rng) < 0.5)
        return (width, height), (left, top, left + crop, top + crop), flip

    def apply(self, image: Image.Image, plan: tuple[Any, ...]) -> torch.Tensor:
        """``image`` resized, cropped and flipped by ``plan``: float [3, H, W] in [0, 1]."""
        size, box, flip = plan
        if size != image.size:
            image = image.resize(size, Image.Resampling.BICUBIC)
        image = image.crop(box)
        if box[2] - box[0] < self.crop_size or box[3] - box[1] < self.crop_size:
            # an image smaller than the crop (resize "none"): scale it up to the crop
            image = image.resize((self.crop_size, self.crop_size), Image.Resampling.BICUBIC)
        if flip:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return to_tensor(image)


def to_tensor(image: Image.Image) -> torch.Tensor:
    """An RGB PIL image as float [3, H, W] in [0, 1]."""
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return data.view(image.height, image.width, 3).permute(2, 0, 1).float().div(255.0)


def open_rgb(path: Path) -> Image.Image:
    """``path`` decoded as RGB (grayscale, palette and alpha images converted)."""
    with Image.open(path) as image:
        image.load()
        converted: Image.Image = image.convert("RGB")
        return converted


class Folder:
    """A list of readable image files with a name for messages and model cards."""

    def __init__(self, path: str | os.PathLike[str], what: str) -> None:
        self.path = Path(path)
        self.what = what
        self.files, self.skipped = readable(image_files(path, what), what)

    def __len__(self) -> int:
        return len(self.files)

    def open(self, index: int) -> Image.Image:
        """File ``index``, or, when it fails to decode, the next one that does."""
        for attempt in range(len(self.files)):
            file = self.files[(index + attempt) % len(self.files)]
            try:
                return open_rgb(file)
            except Exception as exc:  # decoding errors of any kind
                logger.warning("Skipping %s: it cannot be decoded (%s).", file, exc)
        raise InvalidDataError(f"No image of the {self.what} ({self.path}) can be decoded.")

    def describe(self) -> dict[str, Any]:
        return {"folder": self.path.name, "images": len(self.files), "skipped": len(self.skipped)}


class TrainingData(Dataset[dict[str, torch.Tensor]]):
    """Base class of training datasets: ``__getitem__`` takes a global position.

    Subclasses implement :meth:`sample` and set ``length`` (the epoch length).
    """

    length: int = 0

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._order_epoch = -1
        self._order: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.length

    def order(self, epoch: int, count: int, stream: int = 0) -> torch.Tensor:
        """A permutation of ``range(count)`` for ``epoch`` (the shuffled file order)."""
        rng = torch.Generator().manual_seed(position_seed(self.seed, epoch, 1000 + stream))
        return torch.randperm(count, generator=rng)

    def rng(self, position: int) -> torch.Generator:
        return torch.Generator().manual_seed(position_seed(self.seed, position))

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        return self.sample(int(position))

    def sample(self, position: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def preview(self, count: int) -> dict[str, torch.Tensor]:
        """``count`` fixed samples (center crops, no flip) for sample grids."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def _shuffled(self, position: int, count: int, stream: int = 0) -> int:
        """The file index at ``position`` of a shuffled pass over ``count`` files."""
        epoch, offset = divmod(position, count)
        key = (epoch, count, stream)
        cache: dict[tuple[int, int, int], torch.Tensor] = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            if len(cache) > 4:
                cache.clear()
            cache[key] = self.order(epoch, count, stream)
        return int(cache[key][offset])


class UnpairedImages(TrainingData):
    """Two unaligned domains (CycleGAN, CUT): A in shuffled epochs, B drawn at random.

    As the official unaligned dataset: an epoch is ``max(len(A), len(B))`` samples, and the
    B image of each sample is independent of the A image.
    """

    def __init__(self, a: Folder, b: Folder, augment: Augment, seed: int) -> None:
        super().__init__(seed)
        self.a, self.b, self.augment = a, b, augment
        self.length = max(len(a), len(b))
        #: From this position on, images are resized to the crop size (no scale jitter), as
        #: CUT does in its decay epochs; ``None``: never.
        self.plain_from: int | None = None

    def sample(self, position: int) -> dict[str, torch.Tensor]:
        rng = self.rng(position)
        epoch, offset = divmod(position, self.length)
        index_a = self._shuffled(epoch * len(self.a) + offset % len(self.a), len(self.a))
        index_b = int(torch.randint(0, len(self.b), (1,), generator=rng))
        image_a, image_b = self.a.open(index_a), self.b.open(index_b)
        augment = self.augment
        if self.plain_from is not None and position >= self.plain_from:
            augment = replace(augment, load_size=augment.crop_size)
        return {
            "A": augment.apply(image_a, augment.plan(image_a.size, rng)),
            "B": augment.apply(image_b, augment.plan(image_b.size, rng)),
        }

    def preview(self, count: int) -> dict[str, torch.Tensor]:
        fixed = _fixed(self.augment)
        rng = torch.Generator()
        a = [self.a.open(i % len(self.a)) for i in range(count)]
        b = [self.b.open(i % len(self.b)) for i in range(count)]
        return {
            "A": torch.stack([fixed.apply(x, fixed.plan(x.size, rng)) for x in a]),
            "B": torch.stack([fixed.apply(x, fixed.plan(x.size, rng)) for x in b]),
        }

    def describe(self) -> dict[str, Any]:
        return {"A": self.a.describe(), "B": self.b.describe()}


class PairedImages(TrainingData):
    """Aligned pairs (pix2pix): the same resize, crop and flip applied to A and B."""

    def __init__(self, pairs: PairSource, augment: Augment, seed: int) -> None:
        super().__init__(seed)
        self.pairs, self.augment = pairs, augment
        self.length = len(pairs)

    def sample(self, position: int) -> dict[str, torch.Tensor]:
        rng = self.rng(position)
        a, b = self.pairs.open(self._shuffled(position, self.length))
        plan = self.augment.plan(a.size, rng)
        return {"A": self.augment.apply(a, plan), "B": self.augment.apply(b, plan)}

    def preview(self, count: int) -> dict[str, torch.Tensor]:
        fixed = _fixed(self.augment)
        rng = torch.Generator()
        a_list, b_list = [], []
        for i in range(count):
            a, b = self.pairs.open(i % self.length)
            plan = fixed.plan(a.size, rng)
            a_list.append(fixed.apply(a, plan))
            b_list.append(fixed.apply(b, plan))
        return {"A": torch.stack(a_list), "B": torch.stack(b_list)}

    def describe(self) -> dict[str, Any]:
        return self.pairs.describe()


class ContentImages(TrainingData):
    """One folder of content photos (AdaIN, fast style, multistyle): shuffled epochs."""

    def __init__(self, content: Folder, augment: Augment, seed: int) -> None:
        super().__init__(seed)
        self.content, self.augment = content, augment
        self.length = len(content)

    def sample(self, position: int) -> dict[str, torch.Tensor]:
        rng = self.rng(position)
        image = self.content.open(self._shuffled(position, self.length))
        return {"content": self.augment.apply(image, self.augment.plan(image.size, rng))}

    def preview(self, count: int) -> dict[str, torch.Tensor]:
        fixed = _fixed(self.augment)
        rng = torch.Generator()
        images = [self.content.open(i % self.length) for i in range(count)]
        return {"content": torch.stack([fixed.apply(x, fixed.plan(x.size, rng)) for x in images])}

    def describe(self) -> dict[str, Any]:
        return {"content": self.content.describe()}


class PairSource:
    """Aligned pairs, either side-by-side AB images or two folders with matching names.

    ``direction="AtoB"`` translates the left (or ``a``) image into the right (or ``b``) one;
    ``"BtoA"`` swaps them.
    """

    def __init__(
        self,
        *,
        ab: str | os.PathLike[str] | None = None,
        a: str | os.PathLike[str] | None = None,
        b: str | os.PathLike[str] | None = None,
        direction: str = "AtoB",
    ) -> None:
        if direction not in ("AtoB", "BtoA"):
            raise InvalidDataError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}.")
        self.direction = direction
        self.ab: Folder | None = None
        self.names: list[tuple[Path, Path]] = []
        if ab is not None:
            self.ab = Folder(ab, "aligned AB images")
        elif a is not None and b is not None:
            folder_a, folder_b = Folder(a, "domain A"), Folder(b, "domain B")
            by_stem = {f.relative_to(folder_b.path).with_suffix(""): f for f in folder_b.files}
            for file in folder_a.files:
                match = by_stem.get(file.relative_to(folder_a.path).with_suffix(""))
                if match is not None:
                    self.names.append((file, match))
            if not self.names:
                raise InvalidDataError(
                    f"No file of {str(folder_a.path)!r} has a namesake in "
                    f"{str(folder_b.path)!r}; paired folders need matching file names."
                )
            self.folders = (folder_a, folder_b)
        else:
            raise InvalidDataError(
                "Paired training needs either one folder of side-by-side AB images or two "
                "folders A and B with matching file names."
            )

    def __len__(self) -> int:
        return len(self.ab) if self.ab is not None else len(self.names)

    def open(self, index: int) -> tuple[Image.Image, Image.Image]:
        if self.ab is not None:
            image = self.ab.open(index)
            half = image.width // 2
            if half < 1:
                raise InvalidDataError(f"An AB image of {self.ab.path} is too narrow to split.")
            a = image.crop((0, 0, half, image.height))
            b = image.crop((half, 0, 2 * half, image.height))
        else:
            file_a, file_b = self.names[index % len(self.names)]
            a, b = open_rgb(file_a), open_rgb(file_b)
            if a.size != b.size:
                b = b.resize(a.size, Image.Resampling.BICUBIC)
        return (a, b) if self.direction == "AtoB" else (b, a)

    def describe(self) -> dict[str, Any]:
        if self.ab is not None:
            return {"AB": self.ab.describe(), "direction": self.direction}
        a, b = self.folders
        return {
            "A": a.describe(),
            "B": b.describe(),
            "pairs": len(self.names),
            "direction": self.direction,
        }


def _fixed(augment: Augment) -> Augment:
    return Augment(
        resize=augment.resize,
        load_size=augment.crop_size if augment.resize == "squash" else augment.load_size,
        crop_size=augment.crop_size,
        crop="center",
        flip=False,
    )


class StepSampler(Sampler[list[int]]):
    """The positions of one rank's share of steps ``start … stop − 1``.

    Step ``s`` covers global positions ``s·G … s·G + G − 1`` (``G`` = global batch); rank
    ``r`` of ``N`` takes the ``r``-th of ``N`` equal slices.
    """

    def __init__(self, start: int, stop: int, global_batch: int, rank: int, world: int) -> None:
        if global_batch % world:
            raise InvalidDataError(
                f"The global batch ({global_batch}) must be divisible by the number of "
                f"processes ({world})."
            )
        self.start, self.stop = start, stop
        self.global_batch, self.rank, self.world = global_batch, rank, world

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        share = self.global_batch // self.world
        for step in range(self.start, self.stop):
            first = step * self.global_batch + self.rank * share
            yield list(range(first, first + share))


def _pick(data: Any, keys: Sequence[str]) -> Any:
    for key in keys:
        if key in data and data[key] is not None:
            return data[key]
    return None


def unpaired(data: Any, augment: Augment, seed: int) -> UnpairedImages:
    """Two domains from ``{"A": dir, "B": dir}`` or a folder holding ``trainA/`` and
    ``trainB/`` (the official dataset layout)."""
    if isinstance(data, (str, os.PathLike)):
        root = Path(data)
        if not root.is_dir():
            raise InvalidDataError(
                f"The training data {str(root)!r} is not a folder; give a folder with trainA/ "
                "and trainB/, or the two domain folders (--a DIR --b DIR)."
            )
        a, b = root / "trainA", root / "trainB"
        if not a.is_dir() or not b.is_dir():
            missing = [p.name for p in (a, b) if not p.is_dir()]
            raise InvalidDataError(
                f"The training data folder {str(root)!r} has no {' or '.join(missing)}/ "
                "subfolder; unpaired training needs trainA/ and trainB/ (or --a DIR --b DIR)."
            )
        return UnpairedImages(Folder(a, "domain A"), Folder(b, "domain B"), augment, seed)
    if isinstance(data, dict):
        a_dir, b_dir = _pick(data, ("A", "a")), _pick(data, ("B", "b"))
        if a_dir is None or b_dir is None:
            absent = "A" if a_dir is None else "B"
            raise InvalidDataError(
                f"Unpaired training needs both domains; domain {absent} is missing (give "
                "{'A': folder, 'B': folder}, or --a DIR --b DIR)."
            )
        return UnpairedImages(Folder(a_dir, "domain A"), Folder(b_dir, "domain B"), augment, seed)
    raise InvalidDataError(
        f"Unpaired training data must be a folder or {{'A': folder, 'B': folder}}, got {data!r}."
    )


def paired(data: Any, augment: Augment, seed: int, direction: str = "AtoB") -> PairedImages:
    """Aligned pairs from a folder of side-by-side AB images (``train/`` inside it is used when
    present), or from ``{"A": dir, "B": dir}`` with matching file names."""
    if isinstance(data, (str, os.PathLike)):
        root = Path(data)
        if (root / "train").is_dir():
            root = root / "train"
        return PairedImages(PairSource(ab=root, direction=direction), augment, seed)
    if isinstance(data, dict):
        ab = _pick(data, ("AB", "ab"))
        if ab is not None:
            return PairedImages(PairSource(ab=ab, direction=direction), augment, seed)
        a_dir, b_dir = _pick(data, ("A", "a")), _pick(data, ("B", "b"))
        return PairedImages(PairSource(a=a_dir, b=b_dir, direction=direction), augment, seed)
    raise InvalidDataError(
        f"Paired training data must be a folder of AB images or {{'A': folder, 'B': folder}}, "
        f"got {data!r}."
    )


def content(data: Any, augment: Augment, seed: int) -> ContentImages:
    """A folder of content photos (``{"content": dir}`` also accepted)."""
    if isinstance(data, dict):
        data = _pick(data, ("content", "A", "a"))
        if data is None:
            raise InvalidDataError("Style training needs a content folder ({'content': folder}).")
    if not isinstance(data, (str, os.PathLike)):
        raise InvalidDataError(f"Content data must be a folder, got {data!r}.")
    return ContentImages(Folder(data, "content images"), augment, seed)


def augment_from(hparams: dict[str, Any], **overrides: Any) -> Augment:
    """The :class:`Augment` a trainer's hparams describe (load_size, crop_size, flip)."""
    settings: dict[str, Any] = {
        "load_size": hparams["load_size"],
        "crop_size": hparams["crop_size"],
        "flip": hparams["flip"],
    }
    settings.update(overrides)
    return Augment(**settings)
