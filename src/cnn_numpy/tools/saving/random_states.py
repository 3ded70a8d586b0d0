"""Random generators in a checkpoint: their states out as JSON, and back in, checked.

A file never chooses what to build: only the bit generators named in ``BIT_GENERATORS``, from
plain numbers."""

from __future__ import annotations

import numpy as np

from ...model import Sequential


def generator_states(model: Sequential) -> dict[str, dict]:
    """``{"<layer index>.<attribute>": bit_generator.state}`` for every Generator a layer owns."""
    states = {}
    for i, layer in enumerate(model):
        for name, value in vars(layer).items():
            if isinstance(value, np.random.Generator):
                states[f"{i}.{name}"] = value.bit_generator.state
    return states


#: the bit generators a stored random state may name: a file never chooses what to call
BIT_GENERATORS = {
    cls.__name__: cls
    for cls in (
        np.random.PCG64,
        np.random.PCG64DXSM,
        np.random.Philox,
        np.random.SFC64,
        np.random.MT19937,
    )
}


def generator_from_state(state) -> np.random.Generator:
    """A Generator continuing exactly from ``bit_generator.state`` (JSON round-tripped).
    ValueError if the state is not one of a known bit generator's, in plain numbers."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ValueError(
            f"a random state must name one of {', '.join(BIT_GENERATORS)}, got {name!r:.100}"
        )
    if not plain_numbers(state):
        raise ValueError(f"a {name} random state must hold plain numbers only")
    bit_generator = BIT_GENERATORS[name]()
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise ValueError(f"a {name} random state is malformed ({err})") from None
    return np.random.Generator(bit_generator)


def plain_numbers(value) -> bool:
    """JSON made of dicts, lists, strings and whole numbers only (what a random state is)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_numbers(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain_numbers(v) for v in value)
    return (
        isinstance(value, (int, str))
        and not isinstance(value, bool)
        or value is True
        or value is False
    )
