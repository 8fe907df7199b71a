"""The ``alerts`` block of ``lakeshop.yml``: the rules' thresholds, the channels and delivery."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from lakeshop.app.notify import Channels, Delivery
from lakeshop.retail.alerts import Rules


class AlertsConfig(BaseModel):
    """``alerts`` in ``lakeshop.yml``."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    rules: Rules = Rules()
    channels: Channels = Channels()
    delivery: Delivery = Delivery()
