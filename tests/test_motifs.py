"""Tests of keras_motifs.motifs.ppm: information, trimming, reverse complement, consensus, MEME format."""

import re

import numpy as np
import pytest
from test_tomtom import cli_error

from keras_motifs.errors import KerasMotifsError
from keras_motifs.motifs.jaspar import load_jaspar
from keras_motifs.motifs.meme import read_meme, write_meme
from keras_motifs.motifs.ppm import Motif, as_ppm, consensus, information_content, reverse_complement, trim

FLAT = [0.25, 0.25, 0.25, 0.25]


def _random_motifs(n, width=12, seed=0):
    rng = np.random.default_rng(seed)
    return [
        Motif(f"m{i}", rng.dirichlet(np.full(4, 0.3), size=width), name=("TF x" if i % 2 else ""), nsites=i + 1)
        for i in range(n)
    ]


def test_information_content_known_columns():
    ppm = [[1, 0, 0, 0], FLAT, [0.5, 0.5, 0, 0], [0, 0, 0, 1]]
    np.testing.assert_allclose(information_content(ppm), [2.0, 0.0, 1.0, 2.0])
    motif = Motif("x", ppm)
    np.testing.assert_allclose(information_content(motif), [2.0, 0.0, 1.0, 2.0])


def test_trim_recovers_planted_core_and_pads():
    core = load_jaspar("JASPAR2016")
    cebpb = next(m for m in core if m.id == "MA0466.2")
    informative = np.flatnonzero(information_content(cebpb) >= 0.5)
    padded = Motif("f", np.vstack([[FLAT] * 4, cebpb.ppm, [FLAT] * 5]), name="n", nsites=7)
    trimmed = trim(padded, min_ic=0.5)
    np.testing.assert_array_equal(trimmed.ppm, cebpb.ppm[informative[0] : informative[-1] + 1])
    assert (trimmed.id, trimmed.name, trimmed.nsites) == ("f", "n", 7)
    assert trim(padded, min_ic=0.5, pad=3).width == trimmed.width + 6
    assert trim(padded, min_ic=0.5, pad=100).width == padded.width  # clipped at the ends


def test_trim_uninformative_returns_none_and_checks_arguments():
    assert trim(Motif("flat", [FLAT] * 6)) is None
    with pytest.raises(KerasMotifsError, match="min_ic"):
        trim(Motif("flat", [FLAT]), min_ic=3)
    with pytest.raises(KerasMotifsError, match="pad"):
        trim(Motif("flat", [FLAT]), pad=-1)


def test_reverse_complement():
    motif = Motif("m", [[0.7, 0.1, 0.1, 0.1], [0.0, 0.0, 0.2, 0.8]], name="n", nsites=5)
    rc = reverse_complement(motif)
    np.testing.assert_array_equal(rc.ppm, [[0.8, 0.2, 0.0, 0.0], [0.1, 0.1, 0.1, 0.7]])
    assert consensus(motif) == "AT" and consensus(rc) == "AT"
    assert reverse_complement(rc) == motif


def test_consensus_argmax_ties_to_first_letter():
    assert consensus([FLAT, [0, 0.5, 0.5, 0], [0.1, 0.2, 0.3, 0.4]]) == "ACT"


def test_read_sample_filters_and_consensus_matches_meme(samples):
    motifs = read_meme(samples / "filters.meme")
    assert [m.id for m in motifs] == [f"filter{i}" for i in range(6)]
    assert [m.width for m in motifs] == [25, 16, 23, 14, 19, 19]
    assert all(m.nsites == 20 and m.name == "" for m in motifs)
    # Query_consensus column of MEME tomtom 5.5.8 on these motifs
    assert consensus(motifs[0]) == "AAATGGCCACCAGGGGGCGCTAAAA"
    assert consensus(motifs[3]) == "AAATGACGTCAAAA"


def test_meme_round_trip_is_exact(tmp_path):
    motifs = _random_motifs(50)
    write_meme(motifs, tmp_path / "r.meme")
    assert read_meme(tmp_path / "r.meme") == motifs
    jaspar = load_jaspar("JASPAR2016")
    write_meme(jaspar, tmp_path / "j.meme", background=[0.3, 0.2, 0.2, 0.3])
    assert read_meme(tmp_path / "j.meme") == jaspar


def test_as_ppm_is_idempotent():
    rng = np.random.default_rng(3)
    x = rng.dirichlet(np.full(4, 0.5), size=5000) * rng.uniform(0.9995, 1.0005, size=(5000, 1))
    once = as_ppm(x)
    np.testing.assert_array_equal(as_ppm(once), once)


JASPAR_STYLE = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.25 C 0.25 G 0.25 T 0.25

MOTIF MA0004.1 Arnt
letter-probability matrix: alength= 4 w= 3 nsites= 20 E= 0
  0.200000\t  0.800000\t  0.000000\t  0.000000\t
  0.950000\t  0.000000\t  0.050000\t  0.000000\t
  0.000000\t  1.000000\t  0.000000\t  0.000000\t

