"""Tests of keras_motifs.report.write on hand-made run folders (no training)."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from keras_motifs.errors import KerasMotifsError
from keras_motifs.report.runs import RUN_COLUMNS, read_runs
from keras_motifs.report.tables import TABLE_COLUMNS, summary_table
from keras_motifs.report.write import write_report

MEME_HEADER = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.25 C 0.25 G 0.25 T 0.25
"""

# Three filters of width 4: a sharp "GATA", a half-informative one, a flat (dead) one.
FILTER_ROWS = {
    "filter0": ["0 0 1 0", "1 0 0 0", "0 0 0 1", "1 0 0 0"],
    "filter1": ["0.5 0.5 0 0", "0 0.5 0.5 0", "0 0 0.5 0.5", "0.5 0 0 0.5"],
    "filter2": ["0.25 0.25 0.25 0.25"] * 4,
}


def _meme_text(ids):
    blocks = [MEME_HEADER]
    for fid in ids:
        rows = FILTER_ROWS[fid]
        blocks.append(f"MOTIF {fid}\nletter-probability matrix: alength= 4 w= {len(rows)} nsites= 20 E= 0\n"
                      + "\n".join(rows) + "\n")
    return "\n".join(blocks)


def _spec(pools, kernels=(19, 5)):
    return {"name": "x", "conv_layers": [
        {"filters": 3, "kernel_size": k, "pool_size": p, "pool_stride": None,
         "activation": "relu", "dropout": 0.1} for k, p in zip(kernels, pools)]}


def _score(layer, any_frac, gt_frac):
    hits = [
        {"filter": "filter0", "best_jaspar_id": "MA0035.3", "best_jaspar_name": "Gata1",
         "best_evalue": 2e-5, "best_gt_tf": "Gata1", "best_gt_id": "MA0035.3", "best_gt_evalue": 2e-5},
        {"filter": "filter1", "best_jaspar_id": "MA0079.3", "best_jaspar_name": "SP1",
         "best_evalue": 0.03, "best_gt_tf": None, "best_gt_id": None, "best_gt_evalue": None},
        {"filter": "filter2", "best_jaspar_id": None, "best_jaspar_name": None,
         "best_evalue": None, "best_gt_tf": None, "best_gt_id": None, "best_gt_evalue": None},
    ]
    return {"layer": layer, "num_filters": 3, "evalue_threshold": 0.1,
            "match_any_frac": any_frac, "match_gt_frac": gt_frac,
            "tf_coverage": {"Gata1": gt_frac > 0}, "filters": hits}


def make_run(root, name, arch, trial, pools, auroc, aupr, scores=None, history=True):
    """Write one fake run folder; ``scores`` maps layer -> (match_any, match_gt)."""
    run = Path(root) / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({
        "arch": arch, "trial": trial, "spec": _spec(pools), "class_names": ["Gata1", "SP1"],
        "seed": trial, "epochs": 3, "device": "gpu:0" if trial else "cpu:0"}))
    (run / "metrics.json").write_text(json.dumps({
        "auroc": {"Gata1": auroc, "SP1": auroc}, "aupr": {"Gata1": aupr, "SP1": aupr},
        "mean_auroc": auroc, "mean_aupr": aupr}))
    if history:
        pd.DataFrame({"epoch": [0, 1, 2], "loss": [0.6, 0.5, 0.4], "val_loss": [0.6, 0.55, 0.5],
                      "motif_match_frac": [0.0, 1 / 3, 2 / 3], "motif_gt_frac": [0.0, 0.0, 1 / 3]}
                     ).to_csv(run / "history.csv", index=False)
    for layer, (any_frac, gt_frac) in (scores or {}).items():
        motifs = run / "motifs"
        motifs.mkdir(exist_ok=True)
        (motifs / f"{layer}.meme").write_text(_meme_text(["filter0", "filter1", "filter2"]))
        (motifs / f"{layer}.filters.tsv").write_text(
            "filter\tlayer\twidth\tnum_sites\tmax_activation\tconsensus\n"
            f"filter0\t{layer}\t4\t10\t2.0\tGATA\nfilter1\t{layer}\t4\t5\t1.0\tMSKW\n"
            f"filter2\t{layer}\t4\t0\t0.0\tNNNN\n")
        (motifs / f"{layer}.tomtom.tsv").write_text(
            "Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\t"
            "Query_consensus\tTarget_consensus\tOrientation\n"
            "filter0\tMA0035.3\t0\t1e-7\t2e-5\t4e-5\t4\tGATA\tGATA\t+\n"
            "filter1\tMA0079.3\t0\t1e-4\t0.03\t0.05\t4\tMSKW\tGGGCGG\t+\n\n# Tomtom\n")
        (motifs / f"{layer}.score.json").write_text(json.dumps(_score(layer, any_frac, gt_frac)))
    return run


