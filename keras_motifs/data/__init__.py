"""Datasets: the HDF5 layout in memory (:mod:`.dataset`), its writer and reader, and the sources that make it.

Sources: the paper's synthetic data (:mod:`.synthetic`), users' FASTA and labels
(:mod:`.encode`) and the truncated DeepSEA dataset (:mod:`.deepsea`).
"""

from keras_motifs.data.dataset import SPLITS, Dataset
from keras_motifs.data.reader import check_dataset, load_dataset, read_class_motif_ids
from keras_motifs.data.synthetic import simulate
from keras_motifs.data.writer import DatasetWriter, write_dataset

__all__ = ["SPLITS", "Dataset", "DatasetWriter", "check_dataset", "load_dataset", "read_class_motif_ids", "simulate",
           "write_dataset"]
