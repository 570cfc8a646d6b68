"""Themes over free-text answers: the grouping engine. Pure: texts in, numbers out; no database,
no Django (the themes pages and their background task call it and store what it returns).

How a grouping is made (`group`):

1. Each text is cut to `MAX_CHARS`, put in Unicode normal form and case-folded; links, e-mail
   addresses and code (backtick spans, identifiers with `_`, `::`, `->`, braces) are dropped.
   Words are runs of Unicode letters and digits (a word needs a letter and two characters), so
   "l'installation" gives "installation" and "fine-tuning" gives "fine", "tuning" and the pair
   "fine tuning". English (scikit-learn's list) and French stop words (`FRENCH_STOP_WORDS`) are
   removed; terms are the words and the pairs of neighbouring words left.
2. TF-IDF over those terms (sublinear term counts, smoothed idf, rows of unit length, float32,
   sparse; at most `MAX_FEATURES` terms; rare and ubiquitous terms dropped once there are
   enough answers for that to mean something).
3. NMF (scikit-learn, coordinate descent, NNDSVDa start seeded by `Settings.seed`: the same
   texts and settings give the same themes). The number of themes is chosen by the data
   within the settings' bounds, on a seeded sample of at most `CHOICE_SAMPLE` texts, with NMF
   on the sample for each candidate count. First coverage: the share of sampled texts left
   with no clear theme (strongest weight under `FLOOR`) falls as themes are added until every
   recurring subject has one, then flattens; the counts within `KNEE` (two points) of the
   lowest share are the candidates, so a subject a few percent of people raise gets a theme.
   Then, among them, the highest cosine silhouette (texts nearer their own theme's texts than
   the next theme's) less the cosine of the two most alike themes: on planted data the
   silhouette alone kept rising with every theme added (one subject's answers split by
   phrasing look ever tighter), and a split shows as two themes that look alike. A tie goes
   to fewer themes. Cheap: a 2,000-text sample, pairwise distances of 2,000 rows per count.
   Two languages: an answer with more French stop words than English ones is French. When
   French and English each have `LANGUAGE_ANSWERS` different answers, each is fitted on its
   own (over the shared terms; each term's idf among the answers of the language that uses
   it most) and the themes put together: fitted together, the subjects of the language fewer
   answers are in shared one theme (its everyday words, rare overall, weighed more than its
   subjects' words). The fewer-spoken language's count is chosen between 2 and its share of
   the most, rounded up, plus one; the other's within what is left. Known limit: related
   subjects can share a theme; on a few hundred answers a language alone can split a
   subject by phrasing.
4. The themes' components are scaled to unit length and every text's weights are solved
   against them with the components fixed, as `assign` does for new texts: a text belongs to
   its strongest theme if that weight reaches `FLOOR`, else to none ("no clear theme").
   Themes are ordered by size, largest first; a theme left with no text is dropped.

Each theme has a label (its top three terms), its top `TOP_TERMS` terms, its size and up to
`QUOTES` representative texts: the distinct texts closest to the theme (cosine to its
component), preferring texts of moderate length. The `Model` (vocabulary, idf, components)
is kept as bytes (`Model.to_bytes`, numpy's .npz without pickle) so that new answers can be
assigned to the same themes (`assign`) and a recomputation's themes matched to the old ones
(`match`), keeping what organizers named, pinned or merged.

Nothing here raises on odd input: no texts, one text, identical texts, emoji or stop words only,
a 50 kB text give a `Grouping` with zero or one theme and a `reason` saying why. Memory stays
proportional to the words in the texts (sparse matrices, float32): 100,000 answers fit well
within 1 GiB (see README, Benchmarks).
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt
from django.utils.translation import gettext
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF, non_negative_factorization
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

# Longer texts are cut to this many characters before anything else: a 50 kB paste is read
# as its first 5,000 characters (a long answer is a few hundred).
MAX_CHARS = 5_000
MAX_FEATURES = 20_000
FEWEST, MOST = 2, 30  # the bounds Settings accepts for the number of themes
MIN_ANSWERS = 3  # fewer answers with words than this are not grouped at all
FLOOR = 0.1  # a text's strongest weight (against unit-length components) must reach this
TOP_TERMS = 10
QUOTES = 5
MATCH_THRESHOLD = 0.3  # cosine of two themes' components for one to continue the other
CHOICE_SAMPLE = 2_000
FIT_SAMPLE = 20_000  # the themes are fitted on this many texts at most, then all are placed
LANGUAGE_ANSWERS = 100  # a language with fewer different answers is grouped with the others
KNEE = 0.02  # two points of the sample: see the docstring, step 3
FORMAT = 1  # of Model.to_bytes; from_bytes refuses others

Floats = npt.NDArray[np.float32]
P = ParamSpec("P")
R = TypeVar("R")
Placement = tuple[int | None, float]  # (theme index or None, weight of the strongest theme)

# Common French words that say nothing about a theme: articles, pronouns, prepositions,
# conjunctions, forms of être/avoir/faire/pouvoir, and fillers of spoken feedback.
_FRENCH = """
    au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les leur
    leurs lui ma mais me même mes moi mon ne nos notre nous on ou où par pas pour qu que qui
    sa se ses son sur ta te tes toi ton tu un une vos votre vous ceci cela ça celui celle ceux
    celles y été étée étés étant suis es est sommes êtes sont serai sera serons seront serait
    seraient étais était étions étaient fus fut ai as avons avez ont aurai aura aurons auront
    aurait auraient avais avait avions avaient eu eue eus fait faire fais font peut peuvent
    pouvez pourrait pourraient dois doit doivent faut veux veut voudrais aussi alors après
    avant bien beaucoup car comme comment donc encore ici jamais juste là moins non oui
    parce peu plus plutôt quand quel quelle quels quelles sans si sinon sous toujours tout
    tous toute toutes très trop vraiment déjà chez entre vers selon depuis pendant autre
    autres chaque certains certaines aucun aucune rien quelque quelques tel telle cas fois
    ok chose choses ainsi lors puis enfin cependant pourtant svp bon bonne avoir être
    aimerais aimerait voudrait voulons voulez veulent faudrait pouvons peux sais
