package dev.vigil.exporter;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One encoder layer: a token mixer (attention or spectral) and a feed-forward block, each with a
 * residual connection; LayerNorm before each sub-block (pre-norm) or after each residual sum
 * (post-norm).
 */
public final class EncoderLayer extends AbstractBlock {
    private final boolean preNorm;
    private final LayerNormBlock mixerNorm;
    private final Block mixer;
    private final LayerNormBlock mlpNorm;
    private final FeedForward mlp;

    public EncoderLayer(ModelOptions options) {
        preNorm = options.architecture().preNorm();
        mixerNorm = addChildBlock("mixer_norm", new LayerNormBlock(options.dim()));
        mixer = addChildBlock("mixer", switch (options.architecture().mixing()) {
            case ATTENTION -> new MultiHeadSelfAttention(options.dim(), options.heads());
            case SPECTRAL -> new SpectralMixer(options.seqLen(), options.dim());
        });
        mlpNorm = addChildBlock("mlp_norm", new LayerNormBlock(options.dim()));
        mlp = addChildBlock("mlp", new FeedForward(options.dim(), options.mlpDim(), options.activation()));
    }

    LayerNormBlock mixerNorm() {
        return mixerNorm;
    }

    /** A {@link MultiHeadSelfAttention} or a {@link SpectralMixer}. */
    Block mixer() {
        return mixer;
    }

    LayerNormBlock mlpNorm() {
        return mlpNorm;
    }

    FeedForward mlp() {
        return mlp;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        if (preNorm) {
            x = x.add(apply(mixer, ps, apply(mixerNorm, ps, x, training), training));
            x = x.add(apply(mlp, ps, apply(mlpNorm, ps, x, training), training));
        } else {
            x = apply(mixerNorm, ps, x.add(apply(mixer, ps, x, training)), training);
            x = apply(mlpNorm, ps, x.add(apply(mlp, ps, x, training)), training);
        }
        return new NDList(x);
    }

    private static NDArray apply(Block block, ParameterStore ps, NDArray x, boolean training) {
        return block.forward(ps, new NDList(x), training).singletonOrThrow();
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        for (Block child : new Block[] {mixerNorm, mixer, mlpNorm, mlp}) {
            child.initialize(manager, dataType, inputShapes);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return inputShapes;
    }
}