URL http://jaspar.genereg.net/matrix/MA0004.1

MOTIF MA0006.1 Ahr::Arnt
letter-probability matrix: alength= 4 w= 2 nsites= 24 E= 0
  0.125000\t  0.333333\t  0.083333\t  0.458333\t
  0.000000\t  0.000000\t  0.958333\t  0.041667\t

URL http://jaspar.genereg.net/matrix/MA0006.1
"""


def test_read_jaspar_style_file(tmp_path):
    path = tmp_path / "jaspar.meme"
    path.write_text(JASPAR_STYLE)
    motifs = read_meme(path)
    assert [(m.id, m.name, m.width, m.nsites) for m in motifs] == [
        ("MA0004.1", "Arnt", 3, 20),
        ("MA0006.1", "Ahr::Arnt", 2, 24),
    ]
    assert consensus(motifs[0]) == "CAC"


@pytest.mark.parametrize(
    "text, message",
    [
        (JASPAR_STYLE.replace("MEME version 4\n", ""), r"line 2: no 'MEME version'"),
        (JASPAR_STYLE.replace("  0.950000", "  x.950000"), r"line 13: motif MA0004.1 has w= 3 but row 2 is not 4 probabilities"),
        (JASPAR_STYLE.replace("  0.950000", "  0.550000"), r"line 13: motif MA0004.1: row sums to 0.6000"),
        (JASPAR_STYLE.replace("alength= 4 w= 3", "alength= 5 w= 3"), r"line 11: alength= 5"),
        (JASPAR_STYLE.replace("w= 3", "w= 4"), r"line 16: motif MA0004.1 has w= 4 but row 4 is not"),
        (JASPAR_STYLE.replace("w= 3", "w= 2"), r"line 14: motif MA0004.1 has more rows than w= 2"),
        (JASPAR_STYLE.replace("ALPHABET= ACGT", "ALPHABET= ACDEFGHIKLMNPQRSTVWY"), r"line 3: alphabet"),
        (JASPAR_STYLE.replace("  0.000000\t  1.000000\t  0.000000\t  0.000000\t\n", "0.2 0.8 0 0 0\n"),
         "line 14: motif MA0004.1: expected 4"),
        (JASPAR_STYLE + "\nMOTIF lonely\n", r"line 2[0-9]: MOTIF lonely has no letter-probability matrix"),
    ],
)
def test_malformed_meme_names_the_line(tmp_path, text, message):
    path = tmp_path / "bad.meme"
    path.write_text(text)
    with pytest.raises(KerasMotifsError, match=message) as err:
        read_meme(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "row, message",
    [
        ("-0.2 1.2 0 0", "probability '-0.2' is not a number in [0, 1]"),
        ("1.0004 0 0 0", "probability '1.0004' is not a number in [0, 1]"),  # sums to 1 within tolerance
        ("nan 0.5 0.5 0", "probability 'nan' is not a number in [0, 1]"),
        ("0.25 0.25 inf 0.25", "probability 'inf' is not a number in [0, 1]"),
        ("0.5 0.3 0.1 0", "row sums to 0.9000, not 1"),
    ],
)
def test_cli_rejects_bad_probabilities_naming_file_and_motif(tmp_path, capsys, row, message):
    query = tmp_path / "bad.meme"
    query.write_text(JASPAR_STYLE.replace("  0.950000\t  0.000000\t  0.050000\t  0.000000\t", row))
    out = tmp_path / "hits.tsv"
    err = cli_error(["tomtom", "--query", query, "--out", out], capsys, query, out)
    assert f"{query}: line 13: motif MA0004.1: {message}" in err


def test_read_meme_without_motifs(tmp_path):
    path = tmp_path / "empty.meme"
    write_meme([], path)
    with pytest.raises(KerasMotifsError, match=f"^{re.escape(str(path))}: no motifs"):
        read_meme(path)
    assert read_meme(path, allow_empty=True) == []  # a layer whose filters never activated


def test_read_meme_missing_file(tmp_path):
    with pytest.raises(KerasMotifsError, match="not found"):
        read_meme(tmp_path / "nope.meme")


def test_write_meme_rejects_bad_motifs_and_writes_nothing(tmp_path):
    path = tmp_path / "out.meme"
    motifs = _random_motifs(2)
    with pytest.raises(KerasMotifsError, match="appears twice"):
        write_meme([motifs[0], motifs[0]], path)
    with pytest.raises(KerasMotifsError, match="without whitespace"):
        write_meme([Motif("a b", [FLAT])], path)
    with pytest.raises(KerasMotifsError, match="background"):
        write_meme(motifs, path, background=[0.5, 0.5, 0.5, 0.5])
    assert list(tmp_path.iterdir()) == []
