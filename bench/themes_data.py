"""Planted free-text answers for the themes engine: developer feedback on a model release, in
English and French, drawn from a fixed vocabulary with themes of known sizes, plus noise that
belongs to no theme. Pure and seeded: the same arguments give the same answers.

Each answer is one or two sentences of its theme, often wrapped in an opener or closer that
every theme shares ("Honestly,", "Merci !") and that mention the release, so themes are not
told apart by the words around them. Noise is praise, filler, emoji and links. `purity` says how
well a grouping recovered the planted themes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PlantedTheme:
    name: str
    language: str  # "en" or "fr"
    templates: tuple[str, ...]
    slots: dict[str, tuple[str, ...]]


_EN_SHARED = {
    "model": ("the model", "the new model", "this release", "the release", "the 8B model"),
    "want": ("I would like", "Please give us", "We need", "It would help to have", "I want"),
}
_FR_SHARED = {
    "model": ("le modèle", "cette version", "le nouveau modèle", "la sortie"),
    "want": ("J'aimerais", "Il nous faut", "Ce serait bien d'avoir", "Nous voulons"),
}

THEMES: tuple[PlantedTheme, ...] = (
    PlantedTheme(
        "install size",
        "en",
        (
            "The {download} of {model} is {big}.",
            "{model} takes {gb} GB of disk space, {big} for my laptop.",
            "{want} a smaller {download}, the install size is {big}.",
            "Installing {model} filled my disk: {gb} GB of weights.",
            "The weights are {big}; a quantized {download} would fit on disk.",
        ),
        {
            "download": ("download", "install", "checkpoint", "weights file", "package"),
            "big": ("too big", "huge", "way too large", "enormous", "far too heavy"),
            "gb": ("40", "70", "140", "250"),
        },
    ),
    PlantedTheme(
        "documentation",
        "en",
        (
            "The {docs} {lack} examples for {task}.",
            "{want} better {docs}, especially for {task}.",
            "I could not find {task} in the {docs}.",
            "The {docs} are outdated and the examples for {task} do not run.",
            "More tutorials and a clear getting started guide in the {docs}.",
        ),
        {
            "docs": ("documentation", "docs", "API reference", "tutorials", "guides"),
            "lack": ("lack", "are missing", "need more", "have no"),
            "task": ("streaming", "tool calling", "batching", "embeddings", "the tokenizer"),
        },
    ),
    PlantedTheme(
        "latency",
        "en",
        (
            "{latency} is {slow} when I call {model}.",
            "Responses are {slow}: {latency} above {ms} ms.",
            "{want} lower {latency} for interactive use.",
            "The {latency} makes {model} unusable in a chat, {slow}.",
            "Inference is {slow}, tokens per second dropped and {latency} went up.",
        ),
        {
            "latency": ("latency", "time to first token", "response time", "inference latency"),
            "slow": ("too slow", "very slow", "sluggish", "painfully slow"),
            "ms": ("500", "800", "2000"),
        },
    ),
    PlantedTheme(
        "pricing",
        "en",
        (
            "The {price} is {expensive} for a small team.",
            "{want} a cheaper {price} or a free tier.",
            "At this {price} per million tokens it is {expensive}.",
            "Our billing doubled, the {price} is {expensive}.",
            "A startup cannot afford this {price}; make it less {expensive}.",
        ),
        {
            "price": ("price", "pricing", "cost", "API price", "token price"),
            "expensive": ("too expensive", "expensive", "way too costly", "unaffordable"),
        },
    ),
    PlantedTheme(
        "licence",
        "en",
        (
            "The {licence} forbids {use}.",
            "{want} a clear {licence} that allows {use}.",
            "Is {use} allowed under the {licence} of {model}?",
            "Our lawyers rejected the {licence}, we need {use}.",
            "Please switch to Apache 2.0, the current {licence} blocks {use}.",
        ),
        {
            "licence": ("license", "licence", "license terms", "open weights license"),
            "use": ("commercial use", "redistribution", "use in products", "derivative models"),
        },
    ),
    PlantedTheme(
        "fine-tuning",
        "en",
        (
            "{want} {tuning} scripts for {model}.",
            "{tuning} on our own dataset {fails}.",
            "Please publish {tuning} recipes with LoRA adapters.",
            "We tried {tuning} with our custom dataset but it {fails}.",
            "Support for {tuning} and LoRA adapters is the main thing missing.",
        ),
        {
            "tuning": ("fine-tuning", "finetuning", "fine tuning", "LoRA training"),
            "fails": ("runs out of memory", "diverges", "crashes", "does not converge"),
        },
    ),
    PlantedTheme(
        "API stability",
        "en",
        (
            "Every version has {breaking} in the API.",
            "{want} API versioning and fewer {breaking}.",
            "The {breaking} broke our integration again, keep the API stable.",
            "Please announce deprecations in a changelog before {breaking}.",
            "Backwards compatibility of the API matters more than new features: {breaking} hurt.",
        ),
        {
            "breaking": ("breaking changes", "renamed endpoints", "silent API changes"),
        },
    ),
    PlantedTheme(
        "documentation en français",
        "fr",
        (
            "{want} une documentation en français.",
            "La documentation n'est pas traduite, il faut une traduction en français.",
            "Les tutoriels en français {manquent}, la documentation est seulement en anglais.",
            "{want} des exemples et une documentation traduite en français.",
            "Une traduction française de la documentation aiderait nos équipes.",
        ),
        {"manquent": ("manquent", "sont absents", "font défaut")},
    ),
    PlantedTheme(
        "hébergement en Europe",
        "fr",
        (
            "{want} un hébergement en Europe pour respecter le RGPD.",
            "Nos données doivent rester sur des serveurs {ou}, conformité RGPD oblige.",
            "Sans hébergement {ou}, impossible de l'utiliser avec des données clients.",
            "La souveraineté des données compte : hébergement {ou} et RGPD.",
            "{want} des serveurs {ou} pour nos données sensibles.",
        ),
        {"ou": ("en Europe", "en France", "européens")},
    ),
    PlantedTheme(
        "prix",
        "fr",
        (
            "Le prix est {cher} pour une petite équipe.",
            "{want} une offre gratuite, le tarif est {cher}.",
            "À ce prix par million de tokens, c'est {cher}.",
            "Notre facture a doublé : les tarifs sont {cher}.",
            "Une startup ne peut pas payer ce prix, il est {cher}.",
        ),
        {"cher": ("trop cher", "beaucoup trop cher", "hors de prix", "excessif")},
    ),
)

_EN_OPENERS = ("", "", "", "Honestly, ", "Overall, ", "Great session. ", "Thanks for the demo. ")
_EN_CLOSERS = ("", "", "", " Thanks!", " Otherwise great work on the release.", " Keep it up.")
_FR_OPENERS = ("", "", "Franchement, ", "Merci pour la démo. ", "Dans l'ensemble, ")
_FR_CLOSERS = ("", "", " Merci !", " Sinon, super travail sur la sortie.", " Bravo.")

NOISE = (
    "Great session, thanks!",
    "Nothing to add.",
    "n/a",
    "ok",
    "👍👍",
    "🔥🚀",
    "Thanks to the whole team for organising this.",
    "See https://example.com/my-notes for my notes.",
    "Rien à signaler, merci.",
    "Très bonne session.",
    "Good job everyone",
    "No comment",
    "It was nice to meet the team.",
    "asdf",
)


@dataclass(frozen=True)
class Planted:
    texts: list[str]
    labels: list[str | None]  # the planted theme's name, or None for noise
    sizes: dict[str, int]


def generate(
    count: int,
    *,
    seed: int,
    themes: Sequence[PlantedTheme] = THEMES,
    noise: float = 0.08,
) -> Planted:
    """`count` answers: a `noise` share of noise, the rest split over `themes` with unequal
    known sizes (the first theme the largest, each next one about 15% smaller)."""
    rng = random.Random(seed)
    weights = [0.85**i for i in range(len(themes))]
    planted = count - round(count * noise)
    sizes = [int(planted * w / sum(weights)) for w in weights]
    sizes[0] += planted - sum(sizes)
    slots: list[PlantedTheme | None] = [None] * (count - planted)
    for theme, size in zip(themes, sizes, strict=True):
        slots.extend([theme] * size)
    rng.shuffle(slots)
    texts = [_answer(rng, theme) for theme in slots]
    labels = [theme.name if theme else None for theme in slots]
    return Planted(texts, labels, {t.name: s for t, s in zip(themes, sizes, strict=True)})


def _answer(rng: random.Random, theme: PlantedTheme | None) -> str:
    if theme is None:
        return rng.choice(NOISE)
    shared = _FR_SHARED if theme.language == "fr" else _EN_SHARED
    openers, closers = (
        (_FR_OPENERS, _FR_CLOSERS) if theme.language == "fr" else (_EN_OPENERS, _EN_CLOSERS)
    )
    sentences = [_fill(rng, rng.choice(theme.templates), theme.slots, shared)]
    if rng.random() < 0.3:
        sentences.append(_fill(rng, rng.choice(theme.templates), theme.slots, shared))
    opener = rng.choice(openers)
    first = sentences[0]
    if opener.endswith(", ") and first[1:2].islower():
        sentences[0] = first[0].lower() + first[1:]  # "Honestly, the docs", not "API" -> "aPI"
    return opener + " ".join(sentences) + rng.choice(closers)


def _fill(
    rng: random.Random,
    template: str,
    slots: dict[str, tuple[str, ...]],
    shared: dict[str, tuple[str, ...]],
) -> str:
    values = {name: rng.choice(options) for name, options in {**shared, **slots}.items()}
    sentence = template.format(**values)
    return sentence[0].upper() + sentence[1:]


def purity(
    labels: Sequence[str | None], found: Sequence[int | None]
) -> tuple[float, dict[str, tuple[float, int | None]]]:
    """How well found themes recover planted ones: for each planted theme, the share of its
    answers that landed in its majority found theme (answers left without a theme count
    against it), and which theme that is; overall, the same over all planted answers.

    Purity alone rewards lumping everything together, so the caller also looks at whether two
    planted themes share one majority theme (the second value of each entry)."""
    per_theme: dict[str, tuple[float, int | None]] = {}
    kept = total = 0
    for name in sorted({label for label in labels if label is not None}):
        landed = Counter(f for label, f in zip(labels, found, strict=True) if label == name)
        size = sum(landed.values())
        counted = Counter({k: v for k, v in landed.items() if k is not None})
        majority, hits = counted.most_common(1)[0] if counted else (None, 0)
        per_theme[name] = (hits / size, majority)
        kept += hits
        total += size
    return (kept / total if total else 0.0), per_theme