@pytest.fixture
def sweep(tmp_path):
    """Three runs: cnn-25 (two trials, one layer), cnn-1 (one trial, two layers), cnn-4 (no motifs)."""
    runs = tmp_path / "runs"
    return [
        make_run(runs, "cnn-25_t0", "cnn-25", 0, (25, 4), 0.90, 0.60, {"conv1": (1.0, 2 / 3)}),
        make_run(runs, "cnn-25_t1", "cnn-25", 1, (25, 4), 0.94, 0.70, {"conv1": (2 / 3, 1 / 3)}),
        make_run(runs, "cnn-1_t0", "cnn-1", 0, (1, 100), 0.92, 0.65,
                 {"conv1": (1 / 3, 0.0), "conv2": (1.0, 2 / 3)}),
        make_run(runs, "cnn-4_t0", "cnn-4", 0, (4, 25), 0.91, 0.62, history=False),
    ]


def test_write_report_files_and_table(sweep, tmp_path):
    out = tmp_path / "report"
    report = write_report(sweep, out)
    assert report == out / "report.html"
    for name in ["report.html", "table.tsv", "table.md", "runs.tsv", "figures/match_vs_pool.png",
                 "figures/auroc_vs_pool.png", "figures/motif_match_per_epoch.png"]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    # one logo grid per run and layer with a .meme file
    logos = sorted(p.name for p in (out / "figures" / "logos").iterdir())
    assert logos == ["cnn-1_trial0_conv1.png", "cnn-1_trial0_conv2.png",
                     "cnn-25_trial0_conv1.png", "cnn-25_trial1_conv1.png"]
    # no temporary files left behind
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]

    table = pd.read_csv(out / "table.tsv", sep="\t", keep_default_na=False, na_values=[""])
    assert list(table.columns) == TABLE_COLUMNS
    # rows by first pool size; cnn-1's deeper layer right after its first layer
    assert list(table["model"]) == ["cnn-1", "cnn-1 (conv2)", "cnn-4", "cnn-25"]
    assert list(table["first_pool_size"]) == [1, 1, 4, 25]
    assert list(table["n_trials"]) == [1, 1, 1, 2]
    rows = table.set_index("model")
    cnn25 = rows.loc["cnn-25"]
    assert cnn25["auroc_mean"] == pytest.approx(0.92)
    assert cnn25["auroc_std"] == pytest.approx(np.std([0.90, 0.94], ddof=1), rel=1e-5)
    assert cnn25["aupr_mean"] == pytest.approx(0.65)
    assert cnn25["aupr_std"] == pytest.approx(np.std([0.60, 0.70], ddof=1), rel=1e-5)
    assert cnn25["match_any_mean"] == pytest.approx(5 / 6, rel=1e-5)
    assert cnn25["match_any_std"] == pytest.approx(np.std([1.0, 2 / 3], ddof=1), rel=1e-5)
    assert cnn25["match_gt_mean"] == pytest.approx(0.5, rel=1e-5)
    assert cnn25["match_gt_std"] == pytest.approx(np.std([2 / 3, 1 / 3], ddof=1), rel=1e-5)
    deeper = rows.loc["cnn-1 (conv2)"]
    assert deeper["layer"] == "conv2"
    assert deeper["match_any_mean"] == pytest.approx(1.0)
    assert deeper["match_gt_mean"] == pytest.approx(2 / 3, rel=1e-5)
    assert rows.loc["cnn-1", "match_gt_mean"] == 0.0
    # single trial: no standard deviation; a run without motifs: empty match columns
    assert np.isnan(rows.loc["cnn-1", "auroc_std"])
    assert rows.loc["cnn-4", "auroc_mean"] == pytest.approx(0.91)
    assert np.isnan(rows.loc["cnn-4", "match_any_mean"]) and np.isnan(rows.loc["cnn-4", "match_gt_mean"])

    md = (out / "table.md").read_text()
    # each run's figure, then the paper's for the same architecture and layer ("–" where it states none)
    assert "| cnn-25 | 25 | 2 | 0.920 ± 0.028 | – | 0.650 ± 0.071 | 0.833 ± 0.236 | – | 0.500 ± 0.236 | " \
           "0.980 ± 0.027 |" in md
    assert "| cnn-1 (conv2) | 1 | 1 |" in md
    assert "| cnn-4 | 4 | 1 | 0.910 | – | 0.620 | – | – | – | – |" in md


