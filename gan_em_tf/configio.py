"""Reading typed config sections from ``config.json``: an unknown or missing-but-required key is a one-line
error that names the section, not a ``TypeError``."""
from __future__ import annotations

import dataclasses

from gan_em_tf.errors import UserError


def from_dict_strict(cls, d: dict, section: str):
    """``cls(**d)`` for a dataclass ``cls``, with a :class:`UserError` naming ``section`` for a key ``cls`` does
    not have (a file edited by hand, or written by a newer version)."""
    if not isinstance(d, dict):
        raise UserError(f"config section {section!r} must be a JSON object, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise UserError(f"unknown setting {section}.{unknown[0]} in config.json (known in {section}: "
                        f"{', '.join(sorted(names))}); fix the file or start a new --out")
    try:
        return cls(**d)
    except TypeError as e:  # a required field missing
        raise UserError(f"config section {section!r} is incomplete ({e}); fix the file or start a new --out") \
            from None
