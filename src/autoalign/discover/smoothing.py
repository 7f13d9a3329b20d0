"""Denoising a target before the search sees it: local quadratic regression in one or two variables.

Brute force scores every expression on a few dozen rows. Without noise that is plenty; with noise
of 1% the scores of hundreds of wrong shapes (``1/cos(πx/3)`` for ``1/sqrt(1 - x²)``) sit within the
noise of the right one, and which of them are refined is a lottery. AI Feynman fits a neural network
first and searches against it; in one or two variables a local fit over thousands of rows does the
same job with nothing to train: each sampled row's value is re-estimated from its nearest
neighbours, which divides the noise by about the square root of their number while the quadratic
term keeps the curvature's bias small. In three or more variables the neighbourhoods grow too wide
for that, so the target is left as it is.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: Neighbours of each estimate, by number of variables: the fewest (least bias where the target
#: bends sharply), and the share of all rows for the widest (least noise where it is smooth).
NEIGHBOURS = {1: 64, 2: 160}
WIDEST_SHARE = {1: 1 / 16, 2: 1 / 8}


def neighbourhoods(x: np.ndarray) -> list[int]:
    """The neighbourhood sizes worth smoothing ``x``'s target with: none for three or more
    variables or too few rows, else a narrow one and a wide one."""
    dimensions = x.shape[1]
    if dimensions not in NEIGHBOURS or len(x) < 8 * NEIGHBOURS[dimensions]:
        return []
    return [NEIGHBOURS[dimensions], max(NEIGHBOURS[dimensions], int(len(x) * WIDEST_SHARE[dimensions]))]


def local_quadratic(
    x: np.ndarray, y: np.ndarray, at: np.ndarray, weights: np.ndarray | None = None, *, neighbours: int | None = None
) -> np.ndarray:
    """``y`` re-estimated at the points ``at`` by weighted local quadratic regression on ``(x, y)``.

    ``neighbours`` is the size of each neighbourhood (by default the narrow one of
    :func:`neighbourhoods`). ``weights`` are the rows' inverse noise variances (rows of a
    dimensionless view carry the noise of the original target divided by their scale); neighbours
    are also weighted by the tricube of their distance, so the fit is smooth in ``at``. Distances
    are in units of each variable's spread.
    """
    k = min(len(x), neighbours or NEIGHBOURS[x.shape[1]])
    spread = np.std(x, axis=0) + 1e-300
    points, queries = x / spread, at / spread
    distances, nearest = cKDTree(points).query(queries, k=k)
    reach = distances[:, -1:] * 1.0001 + 1e-300
    kernel = (1 - (distances / reach) ** 3) ** 3
    if weights is not None:
        kernel = kernel * weights[nearest]
    offsets = points[nearest] - queries[:, None, :]
    design = _quadratic_design(offsets)
    weighted = design * kernel[..., None]
    normal = np.einsum("qkp,qkr->qpr", weighted, design)
    moment = np.einsum("qkp,qk->qp", weighted, y[nearest])
    normal += 1e-9 * np.trace(normal, axis1=1, axis2=2)[:, None, None] * np.eye(normal.shape[1])
    return np.linalg.solve(normal, moment[..., None])[:, 0, 0]


def _quadratic_design(offsets: np.ndarray) -> np.ndarray:
    """Columns 1, each offset, and each product of two offsets."""
    dimensions = offsets.shape[-1]
    columns = [np.ones(offsets.shape[:-1])]
    columns += [offsets[..., i] for i in range(dimensions)]
    columns += [offsets[..., i] * offsets[..., j] for i in range(dimensions) for j in range(i, dimensions)]
    return np.stack(columns, axis=-1)
