"""The ``ml`` block of ``lakeshop.yml``: what ``lakeshop ml train|score|backtest`` fits.

Every setting has a default, so a project without an ``ml:`` block trains all three models.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lakeshop.core.errors import SecretValueError

Grain = Literal["product_store", "product_channel", "product"]
SmoothModel = Literal["AutoETS", "MSTL", "SeasonalES"]
IntermittentModel = Literal["IMAPA", "TSB", "CrostonOptimized", "CrostonClassic"]
Learner = Literal["lightgbm", "hist_gradient_boosting"]
Model = Literal["demand_forecast", "churn", "segments"]
MODELS: tuple[Model, ...] = ("demand_forecast", "churn", "segments")


class ForecastSettings(BaseModel):
    """``ml.forecast``: daily demand (units) per series of the grain, ``horizon`` days ahead."""

    model_config = ConfigDict(extra="forbid")
    grain: Grain = "product_store"
    horizon: int = Field(default=28, ge=1, le=366)
    #: the weekly season of the statistical models and of the seasonal-naive baseline
    season_length: int = Field(default=7, ge=1)
    #: the model of smooth series (statsforecast: AutoETS, MSTL, SeasonalExponentialSmoothing)
    model: SmoothModel = "AutoETS"
    #: the model of intermittent series (average demand interval above 1.32 days); TSB
    #: follows a product whose demand dies out, and fits 20 times as fast as IMAPA
    intermittent_model: IntermittentModel = "TSB"
    #: the prediction interval (percent) given as ``lo``/``hi``
    level: int = Field(default=80, ge=50, le=99)
    #: days of history the models see (the latest ones)
    history_days: int = Field(default=365, ge=28)
    #: fewer days of history than this: the forecast is refused with a clear message
    min_history_days: int = Field(default=56, ge=14)
    #: processes statsforecast fits with (1 keeps memory low; -1 every core)
    n_jobs: int = 1


class ChurnSettings(BaseModel):
    """``ml.churn``: churned = no order in the ``horizon_days`` after a cutoff."""

    model_config = ConfigDict(extra="forbid")
    horizon_days: int = Field(default=60, ge=7)
    #: fewer days of order history than horizon_days plus this: refused with a clear message
    min_history_days: int = Field(default=28, ge=7)
    learner: Learner = "lightgbm"
    #: the model learns from the customers at this many cutoffs (the latest whose labels are
    #: known, then every training_every_days before it), stacked
    training_cutoffs: int = Field(default=3, ge=1, le=12)
    training_every_days: int = Field(default=14, ge=1)
    #: reasons given per customer (the features pushing the probability up most)
    reasons: int = Field(default=3, ge=1, le=10)


class SegmentSettings(BaseModel):
    """``ml.segments``: RFM scores plus k-means on log recency, frequency and value."""

    model_config = ConfigDict(extra="forbid")
    #: k is the one of k_min..k_max with the best silhouette (on a sample)
    k_min: int = Field(default=2, ge=2)
    k_max: int = Field(default=8, ge=2)
    silhouette_sample: int = Field(default=5000, ge=100)


class BacktestSettings(BaseModel):
    """``ml.backtest``: rolling origin, ``folds`` origins ``step_days`` apart."""

    model_config = ConfigDict(extra="forbid")
    folds: int = Field(default=4, ge=1, le=24)
    step_days: int = Field(default=28, ge=1)


class RefreshSettings(BaseModel):
    """``ml.refresh``: the models' gold tables refreshed by ``lakeshop run`` when their inputs
    changed (see :mod:`lakeshop.ml.refresh`)."""

    model_config = ConfigDict(extra="forbid")
    #: off by default: a refresh needs the ml extra and costs a training now and then
    enabled: bool = False
    models: list[Model] = Field(default_factory=lambda: list(MODELS))
    #: churn and segments are scored again with their stored version, and trained again first
    #: when it is older than this (0: at every refresh); the forecast is made by its training,
    #: so it is trained again at every refresh
    retrain_every_days: float = Field(default=7.0, ge=0)
    #: a model scored less than this long ago waits for a later run (continuous mode runs a
    #: micro-batch a minute: the forecasts are not refitted each time)
    min_interval_minutes: float = Field(default=60.0, ge=0)


class MlflowSettings(BaseModel):
    """``ml.mlflow``: every model run logged to MLflow too (see lakeshop.ml.tracking)."""

    model_config = ConfigDict(extra="forbid")
    #: unset: log when MLflow is installed; true: require it; false: never log
    enabled: bool | None = None
    #: the tracking server or database (default: $MLFLOW_TRACKING_URI, else a SQLite
    #: database under the lakehouse); its credentials come from the environment
    tracking_uri: str | None = None
    #: experiments are named this followed by the model (lakeshop-churn …)
    experiment_prefix: str = "lakeshop-"

    @field_validator("tracking_uri")
    @classmethod
    def _no_secret(cls, value: str | None) -> str | None:
        """A password in the URI would sit in a file under version control."""
        if value is not None and urlsplit(value).password is not None:
            raise SecretValueError(
                "a tracking URI without a password (MLflow reads MLFLOW_TRACKING_USERNAME, "
                "MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN from the environment)"
            )
        return value


class MlConfig(BaseModel):
    """``ml:``: the models of ``lakeshop ml``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    forecast: ForecastSettings = ForecastSettings()
    churn: ChurnSettings = ChurnSettings()
    segments: SegmentSettings = SegmentSettings()
    backtest: BacktestSettings = BacktestSettings()
    refresh: RefreshSettings = RefreshSettings()
    mlflow: MlflowSettings = MlflowSettings()
