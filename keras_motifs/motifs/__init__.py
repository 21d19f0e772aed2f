"""Motifs: PPMs (:mod:`.ppm`), the MEME format (:mod:`.meme`), JASPAR (:mod:`.jaspar`), Tomtom's engines
(:mod:`.tomtom`) and table (:mod:`.tomtom_table`), and scoring filters against them (:mod:`.scoring`).

Only the names of :mod:`.ppm` and :mod:`.meme` are re-exported here, so that importing one of these
modules stays light.
"""

from keras_motifs.motifs.meme import read_meme, write_meme
from keras_motifs.motifs.ppm import Motif, consensus, information_content, reverse_complement, trim

__all__ = ["Motif", "consensus", "information_content", "read_meme", "reverse_complement", "trim", "write_meme"]
