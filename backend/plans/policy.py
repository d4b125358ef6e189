"""The repayment-plan policy operations keep in `config/plans.yml`, validated at start-up."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.ledger.delinquency import Bucket
from backend.money import AMOUNT_LIMIT

Share = Decimal  # a fraction: 0.10 is 10%


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstallmentPolicy(_Strict):
    """协商分期: what is owed today, with a fee, in equal monthly installments."""

    enabled: bool = True
    terms_months: list[int] = Field(default=[3, 6, 12], min_length=1)
    min_installment: Decimal = Field(
        default=Decimal(100), ge=0, lt=AMOUNT_LIMIT, description="major units"
    )
    down_payment_share: Share = Field(default=Decimal("0.10"), ge=0, lt=1)
    monthly_fee_rate: Share = Field(default=Decimal("0.005"), ge=0, lt=1)
    eligible_buckets: list[Bucket] = [Bucket.DPD_1_30, Bucket.DPD_31_60, Bucket.DPD_61_90]
    grace_days: int = Field(default=3, ge=0)

    @field_validator("terms_months")
    @classmethod
    def _positive_terms(cls, value: list[int]) -> list[int]:
        if any(t < 2 or t > 60 for t in value):
            raise ValueError("installment terms are between 2 and 60 months")
        return sorted(set(value))


class ExtensionPolicy(_Strict):
    """延期: the unpaid installments move later by whole months, for a fee."""

    enabled: bool = True
    months: list[int] = Field(default=[1], min_length=1)
    fee_share: Share = Field(default=Decimal("0.02"), ge=0, lt=1, description="of what moves")
    min_dpd: int = Field(default=1, ge=0)
    max_dpd: int = Field(default=30, ge=0)
    max_per_loan: int = Field(default=1, ge=0)
    grace_days: int = Field(default=3, ge=0)

    @model_validator(mode="after")
    def _range(self) -> ExtensionPolicy:
        if self.min_dpd > self.max_dpd:
            raise ValueError("extension min_dpd is above max_dpd")
        if any(m < 1 or m > 12 for m in self.months):
            raise ValueError("extensions are 1 to 12 months")
        return self


class SettlementBand(_Strict):
    min_dpd: int = Field(ge=0)
    max_dpd: int | None = Field(default=None, description="none: no upper bound")
    min_balance: Decimal = Field(
        default=Decimal(0), ge=0, lt=AMOUNT_LIMIT, description="major units"
    )
    max_discount: Share = Field(ge=0, lt=1, description="the most a supervisor may approve")
    bot_discount: Share = Field(ge=0, lt=1, description="what the assistant may grant alone")

    @model_validator(mode="after")
    def _authority(self) -> SettlementBand:
        if self.bot_discount > self.max_discount:
            raise ValueError("bot_discount is above max_discount")
        if self.max_dpd is not None and self.max_dpd < self.min_dpd:
            raise ValueError("max_dpd is below min_dpd")
        return self

    def covers(self, dpd: int) -> bool:
        return dpd >= self.min_dpd and (self.max_dpd is None or dpd <= self.max_dpd)


class SettlementPolicy(_Strict):
    """减免: pay part of what is owed in time and the rest is waived."""

    enabled: bool = True
    bands: list[SettlementBand] = []
    pay_within_days: int = Field(default=7, ge=0)
    parts: list[int] = Field(default=[1], min_length=1, description="monthly parts allowed")
    grace_days: int = Field(default=3, ge=0)


class Limits(_Strict):
    max_arrangements_per_loan: int = Field(default=3, ge=0)
    max_broken_arrangements: int = Field(default=2, ge=0, description="then only a person")


class PersonalPolicy(_Strict):
    """Offers ordered by what the borrower has shown they can pay (`plans/fit.py`)."""

    enabled: bool = True
    months: int = Field(default=6, ge=1, le=24, description="the months the median is over")
    min_months: int = Field(default=3, ge=1, description="fewer months due: no median")
    margin: Share = Field(default=Decimal("0.10"), ge=0, lt=1, description="above the median")
    kept_margin: Share = Field(
        default=Decimal("0.25"), ge=0, lt=1, description="when every promise was kept"
    )
    min_kept: int = Field(default=1, ge=1)
    hardship_days: int = Field(default=90, ge=0, description="a hardship report this recent")
    fit_terms: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> PersonalPolicy:
        if self.min_months > self.months:
            raise ValueError("personal min_months is above months")
        if self.kept_margin < self.margin:
            raise ValueError("personal kept_margin is below margin")
        return self


class PlanPolicy(_Strict):
    installment: InstallmentPolicy = InstallmentPolicy()
    extension: ExtensionPolicy = ExtensionPolicy()
    settlement: SettlementPolicy = SettlementPolicy()
    limits: Limits = Limits()
    personal: PersonalPolicy = PersonalPolicy()
