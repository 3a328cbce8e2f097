"""Titles and contents (主要内容) in the register of 12345 operators' summaries."""

from __future__ import annotations

import random

from gaopin.sample import street_data as sd


def fit_content(text: str) -> str:
    """Contents of real exports are rarely shorter than a sentence or longer than a paragraph."""
    while len(text) < sd.MIN_CONTENT:
        text += sd.PADDING
    if len(text) > sd.MAX_CONTENT:
        text = text[: sd.MAX_CONTENT - 1] + "。"
    return text


def middle(rng: random.Random) -> str:
    """None, one or two of the optional middle sentences."""
    k = rng.choices((0, 1, 2), weights=(45, 40, 15))[0]
    return "".join(e + "，" for e in rng.sample(sd.EXTRAS, k))


def content(rng: random.Random, where: str, detail: str) -> str:
    return fit_content(f"{rng.choice(sd.OPENERS)}{where}{detail}，{middle(rng)}{rng.choice(sd.DURATIONS)}{rng.choice(sd.DEMANDS)}")


def title(rng: random.Random, category: sd.Category, where: str) -> str:
    return rng.choice(category.titles).format(where=where)


def background_text(rng: random.Random, category: sd.Category, where: str) -> tuple[str, str]:
    return title(rng, category, where), content(rng, where, rng.choice(category.details))
