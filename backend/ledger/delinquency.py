"""Days past due and delinquency buckets."""

from __future__ import annotations

from enum import StrEnum


class Bucket(StrEnum):
    CURRENT = "current"
    DPD_1_30 = "1-30"
    DPD_31_60 = "31-60"
    DPD_61_90 = "61-90"
    DPD_91_180 = "91-180"
    DPD_180_PLUS = "180+"  # usually written off


UPPER_BOUNDS: tuple[tuple[int, Bucket], ...] = (
    (0, Bucket.CURRENT),
    (30, Bucket.DPD_1_30),
    (60, Bucket.DPD_31_60),
    (90, Bucket.DPD_61_90),
    (180, Bucket.DPD_91_180),
)


def bucket_for(dpd: int) -> Bucket:
    if dpd < 0:
        raise ValueError("days past due cannot be negative")
    for upper, bucket in UPPER_BOUNDS:
        if dpd <= upper:
            return bucket
    return Bucket.DPD_180_PLUS
