"""Named recipes: documented sets of config values, kept in one place per method.

A recipe maps dotted paths of :class:`~gan_em_tf.config.RunConfig` (``"train.lr_g"``,
``"schedule.iterations"``, ``"train.moves"``) to values and may build on another recipe. ``--recipe
NAME`` applies it to a fresh config; any single flag given after it overrides one value; the recipe's
name and resolved values are written into ``config.json`` (``recipe``). Each method's subpackage holds
its own ``RECIPES`` (e.g. :mod:`gan_em_tf.gan_em.recipes`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gan_em_tf import methods
from gan_em_tf.errors import UserError


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str  # one line: what it is and where it was measured
    values: dict  # dotted RunConfig path → value
    based_on: str | None = None


def recipes(method: str) -> dict[str, Recipe]:
    return methods.module(method, "recipes").RECIPES


def get(method: str, name: str) -> Recipe:
    table = recipes(method)
    if name not in table:
        raise UserError(f"unknown --recipe {name!r} for --method {method}; choose one of: {', '.join(table)}")
    return table[name]


def resolved_values(method: str, name: str) -> dict:
    """The recipe's values with those of the recipes it builds on (its own win)."""
    recipe = get(method, name)
    base = resolved_values(method, recipe.based_on) if recipe.based_on else {}
    return {**base, **recipe.values}


def apply(cfg, name: str) -> None:
    """Set the recipe's values on ``cfg`` (a RunConfig of the recipe's method) and record them."""
    values = resolved_values(cfg.method, name)
    for path, value in values.items():
        set_path(cfg, path, value)
    cfg.recipe = {"name": name, "values": {k: jsonable(v) for k, v in values.items()}}


def set_path(obj, path: str, value) -> None:
    """``obj.a.b = value`` for ``path`` "a.b"; a dataclass value is copied so that recipes are never shared."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = getattr(obj, part)
        if child is None:  # an optional section (train.growth) made with its defaults
            child = type(obj).NESTED[part]()
            setattr(obj, part, child)
        obj = child
    if not hasattr(obj, leaf):
        raise AttributeError(f"recipe path {path!r}: {type(obj).__name__} has no field {leaf!r}")
    setattr(obj, leaf, dataclasses.replace(value) if dataclasses.is_dataclass(value) else value)


def jsonable(value):
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def describe(method: str, name: str) -> str:
    """'name: summary' plus its values, for ``gan-em recipes``."""
    values = resolved_values(method, name)
    lines = [f"{name}: {get(method, name).summary}"]
    lines += [f"    {path} = {jsonable(value)}" for path, value in sorted(values.items())]
    return "\n".join(lines)
