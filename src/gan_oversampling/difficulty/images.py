"""Image transforms behind the MNIST difficulty factors: pixel scaling, rotation, area resize."""

from __future__ import annotations

import math
import numbers

import numpy as np
from PIL import Image

from gan_oversampling.errors import UserError

BACKGROUND = -1.0


def to_unit_range(images_uint8: np.ndarray) -> np.ndarray:
    """Pixels 0..255 scaled to [-1, 1] as `x / 255 * 2 - 1`, float32."""
    images = np.asarray(images_uint8)
    if images.dtype != np.uint8:
        raise UserError(f"expected uint8 pixels (0..255), got dtype {images.dtype}")
    # Computed in float64 then rounded once, so each value is the nearest float32.
    return (images / 255.0 * 2.0 - 1.0).astype(np.float32)


def rotate_images(images: np.ndarray, angle: float) -> np.ndarray:
    """Each image rotated by `angle` degrees counter-clockwise about its centre.

    Exactly PIL's `Image.rotate(angle, resample=NEAREST, fillcolor=-1)` on a float image:
    nearest-neighbour, same canvas (no expansion), uncovered corners set to -1 (background).
    """
    stack = _check_stack(images, "rotate")
    angle = _check_angle(angle)
    rotated = np.empty_like(stack)
    for index, image in enumerate(stack):
        picture = Image.fromarray(np.ascontiguousarray(image))
        turned = picture.rotate(angle, resample=Image.Resampling.NEAREST, fillcolor=BACKGROUND)
        rotated[index] = np.asarray(turned, dtype=np.float32)
    return rotated


def area_resize(images: np.ndarray, side: int) -> np.ndarray:
    """Square images (n, s, s) shrunk to (n, side, side) by pixel-area averaging.

    Equal (to float rounding) to OpenCV `cv2.resize(img, (side, side),
    interpolation=cv2.INTER_AREA)` on float32 images. Each output pixel is the mean of the
    source area it covers, source pixels cut by a cell border counting by the covered
    fraction. Only shrinking is supported (OpenCV's INTER_AREA switches to a different,
    bilinear-like method when enlarging): `side` > s raises UserError.
    """
    stack = _check_stack(images, "resize")
    source_side = stack.shape[1]
    if stack.shape[2] != source_side:
        raise UserError(f"area_resize needs square images, got {stack.shape[1:]}")
    side = _check_side(side, source_side)
    if side == source_side:
        return stack.copy()
    weights = area_weights(source_side, side)
    resized = weights @ stack.astype(np.float64) @ weights.T
    return resized.astype(np.float32)


def area_weights(source_side: int, side: int) -> np.ndarray:
    """The (side, source_side) matrix W with W[i, j] = share of output cell i covered by pixel j.

    Cell i spans [i * s / side, (i + 1) * s / side) in source coordinates; pixel j spans
    [j, j + 1). Each row sums to 1.
    """
    cell_width = source_side / side
    cell_start = np.arange(side)[:, None] * cell_width
    cell_end = cell_start + cell_width
    pixel_start = np.arange(source_side)[None, :]
    overlap = np.minimum(cell_end, pixel_start + 1) - np.maximum(cell_start, pixel_start)
    return np.clip(overlap, 0.0, None) / cell_width


def _check_stack(images: np.ndarray, action: str) -> np.ndarray:
    stack = np.asarray(images)
    if stack.ndim != 3:
        raise UserError(
            f"cannot {action}: expected images as (n, height, width), got {stack.shape}"
        )
    if stack.dtype != np.float32:
        raise UserError(f"cannot {action}: expected float32 images, got dtype {stack.dtype}")
    return stack


def _check_angle(angle: float) -> float:
    if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
        raise UserError(f"rotation angle must be a number of degrees, got {angle!r}")
    if not math.isfinite(angle):
        raise UserError(f"rotation angle must be finite, got {angle!r}")
    return float(angle)


def _check_side(side: int, source_side: int) -> int:
    if isinstance(side, bool) or not isinstance(side, numbers.Integral):
        raise UserError(f"image side must be an integer, got {side!r}")
    if not 2 <= side <= source_side:
        raise UserError(
            f"image side {side} not allowed: area resize shrinks {source_side}x{source_side} "
            f"images to a side from 2 to {source_side}"
        )
    return int(side)
