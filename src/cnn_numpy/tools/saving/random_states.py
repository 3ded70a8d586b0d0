"""Random generators in a checkpoint: their states out as JSON, and back in, checked.

A file never chooses what to build: only the bit generators named in ``BIT_GENERATORS``, from
plain numbers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ...layers.base import Layer


def held_generators(layer: Layer, prefix: str = "") -> Iterator[tuple[str, Layer, str]]:
    """``(key, owner, attribute)`` of every Generator a layer owns, anywhere in ``layer``: the
    same walk into held layers (``named_children``) as ``state_dict``, so a Dropout inside a
    Residual's block is ``"3.block.1.rng"`` as its neighbour's weight is ``"3.block.0.weight"``."""
    for name, value in vars(layer).items():
        if isinstance(value, np.random.Generator):
            yield f"{prefix}{name}", layer, name
    for name, child in layer.named_children():
        yield from held_generators(child, f"{prefix}{name}.")


def generator_states(model: Layer) -> dict[str, dict | str]:
    """``{key: bit_generator.state}`` for every Generator in ``model`` (see ``held_generators``).
    A Generator that several layers share is stored once; the others name its key (a
    string), so that after a restore they draw from one Generator in turn, as before."""
    states: dict[str, dict | str] = {}
    first: dict[int, str] = {}  # id(generator) -> the key it was stored under
    for key, owner, name in held_generators(model):
        generator = getattr(owner, name)
        states[key] = first.get(id(generator)) or generator.bit_generator.state
        first.setdefault(id(generator), key)
    return states


def restore_generators(model: Layer, states: dict) -> None:
    """Put ``generator_states``' Generators back into ``model`` (checked first: ValueError
    before anything changes).  Only a layer's existing Generator is replaced; one the
    ``states`` do not name (a file of an older version kept only the top layers') is left."""
    places = {key: (owner, name) for key, owner, name in held_generators(model)}
    generators = {}
    for key, state in states.items():
        if key not in places:
            raise ValueError(
                f"its layer_rngs names {key!r:.100}, which is not a random generator of the model"
            )
        if not isinstance(state, str):
            generators[key] = generator_from_state(state)
    for key, state in states.items():
        if isinstance(state, str) and state not in generators:
            raise ValueError(
                f"its layer_rngs {key!r:.100} shares {state!r:.100}, which it does not hold"
            )
    for key, state in states.items():
        owner, name = places[key]
        setattr(owner, name, generators[state if isinstance(state, str) else key])


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
