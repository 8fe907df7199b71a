"""Synthetic retailer: writes the eleven raw sources day by day, with a defect ledger.

>>> from lakeshop.datagen import generate
>>> generate(Path("demo/raw"), days=7, scale=0.1)  # doctest: +SKIP
"""

from .generator import GenerateResult, generate
from .incidents import Incident

__all__ = ["GenerateResult", "Incident", "generate"]
