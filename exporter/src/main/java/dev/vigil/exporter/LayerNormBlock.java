package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * LayerNorm over the last axis, written with the same arithmetic as ONNX LayerNormalization
 * (biased variance, epsilon inside the square root).
 */
public final class LayerNormBlock extends AbstractBlock {
    private final Parameter gamma;
    private final Parameter beta;

    public LayerNormBlock(int dim) {
        gamma = addParameter(Parameters.ones("gamma", dim));
        beta = addParameter(Parameters.zeros("beta", dim));
    }

    Parameter gamma() {
        return gamma;
    }

    Parameter beta() {
        return beta;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray centered = x.sub(x.mean(new int[] {-1}, true));
        NDArray variance = centered.square().mean(new int[] {-1}, true);
        NDArray normalized = centered.div(variance.add(ModelOptions.LAYER_NORM_EPSILON).sqrt());
        return new NDList(normalized
                .mul(ps.getValue(gamma, x.getDevice(), training))
                .add(ps.getValue(beta, x.getDevice(), training)));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}
