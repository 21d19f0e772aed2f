"""Any Keras model: a zoo of small user-style models, each read by extraction and the callback.

Every model is defined here (a few thousand parameters, no real training). Its first
convolution's filter 0 is planted with MEF2A's matrix (width 12) as log-odds, and the
sequences carry sampled MEF2A sites, so the planted matrix must come back unshifted
from wherever the layer sits. Windows are worked out by hand: Keras' "same" padding
of a width-12 kernel puts 5 positions left of the centre and 6 right.
"""

import re
import warnings

import keras
import numpy as np
import pytest

from keras_motifs.callbacks import MotifMatchCallback
from keras_motifs.errors import KerasMotifsError, KerasMotifsWarning
from keras_motifs.filters import extract_filters
from keras_motifs.layers import ConvBlock
from keras_motifs.motifs.jaspar import get_motif
from keras_motifs.probe.describe import describe_model
from keras_motifs.probe.paths import find_layer, layer_paths
from keras_motifs.probe.window import Window

L = 100
MOTIF = get_motif("MA0052")  # MEF2A, 12 columns
K = MOTIF.width
layers = keras.layers


def head(x):
    """Pool, flatten, three sigmoid outputs."""
    x = layers.MaxPooling1D(4, name="pool")(x)
    return layers.Dense(3, activation="sigmoid", name="out")(layers.Flatten(name="flatten")(x))


def functional(body, name, shape=(L, 4)):
    inputs = keras.Input(shape, name="dna")
    return keras.Model(inputs, head(body(inputs)), name=name)


class Subclassed(keras.Model):
    """A subclassed model: conv, batch norm, ReLU, global max pool, dense."""

    def __init__(self):
        super().__init__(name="subclassed")
        self.scan = layers.Conv1D(8, K, padding="same", name="scan")
        self.norm = layers.BatchNormalization(name="norm")
        self.pool = layers.GlobalMaxPooling1D(name="gmp")
        self.out = layers.Dense(3, activation="sigmoid", name="out")

    def call(self, x):
        return self.out(self.pool(keras.activations.relu(self.norm(self.scan(x)))))


def nested():
    stem = keras.Sequential([keras.Input((L, 4)), layers.Conv1D(8, K, padding="same", name="conv1"),
                             layers.BatchNormalization(name="bn"), layers.Activation("relu", name="relu")], name="stem")
    inputs = keras.Input((L, 4), name="dna")
    x = layers.Conv1D(8, 7, name="conv2")(stem(inputs))  # valid: sees 12 + 6 = 18 positions
    return keras.Model(inputs, head(x), name="nested")


def two_inputs():
    dna, cell = keras.Input((L, 4), name="dna"), keras.Input((3,), name="cell")
    x = layers.GlobalMaxPooling1D()(layers.Conv1D(8, K, padding="same", name="scan")(dna))
    out = layers.Dense(3, activation="sigmoid", name="out")(layers.Concatenate()([x, cell]))
    return keras.Model({"dna": dna, "cell": cell}, out, name="two_inputs")


