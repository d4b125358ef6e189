import pytest

from backend.ledger.delinquency import Bucket, bucket_for


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, Bucket.CURRENT),
        (1, Bucket.DPD_1_30),
        (30, Bucket.DPD_1_30),
        (31, Bucket.DPD_31_60),
        (60, Bucket.DPD_31_60),
        (61, Bucket.DPD_61_90),
        (90, Bucket.DPD_61_90),
        (91, Bucket.DPD_91_180),
        (180, Bucket.DPD_91_180),
        (181, Bucket.DPD_180_PLUS),
        (2000, Bucket.DPD_180_PLUS),
    ],
)
def test_bucket_boundaries(dpd: int, bucket: Bucket) -> None:
    assert bucket_for(dpd) is bucket


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        bucket_for(-1)
