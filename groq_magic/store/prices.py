"""What an exchange cost: Groq's price table and the arithmetic over ``usage``.

The table is one data file shipped in the package, ``prices.json``, with the
page it came from (``source``) and the day it was written (``date``). A user
can override any model's prices, or add models, with a dict or a JSON file
(:func:`load_prices`); a bad override is one :class:`PriceFileError` line.

Decisions:

- **Unknown is not free.** A model the table does not know, or one without a
  single token price (``groq/compound`` bills the models and tools it used),
  costs ``None``; only the embedded local model costs ``0``.
- Cached prompt tokens (``usage.prompt_tokens_details.cached_tokens``) are
  charged at the model's cached rate, or at the input rate where the table
  lists none (never cheaper than we know it is).
- Batch jobs get the table's ``batch_discount`` (Groq's Batch API: 50%).
- Costs are computed when read, from stored token counts, so correcting the
  table corrects every past total.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from groq_magic._files import MIB, FileReadError, read_text_bounded
from groq_magic.chat.caching import cached_prompt_tokens
from groq_magic.chat.result import as_dict
from groq_magic.store._errors import PriceFileError

__all__ = ["ModelPrice", "PriceTable", "cost", "default_prices", "load_prices", "local_models"]

_RATES = ("input", "output", "cached_input")

MAX_PRICE_FILE_BYTES = 4 * MIB
"""A price file is read only when it is a regular file of at most this size."""


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens: input, output, and cached input (None: not listed)."""

    input: float | None = None
    output: float | None = None
    cached_input: float | None = None


@dataclass(frozen=True)
class PriceTable:
    """Prices by model id, the Batch discount, and where the figures came from."""

    models: Mapping[str, ModelPrice] = field(default_factory=dict)
    batch_discount: float = 0.5
    source: str | None = None
    date: str | None = None

    def get(self, model: str) -> ModelPrice | None:
        """The price of ``model`` (exact id, then case-insensitively), or None."""
        found = self.models.get(model)
        if found is not None:
            return found
        lowered = model.lower()
        for name, price in self.models.items():
            if name.lower() == lowered:
                return price
        return None


def _rate(where: str, model: str, name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PriceFileError(
            f"{where}: model {model!r}: {name!r} must be USD per million tokens or null"
            f" (got {value!r})"
        )
    if value < 0:
        raise PriceFileError(f"{where}: model {model!r}: {name!r} must not be negative")
    return float(value)


def _parse_models(where: str, models: Any) -> dict[str, ModelPrice]:
    if not isinstance(models, Mapping):
        raise PriceFileError(f"{where}: 'models' must map model ids to prices")
    parsed: dict[str, ModelPrice] = {}
    for model, entry in models.items():
        if not isinstance(entry, Mapping):
            raise PriceFileError(
                f"{where}: model {model!r} needs an object such as"
                ' {"input": 0.59, "output": 0.79}'
            )
        unknown = sorted(set(entry) - set(_RATES) - {"note"})
        if unknown:
            raise PriceFileError(
                f"{where}: model {model!r}: unknown field {unknown[0]!r}"
                f" (fields: {', '.join(_RATES)})"
            )
        rates = {name: _rate(where, str(model), name, entry.get(name)) for name in _RATES}
        parsed[str(model)] = ModelPrice(**rates)
    return parsed


def _parse_table(where: str, data: Any, base: PriceTable | None = None) -> PriceTable:
    if not isinstance(data, Mapping):
        raise PriceFileError(f"{where}: a price table must be a JSON object")
    # A bare {model: prices} mapping is accepted as an override; a full table has "models".
    models_data = data.get("models", data)
    models = dict(base.models) if base is not None else {}
    models.update(_parse_models(where, models_data))
    discount = data.get("batch_discount", base.batch_discount if base else 0.5)
    if (
        isinstance(discount, bool)
        or not isinstance(discount, (int, float))
        or not 0 <= discount <= 1
    ):
        raise PriceFileError(
            f"{where}: 'batch_discount' must be between 0 and 1 (got {discount!r})"
        )
    return PriceTable(
        models=models,
        batch_discount=float(discount),
        source=str(data.get("source")) if "source" in data else (base.source if base else None),
        date=str(data.get("date")) if "date" in data else (base.date if base else None),
    )


@cache
def default_prices() -> PriceTable:
    """The table shipped in ``groq_magic/store/prices.json``."""
    text = resources.files("groq_magic.store").joinpath("prices.json").read_text("utf-8")
    return _parse_table("groq_magic/store/prices.json", json.loads(text))


def load_prices(override: Mapping[str, Any] | str | os.PathLike[str] | None = None) -> PriceTable:
    """The shipped table with ``override`` applied: a dict, or the path of a JSON file.

    Either form may be a full table (``{"models": {...}, "batch_discount": 0.5}``)
    or a bare ``{model: {"input": ..., "output": ..., "cached_input": ...}}``
    mapping. Models it names replace or join the shipped ones.
    """
    base = default_prices()
    if override is None:
        return base
    if isinstance(override, Mapping):
        return _parse_table("price override", override, base)
    path = Path(override).expanduser()
    where = f"price file {str(path)!r}"
    try:
        text = read_text_bounded(path, MAX_PRICE_FILE_BYTES, what="price file")
    except FileReadError as exc:
        raise PriceFileError(str(exc)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PriceFileError(f"{where} is not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise PriceFileError(f"{where} is nested too deeply to be a price table") from None
    return _parse_table(where, data, base)


@cache
def local_models() -> frozenset[str]:
    """Model names that cost nothing: the embedded local model."""
    from groq_magic.local.server import LOCAL_MODEL_NAME

    return frozenset({LOCAL_MODEL_NAME})


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def cached_tokens(usage: Mapping[str, Any] | Any) -> int:
    """``usage.prompt_tokens_details.cached_tokens``, or 0."""
    return cached_prompt_tokens(usage)


def cost(
    model: str | None,
    usage: Mapping[str, Any] | Any,
    *,
    batch: bool = False,
    prices: PriceTable | None = None,
    free_models: Collection[str] | None = None,
) -> float | None:
    """USD for one exchange of ``model`` with ``usage`` (a dict or a pydantic usage).

    None when the model's price is unknown or the usage has no token counts;
    0.0 for a model in ``free_models`` (default: the embedded local model).
    """
    if not model:
        return None
    free = local_models() if free_models is None else free_models
    if model in free:
        return 0.0
    price = (prices or default_prices()).get(model)
    if price is None or price.input is None or price.output is None:
        return None
    data = as_dict(usage)
    if "prompt_tokens" not in data and "completion_tokens" not in data:
        return None
    prompt = _count(data.get("prompt_tokens"))
    completion = _count(data.get("completion_tokens"))
    cached = min(cached_tokens(data), prompt)
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    total = (
        (prompt - cached) * price.input + cached * cached_rate + completion * price.output
    ) / 1e6
    if batch:
        total *= 1 - (prices or default_prices()).batch_discount
    return total