#: name -> (builder, layer to read, its window, taps of the planted conv within the window, input layout)
ZOO = {
    "sequential": (lambda: keras.Sequential([keras.Input((L, 4)), layers.Conv1D(8, K, padding="same", name="scan"),
                                             layers.ReLU(name="relu"), layers.MaxPooling1D(4), layers.Flatten(),
                                             layers.Dense(3, activation="sigmoid")], name="sequential"),
                   None, Window(K, 1, -5), range(K), "last"),
    "sequential_without_input": (lambda: keras.Sequential([layers.Conv1D(8, K, padding="valid", name="scan"),
                                                           layers.ReLU(), layers.MaxPooling1D(4), layers.Flatten(),
                                                           layers.Dense(3, activation="sigmoid")], name="no_input"),
                                 "scan", Window(K, 1, 0), range(K), "last"),
    "subclassed": (Subclassed, "scan", Window(K, 1, -5), range(K), "last"),
    "nested_first_conv": (nested, None, Window(K, 1, -5), range(K), "last"),
    "nested_path": (nested, "stem/conv1", Window(K, 1, -5), range(K), "last"),
    "conv_block": (lambda: functional(lambda x: ConvBlock(8, K, pool_size=1, name="block1")(x), "block"),
                   "block1_conv", Window(K, 1, -5), range(K), "last"),
    "two_inputs": (two_inputs, "scan", Window(K, 1, -5), range(K), "last"),
    "strided": (lambda: functional(lambda x: layers.Conv1D(8, K, strides=2, name="scan")(x), "strided"),
                "scan", Window(K, 2, 0), range(K), "last"),
    "dilated": (lambda: functional(lambda x: layers.Conv1D(8, 5, dilation_rate=2, padding="same", name="scan")(x),
                                   "dilated"), "scan", Window(9, 1, -4), range(0, 9, 2), "last"),
    "causal": (lambda: functional(lambda x: layers.Conv1D(8, K, padding="causal", name="scan")(x), "causal"),
               "scan", Window(K, 1, -(K - 1)), range(K), "last"),
    "cropped": (lambda: functional(lambda x: layers.Conv1D(8, K, name="scan")(layers.Cropping1D((5, 2))(x)),
                                   "cropped"), "scan", Window(K, 1, 5), range(K), "last"),
    "zero_padded": (lambda: functional(lambda x: layers.Conv1D(8, K, name="scan")(layers.ZeroPadding1D(3)(x)),
                                       "padded"), "scan", Window(K, 1, -3), range(K), "last"),
    "channels_first": (lambda: functional(lambda x: layers.Conv1D(8, K, padding="same", data_format="channels_first",
                                                                  name="scan")(x), "channels_first", shape=(4, L)),
                       "scan", Window(K, 1, -5), range(K), "first"),
}

#: name -> (builder, layer, what the message says). Each is refused with the layer's name in the message.
REFUSED = {
    "upsampling": (lambda: functional(lambda x: layers.UpSampling1D(2, name="up")(
        layers.Conv1D(8, K, padding="same", name="scan")(x)), "up"), "up", "do not move by a whole-number stride"),
    "lstm": (lambda: functional(lambda x: layers.LSTM(4, return_sequences=True, name="lstm")(
        layers.Conv1D(8, K, padding="same", name="scan")(x)), "lstm"), "lstm",
        "whole sequence through 'lstm', a recurrent layer"),
    "bilstm": (lambda: functional(lambda x: layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(
        layers.Conv1D(8, K, padding="same", name="scan")(x)), "bilstm"), "bilstm",
        "whole sequence through 'bilstm', a recurrent layer"),
    "attention": (lambda: functional(lambda x: (lambda h: layers.MultiHeadAttention(2, 4, name="attention")(h, h))(
        layers.Conv1D(8, K, padding="same", name="scan")(x)), "attention"), "attention",
        "whole sequence through 'attention', an attention layer"),
    "after_pooling": (lambda: functional(lambda x: layers.Conv1D(8, 5, name="conv2")(layers.MaxPooling1D(4, name="mp")(
        layers.Conv1D(8, K, padding="same", name="scan")(x))), "pooled"), "conv2", "after pooling in 'mp'"),
    "conv_after_upsampling": (lambda: functional(lambda x: layers.Conv1D(8, 5, padding="same", name="conv2")(
        layers.UpSampling1D(2)(layers.Conv1D(8, K, padding="same", name="scan")(x))), "up2"), "conv2",
        "do not move by a whole-number stride"),
    "flatten": (lambda: functional(lambda x: layers.Conv1D(8, K, name="scan")(x), "flat"), "flatten", "no positions"),
    "dense": (lambda: functional(lambda x: layers.Conv1D(8, K, name="scan")(x), "dense"), "out", "no positions"),
    "subclassed_global_pool": (Subclassed, "gmp", "no positions"),
}


def planted_sequences(n=300, seed=0):
    """Random sequences, each with one MEF2A site sampled from its matrix, away from the ends."""
    rng = np.random.default_rng(seed)
    letters = rng.integers(0, 4, size=(n, L))
    for row in letters:
        start = rng.integers(20, L - 20 - K)
        row[start : start + K] = [rng.choice(4, p=column) for column in MOTIF.ppm]
    return np.eye(4, dtype=np.float32)[letters]


