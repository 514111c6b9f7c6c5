package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * {@code y = x·W + b} on the last axis. W is stored as [in, out] so it is exactly the right operand
 * of the exported ONNX MatMul.
 */
public final class DenseLayer extends AbstractBlock {
    private final int out;
    private final Parameter weight;
    private final Parameter bias;

    public DenseLayer(int in, int out) {
        this.out = out;
        weight = addParameter(Parameters.normal("weight", in, out));
        bias = addParameter(Parameters.zeros("bias", out));
    }

    Parameter weight() {
        return weight;
    }

    Parameter bias() {
        return bias;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        return new NDList(x.matMul(ps.getValue(weight, x.getDevice(), training))
                .add(ps.getValue(bias, x.getDevice(), training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(out)};
    }
}
