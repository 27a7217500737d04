"""Fuzzing of decoders of bytes from the wire: they must raise nothing but ProtocolError."""

from __future__ import annotations

import random
from typing import Callable, Sequence

from ethercat_master.errors import ProtocolError

#: Bytes appended to a seed at most when extending it.
MAX_EXTENSION = 40


def mutate(rng: random.Random, seed: bytes) -> bytes:
    """One fuzz input: random bytes of up to twice the seed's length, or the seed with a few
    bits flipped, truncated, extended with random bytes, or with bytes overwritten (by 0x00,
    0xFF or a random value), each with equal probability."""
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randbytes(rng.randrange(2 * len(seed) + 9))
    data = bytearray(seed)
    if kind == 1 and data:
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        del data[rng.randrange(len(data) + 1):]
    elif kind == 3:
        data += rng.randbytes(rng.randrange(1, MAX_EXTENSION))
    elif data:
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.choice((0x00, 0xFF, rng.randrange(256)))
    return bytes(data)


def fuzz_decoder(decode: Callable[[bytes], object], seeds: Sequence[bytes], iterations: int,
                 rng: random.Random) -> tuple[int, int]:
    """Feed ``iterations`` mutations of ``seeds`` to ``decode``; return (decoded, rejected).

    A rejection is a :class:`ProtocolError`; any other exception propagates and fails the test.
    """
    decoded = rejected = 0
    for _ in range(iterations):
        try:
            decode(mutate(rng, rng.choice(seeds)))
        except ProtocolError:
            rejected += 1
        else:
            decoded += 1
    return decoded, rejected