@pytest.fixture(scope="module")
def sequences():
    return planted_sequences()


def inputs_for(name, sequences):
    """The model's inputs as fit takes them, and the sequence_input argument."""
    if name == "two_inputs":
        return {"dna": sequences, "cell": np.zeros((len(sequences), 3), np.float32)}, "dna"
    if ZOO[name][4] == "first":
        return sequences.transpose(0, 2, 1), None
    return sequences, None


def built(name, x):
    """The zoo's model, built, with filter 0 of its first convolution planted with the motif's taps."""
    model = ZOO[name][0]()
    if not model.built:
        model({k: v[:2] for k, v in x.items()} if isinstance(x, dict) else x[:2])
    conv = next(layer for layer in layer_paths(model).values() if isinstance(layer, layers.Conv1D))
    kernel, *rest = conv.get_weights()
    kernel[:, :, 0] = np.log2((MOTIF.ppm[list(ZOO[name][3])] + 0.01) / 0.25)
    conv.set_weights([kernel, *rest])
    return model


def best_shift(ppm, planted, taps):
    """The column shift of ``ppm`` whose taps correlate best with ``planted``."""
    def correlation(shift):
        cols = [t + shift for t in taps]
        if min(cols) < 0 or max(cols) >= len(ppm):
            return -1.0
        return np.corrcoef(ppm[cols].ravel(), planted.ravel())[0, 1]
    return max(range(-3, 4), key=correlation), correlation(0)


@pytest.mark.parametrize("name", list(ZOO))
def test_window_is_the_receptive_field_and_planted_filter_comes_back_unshifted(name, sequences):
    _, layer, window, taps, _ = ZOO[name]
    x, sequence_input = inputs_for(name, sequences)
    model = built(name, x)
    result = extract_filters(model, x, layer=layer, sequence_input=sequence_input)
    assert result.window == window.width
    assert result.layer == (layer if layer is not None else {"sequential": "scan"}.get(name, "stem/conv1")) or \
        layer == "block1_conv" and result.layer == "block1/block1_conv"
    shift, correlation = best_shift(result.ppms[0], MOTIF.ppm[list(taps)], list(taps))
    assert shift == 0 and correlation > 0.8, (shift, correlation)


@pytest.mark.parametrize("name", list(ZOO))
def test_describe_measures_the_same_window(name, sequences):
    _, layer, window, _, _ = ZOO[name]
    x, sequence_input = inputs_for(name, sequences[:4])
    model = built(name, x)
    report = describe_model(model, x, sequence_input=sequence_input)
    path = find_layer(model, layer)[0] if layer is not None else {"sequential": "scan"}.get(name, "stem/conv1")
    row = next(r for r in report.layers if r.path == path)
    assert row.readable and row.window == window, row


@pytest.mark.parametrize("name", list(ZOO))
def test_callback_runs_in_fit_on_every_style(name, sequences):
    _, layer, _, _, _ = ZOO[name]
    x, sequence_input = inputs_for(name, sequences[:64])
    model = ZOO[name][0]()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    y = np.zeros((64, 3), np.float32)
    callback = MotifMatchCallback(x, layer=layer, sequence_input=sequence_input)
    history = model.fit(x, y, epochs=1, batch_size=32, callbacks=[callback], verbose=0)
    assert 0.0 <= history.history["motif_match_frac"][0] <= 1.0
    assert callback.final_score["num_filters"] == 8


@pytest.mark.parametrize("name", list(REFUSED))
def test_layers_without_a_fixed_window_are_refused_by_name(name, sequences):
    builder, layer, reason = REFUSED[name]
    model = builder()
    if not model.built:
        model(sequences[:2])
    with pytest.raises(KerasMotifsError, match=f"outputs of '{layer}' .*{reason}.*read 'scan'"):
        extract_filters(model, sequences[:50], layer=layer)
    row = next(r for r in describe_model(model, sequences[:2]).layers if r.path == layer)
    assert not row.readable and re.search(reason, row.reason)


