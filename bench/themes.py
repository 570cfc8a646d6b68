"""themes: the grouping engine alone (events/themes.py) on 100,000 planted free-text answers:
how long grouping takes and how much memory, how long assigning 1,000 new answers takes, and
how well the planted themes come back, against baselines measured in the same run.

    .venv/bin/python -m bench.themes [--answers 100000] [--new 1000] [--seed 1]
                                     [--min-themes 2] [--max-themes 12]

What it does, in one run (no database, no Django: bench/themes_db.py times the same on
PostgreSQL as the application runs it, the background task's body and the page):

1. generates `--answers` + `--new` answers (bench/themes_data.py: developer feedback in
   English and French, 10 planted themes of decreasing sizes, 8% noise), seeded;
2. times `themes.group` on the `--answers` (2 to 12 themes unless told otherwise), and
   notes the process's peak memory while it runs (VmHWM reset just before; ru_maxrss too);
3. times `themes.assign` of the `--new` answers to those themes, and the model's size as bytes;
4. reports purity: for each planted theme, the share of its answers in its majority theme,
   which theme that is (two planted themes with one majority theme were merged), overall;
5. baselines, same texts: TF-IDF alone (scikit-learn's TfidfVectorizer with the engine's
   analyzer and pruning), and plain KMeans (as many clusters as the engine found, one init)
   on that matrix: its time and its purity, every answer in a cluster.

Exit status: 0 when grouping took < 60 s with peak memory < 1 GiB, assigning < 5 s and
overall purity >= 0.8; 1 when not.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import Counter

from bench.common import reset_peak_rss, rss_mib
from bench.themes_data import generate, purity
from events import themes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-themes", type=int, default=2)
    parser.add_argument("--max-themes", type=int, default=12)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    planted = generate(args.answers + args.new, seed=args.seed)
    texts, labels = planted.texts[: args.answers], planted.labels[: args.answers]
    new_texts, new_labels = planted.texts[args.answers :], planted.labels[args.answers :]
    print(
        f"{args.answers:,} answers + {args.new:,} new generated in "
        f"{time.perf_counter() - began:.1f} s; planted sizes: "
        + ", ".join(f"{name} {size:,}" for name, size in planted.sizes.items())
        + f", noise {sum(1 for label in planted.labels if label is None):,}"
    )

    settings = themes.Settings(
        min_themes=args.min_themes, max_themes=args.max_themes, seed=args.seed
    )
    before = rss_mib("VmRSS")
    reset_peak_rss()
    began = time.perf_counter()
    grouping = themes.group(texts, settings)
    group_s = time.perf_counter() - began
    peak = rss_mib("VmHWM")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ngroup(): {group_s:.1f} s, {len(grouping.themes)} themes, reason {grouping.reason}")
    print(
        f"  memory: {before:.0f} MiB before, peak {peak:.0f} MiB during (+{peak - before:.0f}); "
        f"process ru_maxrss {maxrss:.0f} MiB"
    )
    for index, theme in enumerate(grouping.themes):
        print(f"  {index:2} {theme.size:7,}  {theme.label}   [{', '.join(theme.terms[3:6])}]")
    print(f"  no clear theme: {grouping.unthemed:,}")

    began = time.perf_counter()
    placed = themes.assign(grouping.model, new_texts)
    assign_s = time.perf_counter() - began
    size = len(grouping.model.to_bytes())
    print(f"\nassign() of {len(new_texts):,} new answers: {assign_s * 1000:.0f} ms")
    print(f"  model as bytes: {size / 1024:.0f} KiB ({len(grouping.model.vocabulary):,} terms)")
    new_purity, _ = purity(new_labels, [t for t, _ in placed])
    print(f"  purity of the new answers: {new_purity:.3f}")

    overall, per_theme = purity(labels, [t for t, _ in grouping.placements])
    print_purity("engine", overall, per_theme)

    baseline_s, matrix = tfidf_alone(texts)
    print(
        f"\nbaseline: TF-IDF alone {baseline_s:.1f} s ({matrix.shape[0]:,} x {matrix.shape[1]:,},"
        f" {matrix.nnz:,} non-zeros); group() took {group_s / baseline_s:.1f}x as long"
    )
    kmeans_s, kmeans_labels = kmeans(matrix, max(len(grouping.themes), 2), args.seed)
    k_overall, k_per_theme = purity(labels, kmeans_labels)
    print(f"baseline: KMeans on that matrix {kmeans_s:.1f} s (TF-IDF not included)")
    print_purity("KMeans", k_overall, k_per_theme)

    problems = []
    if group_s >= 60:
        problems.append(f"group() took {group_s:.1f} s (target < 60 s)")
    if peak >= 1024:
        problems.append(f"peak memory {peak:.0f} MiB (target < 1 GiB)")
    if assign_s >= 5:
        problems.append(f"assign() took {assign_s:.1f} s (target < 5 s)")
    if overall < 0.8:
        problems.append(f"purity {overall:.3f} (target >= 0.8)")
    print("\n" + ("; ".join(problems) if problems else "every target met"))
    return 1 if problems else 0


def print_purity(name: str, overall: float, per_theme: dict[str, tuple[float, int | None]]) -> None:
    shared = Counter(majority for _, majority in per_theme.values())
    merged = sum(count - 1 for majority, count in shared.items() if majority is not None)
    print(f"\npurity ({name}): overall {overall:.3f}; planted themes merged into another: {merged}")
    for label, (share, majority) in per_theme.items():
        note = " (shared)" if shared[majority] > 1 else ""
        print(f"  {share:6.3f}  {label}  -> theme {majority}{note}")


def tfidf_alone(texts: list[str]):
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        analyzer=themes.terms,
        min_df=3,
        max_df=0.5,
        max_features=themes.MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )
    began = time.perf_counter()
    matrix = vectorizer.fit_transform(texts)
    return time.perf_counter() - began, matrix


def kmeans(matrix, k: int, seed: int) -> tuple[float, list[int | None]]:
    from sklearn.cluster import KMeans

    began = time.perf_counter()
    labels = KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(matrix)
    return time.perf_counter() - began, [int(label) for label in labels]


if __name__ == "__main__":
    sys.exit(main())
