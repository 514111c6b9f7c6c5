package dev.vigil.exporter;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;

/**
 * The encoder classifier for every {@link Architecture}: token embedding + learned position
 * embedding, {@code layers} {@link EncoderLayer}s, a final LayerNorm for pre-norm encoders, pooling
 * and a linear head. Input: token ids [B, seqLen] (int64); output: logits [B, classes].
 */
public final class SequenceClassifier extends AbstractBlock {
    private final ModelOptions options;
    private final Parameter tokenEmbedding;
    private final Parameter positionEmbedding;
    private final List<EncoderLayer> layers = new ArrayList<>();
    private final LayerNormBlock finalNorm;
    private final DenseLayer head;

    public SequenceClassifier(ModelOptions options) {
        this.options = options;
        tokenEmbedding = addParameter(Parameters.normal("token_embedding", options.vocabSize(), options.dim()));
        positionEmbedding = addParameter(Parameters.normal("position_embedding", options.seqLen(), options.dim()));
        for (int i = 0; i < options.layers(); i++) {
            layers.add(addChildBlock("layer" + i, new EncoderLayer(options)));
        }
        finalNorm = options.architecture().preNorm()
                ? addChildBlock("final_norm", new LayerNormBlock(options.dim()))
                : null;
        head = addChildBlock("head", new DenseLayer(options.dim(), options.classes()));
    }

    public ModelOptions options() {
        return options;
    }

    /**
     * Creates the classifier and initializes its parameters on {@code manager} from the engine's random
     * generator as it stands (a new process starts it from a random state): for throw-away models whose
     * weights do not matter (parameter counts, timing, parity checks that redraw them).
     */
    public static SequenceClassifier create(ModelOptions options, NDManager manager) {
        SequenceClassifier model = new SequenceClassifier(options);
        model.initialize(manager, DataType.FLOAT32, new Shape(1, options.seqLen()));
        return model;
    }

    /**
     * Creates the classifier with initial weights drawn after seeding the engine's random generator
     * with {@code seed}: the same seed and options give the same weights, bit for bit, in any process.
     */
    public static SequenceClassifier create(ModelOptions options, NDManager manager, long seed) {
        // PyTorch's generator: every N(0, 0.02) tensor is drawn from it, in the block tree's fixed order
        Engine.getInstance().setRandomSeed(Long.hashCode(seed));
        return create(options, manager);
    }

    /** Number of trainable scalars, summed over the initialized parameter tensors. */
    public long parameterCount() {
        long total = 0;
        for (Pair<String, Parameter> p : getParameters()) {
            total += p.getValue().getArray().size();
        }
        return total;
    }

    /** Logits [B, classes] for token ids [B, seqLen], outside any training step. */
    public NDArray predict(NDArray ids) {
        return forward(new ParameterStore(ids.getManager(), false), new NDList(ids), false).singletonOrThrow();
    }

    Parameter tokenEmbedding() {
        return tokenEmbedding;
    }

    Parameter positionEmbedding() {
        return positionEmbedding;
    }

    List<EncoderLayer> layers() {
        return List.copyOf(layers);
    }

    /** The final LayerNorm, or null for post-norm encoders. */
    LayerNormBlock finalNorm() {
        return finalNorm;
    }

    DenseLayer head() {
        return head;
    }

    @Override
    protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.singletonOrThrow();
        Shape shape = ids.getShape();
        if (shape.dimension() != 2 || shape.get(1) != options.seqLen()) {
            throw new IllegalArgumentException("expected token ids [batch, " + options.seqLen() + "], got " + shape);
        }
        // one-hot · table keeps every intermediate on the input's manager (a gather on the table would not)
        NDArray x = ids.oneHot(options.vocabSize())
                .matMul(ps.getValue(tokenEmbedding, ids.getDevice(), training))
                .add(ps.getValue(positionEmbedding, ids.getDevice(), training));
        for (EncoderLayer layer : layers) {
            x = layer.forward(ps, new NDList(x), training).singletonOrThrow();
        }
        if (finalNorm != null) {
            x = finalNorm.forward(ps, new NDList(x), training).singletonOrThrow();
        }
        NDArray pooled = switch (options.pooling()) {
            case MEAN -> x.mean(new int[] {1});
            case FIRST -> x.get(":, 0, :");
        };
        return head.forward(ps, new NDList(pooled), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape hidden = new Shape(inputShapes[0].get(0), options.seqLen(), options.dim());
        for (EncoderLayer layer : layers) {
            layer.initialize(manager, dataType, hidden);
        }
        if (finalNorm != null) {
            finalNorm.initialize(manager, dataType, hidden);
        }
        head.initialize(manager, dataType, new Shape(inputShapes[0].get(0), options.dim()));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), options.classes())};
    }
}
