package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** The position-wise MLP of an encoder layer: up-projection, activation, down-projection. */
public final class FeedForward extends AbstractBlock {
    static final float SQRT2 = (float) Math.sqrt(2.0);

    private final int dim;
    private final int hidden;
    private final MlpActivation activation;
    private final DenseLayer up;
    private final DenseLayer down;

    public FeedForward(int dim, int hidden, MlpActivation activation) {
        this.dim = dim;
        this.hidden = hidden;
        this.activation = activation;
        up = addChildBlock("up", new DenseLayer(dim, hidden));
        down = addChildBlock("down", new DenseLayer(hidden, dim));
    }

    DenseLayer up() {
        return up;
    }

    DenseLayer down() {
        return down;
    }

    MlpActivation activation() {
        return activation;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray h = up.forward(ps, inputs, training).singletonOrThrow();
        NDArray a = switch (activation) {
            case RELU -> h.maximum(0f);
            // exact GELU in the order the exported Erf pattern computes it
            case GELU -> h.mul(h.div(SQRT2).erf().add(1f)).mul(0.5f);
        };
        return down.forward(ps, new NDList(a), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        up.initialize(manager, dataType, inputShapes);
        Shape in = inputShapes[0];
        down.initialize(manager, dataType, in.slice(0, in.dimension() - 1).add(hidden));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(dim)};
    }
}
