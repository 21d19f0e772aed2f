"""Keras layers of keras-motifs.

Importing this module (or ``keras_motifs``) registers the layers with Keras, so a
saved model that uses them reloads with plain ``keras.models.load_model``.
"""

from __future__ import annotations

import math

import keras


@keras.saving.register_keras_serializable(package="keras_motifs")
class ConvBlock(keras.layers.Layer):
    """Conv1D -> BatchNorm -> activation -> MaxPool -> Dropout, the paper's conv block.

    The max-pool is the knob of Koo & Eddy (2019): a large pool after the first
    block is a spatial information bottleneck that pushes its filters to learn
    whole motifs. The sublayers stay reachable as attributes and by name
    (``conv``, ``bn``, ``activation``, ``pool``, ``dropout``; named
    ``<block>_conv`` and so on) so that filters can be read off a trained model.

    Args:
        filters: Number of convolutional filters.
        kernel_size: Filter width in positions.
        pool_size: Max-pool window; 1 means no pooling. Default is 1.
        pool_stride: Max-pool stride. Default is None: equal to ``pool_size``.
        activation: Activation after batch normalisation, any Keras activation name,
            e.g. ``"relu"`` or ``"exponential"``. Default is "relu".
        dropout: Dropout rate after pooling. Default is 0.1.
        l2: L2 penalty on the convolution kernel. Default is 1e-6.
        **kwargs: Standard layer arguments (``name``, ``dtype``...).

    Example:

    ```python
    inputs = keras.Input((200, 4))
    x = ConvBlock(30, 19, pool_size=25, name="conv1")(inputs)
    x = ConvBlock(128, 5, pool_size=4, name="conv2")(x)
    outputs = keras.layers.Dense(12, activation="sigmoid")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    ```
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        pool_size: int = 1,
        pool_stride: int | None = None,
        activation: str = "relu",
        dropout: float = 0.1,
        l2: float = 1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, value in (("filters", filters), ("kernel_size", kernel_size), ("pool_size", pool_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ConvBlock {arg} must be a positive integer, got {value!r}")
        if pool_stride is not None and (not isinstance(pool_stride, int) or pool_stride < 1):
            raise ValueError(f"ConvBlock pool_stride must be a positive integer or None, got {pool_stride!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"ConvBlock dropout must be in [0, 1), got {dropout!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.pool_stride = pool_stride
        self.activation_name = activation
        self.dropout_rate = dropout
        self.l2 = l2
        self.conv = keras.layers.Conv1D(
            filters,
            kernel_size,
            padding="same",
            use_bias=False,
            kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
            name=f"{self.name}_conv",
        )
        self.bn = keras.layers.BatchNormalization(name=f"{self.name}_bn")
        self.activation = keras.layers.Activation(activation, name=f"{self.name}_activation")
        self.pool = (
            keras.layers.MaxPooling1D(pool_size, strides=self.strides, padding="same", name=f"{self.name}_pool")
            if pool_size > 1 or self.strides > 1
            else None
        )
        self.dropout = keras.layers.Dropout(dropout, name=f"{self.name}_dropout")

    @property
    def strides(self) -> int:
        """Stride of the max-pool (``pool_size`` unless set)."""
        return self.pool_stride or self.pool_size

    def build(self, input_shape):
        self.conv.build(input_shape)
        feature_shape = self.conv.compute_output_shape(input_shape)
        self.bn.build(feature_shape)
        if self.pool is not None:
            self.pool.build(feature_shape)

    def feature_map(self, inputs, training: bool = False):
        """Return the activation output before pooling, shape=(batch, positions, filters)."""
        return self.activation(self.bn(self.conv(inputs), training=training))

    def call(self, inputs, training=None):
        x = self.feature_map(inputs, training=training)
        if self.pool is not None:
            x = self.pool(x)
        return self.dropout(x, training=training)

    def compute_output_shape(self, input_shape):
        length = input_shape[1]
        if length is not None:
            length = math.ceil(length / self.strides)
        return (input_shape[0], length, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            pool_size=self.pool_size,
            pool_stride=self.pool_stride,
            activation=self.activation_name,
            dropout=self.dropout_rate,
            l2=self.l2,
        )
        return config
