"""Benchmark: keras-motifs against the authors' released code, trained models and files.

Given a checkout of github.com/p-koo/learning_sequence_motifs at commit 30b2384 (the
commit that holds ``results/synthetic/``: TF1 checkpoints of 12 architectures, their
first-layer filters ``conv_filters/<model>.meme``, the clipped ``<model>_clip.meme``,
MEME Tomtom's ``tomtom.txt`` and ``performance_summary.tsv``), this prints per model:

1. port: the checkpoint ported by ``keras_motifs.released`` into the registry
   architecture (all 12 must fit exactly), its largest prediction error against a
   NumPy forward pass of the released graph (BatchNorm epsilon 1e-8), and the error of
   a naive port that copies gamma without folding the epsilon;
2. AUROC of the ported model on keras-motifs' simulated test set (seed 0, 25,000
   sequences) against the released performance table (their test set);
3. PPM correlation: ``extract_filters`` (method ``code``, a fixed window as wide as
   the released ``.meme``: 19, or 9 for the cnn9 files, made earlier) on our test set
   against the released matrices, per filter Pearson r at the best column offset
   (-3..3): median, minimum, and how many filters are best at offset 0;
4. Tomtom: keras-motifs' Tomtom (memelite, E < 0.1, the release's own JASPAR 2016
   file as database) on the query file each released ``tomtom.txt`` was made from
   (``code/tomtom_compare.sh`` names it), mean Jaccard index of each filter's hit set
   against ``tomtom.txt`` (filters with a hit in either);
5. ground truth from their files: ``score_tomtom`` on their ``tomtom.txt`` (the
   ground-truth fraction and match-any), the released scoring (``helper.match_hits_
   to_ground_truth`` of the final code: its ID lists, STAT1's extra MEF2B/D IDs
   included), and the paper's published figure (``keras_motifs.report.published``);
6. trim widths: of the 30 released ``_clip.meme`` widths, how many the rule those
   files were made with (information of each column re-weighted as exp(3 p / max|p|)
   and renormalised, columns above 0.5 bits, padded by 3; only here) reproduces from
   the released ``.meme``, and how many ``keras_motifs.motifs.ppm.trim`` does;
7. keras-motifs' pipeline on the ported model: filters with the released window (19),
   trimmed, Tomtom (memelite, JASPAR 2016), ground-truth and match-any fractions; the same
   with the receptive field as window (keras-motifs' default; it differs for cnn3 and cnn9);
   and the ground-truth fraction with ``--method paper`` (0.7 x max, one window per sequence,
   19 columns).

Run: ``python benchmarks/released_fidelity.py --release DIR [--num-seqs 25000] [--seed 0]``
(several minutes of CPU). Nothing of the release is copied or written.
"""

import argparse
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from keras_motifs.data.synthetic import simulate
from keras_motifs.filters import extract_filters
from keras_motifs.models import get_spec
from keras_motifs.motifs.jaspar import PAPER_GROUND_TRUTH_IDS, load_database
from keras_motifs.motifs.meme import read_meme
from keras_motifs.motifs.ppm import Motif, trim
from keras_motifs.motifs.scoring import score_tomtom
from keras_motifs.motifs.tomtom import tomtom
from keras_motifs.motifs.tomtom_table import read_tomtom_tsv
from keras_motifs.released import RELEASED_EPSILON, RELEASED_NAMES, read_checkpoint, released_model
from keras_motifs.report.published import published_figures
from keras_motifs.training import evaluate

#: The released models of results/synthetic, in the order of their performance table.
MODELS = ["cnn_2", "cnn_4", "cnn_10", "cnn_25", "cnn_50", "cnn_100", "cnn_50_2", "cnn9_4", "cnn9_25",
          "cnn3_2", "cnn3_50", "cnn_2_1"]
#: The ground-truth ID lists of the released scoring (3_match_statistics_synthetic.py), in class order.
RELEASED_GROUND_TRUTH = [
    ["MA0151.1", "MA0601.1", "PB0001.1"], ["MA0466.1", "MA0466.2"], ["MA0477.1"], ["MA0062.1", "MA0062.2"],
    ["MA0496.1", "MA0496.2"], ["MA0058.1", "MA0058.2", "MA0058.3"], ["MA0052.1", "MA0052.2", "MA0052.3"],
    ["MA0502.1", "MA0060.1", "MA0060.2"], ["MA0079.1", "MA0079.2", "MA0079.3"], ["MA0083.1", "MA0083.2", "MA0083.3"],
    ["MA0137.1", "MA0137.2", "MA0137.3", "MA0660.1", "MA0773.1"], ["MA0095.1", "MA0095.2"],
]
EVALUE = 0.1


