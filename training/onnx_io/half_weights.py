"""An exported model with its weights stored in float16 and computed in float32: half the file, the same speed.

Each convolution weight becomes a float16 initializer (same name) followed by a Cast to float32. onnxruntime folds
those casts into float32 constants when it loads the file, so the network then runs exactly as the float32 export
does, with weights rounded to float16 (about 3 significant digits; the output moves by a fraction of an ab unit).
Unlike a float16 network (``onnxruntime.transformers.float16``), nothing is computed in half precision, so CPUs
without fast float16 arithmetic lose nothing.
"""

from __future__ import annotations

import numpy as np

FLOAT16_MAX = 65504.0


def store_weights_as_float16(model, min_elements: int = 4096) -> int:
    """Rewrite ``model`` (an onnx.ModelProto) in place; returns how many initializers were converted.

    Tensors of fewer than ``min_elements`` values stay float32: biases, the stems, the output convolution and the
    depthwise kernels. They are 0.6 % of the file, and keeping them halves the rounding's effect on the output
    (on the shipped model and three photos: max |delta ab| 0.96 with every weight in float16, 0.19 without these).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    renamed: dict[str, str] = {}
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != TensorProto.FLOAT or int(np.prod(initializer.dims)) < min_elements:
            continue
        values = numpy_helper.to_array(initializer)
        if not np.all(np.abs(values) <= FLOAT16_MAX):
            continue
        initializer.CopyFrom(numpy_helper.from_array(values.astype(np.float16), initializer.name))
        wide = f"{initializer.name}.float32"
        casts.append(helper.make_node("Cast", [initializer.name], [wide], to=TensorProto.FLOAT, name=f"cast:{wide}"))
        renamed[initializer.name] = wide
    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    for index, cast in enumerate(casts):  # first in the graph: their only inputs are initializers
        graph.node.insert(index, cast)
    return len(casts)
