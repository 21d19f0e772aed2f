"""Backend neutrality: no TensorFlow in the package; models, training, the callback, extraction, importance and
describe run on JAX and PyTorch too (CI installs both)."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "keras_motifs"

SCRIPT = """
import keras, numpy as np
from keras_motifs.data.synthetic import simulate
from keras_motifs.models import build_model
from keras_motifs.defaults import Protocol
from keras_motifs.training import fit
from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.filters import extract_filters
assert keras.backend.backend() == "{backend}"
data = simulate(num_seqs=200, seed=1)
history = fit(build_model("cnn-25"), data, Protocol(epochs=1, patience=20, lr=3e-4), callbacks=[MotifMatchCallback.for_dataset(data)],
              verbose=0)
assert 0 <= history.history["motif_match_frac"][0] <= 1
assert extract_filters(build_model("cnn-1"), data.x["test"], layer="conv2").window == 23
from keras_motifs.importance import filter_importance
table = filter_importance(history.model, data.x["test"], data.y["test"], class_names=data.class_names)
assert len(table) == 30 and np.isfinite(table["importance"]).all()
from keras_motifs.probe.describe import describe_model
rows = {{row.path: row for row in describe_model(build_model("cnn-1")).layers}}
assert rows["conv2"].readable and rows["conv2"].window.width == 23 and not rows["conv2/conv2_pool"].readable
"""


#: The one module that may import TensorFlow: reading the authors' TF1 checkpoints needs TensorFlow's
#: checkpoint reader (`keras-motifs port`, inside the function that reads one); the model it writes is
#: backend-neutral like every other.
READS_TF1_CHECKPOINTS = "released.py"


def test_package_never_imports_tensorflow():
    for path in PACKAGE.rglob("*.py"):  # the subpackages' modules too
        imports = re.findall(r"^(\s*)(?:import|from)\s+tensorflow", path.read_text(), re.M)
        if path.name == READS_TF1_CHECKPOINTS:
            assert imports and all(indent for indent in imports), f"{path.name}: TensorFlow only inside a function"
        else:
            assert not imports, path.name


@pytest.mark.parametrize("backend, module", [("jax", "jax"), ("torch", "torch")])
def test_training_and_callback_on_another_backend(backend, module):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install {module} to run this check)")
    env = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(backend=backend)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