def test_a_conv_after_a_nested_model_sees_the_stacked_window(sequences):
    # Once read with window 7, the kernel of conv2 alone; it sees 12 + 7 - 1 positions of the input.
    result = extract_filters(built("nested_path", sequences), sequences[:50], layer="conv2")
    assert result.window == K + 6 and result.layer == "conv2"


def test_a_deep_dilated_stack_gets_its_whole_receptive_field(sequences):
    # Residual Conv1D(16, 3) layers with dilations 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8: each adds 2 x its dilation.
    inputs = keras.Input((L, 4))
    x = layers.Conv1D(16, 3, padding="same", activation="relu", name="conv0")(inputs)
    for i, dilation in enumerate([1, 2, 4, 8] * 3, start=1):
        x = layers.Add()([x, layers.Conv1D(16, 3, padding="same", dilation_rate=dilation, activation="relu",
                                           name=f"conv{i}")(x)])
    model = keras.Model(inputs, x, name="dilated_stack")
    result = extract_filters(model, sequences[:20], layer="conv12")
    assert result.window == 3 + 2 * 15 * 3


def test_layer_zero_is_never_the_input_layer(sequences):
    model = functional(lambda x: layers.Conv1D(8, K, name="scan")(x), "m")
    with pytest.raises(KerasMotifsError, match="layer 0 of model 'm' is its input 'dna'"):
        extract_filters(model, sequences[:10], layer=0)
    assert extract_filters(model, sequences[:10], layer=1).layer == "scan"


def test_conv_block_sublayers_by_path_and_plain_name(sequences):
    model = ZOO["conv_block"][0]()
    for layer in ("block1", "block1/block1_conv", "block1_conv"):
        assert extract_filters(model, sequences[:20], layer=layer).window == K


def test_bad_layer_paths_and_inputs_name_what_is_valid(sequences):
    model = nested()
    with pytest.raises(KerasMotifsError, match="has no layer 'stem/conv9'; layers: stem, stem/conv1, stem/bn"):
        extract_filters(model, sequences[:10], layer="stem/conv9")
    with pytest.raises(KerasMotifsError, match=r"sequence input 'dna' of model 'nested' must be one-hot.*\(10, 100, 5\)"):
        extract_filters(model, np.zeros((10, L, 5)))
    with pytest.raises(KerasMotifsError, match=r"expects \(None, 100, 4\), got sequences of shape \(10, 90, 4\)"):
        extract_filters(model, sequences[:10, :90])
    two = two_inputs()
    x = {"dna": sequences[:10], "cell": np.zeros((10, 3))}
    with pytest.raises(KerasMotifsError, match="is given 2 inputs \\('dna', 'cell'\\); say which .*sequence_input="):
        extract_filters(two, x)
    with pytest.raises(KerasMotifsError, match="model 'two_inputs' has 2 inputs \\('(dna|cell)', '(dna|cell)'\\); give x as a dict or list"):
        extract_filters(two, sequences[:10])
    with pytest.raises(KerasMotifsError, match="sequence_input 'seq' is not among the inputs.*'dna', 'cell'"):
        extract_filters(two, x, sequence_input="seq")
    with pytest.raises(KerasMotifsError, match="model 'two_inputs' does not run on the inputs given"):
        extract_filters(two, {"dna": sequences[:10], "cell": np.zeros((10, 7))}, sequence_input="dna")


def test_measurement_leaves_the_weights_as_they_were(sequences):
    model = nested()
    before = [w.copy() for w in model.get_weights()]
    extract_filters(model, sequences[:10], layer="conv2")
    describe_model(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_model_of_any_length_is_described_at_the_length_asked():
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, layers.Conv1D(4, 7, padding="same", name="scan")(inputs), name="any_length")
    with pytest.raises(KerasMotifsError, match="takes sequences of any length; say which length"):
        describe_model(model)
    row = next(r for r in describe_model(model, length=60).layers if r.path == "scan")
    assert row.readable and row.window == Window(7, 1, -3)