def test_the_papers_figures_stand_beside_each_row(sweep, tmp_path):
    out = tmp_path / "report"
    write_report(sweep, out)
    md = (out / "table.md").read_text()
    header = md.splitlines()[0]
    assert "| AUROC | paper: AUROC | AUPR | match any JASPAR | paper: match any JASPAR | match ground truth | " \
           "paper: match ground truth |" in header
    assert "| cnn-1 | 1 | 1 | 0.920 | – | 0.650 | 0.333 | 0.240 ± 0.083 | 0.000 | 0.007 ± 0.013 |" in md
    assert "| cnn-1 (conv2) | 1 | 1 | 0.920 | – | 0.650 | 1.000 | 0.900 ± 0.024 | 0.667 | 0.847 ± 0.021 |" in md
    assert "PLoS Comput Biol 15(12): e1007560" in md and "cnn-50-2 is the network" not in md
    html_text = (out / "report.html").read_text()
    assert "<th>paper: match ground truth</th>" in html_text and "<td>0.847 ± 0.021</td>" in html_text


def test_the_caption_says_which_cnn_50_2_is_which(tmp_path):
    runs = [make_run(tmp_path / "runs", f"{arch}_t0", arch, 0, (50, 50), 0.9, 0.6, {"conv1": (1.0, 2 / 3)})
            for arch in ("cnn-50-2", "cnn-50-2-samesize")]
    write_report(runs, tmp_path / "report")
    md = (tmp_path / "report" / "table.md").read_text()
    assert "| cnn-50-2 | 50 | 1 |" in md and "| 0.667 | 0.900 |" in md
    assert "cnn-50-2 is the network the authors released" in md and "cnn-50-2-samesize is CNN-50-2 as" in md


def test_html_references_every_image(sweep, tmp_path):
    out = tmp_path / "report"
    page = write_report(sweep, out).read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    pngs = {p.relative_to(out).as_posix() for p in out.rglob("*.png")}
    assert set(sources) == pngs and len(sources) == len(pngs) == 7
    assert all(not Path(s).is_absolute() for s in sources)
    for model in ["cnn-1", "cnn-1 (conv2)", "cnn-4", "cnn-25"]:
        assert f"<td>{model}</td>" in page
    assert "0.920 ± 0.028" in page


def test_arch_order_and_rerun_replaces_report(sweep, tmp_path):
    out = tmp_path / "report"
    (out / "keep.txt").parent.mkdir(parents=True)
    (out / "keep.txt").write_text("a sweep's own file")
    write_report(sweep, out, arch_order=["cnn-25", "cnn-1"])
    table = pd.read_csv(out / "table.tsv", sep="\t")
    assert list(table["model"]) == ["cnn-25", "cnn-1", "cnn-1 (conv2)", "cnn-4"]
    write_report(sweep[:1], out)
    assert pd.read_csv(out / "table.tsv", sep="\t")["model"].tolist() == ["cnn-25"]
    assert [p.name for p in (out / "figures" / "logos").iterdir()] == ["cnn-25_trial0_conv1.png"]
    assert (out / "keep.txt").read_text() == "a sweep's own file"


def test_runs_without_motifs_or_history(tmp_path):
    runs = [make_run(tmp_path, f"r{i}", "cnn-2", i, (2, 50), 0.8 + 0.1 * i, 0.5, history=False)
            for i in range(2)]
    out = tmp_path / "report"
    page = write_report(runs, out).read_text()
    assert not (out / "figures" / "match_vs_pool.png").exists()
    assert not (out / "figures" / "motif_match_per_epoch.png").exists()
    assert re.findall(r'<img src="([^"]+)"', page) == ["figures/auroc_vs_pool.png"]
    table = summary_table(read_runs(runs))
    assert table.loc[0, "auroc_mean"] == pytest.approx(0.85)
    assert table.loc[0, "n_trials"] == 2


def test_read_runs_rows(sweep):
    frame = read_runs(sweep)
    assert list(frame.columns) == RUN_COLUMNS
    assert len(frame) == 5  # cnn-25 x2, cnn-1 conv1 + conv2, cnn-4 without motifs
    assert frame.loc[frame["arch"] == "cnn-4", "layer"].tolist() == [""]
    assert frame.loc[frame["arch"] == "cnn-25", "device"].tolist() == ["cpu:0", "gpu:0"]  # as config.json says


