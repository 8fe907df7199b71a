"""Customer segments: the RFM scores of ``gold.customer_value`` plus k-means clusters.

The clustering reads log recency, log frequency and log value (standardised); k is the one
of ``k_min..k_max`` with the best silhouette on a sample. Each cluster is described by its
size and the medians of recency, frequency and value, and named by how they compare with the
whole base (e.g. ``recent · frequent · high value``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from lakeshop.app.ml_config import SegmentSettings
from lakeshop.ml.data import NotEnoughHistory

COLUMNS = ("recency_days", "frequency", "monetary")
Matrix = npt.NDArray[np.float64]


@dataclass
class SegmentModel:
    """The scaler and k-means of a clustering, with the silhouette of every k tried."""

    scaler: Any
    kmeans: Any
    silhouettes: dict[int, float]

    @property
    def k(self) -> int:
        """The number of clusters."""
        return int(self.kmeans.n_clusters)


def matrix(rfm: pa.Table) -> Matrix:
    """Log recency, frequency and value per customer (negative values clipped to 0)."""
    cols = [np.clip(rfm.column(c).to_numpy(zero_copy_only=False), 0, None) for c in COLUMNS]
    return np.log1p(np.column_stack(cols).astype(np.float64))


def fit(rfm: pa.Table, settings: SegmentSettings, seed: int) -> SegmentModel:
    """Standardise, then k-means for each k; keep the best silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    if rfm.num_rows < max(settings.k_min * 5, 20):
        raise NotEnoughHistory(
            f"segments: {rfm.num_rows} customers in gold.customer_value; at least "
            f"{max(settings.k_min * 5, 20)} are needed to cluster"
        )
    x = matrix(rfm)
    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(z), min(len(z), settings.silhouette_sample), replace=False)
    best: tuple[float, Any] | None = None
    scores: dict[int, float] = {}
    for k in range(settings.k_min, min(settings.k_max, len(z) - 1) + 1):
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(z)
        score = float(silhouette_score(z[sample], km.labels_[sample], random_state=seed))
        scores[k] = score
        if best is None or score > best[0]:
            best = (score, km)
    assert best is not None
    return SegmentModel(scaler, best[1], scores)


def assign(model: SegmentModel, rfm: pa.Table) -> pa.Table:
    """``gold.customer_segments`` rows: RFM scores and segment, cluster, its name and
    profile (size, median recency, frequency and value)."""
    x = matrix(rfm)
    cluster = model.kmeans.predict(model.scaler.transform(x)).astype(np.int64)
    raw = np.column_stack([rfm.column(c).to_numpy(zero_copy_only=False) for c in COLUMNS])
    overall = np.median(raw, axis=0)
    k = model.k
    size = np.bincount(cluster, minlength=k)
    med = np.array([np.median(raw[cluster == c], axis=0) if size[c] else overall for c in range(k)])
    words = (("recent", "lapsing"), ("frequent", "occasional"), ("high value", "low value"))
    names = np.array(
        [
            " · ".join(
                words[j][0]
                if (med[c, j] <= overall[j] if j == 0 else med[c, j] >= overall[j])
                else words[j][1]
                for j in range(3)
            )
            for c in range(k)
        ]
    )
    take = pa.array(cluster)
    return pa.table(
        {
            "customer_id": rfm.column("customer_id"),
            "r_score": rfm.column("r_score"),
            "f_score": rfm.column("f_score"),
            "m_score": rfm.column("m_score"),
            "rfm_segment": rfm.column("rfm_segment"),
            "cluster": take,
            "cluster_name": pa.array(names).take(take),
            "cluster_customers": pa.array(size.astype(np.int64)).take(take),
            "cluster_recency_days": pa.array(med[:, 0]).take(take),
            "cluster_frequency": pa.array(med[:, 1]).take(take),
            "cluster_monetary": pa.array(med[:, 2]).take(take),
        }
    )