def basenji_like(gamma="zeros"):
    """A stem, then dilated residual blocks whose last batch-norm starts at gamma 0 (Basenji's initialisation)."""
    inputs = keras.Input((L, 4), name="dna")
    x = layers.Conv1D(8, 5, padding="same", name="stem")(inputs)
    for i, dilation in enumerate([1, 2, 4, 8], start=1):
        branch = layers.Conv1D(8, 3, padding="same", dilation_rate=dilation, name=f"dil{i}")(layers.ReLU()(x))
        branch = layers.Conv1D(8, 1, name=f"mix{i}")(layers.ReLU()(layers.BatchNormalization()(branch)))
        x = layers.Add(name=f"add{i}")([x, layers.BatchNormalization(gamma_initializer=gamma, name=f"bn{i}")(branch)])
    x = layers.Conv1D(8, 3, padding="same", name="final_conv")(x)
    return keras.Model(inputs, head(x), name="basenji_like")


def zero_pass_through():
    """A conv whose output is added to a pass-through conv whose kernel is all zeros."""
    inputs = keras.Input((L, 4), name="dna")
    x = layers.Conv1D(8, 5, padding="same", name="scan")(inputs)
    x = layers.Add()([x, layers.Conv1D(8, 9, padding="same", kernel_initializer="zeros", name="zero")(x)])
    x = layers.Conv1D(8, 3, padding="same", name="after")(x)
    return keras.Model(inputs, head(x), name="zero_pass_through")


#: model, layer, its window: the stem's 5, plus 2 x each dilation, plus the last conv's 2.
ZERO_INITIALISED = [(basenji_like, "final_conv", Window(5 + 2 * 15 + 2, 1, -18)),
                    (basenji_like, "add2", Window(5 + 2 * 3, 1, -5)),
                    (zero_pass_through, "after", Window(5 + 8 + 2, 1, -7))]


@pytest.mark.parametrize("builder, layer, window", ZERO_INITIALISED)
def test_zero_initialised_branches_do_not_hide_paths(builder, layer, window, sequences):
    model = builder()
    assert extract_filters(model, sequences[:20], layer=layer).window == window.width
    row = next(r for r in describe_model(model).layers if r.path == layer)
    assert row.window == window


def test_the_callback_measures_the_whole_window_before_the_first_epoch(sequences):
    model = basenji_like()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    callback = MotifMatchCallback(sequences[:32], layer="final_conv")
    callback.set_model(model)
    callback.on_train_begin()
    assert callback._probe.window == ZERO_INITIALISED[0][2]


def depthwise_stem():
    """A depthwise convolution of the sequence (each filter sees one base), then a pointwise one that mixes them."""
    inputs = keras.Input((L, 4), name="dna")
    x = layers.DepthwiseConv1D(K, padding="same", depth_multiplier=2, name="dw")(inputs)
    x = layers.ReLU(name="relu")(layers.Conv1D(8, 1, name="pw")(x))
    return keras.Model(inputs, head(x), name="depthwise_stem")


def test_a_depthwise_stem_is_no_motif_layer(sequences):
    model = depthwise_stem()
    result = extract_filters(model, sequences[:50])
    assert result.layer == "pw" and result.window == K
    with pytest.raises(KerasMotifsError, match="outputs of 'dw' each depend on 1 of the four bases .* not on a combination of "
                                               "them as a motif does, so .*; read 'pw' \\(the first layer after it "
                                               "whose filters combine them\\)"):
        extract_filters(model, sequences[:50], layer="dw")
    rows = {r.path: r for r in describe_model(model).layers}
    assert not rows["dw"].readable and "each depend on 1 of the four bases" in rows["dw"].reason
    assert rows["pw"].readable and rows["pw"].window == Window(K, 1, -5)
    callback = MotifMatchCallback(sequences[:32])
    callback.set_model(model)
    callback.on_train_begin()
    assert callback._probe.path == "pw"


def strand_merging():
    """One convolution run on both strands, the larger response kept, and a convolution after it."""
    inputs = keras.Input((L, 4), name="dna")
    scan = layers.Conv1D(8, K, padding="same", name="scan")
    reverse = keras.ops.flip(scan(keras.ops.flip(inputs, axis=(1, 2))), axis=1)
    x = layers.Maximum(name="both")([scan(inputs), reverse])
    x = layers.Conv1D(8, 3, padding="same", name="conv2")(x)
    return keras.Model(inputs, head(x), name="strand_merging")


