"""The nst translator: the image is optimised until its VGG features match the content's and
its Gram matrices the style's (Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016).

The loss of an image x, with F_l(x) the activations of layer l (C_l×H_l×W_l) and
G_l(x) = F_l Fᵀ_l / (H_l·W_l) their Gram matrix:

    content_weight · mean_l ‖F_l(x) − F_l(content)‖² / ‖F_l(content)‖²
    + style_weight · mean_l ‖G_l(x) − Σ_i w_i G_l(style_i)‖² / ‖Σ_i w_i G_l(style_i)‖²
    + tv_weight · (mean squared difference of neighbouring pixels)

(norms are means over elements). Each term is divided by the magnitude of its target, so the
weights need no retuning between VGG files whose activations differ in scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from stylezoo import image as imagelib
from stylezoo.errors import InvalidOptionError
from stylezoo.family import Option, blend_weights
from stylezoo.translator import ImageTranslator

from .model import VGGFeatures, gram, total_variation

#: The layers of Gatys et al.: content from relu4_2, style from relu1_1 … relu5_1.
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: The smallest side an image (or style) is optimised at: conv5_1 then has 2×2 positions.
MIN_SIDE = 32
#: Default learning rates (image values are in [0, 1]).
LEARNING_RATES = {"lbfgs": 1.0, "adam": 0.02}
#: Correction pairs L-BFGS keeps (2 image-sized vectors each).
LBFGS_HISTORY = 50

Callback = Callable[[int, float, torch.Tensor], Any]


def _layer_names(value: Any) -> tuple[str, ...]:
    """``"relu1_1,relu2_1"`` or a list of names → a tuple of names."""
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(name, str) for name in value):
        names = [name.strip() for name in value]
    else:
        raise ValueError(f"expected layer names such as 'relu4_2' or a list of them, got {value!r}")
    return tuple(names)


def _callable(value: Any) -> Any:
    if not callable(value):
        raise ValueError(
            f"expected a function callback(step, loss, image), got {type(value).__name__}"
        )
    return value


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError(f"must be positive, got {value!r}")
    return value


class NSTTranslator(ImageTranslator):
    """Neural style transfer by optimisation: any style image, any VGG weights.

    Each image of a batch is optimised on its own (a batch gives the same pixels as a loop of
    single images). The work is done at ``max_size`` (longer side) at most and the result
    resized to the input's size; ``levels`` > 1 optimises at smaller sizes first.

    Example:
        >>> t = stylezoo.load("nst/hed-vgg16")
        >>> out = t.translate("photo.jpg", style="starry_night.jpg", steps=200)
        >>> out = t.translate(photo, style=["a.jpg", "b.jpg"], style_weights=[0.3, 0.7],
        ...                   callback=lambda step, loss, image: print(step, loss))
    """

    options = {
        "style": Option(
            None, "the style image (PIL image, array, tensor in [0, 1] or path), or a list to mix"
        ),
        "style_weights": Option(
            None, "one weight per style image (non-negative, normalised to sum to 1)"
        ),
        "content_weight": Option(1.0, "weight of the content loss", minimum=0),
        "style_weight": Option(1e2, "weight of the style (Gram) loss", minimum=0),
        "tv_weight": Option(0.0, "weight of the total-variation (smoothness) loss", minimum=0),
        "content_layers": Option(
            CONTENT_LAYERS,
            "layers whose activations the content loss compares (names such as relu4_2, "
            "or a comma-separated string)",
            kind="any",
            check=_layer_names,
        ),
        "style_layers": Option(
            STYLE_LAYERS,
            "layers whose Gram matrices the style loss compares",
            kind="any",
            check=_layer_names,
        ),
        "init": Option(
            "content",
            "the starting image: the content, the (first) style resized, or noise",
            choices=("content", "style", "noise"),
        ),
        "optimizer": Option("lbfgs", "L-BFGS (as in the paper) or Adam", choices=("lbfgs", "adam")),
        "learning_rate": Option(
            None,
            "step size (default 1.0 for lbfgs, 0.02 for adam)",
            kind="float",
            check=_positive,
        ),
        "steps": Option(200, "optimisation steps per level", minimum=1),
        "seed": Option(0, "seed of the noise init (same inputs + seed = same pixels on CPU)"),
        "max_size": Option(
            512,
            "optimise at most at this longer side and resize the result to the input's size "
            "(None: the input's own size)",
            kind="int",
            minimum=MIN_SIDE,
            nullable=True,
        ),
        "levels": Option(
            1,
            "coarse-to-fine: optimise at this many sizes, each twice the previous, each "
            "starting from the last result",
            minimum=1,
            maximum=6,
        ),
        "style_scale": Option(
            1.0,
            "style size relative to the content: the style's longer side is this times the "
            "working image's",
            minimum=0.05,
            maximum=8,
        ),
        "preserve_color": Option(
            False, "keep the content's colours: the result's luminance, the content's chroma"
        ),
        "callback": Option(
            None,
            "callback(step, loss, image) after every step; image is the current 3×H×W "
            "tensor in [0, 1]; returning True stops",
            kind="any",
            check=_callable,
        ),
        "patience": Option(
            20,
            "stop a level when the loss has not improved by tolerance for this many steps "
            "(None: always run every step)",
            kind="int",
            minimum=1,
            nullable=True,
        ),
        "tolerance": Option(
            1e-3, "relative loss improvement that counts for patience", minimum=0, maximum=1
        ),
    }

    @property
    def vgg(self) -> VGGFeatures:
        network = self.networks["vgg"]
        assert isinstance(network, VGGFeatures)
        return network

    def prepare_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Check the layers against the network and read the style images (float32
        3×H×W tensors). Idempotent."""
        options = dict(options)
        known = self.vgg.layer_index
        for key in ("content_layers", "style_layers"):
            unknown = [name for name in options[key] if name not in known]
            if unknown:
                raise InvalidOptionError(
                    f"{key} names {', '.join(map(repr, unknown))}, which this network does not "
                    f"have. Its layers: {', '.join(known)}."
                )
        if not options["style_layers"]:
            raise InvalidOptionError("style_layers is empty; name at least one layer.")
        styles = imagelib.option_images(
            options.get("style"),
            "Neural style transfer needs a style image: pass style=<image>, e.g. "
            "t.translate(photo, style='starry_night.jpg'), or style=[img1, img2] with "
            "style_weights=[…] to mix styles.",
        )
        options["style"] = [
            imagelib.prepare_option_image(item, name).rgb.float() for item, name in styles
        ]
        options["style_weights"] = blend_weights(options.get("style_weights"), len(styles))
        return options

    def forward(
        self,
        x: torch.Tensor,
        *,
        source: torch.Tensor,
        style: Sequence[torch.Tensor],
        style_weights: Sequence[float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        content_layers: Sequence[str],
        style_layers: Sequence[str],
        init: str,
        optimizer: str,
        learning_rate: float | None,
        steps: int,
        seed: int,
        max_size: int | None,
        levels: int,
        style_scale: float,
        preserve_color: bool,
        callback: Callback | None,
        patience: int | None,
        tolerance: float,
    ) -> torch.Tensor:
        """Optimise one image per item of the NCHW batch ``x`` (in [0, 1]).

        See the class options for the arguments. ``source`` (the unpadded float32 batch) is
        the content: the optimisation runs in float32 whatever the network's dtype (only the
        VGG passes use it).

        Returns:
            The optimised batch, the size of ``x``.
        """
        settings = _Settings(
            content_weight=content_weight,
            style_weight=style_weight,
            tv_weight=tv_weight,
            content_layers=tuple(content_layers),
            style_layers=tuple(style_layers),
            init=init,
            optimizer=optimizer,
            learning_rate=learning_rate or LEARNING_RATES[optimizer],
            steps=steps,
            seed=seed,
            max_size=max_size,
            levels=levels,
            style_scale=style_scale,
            callback=callback,
            patience=patience,
            tolerance=tolerance,
        )
        parameter = next(self.vgg.parameters())
        device = parameter.device
        # The content in float32, padded (as x is) up to the smallest size the VGG takes.
        content, _ = imagelib.pad_to_multiple(source.to(device, torch.float32), 1, MIN_SIDE)
        styles = [image.to(device, torch.float32) for image in style]
        if device.type == "meta":
            # The core's memory estimate: one loss evaluation and its backward pass, plus the
            # L-BFGS history, measured on shapes only.
            return self._one_evaluation(content, styles, style_weights, settings).to(x.device)
        results = []
        # The core runs forward passes in inference mode; optimisation needs autograd. Tensors
        # made in inference mode are cloned (outside it) before they meet autograd.
        with torch.inference_mode(False), torch.enable_grad():
            for index in range(content.shape[0]):
                item = content[index : index + 1].clone()
                styles_here = [image.clone() for image in styles]
                result = self._stylise(item, styles_here, style_weights, settings)
                if preserve_color:
                    result = keep_colours(result, item)
                results.append(result.detach())
        return torch.cat(results).to(x.device)

    # -- the optimisation -------------------------------------------------------------------
    def _stylise(
        self,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        style_weights: Sequence[float],
        settings: _Settings,
    ) -> torch.Tensor:
        """The stylised 1×3×H×W image of one 1×3×H×W content (float32)."""
        height, width = content.shape[-2:]
        image: torch.Tensor | None = None
        counter = _Counter(settings.callback)
        for size in working_sizes(height, width, settings.max_size, settings.levels):
            level_content = resize(content, size)
            loss = self._loss_function(level_content, styles, style_weights, settings)
            if image is None:
                image = self._initial_image(level_content, styles, settings)
            else:
                image = resize(image, size)
            image = self._optimise(image, loss, settings, counter)
            if counter.stopped:
                break
        assert image is not None  # working_sizes gives at least one size
        return resize(image, (height, width)).clamp(0, 1)

    def _initial_image(
        self, content: torch.Tensor, styles: Sequence[torch.Tensor], settings: _Settings
    ) -> torch.Tensor:
        if settings.init == "content":
            return content.clone()
        if settings.init == "style":
            return resize(styles[0].unsqueeze(0), tuple(content.shape[-2:]))
        generator = torch.Generator().manual_seed(settings.seed)
        noise = torch.rand(content.shape, generator=generator, dtype=torch.float32)
        return noise.to(content.device)

    def _loss_function(
        self,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        style_weights: Sequence[float],
        settings: _Settings,
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The loss of an image of ``content``'s size, targets computed once."""
        vgg, dtype = self.vgg, next(self.vgg.parameters()).dtype
        content_layers, style_layers = settings.content_layers, settings.style_layers
        with torch.no_grad():
            found = vgg.features(content.to(dtype), content_layers)
            content_targets = {name: found[name].float() for name in content_layers}
            style_targets = {name: torch.zeros(()) for name in style_layers}
            long_side = max(content.shape[-2:]) * settings.style_scale
            for image, weight in zip(styles, style_weights, strict=True):
                pixels = resize(image.unsqueeze(0), style_size(image.shape[-2:], long_side))
                grams = vgg.features(pixels.to(dtype), style_layers)
                for name in style_layers:
                    style_targets[name] = style_targets[name] + weight * gram(grams[name])
            content_scale = {n: _magnitude(t) for n, t in content_targets.items()}
            style_scale = {n: _magnitude(t) for n, t in style_targets.items()}
        layers = tuple(dict.fromkeys(content_layers + style_layers))

        def loss_of(image: torch.Tensor) -> torch.Tensor:
            features = vgg.features(image.to(dtype), layers)
            total = torch.zeros((), device=image.device)
            if content_layers and settings.content_weight:
                content_loss = sum(
                    (features[n].float() - content_targets[n]).pow(2).mean() / content_scale[n]
                    for n in content_layers
                )
                total = total + settings.content_weight * content_loss / len(content_layers)
            style_loss = sum(
                (gram(features[n]) - style_targets[n]).pow(2).mean() / style_scale[n]
                for n in style_layers
            )
            total = total + settings.style_weight * style_loss / len(style_layers)
            if settings.tv_weight:
                total = total + settings.tv_weight * total_variation(image)
            return total

        return loss_of

    def _optimise(
        self,
        start: torch.Tensor,
        loss_of: Callable[[torch.Tensor], torch.Tensor],
        settings: _Settings,
        counter: _Counter,
    ) -> torch.Tensor:
        image = start.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
        optimiser: torch.optim.Optimizer
        if settings.optimizer == "lbfgs":
            optimiser = torch.optim.LBFGS(
                [image],
                lr=settings.learning_rate,
                max_iter=1,  # one iteration per step() call: a callback after each
                max_eval=25,
                history_size=LBFGS_HISTORY,
                line_search_fn="strong_wolfe",
            )
        else:
            optimiser = torch.optim.Adam([image], lr=settings.learning_rate)

        def closure() -> torch.Tensor:
            optimiser.zero_grad(set_to_none=True)
            loss = loss_of(image)
            loss.backward()  # type: ignore[no-untyped-call]
            return loss

        best, since_best = math.inf, 0
        for _ in range(settings.steps):
            # The loss the step started from (both optimisers evaluate there first).
            loss = float(optimiser.step(closure).detach())  # type: ignore[no-untyped-call]
            if settings.optimizer == "adam":
                with torch.no_grad():
                    image.clamp_(0, 1)
            if not math.isfinite(loss):
                raise InvalidOptionError(
                    f"The loss became {loss} after {counter.step} steps; lower learning_rate "
                    "or the loss weights, or use optimizer='lbfgs'."
                )
            counter.after_step(loss, image)
            if counter.stopped:
                break
            if loss < best * (1 - settings.tolerance) or best == math.inf:
                best, since_best = loss, 0
            else:
                since_best += 1
            if settings.patience is not None and since_best >= settings.patience:
                break
        return image.detach()

    def _one_evaluation(
        self,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        style_weights: Sequence[float],
        settings: _Settings,
    ) -> torch.Tensor:
        height, width = content.shape[-2:]
        size = working_sizes(height, width, settings.max_size, 1)[-1]
        level = resize(content[:1], size)
        with torch.inference_mode(False), torch.enable_grad():
            image = torch.empty_like(level).requires_grad_(True)
            history = torch.empty(2 * LBFGS_HISTORY + 4, image.numel(), device=image.device)
            loss = self._loss_function(level, styles, style_weights, settings)(image)
            loss.backward()  # type: ignore[no-untyped-call]
            del history
        return content.detach()


class _Settings:
    """The optimisation options of one forward call."""

    def __init__(self, **values: Any) -> None:
        self.content_weight: float = values["content_weight"]
        self.style_weight: float = values["style_weight"]
        self.tv_weight: float = values["tv_weight"]
        self.content_layers: tuple[str, ...] = values["content_layers"]
        self.style_layers: tuple[str, ...] = values["style_layers"]
        self.init: str = values["init"]
        self.optimizer: str = values["optimizer"]
        self.learning_rate: float = values["learning_rate"]
        self.steps: int = values["steps"]
        self.seed: int = values["seed"]
        self.max_size: int | None = values["max_size"]
        self.levels: int = values["levels"]
        self.style_scale: float = values["style_scale"]
        self.callback: Callback | None = values["callback"]
        self.patience: int | None = values["patience"]
        self.tolerance: float = values["tolerance"]


class _Counter:
    """Counts steps across levels and calls the user's callback."""

    def __init__(self, callback: Callback | None) -> None:
        self.callback = callback
        self.step = 0
        self.stopped = False

    def after_step(self, loss: float, image: torch.Tensor) -> None:
        self.step += 1
        if self.callback is not None:
            current = image.detach().clamp(0, 1)[0].clone()
            if self.callback(self.step, loss, current) is True:
                self.stopped = True


def working_sizes(
    height: int, width: int, max_size: int | None, levels: int
) -> list[tuple[int, int]]:
    """The (H, W) of each level, smallest first; the last is the image's size scaled so its
    longer side is at most ``max_size``. Levels whose shorter side would be under
    :data:`MIN_SIDE` are left out."""
    scale = 1.0 if max_size is None else min(1.0, max_size / max(height, width))
    final = (max(round(height * scale), 1), max(round(width * scale), 1))
    sizes = []
    for level in reversed(range(levels)):
        factor = 2**level
        size = (round(final[0] / factor), round(final[1] / factor))
        if level == 0 or min(size) >= MIN_SIDE:
            sizes.append(size)
    return sizes


def style_size(shape: Sequence[int], long_side: float) -> tuple[int, int]:
    """A style's (H, W) with the longer side ``long_side`` (the shorter at least
    :data:`MIN_SIDE`)."""
    height, width = int(shape[0]), int(shape[1])
    scale = long_side / max(height, width)
    scale = max(scale, MIN_SIDE / min(height, width))
    return max(round(height * scale), MIN_SIDE), max(round(width * scale), MIN_SIDE)


def resize(image: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of an NCHW batch; same size: unchanged."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(
        image, size=tuple(size), mode="bilinear", align_corners=False, antialias=True
    )


def keep_colours(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The result's luminance with the content's chroma (Gatys et al. 2016, "Preserving
    color in neural artistic style transfer").

    In YCbCr (BT.601) the chroma channels are linear in RGB − Y, so keeping the content's
    chroma and the result's Y is RGB = content − Y(content) + Y(result).
    """
    luma = torch.tensor(imagelib.LUMA, device=result.device).view(1, 3, 1, 1)
    result_y = (result * luma).sum(1, keepdim=True)
    content_y = (content * luma).sum(1, keepdim=True)
    return (content - content_y + result_y).clamp(0, 1)


def _magnitude(target: torch.Tensor) -> torch.Tensor:
    """Mean square of a target, floored: the loss terms are relative to it."""
    return target.pow(2).mean().clamp_min(1e-12)