@pytest.mark.parametrize("missing", ["config.json", "metrics.json"])
def test_missing_required_file_names_folder_and_file(sweep, tmp_path, missing):
    (sweep[1] / missing).unlink()
    with pytest.raises(KerasMotifsError, match=rf"cnn-25_t1.*{re.escape(missing)}"):
        write_report(sweep, tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_a_refused_report_leaves_nothing_behind(sweep, tmp_path, capsys):
    """A bad MEME file in the last run: the CLI's one error line names it, and no report folder is left."""
    from keras_motifs.cli import main

    bad = sweep[2] / "motifs" / "conv2.meme"
    bad.write_text(bad.read_text().replace("0.5 0.5 0 0", "0.5 0.5 zero 0"))
    out = tmp_path / "report"
    assert main(["report", "--runs", *map(str, sweep), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"keras-motifs: error: {bad}") and "Traceback" not in err
    assert not out.exists()


def test_a_report_that_fails_while_writing_removes_the_folder_it_created(sweep, tmp_path, monkeypatch):
    import keras_motifs.report.write as report

    def full_disk(*args, **kwargs):
        raise KerasMotifsError(f"{tmp_path / 'report' / 'report.html'}: no space left on device")

    monkeypatch.setattr(report, "write_html", full_disk)
    with pytest.raises(KerasMotifsError, match="no space left"):
        write_report(sweep, tmp_path / "report")
    assert not (tmp_path / "report").exists()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "mine.txt").write_text("a user's file")
    with pytest.raises(KerasMotifsError, match="no space left"):
        write_report(sweep, tmp_path / "kept")
    assert (tmp_path / "kept" / "mine.txt").read_text() == "a user's file"


def test_bad_config_and_arguments(sweep, tmp_path):
    config = json.loads((sweep[0] / "config.json").read_text())
    del config["spec"]["conv_layers"]
    (sweep[0] / "config.json").write_text(json.dumps(config))
    with pytest.raises(KerasMotifsError, match=r"config\.json: missing \['spec'\]\['conv_layers'\]"):
        read_runs(sweep)
    with pytest.raises(KerasMotifsError, match="no run folders"):
        write_report([], tmp_path / "report")
    with pytest.raises(KerasMotifsError, match="run folder not found"):
        read_runs([tmp_path / "nope"])


def _training_config(run, **fields):
    config = json.loads((run / "config.json").read_text())
    config.update(fields)
    (run / "config.json").write_text(json.dumps(config))


def test_a_run_stopped_at_the_cap_while_improving_is_flagged(tmp_path):
    from keras_motifs.report.runs import training_flags

    capped = make_run(tmp_path, "capped", "cnn-25", 0, [25, 4], 0.95, 0.8, {"conv1": (1.0, 0.9)})
    converged = make_run(tmp_path, "converged", "cnn-10", 0, [10, 4], 0.95, 0.8, {"conv1": (1.0, 0.9)})
    # as config.json named the learning rate before it was written under the protocol's names
    protocol = {"learning_rate": 1e-3, "batch_size": 100, "epochs": 25, "patience": 5, "lr_patience": 0,
                "lr_factor": 0.2}
    _training_config(capped, epochs_run=25, best_epoch=23, **protocol)  # the last improvement 1 epoch ago
    _training_config(converged, epochs_run=19, best_epoch=13, **protocol)  # stopped by early stopping
    assert training_flags({**protocol, "epochs_run": 25, "best_epoch": 19}) == []  # 5 flat epochs: converged
    write_report([capped, converged], tmp_path / "report")
    table = (tmp_path / "report" / "table.md").read_text()
    assert "| cnn-25 \u2020 |" in table and "| cnn-10 |" in table
    assert "\u2020 cnn-25 trial 0: stopped at the 25-epoch cap while still improving (best epoch 24 of 25)" in table
    assert "Training: Adam at learning rate 0.001, batch 100, at most 25 epochs, stopped after 5 epochs without a lower validation loss, best weights kept." in table
    runs = pd.read_csv(tmp_path / "report" / "runs.tsv", sep="\t", keep_default_na=False)
    assert list(runs["flags"] != "") == [True, False]
    assert "stopped at the 25-epoch cap" in (tmp_path / "report" / "report.html").read_text()
    table = summary_table(read_runs([capped, converged]))
    assert dict(zip(table["model"], table["n_flagged"])) == {"cnn-10": 0, "cnn-25": 1}


def test_a_run_far_below_the_others_is_flagged(tmp_path):
    runs = [make_run(tmp_path, f"r{i}", f"cnn-{pool}", 0, [pool, 4], auroc, 0.8, {"conv1": (1.0, 0.9)})
            for i, (pool, auroc) in enumerate([(10, 0.96), (25, 0.97), (50, 0.95), (100, 0.81)])]
    frame = read_runs(runs)
    flags = dict(zip(frame["arch"], frame["flags"]))
    assert flags["cnn-100"] == "test AUROC 0.810, 0.145 below the median of the runs reported (0.955)"
    assert flags["cnn-10"] == flags["cnn-25"] == flags["cnn-50"] == ""
    write_report(runs, tmp_path / "report")
    assert "| cnn-100 \u2020 |" in (tmp_path / "report" / "table.md").read_text()


def test_run_folder_layout_round_trips_every_file(tmp_path):
    from keras_motifs.io.runfolder import LAYER_SUFFIXES, RunFolder, layer_of

    run = RunFolder(tmp_path / "run")
    assert [p.name for p in (run.model, run.config, run.metrics, run.history)] == [
        "model.keras", "config.json", "metrics.json", "history.csv"]
    run.motifs.mkdir(parents=True)
    for layer in ("conv10", "conv2", "stem/conv1"):
        for kind in LAYER_SUFFIXES:
            path = run.layer_file(layer, kind)
            path.write_text("")
            assert path.parent == run.motifs and layer_of(path) == layer
    assert run.layers() == run.layers("score") == ["conv2", "conv10", "stem/conv1"]
    assert run.layer_file("stem/conv1", "filters").name == "stem.conv1.filters.tsv"


def _logo_grids(tmp_path):
    """Five grids of 3, 7, 2, 6 and 3 logos (three shapes), each to its own file in ``tmp_path``."""
    from keras_motifs.report.logos import FilterLogo, LogoGrid

    rng = np.random.default_rng(1)
    grids = []
    for k, n in enumerate([3, 7, 2, 6, 3]):
        kinds = [(i + 2 * k) % 3 for i in range(n)]  # no match, JASPAR, ground truth: other cells by grid
        logos = tuple(FilterLogo(filter_id=f"filter{i}", ppm=rng.dirichlet(np.full(4, 0.4), size=6),
                                 hit=["no match", "SP1 MA0079.3  E=0.03", "\u2605 Gata1 MA0035.3  E=2e-05"][kind],
                                 matched=kind > 0, ground_truth=kind == 2) for i, kind in enumerate(kinds))
        grids.append((LogoGrid(title=f"grid {k}", logos=logos), tmp_path / f"grid{k}.png"))
    return grids


def test_logo_letters_are_logomakers_glyphs():
    """Each letter is the glyph logomaker drew: same outline, place, height, colour and drawing order."""
    import logomaker
    from matplotlib.figure import Figure

    from keras_motifs.report.logos import _letters

    ppm = np.array([[0.7, 0.1, 0.15, 0.05], [0.25] * 4, [0.01, 0.02, 0.03, 0.94], [0.4, 0.3, 0.2, 0.1],
                    [0.0, 0.0, 1.0, 0.0], [0.3, 0.24, 0.26, 0.2]])
    # logomaker's own information heights, so that a wrong height in _letters shows too
    heights = logomaker.transform_matrix(pd.DataFrame(ppm, columns=list("ACGT")), from_type="probability",
                                         to_type="information")
    ax = Figure().subplots()
    logomaker.Logo(heights[heights.max(axis=1) > 0.005], ax=ax, color_scheme="classic", baseline_width=0)
    expected = [patch for patch in ax.patches]
    letters = _letters(ppm)
    # three positions of four letters, one of one; the flat position and the nearly flat one (< 0.005 bits) empty
    assert len(letters.get_paths()) == len(expected) == 4 * 3 + 1
    for path, colour, patch in zip(letters.get_paths(), letters.get_facecolors(), expected):
        np.testing.assert_allclose(path.vertices, patch.get_path().vertices, atol=1e-12)
        assert (path.codes == patch.get_path().codes).all()
        assert tuple(colour) == patch.get_facecolor()


def test_logo_letters_of_equal_height_stack_in_acgt_order():
    """Ties are stacked the same on every machine (numpy's default sort may swap them)."""
    from keras_motifs.report.logos import _letters

    letters = _letters(np.array([[0.5, 0.5, 0.0, 0.0]]))
    bottom, top = letters.get_paths()
    assert [tuple(c[:3]) for c in letters.get_facecolors()] == [(0.0, 0.5, 0.0), (0.0, 0.0, 1.0)]  # A, then C
    assert bottom.vertices[:, 1].min() == pytest.approx(0.0) and bottom.vertices[:, 1].max() == pytest.approx(0.5)
    assert top.vertices[:, 1].min() == pytest.approx(0.5) and top.vertices[:, 1].max() == pytest.approx(1.0)


def test_logo_grid_titles_frames_and_ticks(tmp_path):
    """Five logos a row, titled with the filter and its hit; green frames on ground truth; bits on the left."""
    from PIL import Image

    from keras_motifs.report.logos import _DIGEST_FIELD, _GridFigure

    grid, _ = _logo_grids(tmp_path)[1]  # 7 logos
    figure = _GridFigure(2, 5, 110)
    figure.draw(grid, tmp_path / "grid.png", "digest")
    for i, ax in enumerate(figure.axes):
        if i >= 7:
            assert not ax.axison
            continue
        logo = grid.logos[i]
        assert (ax.get_title(loc="left"), ax.get_title(loc="right")) == (logo.filter_id, logo.hit)
        assert [spine.get_visible() for spine in ax.spines.values()] == [logo.ground_truth] * 4
        assert list(ax.get_yticks()) == ([0, 1, 2] if i % 5 == 0 else []) and list(ax.get_ylim()) == [0, 2]
        assert list(ax.get_xlim()) == [-0.5, 5.5] and len(ax.collections) == 1
    with Image.open(tmp_path / "grid.png") as image:
        assert image.size == (1485, 319) and image.info[_DIGEST_FIELD] == "digest"


@pytest.mark.parametrize("change", ["meme", "score"])
def test_logo_grids_are_reused_while_their_inputs_are_unchanged(sweep, tmp_path, change):
    """A second report in the same folder copies the previous logo grids, and redraws the one whose inputs changed."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    out = tmp_path / "report"
    write_report(sweep, out)
    folder = out / "figures" / "logos"
    changed = "cnn-1_trial0_conv2.png"
    drawn = (folder / changed).read_bytes()
    for path in folder.iterdir():  # a 1 x 1 image with the metadata of each: a copy stays 1 x 1, a drawing does not
        with Image.open(path) as image:
            info = PngInfo()
            for key, value in image.text.items():
                info.add_text(key, value)
        Image.new("RGB", (1, 1)).save(path, pnginfo=info)
    if change == "meme":
        meme = sweep[2] / "motifs" / "conv2.meme"
        meme.write_text(meme.read_text().replace("0.5 0.5 0 0", "0.6 0.4 0 0", 1))
    else:
        score_path = sweep[2] / "motifs" / "conv2.score.json"
        score = json.loads(score_path.read_text())
        score["filters"][1].update(best_jaspar_id=None, best_jaspar_name=None, best_evalue=None)
        score_path.write_text(json.dumps(score))
    page = write_report(sweep, out).read_text()
    sizes = {}
    for path in folder.iterdir():
        with Image.open(path) as image:
            sizes[path.name] = image.size
    assert sizes.pop(changed) != (1, 1) and (folder / changed).read_bytes() != drawn
    assert set(sizes.values()) == {(1, 1)} and len(sizes) == 3
    assert set(re.findall(r'src="figures/logos/([^"]+)"', page)) == {changed, *sizes}


def test_logo_grids_are_the_same_drawn_here_or_in_processes(tmp_path):
    """Deterministic images: the same bytes from one process (figures reused) and from two (each its share)."""
    from keras_motifs.report.logos import _Painter, draw_grids, grid_digest

    (tmp_path / "here").mkdir()
    (tmp_path / "processes").mkdir()
    grids = _logo_grids(tmp_path / "here")
    assert draw_grids(grids, 110, processes=1) == 5
    assert draw_grids(_logo_grids(tmp_path / "processes"), 110, processes=2) == 5
    for _, path in grids:
        assert path.read_bytes() == (tmp_path / "processes" / path.name).read_bytes(), path.name
    # a figure filled with 6 logos, then 7 (one cell on again), draws what a new one does
    painter = _Painter(110)
    for grid, _ in [grids[3], grids[1]]:
        painter.draw(grid, tmp_path / "reused.png", grid_digest(grid, 110))
    assert (tmp_path / "reused.png").read_bytes() == grids[1][1].read_bytes()
    # and again, nothing to draw: every image is copied from the first folder
    (tmp_path / "again").mkdir()
    assert draw_grids(_logo_grids(tmp_path / "again"), 110, previous=tmp_path / "here") == 0
    assert all(path.read_bytes() == (tmp_path / "again" / path.name).read_bytes() for _, path in grids)


def test_an_error_in_a_drawing_process_is_raised_in_the_caller(tmp_path):
    from keras_motifs.report.logos import draw_grids

    grids = _logo_grids(tmp_path)
    grids[1] = (grids[1][0], tmp_path / "missing" / "grid1.png")
    with pytest.raises(FileNotFoundError, match="grid1.png"):
        draw_grids(grids, 110, processes=2)


def test_summary_figures_of_a_layer():
    import pandas as pd

    from keras_motifs.report.runs import importance_summary

    table = pd.DataFrame({"filter": ["filter0", "filter1", "filter2", "filter3"],
                          "importance": [0.3, 0.1, 0.1, -0.02],
                          "top_class": ["CTCF", "GATA1", "CTCF", "CTCF"]})
    score = {"match_gt_frac": 0.75, "filters": [
        {"filter": "filter0", "best_gt_tf": "CTCF"}, {"filter": "filter1", "best_gt_tf": "CTCF"},
        {"filter": "filter2", "best_gt_tf": None}, {"filter": "filter3", "best_gt_tf": "GATA1"}]}
    summary = importance_summary(table, score)
    assert summary["gt_importance_share"] == pytest.approx(0.4 / 0.5)  # filter3 hurts nothing: not counted
    assert summary["class_consistency"] == pytest.approx(0.5)  # filter0 reads CTCF for CTCF, filter1 for GATA1
    assert np.isnan(importance_summary(table, {"match_gt_frac": None})["class_consistency"])
    assert np.isnan(importance_summary(table.assign(importance=0.0), score)["gt_importance_share"])


def test_importance_orders_logos_and_gives_the_heatmap_and_two_figures(tmp_path):
    from keras_motifs.report.figures import logo_grid
    from keras_motifs.report.runs import _read_run

    run = make_run(tmp_path / "runs", "cnn-25_t0", "cnn-25", 0, (25, 4), 0.9, 0.6, {"conv1": (1.0, 1 / 3)})
    pd.DataFrame({"filter": ["filter0", "filter1", "filter2"], "layer": "conv1", "importance": [0.3, 0.1, 0.5],
                  "top_class": ["Gata1", "SP1", "SP1"], "Gata1": [0.5, 0.0, 0.1], "SP1": [0.1, 0.2, 0.9],
                  "auroc_drop:Gata1": [0.2, 0.0, 0.0], "auroc_drop:SP1": [0.0, 0.1, 0.3]}
                 ).to_csv(run / "motifs" / "conv1.importance.tsv", sep="\t", index=False)
    parsed = _read_run(run)
    grid, _ = logo_grid(parsed, parsed.layers[0])
    assert [logo.name for logo in grid.logos] == ["filter2 \u2192 SP1", "filter0 \u2192 Gata1", "filter1 \u2192 SP1"]
    out = tmp_path / "report"
    write_report([run], out)
    runs = pd.read_csv(out / "runs.tsv", sep="\t")
    # filter0 alone matches ground truth (Gata1): 0.3 of 0.9, and its ablation hurts Gata1 most.
    assert runs.loc[0, "gt_importance_share"] == pytest.approx(1 / 3) and runs.loc[0, "class_consistency"] == 1.0
    table = pd.read_csv(out / "table.tsv", sep="\t")
    assert table.loc[0, "gt_importance_share_mean"] == pytest.approx(1 / 3)
    assert (out / "figures" / "importance.png").is_file()
    page = (out / "report.html").read_text()
    assert 'src="figures/importance.png"' in page and "Importance in ground truth" in page
    assert "| importance in ground truth | class consistency |" in (out / "table.md").read_text()
    (run / "motifs" / "conv1.importance.tsv").write_text("filter\tlayer\nfilter0\tconv1\n")
    with pytest.raises(KerasMotifsError, match=r"conv1\.importance\.tsv: not a filter importance table"):
        write_report([run], tmp_path / "other")


def test_importance_tables_that_do_not_fit_are_refused_or_drawn_without_rows(tmp_path):
    run = make_run(tmp_path / "runs", "cnn-25_t0", "cnn-25", 0, (25, 4), 0.9, 0.6, {"conv1": (1.0, 1 / 3)})
    table = run / "motifs" / "conv1.importance.tsv"
    table.write_text("filter\tlayer\timportance\ttop_class\nfilter0\tconv1\t0.3\tGata1\n")
    with pytest.raises(KerasMotifsError, match=r"importance\.tsv: not a filter importance table \(importance and "
                                               r"one column per class must hold numbers\)"):
        write_report([run], tmp_path / "a")
    table.write_text("filter\tlayer\timportance\ttop_class\tGata1\nother7\tconv1\t0.3\tGata1\t0.3\n")
    write_report([run], tmp_path / "b")  # another layer's filters: no rows to draw, no crash
    assert (tmp_path / "b" / "report.html").is_file()


def test_protocol_sentence_needs_numbers_where_numbers_belong():
    from keras_motifs.report.runs import protocol_sentence

    good = {"learning_rate": 1e-3, "batch_size": 100, "epochs": 60, "patience": 10, "monitor": "val_loss"}
    assert protocol_sentence([good]).startswith("Training: Adam at learning rate 0.001, batch 100, at most 60")
    assert protocol_sentence([{**good, "learning_rate": "3e-4"}]) == ""
    assert protocol_sentence([{**good, "lr_patience": 3, "lr_factor": 0.5}]).endswith(
        "best weights kept; learning rate \u00d70.5 after 3 such epochs.")
    current = {("lr" if key == "learning_rate" else key): value for key, value in good.items()}
    assert protocol_sentence([good]) == protocol_sentence([current])  # either name of the learning rate
    assert "2 different protocols" in protocol_sentence([good, {**good, "epochs": [1]}])


def test_one_trial_given_twice_is_refused_and_one_folder_twice_counts_once(sweep, tmp_path):
    """Runs of an earlier pipeline run passed again next to the same trials trained anew would count twice."""
    again = make_run(tmp_path / "earlier", "cnn-25_t1", "cnn-25", 1, (25, 4), 0.50, 0.30, {"conv1": (0.0, 0.0)})
    with pytest.raises(KerasMotifsError, match=r"cnn-25 trial 1 is given twice, in .*cnn-25_t1 and in .*earlier"):
        read_runs([*sweep, again])
    out = tmp_path / "refused"
    with pytest.raises(KerasMotifsError, match="given twice"):
        write_report([*sweep, again], out)
    assert not out.exists()
    (tmp_path / "link").symlink_to(sweep[0], target_is_directory=True)
    frame = read_runs([*sweep, sweep[0], tmp_path / "link"])
    assert list(frame.drop_duplicates("run_dir")["run_dir"]) == [str(p) for p in sweep]


def test_an_expected_run_that_no_folder_holds_is_noted(sweep, tmp_path):
    """A pipeline run whose training failed (and was ignored) is named under the table, not just left out."""
    out = tmp_path / "report"
    write_report(sweep, out, expected_runs=[("cnn-25", 0), ("cnn-25", 1), ("cnn-25", 2), ("cnn-100", 0)])
    table = (out / "table.md").read_text()
    assert "cnn-25 trial 2: expected, but no run folder holds it" in table
    assert "cnn-100 trial 0: expected" in table and "cnn-25 trial 1: expected" not in table
    assert "cnn-25 trial 2: expected" in (out / "report.html").read_text()
    write_report(sweep, out, expected_runs=[("cnn-25", 0), ("cnn-1", 0)])
    assert "expected, but" not in (out / "table.md").read_text()


def test_a_run_missing_a_step_after_training_is_flagged(sweep, tmp_path):
    """A pipeline ignores a failed FILTERS/TOMTOM/SCORE/IMPORTANCE and goes on: the run's row must say so."""
    lost_score = sweep[1] / "motifs" / "conv1.score.json"  # cnn-25 trial 1: filters and Tomtom, no score
    lost_score.unlink()
    frame = read_runs(sweep)
    flags = dict(zip(frame["run_dir"], frame["flags"].fillna("")))
    assert "no score for conv1 (a step after training failed" in flags[str(sweep[1])]
    assert flags[str(sweep[0])] == "" and flags[str(sweep[3])] == ""  # cnn-4 was only trained: nothing to miss
    out = tmp_path / "report"
    write_report(sweep, out, expected_runs=[("cnn-25", 0), ("cnn-25", 1), ("cnn-100", 0)])
    table = (out / "table.md").read_text()
    assert "cnn-25 trial 1: no score for conv1" in table and "cnn-100 trial 0: expected" in table
    assert "cnn-100 has no row" in table