def test_layers_that_merge_both_strands_say_so(sequences):
    model = strand_merging()
    with pytest.warns(KerasMotifsWarning, match="'both' combines the 2 calls of 'scan', a layer run 2 times per "
                                                "pass .* may mix a motif with its reverse complement"):
        merged = extract_filters(model, sequences[:50], layer="both")
    assert "reverse complement" in merged.note
    with warnings.catch_warnings():
        warnings.simplefilter("error", KerasMotifsWarning)  # its first call, one strand: nothing to say
        assert extract_filters(model, sequences[:50], layer="scan").note == ""
    rows = {r.path: r for r in describe_model(model).layers}
    assert rows["scan"].readable and not rows["scan"].note
    assert rows["both"].reason == "no filters of its own" and "combines the 2 calls of 'scan'" in rows["both"].note
    assert rows["conv2"].readable and "combines the 2 calls of 'scan'" in rows["conv2"].note
    assert "yes; note: combines the 2 calls of 'scan'" in describe_model(model).summary()


def test_describe_names_what_each_layer_is():
    inputs = keras.Input((L, 4), name="dna")
    x = layers.ZeroPadding1D(2, name="pad")(inputs)
    x = layers.Conv1D(8, K, name="scan")(x)
    x = layers.Activation("relu", name="act")(x)
    x = layers.Permute((2, 1), name="permute")(x)
    model = keras.Model(inputs, x, name="wording")
    rows = {r.path: r for r in describe_model(model).layers}
    assert rows["pad"].reason == "no filters of its own" and not rows["pad"].readable
    assert rows["act"].reason == "read as part of 'scan' (no filters of its own)" and not rows["act"].readable
    assert rows["permute"].reason == "no filters of its own"
    assert rows["scan"].readable and rows["scan"].window == Window(K, 1, -2)
    rows = {r.path: r for r in describe_model(ZOO["conv_block"][0]()).layers}
    assert rows["block1"].readable and rows["block1/block1_conv"].readable
    for part in ("block1/block1_bn", "block1/block1_activation"):
        assert rows[part].reason == "read as part of 'block1' (no filters of its own)"


def test_describe_blames_the_nearest_layer_that_mixes_positions():
    inputs = keras.Input((L, 4), name="dna")
    x = layers.MaxPooling1D(4, name="pool")(layers.Conv1D(8, K, padding="same", name="scan")(inputs))
    x = layers.Dropout(0.2, name="dropout")(layers.LSTM(4, return_sequences=True, name="lstm")(x))
    rows = {r.path: r for r in describe_model(keras.Model(inputs, x, name="recurrent")).layers}
    assert "through 'lstm', a recurrent layer" in rows["dropout"].reason
    assert "after pooling in 'pool'" in rows["lstm"].reason or "'lstm'" in rows["lstm"].reason


def test_a_field_wider_than_the_sequence_is_not_called_the_whole_sequence():
    inputs = keras.Input((L, 4), name="dna")
    x = layers.Conv1D(8, 61, padding="same", name="wide1")(inputs)
    x = layers.Conv1D(8, 61, padding="same", name="wide2")(x)
    row = next(r for r in describe_model(keras.Model(inputs, x, name="wide")).layers if r.path == "wide2")
    assert not row.readable and "whole sequence" not in row.reason
    assert "at least as wide as the sequence (100 nt; position 0 depends on 61 of them)" in row.reason


def test_a_channels_first_model_takes_the_dataset_layout(sequences):
    model = built("channels_first", sequences.transpose(0, 2, 1))
    as_stored = extract_filters(model, sequences[:60], layer="scan")
    np.testing.assert_allclose(as_stored.ppms[0], extract_filters(model, sequences[:60].transpose(0, 2, 1),
                                                                  layer="scan").ppms[0])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    callback = MotifMatchCallback(sequences[:64], layer="scan")  # (n, L, 4), as a dataset holds them
    model.fit(sequences[:64].transpose(0, 2, 1), np.zeros((64, 3)), epochs=1, callbacks=[callback], verbose=0)
    assert callback._probe.window == Window(K, 1, -5) and callback.final_score["num_filters"] == 8
