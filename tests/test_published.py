"""The paper's published figures (keras_motifs.report.published)."""

import pytest

from keras_motifs.models import get_spec, readable_layers
from keras_motifs.report.published import METRICS, PUBLISHED, published_figures


@pytest.mark.parametrize("arch, layer", sorted(PUBLISHED))
def test_every_figure_belongs_to_a_scored_layer_of_a_registry_architecture(arch, layer):
    assert layer in readable_layers(get_spec(arch))  # a layer keras-motifs run scores
    for metric, figure in PUBLISHED[(arch, layer)].items():
        assert metric in METRICS and 0 <= figure.mean <= 1 and (figure.sd is None or 0 <= figure.sd < 1)


def test_figures_by_architecture_and_layer():
    assert published_figures("cnn-25", "conv1")["match_gt"].mean == 0.980
    assert published_figures("cnn3-50", "conv1")["auroc"].sd == 0.060
    assert published_figures("cnn-50-2-samesize", "conv1") == {"auroc": None, "match_any": None, "match_gt": None}


def test_the_wider_filter_caveat_reaches_each_of_the_three_architectures_once():
    from keras_motifs.report.published import ARCHITECTURE_NOTES

    notes = {ARCHITECTURE_NOTES[arch] for arch in ("cnn-25-60", "cnn-25-90", "cnn-25-120")}
    assert len(notes) == 1 and "30 first-layer filters" in notes.pop()