"""
FRENCH_STOP_WORDS = frozenset(_FRENCH.split())
# What is left of English contractions split at the apostrophe ("doesn't" -> "doesn"), and
# the words of an answer that says nothing ("ok").
_FRAGMENTS = (
    "don doesn didn isn aren wasn weren couldn wouldn shouldn won ve ll re im ive ok okay yes"
)
_ONLY_FRENCH = FRENCH_STOP_WORDS - ENGLISH_STOP_WORDS
_ONLY_ENGLISH = frozenset(ENGLISH_STOP_WORDS) - FRENCH_STOP_WORDS
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | FRENCH_STOP_WORDS | frozenset(_FRAGMENTS.split())

_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)  # code blocks and spans
# A chunk between spaces that is a link, an e-mail address, an identifier (`_`, `::`, `->`),
# a path with backslashes or markup is not prose. Chunks are tested one by one, never the text
# with a pattern that could backtrack over it: 5,000 characters without a space stay linear.
_NOT_PROSE = re.compile(r"https?://|www\.|@[^@]*\.|_|::|->|[{}<>=\[\]\\]", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
_LONGEST_WORD = 30  # longer "words" are hashes and tokens, not words


def terms(text: str) -> list[str]:
    """The terms of one text: its words that are not stop words, then each pair of
    neighbouring ones ("install size")."""
    text = _CODE.sub(" ", unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold())
    words = [
        w
        for chunk in text.split()
        if not _NOT_PROSE.search(chunk)
        for w in _WORD.findall(chunk)
        if 2 <= len(w) <= _LONGEST_WORD and not w.isdigit() and w not in STOP_WORDS
    ]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What the organizer may choose: the bounds of the number of themes, and the seed that
    makes a computation repeatable."""

    min_themes: int = 2
    max_themes: int = 12
    seed: int

    def __post_init__(self) -> None:
        for name in ("min_themes", "max_themes", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be a whole number, not {value!r}.")
        if not FEWEST <= self.min_themes <= MOST:
            raise ValueError(
                gettext("The fewest themes must be between %(fewest)s and %(most)s.")
                % {"fewest": FEWEST, "most": MOST}
            )
        if not FEWEST <= self.max_themes <= MOST:
            raise ValueError(
                gettext("The most themes must be between %(fewest)s and %(most)s.")
                % {"fewest": FEWEST, "most": MOST}
            )
        if self.min_themes > self.max_themes:
            raise ValueError(gettext("The fewest themes cannot be more than the most themes."))
        if not 0 <= self.seed < 2**32:
            raise ValueError("The seed must be between 0 and 4294967295.")


@dataclass(frozen=True, eq=False)
class Model:
    """What assigning new texts and matching recomputations need: the terms, their idf, and
    each theme's component over the terms (rows of unit length, in theme order)."""

    vocabulary: tuple[str, ...]
    idf: Floats  # one per term
    components: Floats  # themes × terms

    @property
    def themes(self) -> int:
        return int(self.components.shape[0])

    def to_bytes(self) -> bytes:
        """A compressed .npz of plain arrays (no pickle), for a BinaryField."""
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            format=np.array([FORMAT], dtype=np.int32),
            # Terms never contain a newline (they are words joined by one space).
            vocabulary=np.frombuffer("\n".join(self.vocabulary).encode(), dtype=np.uint8),
            idf=self.idf.astype(np.float32),
            components=self.components.astype(np.float32),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Model:
        """The model `to_bytes` wrote; ValueError if these bytes are not one."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                version = int(npz["format"][0])
                text = npz["vocabulary"].tobytes().decode()
                idf = npz["idf"].astype(np.float32)
                components = npz["components"].astype(np.float32)
        except (
            OSError,
            EOFError,
            KeyError,
            IndexError,
            ValueError,
            UnicodeDecodeError,
            zipfile.BadZipFile,
        ):
            raise ValueError("These bytes are not a themes model.") from None
        if version != FORMAT:
            raise ValueError(f"Themes model format {version} is not supported (expected {FORMAT}).")
        vocabulary = tuple(text.split("\n")) if text else ()
        if (
            idf.shape != (len(vocabulary),)
            or components.ndim != 2
            or (components.shape[1] != len(vocabulary))
        ):
            raise ValueError("These bytes are not a themes model: the shapes do not agree.")
        return cls(vocabulary, idf, components)


@dataclass(frozen=True)
class Theme:
    label: str  # the top three terms, joined by ", "
    terms: tuple[str, ...]  # the top TOP_TERMS terms, strongest first
    size: int  # how many texts are in it
    quotes: tuple[int, ...]  # indices of representative texts, closest first


@dataclass(frozen=True, eq=False)
class Grouping:
    model: Model
    themes: tuple[Theme, ...]  # largest first; a theme's index is its place here
    placements: list[Placement]  # per text, in the order given
    reason: str | None = None  # why there are fewer themes than the settings' fewest

    @property
    def unthemed(self) -> int:
        """How many texts have no clear theme."""
        return sum(1 for theme, _ in self.placements if theme is None)


def _quietly(function: Callable[P, R]) -> Callable[P, R]:
    """NMF stopping at its iteration limit is expected (the limit bounds the time; the result
    is used and repeatable), not something for the log."""

    @functools.wraps(function)
    def quiet(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return function(*args, **kwargs)

    return quiet


@_quietly
def group(texts: Sequence[str], settings: Settings) -> Grouping:
    """Group `texts` into between `settings.min_themes` and `settings.max_themes` themes (fewer,
    with a reason, when the texts cannot carry that many)."""
    analysed = [terms(text) for text in texts]
    wordy = [i for i, t in enumerate(analysed) if t]
    distinct = len({tuple(analysed[i]) for i in wordy})
    if not texts:
        return _empty(0, "No answers to group.")
    if len(wordy) < MIN_ANSWERS:
        return _empty(len(texts), f"Too few answers with words to group: {len(wordy)}")

    counts, vocabulary = _count(analysed, wordy, distinct)
    languages = _languages([texts[i] for i in wordy], [analysed[i] for i in wordy])
    idf = _idf(counts, languages)
    x = _weigh(counts, idf)
    # At least two texts per theme, and no more themes than terms (NMF's start needs both).
    most = min(settings.max_themes, distinct // 2, x.shape[1])
    reason: str | None = None
    if most < settings.min_themes:
        most = max(most, 1)
        reason = (
            f"All {len(wordy)} answers with words say the same thing."
            if distinct == 1
            else f"Too few different answers for {settings.min_themes} themes: {distinct}"
        )
    fewest = min(settings.min_themes, most)
    components = _fit_by_language(x, languages, fewest, most, settings.seed)
    # Largest theme first, and a theme no text reaches is no theme. The weights are solved
    # again for the final components (not permuted or cut), so that `assign` of the same texts
    # places them exactly as here; reordering can move a size, hence a few rounds.
    for _ in range(3):
        placed = _place(_weights(x, components))
        sizes = np.bincount([t for t, _ in placed if t is not None], minlength=len(components))
        keep = [int(t) for t in np.argsort(-sizes, kind="stable") if sizes[t] > 0]
        if keep == list(range(len(components))):
            break
        components = components[keep]
    else:
        placed = _place(_weights(x, components))
    count = len(components)
    if count == 0:
        reason = "No answer is clearly about one theme."
    elif count == 1 and reason is None:
        reason = "The answers form a single theme."
    elif count < settings.min_themes and reason is None:
        reason = f"Only {count} themes stand out in these answers."

    model = Model(vocabulary, idf, components)
    placements: list[Placement] = [(None, 0.0)] * len(texts)
    for row, index in enumerate(wordy):
        placements[index] = placed[row]
    members: list[list[int]] = [[] for _ in range(count)]
    for row, (theme, _) in enumerate(placed):
        if theme is not None:
            members[theme].append(row)
    said = [texts[i] for i in wordy]
    themes = tuple(_describe(model, t, x, members[t], said, wordy) for t in range(count))
    return Grouping(model, themes, placements, reason)


@_quietly
def assign(model: Model, texts: Sequence[str]) -> list[Placement]:
    """New texts placed in an existing model's themes, without recomputing them: the same
    placement `group` gives a text (its strongest theme if the weight reaches FLOOR)."""
    if not texts:
        return []
    if model.themes == 0:
        return [(None, 0.0)] * len(texts)
    vectorizer = CountVectorizer(
        analyzer=terms, vocabulary={term: i for i, term in enumerate(model.vocabulary)}
    )
    counts = vectorizer.transform(texts).astype(np.float32)
    return _place(_weights(_weigh(counts, model.idf), model.components))


def match(old: Model, new: Model, threshold: float = MATCH_THRESHOLD) -> dict[int, int]:
    """Which new theme continues which old one: {new theme index: old theme index}. Themes are
    compared by the cosine of their components (through the terms both models know), paired one to
    one so that the total similarity is highest (Hungarian method); a pair below `threshold`
    is no continuation (a new theme, or an old one that faded)."""
    if old.themes == 0 or new.themes == 0:
        return {}
    old_index = {term: i for i, term in enumerate(old.vocabulary)}
    shared = [(old_index[t], i) for i, t in enumerate(new.vocabulary) if t in old_index]
    if not shared:
        return {}
    old_cols, new_cols = (list(c) for c in zip(*shared, strict=True))
    # Components have unit length over their whole vocabulary and terms only one model knows
    # add nothing to a dot product: this is their cosine. (Scaling the shared part to unit
    # length instead would make two themes that share three words of thirty look alike.)
    similarity = new.components[:, new_cols] @ old.components[:, old_cols].T  # new × old
    rows, cols = linear_sum_assignment(similarity, maximize=True)
    return {
        int(r): int(c) for r, c in zip(rows, cols, strict=True) if similarity[r, c] >= threshold
    }


def follow(
    before: Sequence[Placement],
    after: Sequence[Placement],
    *,
    least: float = 0.5,
) -> dict[int, int]:
    """Which new theme took over each old theme's answers: {new theme index: old theme index},
    from the placements of the same texts under the old model (`assign`) and the new grouping.
    An old theme follows the new theme holding the most of its answers, if that is at least
    `least` of them; a new theme continues one old theme at most (the one it took most of).
    Where `match` compares the themes' words, this compares their answers: what an organizer
    who named a theme means by it."""
    together: Counter[tuple[int, int]] = Counter()
    sizes: Counter[int] = Counter()
    for (old, _w), (new, _v) in zip(before, after, strict=True):
        if old is not None:
            sizes[old] += 1
            if new is not None:
                together[(old, new)] += 1
    best: dict[int, tuple[int, int]] = {}  # new -> (answers, old)
    for (old, new), count in together.most_common():
        if count < least * sizes[old] or new in best:
            continue
        if any(o == old for _c, o in best.values()):
            continue
        best[new] = (count, old)
    return {new: old for new, (_count, old) in best.items()}


# --- the steps ----------------------------------------------------------------------------


def _empty(count: int, reason: str) -> Grouping:
    model = Model((), np.zeros(0, np.float32), np.zeros((0, 0), np.float32))
    return Grouping(model, (), [(None, 0.0)] * count, reason)


def _count(
    analysed: list[list[str]], wordy: list[int], distinct: int
) -> tuple[sparse.csr_matrix, tuple[str, ...]]:
    """Term counts of the texts with words. Terms in a single text (or in most texts) say
    little about a group, but only once there are enough texts for that to be true."""
    n = len(wordy)
    min_df = 1 if n < 50 else 2 if n < 10_000 else 3
    max_df = 0.5 if distinct >= 50 else 1.0
    docs = [analysed[i] for i in wordy]
    for low, high in ((min_df, max_df), (1, 1.0)):
        vectorizer = CountVectorizer(
            analyzer=_given, min_df=low, max_df=high, max_features=MAX_FEATURES, dtype=np.float32
        )
        try:
            counts = vectorizer.fit_transform(docs)
        except ValueError:  # nothing left after pruning: keep every term instead
            continue
        return counts.tocsr(), tuple(vectorizer.get_feature_names_out())
    raise AssertionError("texts with words always leave terms")  # pragma: no cover


def _given(terms: list[str]) -> list[str]:
    return terms


def _idf(counts: sparse.csr_matrix, languages: list[npt.NDArray[np.intp]]) -> Floats:
    """Smoothed idf; with two languages, each term's idf among the texts of the language
    that uses it most (a French word is rare among all texts but not among French ones)."""
    best: Floats | None = None
    idf = np.zeros(counts.shape[1], np.float32)
    for rows in languages:
        n = len(rows)
        df = np.bincount(counts[rows].indices, minlength=counts.shape[1])
        share = (df / n).astype(np.float32)
        here = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        if best is None:
            best, idf = share, here
        else:
            idf = np.where(share > best, here, idf)
            best = np.maximum(share, best)
    return idf


def _weigh(counts: sparse.spmatrix, idf: Floats) -> sparse.csr_matrix:
    x = sparse.csr_matrix(counts, dtype=np.float32, copy=True)
    x.data = (1 + np.log(x.data)) * idf[x.indices]
    return normalize(x, copy=False)


def _nmf(k: int, seed: int) -> NMF:
    return NMF(n_components=k, init="nndsvda", solver="cd", max_iter=300, random_state=seed)


def _fit(x: sparse.csr_matrix, fewest: int, most: int, seed: int) -> Floats:
    """Components of between `fewest` and `most` themes, rows of unit length. The number is
    chosen on a sample (`_choose`); the fit on every text (or a seeded `FIT_SAMPLE` of them)
    starts from that sample's components: started afresh, it can lose a small subject the
    sample had a theme for."""
    n = x.shape[0]
    rows = x if n <= FIT_SAMPLE else x[_sample(n, FIT_SAMPLE, seed)]
    if most == 1:  # one theme is the texts' mean direction (NMF of rank one, without its noise)
        components = np.asarray(rows.mean(axis=0))
    elif fewest >= most:
        components = _nmf(most, seed).fit(rows).components_
    else:
        start = _choose(x, fewest, most, seed)
        k = start.shape[0]
        nmf = NMF(n_components=k, init="custom", solver="cd", max_iter=300)
        begin = _weights(rows, start.astype(np.float32))
        components = nmf.fit(rows, W=begin, H=start.astype(np.float32)).components_
    return normalize(components).astype(np.float32)


def _language(text: str) -> str:
    """ "fr" if the text has more French stop words than English ones, else "en": the words
    every sentence needs tell a language apart cheaply."""
    words = _WORD.findall(text[:MAX_CHARS].casefold())
    french = sum(1 for w in words if w in _ONLY_FRENCH)
    english = sum(1 for w in words if w in _ONLY_ENGLISH)
    return "fr" if french > english else "en"


def _languages(texts: list[str], analysed: list[list[str]]) -> list[npt.NDArray[np.intp]]:
    """The rows of each language, fewer first, when both French and English have at least
    `LANGUAGE_ANSWERS` different answers; else all rows as one."""
    found = np.array([_language(text) for text in texts])
    french, english = np.flatnonzero(found == "fr"), np.flatnonzero(found != "fr")
    for rows in (french, english):
        if len({tuple(analysed[i]) for i in rows}) < LANGUAGE_ANSWERS:
            return [np.arange(len(texts))]
    return sorted((french, english), key=len)


def _fit_by_language(
    x: sparse.csr_matrix, languages: list[npt.NDArray[np.intp]], fewest: int, most: int, seed: int
) -> Floats:
    """Components as `_fit` makes them, but for each language on its own when there are two
    (`_languages`), the fewer-spoken first, over the shared terms. The fewer-spoken
    language's count is chosen between 2 and its share of `most`, rounded up, plus one
    (leaving the other 2): alone, with no bound, it took every theme it could (its subjects
    split by phrasing, its few short answers, "Rien à signaler", a theme); the bound is one
    more than its share so that rounding does not starve it. The other's count is chosen
    in what is left."""
    if most < 4 or len(languages) == 1:
        return _fit(x, fewest, most, seed)
    parts: list[Floats] = []
    left_fewest, left_most = fewest, most
    for position, rows in enumerate(languages):
        if position == 0:
            share = len(rows) / x.shape[0]
            high = min(left_most - 2, len(rows) // 2, int(np.ceil(share * most)) + 1)
            low = min(2, high)
        else:
            high = min(left_most, len(rows) // 2)
            low = min(max(2, left_fewest), high)
        part = _fit(x[rows], low, high, seed)
        parts.append(part)
        left_fewest -= part.shape[0]
        left_most -= part.shape[0]
    return np.vstack(parts) if parts else _fit(x, fewest, most, seed)


def _sample(n: int, size: int, seed: int) -> npt.NDArray[np.intp]:
    return np.sort(np.random.default_rng(seed).choice(n, size=min(n, size), replace=False))


def _choose(x: sparse.csr_matrix, fewest: int, most: int, seed: int) -> Floats:
    """The components, fitted on a seeded sample, of the fewest themes between `fewest` and
    `most` that leave (nearly) no more sampled texts without a clear theme than the most
    themes would: see the module's docstring."""
    sample = x[_sample(x.shape[0], CHOICE_SAMPLE, seed)]
    fits: dict[int, tuple[float, float, Floats]] = {}
    for k in range(fewest, most + 1):
        nmf = _nmf(k, seed)
        # Weights against unit-length components, as _place reads them.
        weights = nmf.fit_transform(sample) * np.linalg.norm(nmf.components_, axis=1)
        labels = np.argmax(weights, axis=1)
        unit = normalize(nmf.components_)
        closest_pair = float(np.max((unit @ unit.T)[np.triu_indices(k, 1)]))
        apart = (
            silhouette_score(sample, labels, metric="cosine") - closest_pair
            if 2 <= len(set(labels.tolist())) < sample.shape[0]
            else -np.inf
        )
        fits[k] = (float(np.mean(weights.max(axis=1) < FLOOR)), apart, nmf.components_)
    enough = min(share for share, _, _ in fits.values()) + KNEE
    covering = [k for k, (share, _, _) in fits.items() if share <= enough]
    return fits[max(covering, key=lambda k: (fits[k][1], -k))][2]


def _weights(x: sparse.csr_matrix, components: Floats) -> Floats:
    """Each text's weight in each theme, the components held fixed."""
    if components.shape[0] == 0:
        return np.zeros((x.shape[0], 0), np.float32)
    w, _, _ = non_negative_factorization(
        x,
        H=components,
        n_components=components.shape[0],
        update_H=False,
        solver="cd",
        max_iter=300,
    )
    return np.asarray(w, dtype=np.float32)


def _place(weights: Floats) -> list[Placement]:
    if weights.shape[1] == 0:
        return [(None, 0.0)] * weights.shape[0]
    strongest = np.argmax(weights, axis=1)
    top = weights[np.arange(weights.shape[0]), strongest]
    return [
        (int(t), round(float(w), 4)) if w >= FLOOR else (None, round(float(w), 4))
        for t, w in zip(strongest, top, strict=True)
    ]


def _describe(
    model: Model,
    theme: int,
    x: sparse.csr_matrix,
    rows: list[int],
    texts: list[str],
    indices: list[int],
) -> Theme:
    component = model.components[theme]
    top = _top_terms(model.vocabulary, component)
    quotes = _quotes(x, component, rows, texts, indices)
    return Theme(", ".join(top[:3]), tuple(top), len(rows), quotes)


def _top_terms(vocabulary: tuple[str, ...], component: Floats) -> list[str]:
    """The strongest TOP_TERMS terms, each saying something new: a pair nearly as strong as a
    word already chosen, which it extends, takes its place ("fine" becomes "fine tuning", but
    "price" stays "price" when only some say "token price"); a term whose words are already
    said is skipped ("install" after "install size")."""
    top: list[str] = []
    strength: dict[str, float] = {}
    for i in np.argsort(-component, kind="stable"):
        if len(top) == TOP_TERMS or component[i] <= 0:
            break
        term = vocabulary[i]
        words = set(term.split())
        said = {word for chosen in top for word in chosen.split()}
        if not words & said:
            top.append(term)
            strength[term] = float(component[i])
        elif words - said:
            for place, chosen in enumerate(top):
                if chosen in words and component[i] >= 0.7 * strength[chosen]:
                    top[place] = term
                    strength[term] = float(component[i])
                    break
    return top


def _quotes(
    x: sparse.csr_matrix, component: Floats, rows: list[int], texts: list[str], indices: list[int]
) -> tuple[int, ...]:
    """Up to QUOTES distinct texts closest to the theme, of moderate length preferred."""
    if not rows:
        return ()
    members = np.asarray(rows)
    closeness = np.asarray(x[members] @ component).ravel()
    lengths = np.array([len(texts[r]) for r in members], dtype=np.float32)
    # Full marks from 40 to 300 characters; shorter and longer texts lose some.
    fit = np.minimum(1.0, lengths / 40) * np.minimum(1.0, np.sqrt(300 / np.maximum(lengths, 1)))
    order = np.argsort(-(closeness * fit), kind="stable")
    chosen: list[int] = []
    seen: set[str] = set()
    for position in order[: QUOTES * 40]:
        row = int(members[position])
        key = " ".join(texts[row].casefold().split())
        if key in seen:
            continue
        seen.add(key)
        chosen.append(indices[row])
        if len(chosen) == QUOTES:
            break
    return tuple(chosen)
