package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Bidirectional multi-head scaled dot-product self-attention on [B, T, D]:
 * {@code softmax(Q·Kᵀ·scale)·V} per head, then an output projection.
 */
public final class MultiHeadSelfAttention extends AbstractBlock {
    private final int heads;
    private final int headDim;
    private final DenseLayer query;
    private final DenseLayer key;
    private final DenseLayer value;
    private final DenseLayer output;

    public MultiHeadSelfAttention(int dim, int heads) {
        this.heads = heads;
        this.headDim = dim / heads;
        query = addChildBlock("query", new DenseLayer(dim, dim));
        key = addChildBlock("key", new DenseLayer(dim, dim));
        value = addChildBlock("value", new DenseLayer(dim, dim));
        output = addChildBlock("output", new DenseLayer(dim, dim));
    }

    int heads() {
        return heads;
    }

    /** The factor the scores are multiplied by: 1/√headDim. */
    float scale() {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    DenseLayer query() {
        return query;
    }

    DenseLayer key() {
        return key;
    }

    DenseLayer value() {
        return value;
    }

    DenseLayer output() {
        return output;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        long d = x.getShape().get(2);
        NDArray q = split(query.forward(ps, inputs, training).singletonOrThrow(), b, t).transpose(0, 2, 1, 3);
        NDArray k = split(key.forward(ps, inputs, training).singletonOrThrow(), b, t).transpose(0, 2, 3, 1);
        NDArray v = split(value.forward(ps, inputs, training).singletonOrThrow(), b, t).transpose(0, 2, 1, 3);
        NDArray probs = q.matMul(k).mul(scale()).softmax(-1);
        NDArray context = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, d);
        return output.forward(ps, new NDList(context), training);
    }

    private NDArray split(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        for (DenseLayer layer : new DenseLayer[] {query, key, value, output}) {
            layer.initialize(manager, dataType, inputShapes);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}