def numpy_forward(variables: dict, spec, x: np.ndarray, epsilon: float = RELEASED_EPSILON) -> np.ndarray:
    """The released TF1 graph at inference, in NumPy (float64): conv, BN, ReLU, max-pool (TF 'SAME'), dense..."""
    def batch_norm(h, scope):
        mean = variables[f"{scope}/moments/Squeeze/ExponentialMovingAverage"]
        variance = variables[f"{scope}/moments/Squeeze_1/ExponentialMovingAverage"]
        gamma, beta = variables[f"{scope}/norm/Variable"], variables[f"{scope}/norm/Variable_1"]
        return gamma * (h - mean) / np.sqrt(variance + epsilon) + beta

    h = x.astype(np.float64)
    for i, layer in enumerate(spec.conv_layers):
        kernel = variables[f"conv1d_{i}/conv1d/Variable"][:, 0].astype(np.float64)
        k = kernel.shape[0]
        padded = np.pad(h, ((0, 0), ((k - 1) // 2, k // 2), (0, 0)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=1)  # (n, length, c_in, k)
        h = np.maximum(batch_norm(np.einsum("nlck,kco->nlo", windows, kernel), f"conv1d_{i}"), 0)
        size, stride = layer.pool_size, layer.stride
        if size > 1 or stride > 1:
            length = h.shape[1]
            out = -(-length // stride)
            total = max((out - 1) * stride + size - length, 0)
            h = np.pad(h, ((0, 0), (total // 2, total - total // 2), (0, 0)), constant_values=-np.inf)
            h = np.lib.stride_tricks.sliding_window_view(h, size, axis=1)[:, ::stride][:, :out].max(axis=-1)
    h = h.reshape(len(h), -1) @ variables["dense_0/dense/Variable"]
    h = np.maximum(batch_norm(h, "dense_0"), 0)
    logits = h @ variables["dense_1/dense/Variable"] + variables["dense_1/bias/Variable"]
    return 1 / (1 + np.exp(-logits))


def naive_model(variables: dict, ported):
    """The ported model with the released gamma copied as is (no epsilon folding)."""
    import keras

    naive = keras.models.clone_model(ported)
    naive.set_weights(ported.get_weights())
    scopes = {f"conv{i + 1}": f"conv1d_{i}" for i in range(8)}
    for layer in naive.layers:
        bn, scope = None, None
        if layer.name in scopes:
            bn, scope = layer.bn, scopes[layer.name]
        elif layer.name == "dense_bn":
            bn, scope = layer, "dense_0"
        if bn is not None:
            _, beta, mean, variance = bn.get_weights()
            bn.set_weights([variables[f"{scope}/norm/Variable"], beta, mean, variance])
    return naive


def released_ppms(path: Path) -> list[np.ndarray]:
    """The released matrices of a .meme file, in filter order."""
    return [motif.ppm for motif in read_meme(path)]


def best_offset_r(ours: np.ndarray, theirs: np.ndarray, max_shift: int = 3) -> tuple[float, int]:
    """Pearson r of two equally wide PPMs at the column shift (-3..3) where it is highest."""
    best = (-np.inf, 0)
    width = len(ours)
    for shift in range(-max_shift, max_shift + 1):
        a = ours[max(shift, 0): width + min(shift, 0)]
        b = theirs[max(-shift, 0): width + min(-shift, 0)]
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        if r > best[0]:
            best = (r, shift)
    return best


def earlier_clip_width(ppm: np.ndarray, threshold: float = 0.5, pad: int = 3) -> int:
    """Width kept by the clipping rule of the 30b2384 files (see the module docstring)."""
    w = ppm.T  # (4, width), as the released code held it
    weighted = np.exp(3 * w / np.max(np.abs(w)))
    weighted = weighted / weighted.sum(axis=0, keepdims=True)
    information = 2 + np.sum(weighted * np.log2(weighted + 1e-7), axis=0)
    index = np.flatnonzero(information > threshold)
    if not index.any():  # the released test: also true when only column 0 passes
        return w.shape[1]
    return int(min(index.max() + pad + 1, w.shape[1]) - max(index.min() - pad, 0))


def our_trim_width(ppm: np.ndarray) -> int | None:
    """Width kept by keras-motifs' trim (None: left out as uninformative)."""
    trimmed = trim(Motif("f", ppm), min_ic=0.5, pad=3)
    return None if trimmed is None else trimmed.width


def tomtom_queries(release: Path) -> dict[str, tuple[str, str]]:
    """Model -> (tomtom output folder, query .meme) as code/tomtom_compare.sh ran them (commented lines too)."""
    script = release / "code" / "tomtom_compare.sh"
    found = {}
    if script.is_file():
        pattern = re.compile(r"-o \S*/synthetic/conv_filters/(\S+) \S*/synthetic/conv_filters/(\S+)\.meme")
        for folder, query in pattern.findall(script.read_text()):
            found[query.removesuffix("_clip")] = (folder, query)
    return found


def hit_sets(table: pd.DataFrame) -> dict[str, set[str]]:
    """Filter -> JASPAR IDs with E < 0.1."""
    table = table[table["E-value"] < EVALUE]
    return {query: set(group["Target_ID"]) for query, group in table.groupby("Query_ID")}


def released_scoring(table: pd.DataFrame, size: int = 30) -> float:
    """The released code's ground-truth fraction of a Tomtom table (match_hits_to_ground_truth)."""
    matched = set()
    for query, group in table.groupby("Query_ID"):
        targets = set(group["Target_ID"])
        if any(targets & set(ids) for ids in RELEASED_GROUND_TRUTH):
            matched.add(query)
    return len(matched) / size


def figure_text(figure) -> str:
    """A published figure as text, "–" when there is none."""
    if figure is None:
        return "–"
    return f"{figure.mean:.3f}" + ("" if figure.sd is None else f"±{figure.sd:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", required=True, help="checkout of p-koo/learning_sequence_motifs at 30b2384")
    parser.add_argument("--num-seqs", type=int, default=25000, help="simulated sequences (test set: 20%%)")
    parser.add_argument("--seed", type=int, default=0, help="simulation seed")
    args = parser.parse_args()
    release = Path(args.release)
    results = release / "results" / "synthetic"
    filters_dir = results / "conv_filters"
    if not (results / "model_params").is_dir():
        raise SystemExit(f"{release}: no results/synthetic/model_params (check out commit 30b2384)")

    start = time.monotonic()
    dataset = simulate(num_seqs=args.num_seqs, seed=args.seed)
    x_test, y_test = dataset.x["test"].astype("float32"), dataset.y["test"]
    print(f"keras-motifs test set: {len(x_test)} sequences (seed {args.seed}); classes {', '.join(dataset.class_names)}")
    performance = pd.read_csv(results / "performance_summary.tsv", sep="\t").set_index("model")
    database = load_database(release / "data" / "JASPAR_CORE_2016_vertebrates.meme")
    queries = tomtom_queries(release)

    rows = []
    for name in MODELS:
        arch = RELEASED_NAMES[name]
        spec = get_spec(arch)
        variables = read_checkpoint(results / "model_params" / f"{name}_best.ckpt")
        model = released_model(variables, arch, where=f"{name}_best.ckpt")
        params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        probe = x_test[:500]
        reference = numpy_forward(variables, spec, probe)
        error = float(np.abs(model.predict(probe, verbose=0) - reference).max())
        naive_error = float(np.abs(naive_model(variables, model).predict(probe, verbose=0) - reference).max())
        auroc = evaluate(model, x_test, y_test, dataset.class_names)["mean_auroc"]
        their_auroc = performance["ave roc"].get(name, "")

        theirs = released_ppms(filters_dir / f"{name}.meme")
        window = len(theirs[0])
        ours = extract_filters(model, x_test, method="code", window=window)
        pairs = [best_offset_r(o, t) for o, t in zip(ours.ppms, theirs) if o is not None]
        rs = np.array([r for r, _ in pairs])

        folder, query = queries.get(name, (name, f"{name}_clip"))
        released_table = read_tomtom_tsv(filters_dir / folder / "tomtom.txt")
        our_table = tomtom(read_meme(filters_dir / f"{query}.meme"), database)
        theirs_hits, ours_hits = hit_sets(released_table), hit_sets(our_table)
        jaccard = [len(theirs_hits.get(f, set()) & ours_hits.get(f, set()))
                   / len(theirs_hits.get(f, set()) | ours_hits.get(f, set()))
                   for f in set(theirs_hits) | set(ours_hits)]

        filter_ids = [f"filter{i}" for i in range(30)]
        from_files = score_tomtom(released_table, filter_ids, PAPER_GROUND_TRUTH_IDS, evalue_threshold=EVALUE)
        clipped = [m.width for m in read_meme(filters_dir / f"{name}_clip.meme")]
        earlier = [earlier_clip_width(p) for p in theirs]
        trimmed = [our_trim_width(p) for p in theirs]

        pipeline_filters = ours if window == 19 else extract_filters(model, x_test, method="code", window=19)
        jaspar = load_database("JASPAR2016")
        pipeline = score_tomtom(tomtom(pipeline_filters.motifs(), jaspar), filter_ids,
                                PAPER_GROUND_TRUTH_IDS, evalue_threshold=EVALUE)
        receptive = pipeline if spec.conv_layers[0].kernel_size == 19 else score_tomtom(
            tomtom(extract_filters(model, x_test, method="code").motifs(), jaspar), filter_ids,
            PAPER_GROUND_TRUTH_IDS, evalue_threshold=EVALUE)
        paper_method = extract_filters(model, x_test, method="paper", window=19)
        pipeline_paper = score_tomtom(tomtom(paper_method.motifs(), jaspar), filter_ids,
                                      PAPER_GROUND_TRUTH_IDS, evalue_threshold=EVALUE)
        paper = published_figures(arch, "conv1")
        rows.append({
            "model": name, "arch": arch, "params": params, "err": error, "naive_err": naive_error,
            "auroc": auroc, "their_auroc": their_auroc, "auroc_paper": figure_text(paper["auroc"]),
            "window": window, "r_median": float(np.median(rs)), "r_min": float(rs.min()),
            "offset0": sum(shift == 0 for _, shift in pairs), "active": len(pairs),
            "query": f"{query}.meme", "jaccard": float(np.mean(jaccard)) if jaccard else float("nan"),
            "any_files": from_files["match_any_frac"], "gt_files": from_files["match_gt_frac"],
            "gt_released_scoring": released_scoring(released_table[released_table["E-value"] < EVALUE]),
            "gt_paper": figure_text(paper["match_gt"]),
            "earlier_rule": sum(a == b for a, b in zip(earlier, clipped)),
            "our_trim": sum(a == b for a, b in zip(trimmed, clipped)),
            "gt_pipeline": pipeline["match_gt_frac"], "any_pipeline": pipeline["match_any_frac"],
            "gt_paper_method": pipeline_paper["match_gt_frac"],
            "any_rf": receptive["match_any_frac"], "gt_rf": receptive["match_gt_frac"],
        })
        print(f"  {name}: done ({time.monotonic() - start:.0f} s)", flush=True)

    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    sections = [
        ("1-2. Port (max |prediction - NumPy forward pass| on 500 test sequences) and AUROC",
         ["model", "arch", "params", "err", "naive_err", "auroc", "their_auroc", "auroc_paper"]),
        ("3-4. Filters against the released matrices; Tomtom against the released tomtom.txt",
         ["model", "window", "active", "r_median", "r_min", "offset0", "query", "jaccard"]),
        ("5-7. Ground truth from their files, trim widths (of 30), keras-motifs' pipeline on the ported model",
         ["model", "any_files", "gt_files", "gt_released_scoring", "gt_paper", "earlier_rule", "our_trim",
          "any_pipeline", "gt_pipeline", "any_rf", "gt_rf", "gt_paper_method"]),
    ]
    for title, columns in sections:
        print(f"\n{title}")
        print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.3g}" if abs(v) < 1e-2 and v
                                       else f"{v:.3f}"))
    print(f"\n{len(table)} models, {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
