package dev.vigil.exporter;

/**
 * Hyper-parameters of one encoder classifier. Every architecture uses the same fields; {@code heads}
 * only matters for attention.
 *
 * @param architecture prenorm, postnorm or eft
 * @param vocabSize    number of token ids (embedding rows)
 * @param seqLen       fixed sequence length (learned position rows; spectral filter rows = seqLen/2+1)
 * @param dim          model width
 * @param layers       number of encoder layers
 * @param heads        attention heads (must divide dim)
 * @param mlpDim       feed-forward hidden width
 * @param classes      number of output classes
 * @param activation   feed-forward nonlinearity
 * @param pooling      how token rows become one vector per sequence
 */
public record ModelOptions(
        Architecture architecture,
        int vocabSize,
        int seqLen,
        int dim,
        int layers,
        int heads,
        int mlpDim,
        int classes,
        MlpActivation activation,
        Pooling pooling) {

    /** LayerNorm epsilon, shared by the DJL model and the exported graph. */
    public static final float LAYER_NORM_EPSILON = 1e-5f;

    public ModelOptions {
        if (architecture == null || activation == null || pooling == null) {
            throw new IllegalArgumentException("architecture, activation and pooling are required");
        }
        requirePositive("vocabSize", vocabSize);
        requirePositive("seqLen", seqLen);
        requirePositive("dim", dim);
        requirePositive("layers", layers);
        requirePositive("heads", heads);
        requirePositive("mlpDim", mlpDim);
        requirePositive("classes", classes);
        if (seqLen < 2) {
            throw new IllegalArgumentException("seqLen must be at least 2, got " + seqLen);
        }
        if (dim % heads != 0) {
            throw new IllegalArgumentException("heads (" + heads + ") must divide dim (" + dim + ")");
        }
    }

    /** Width of one attention head. */
    public int headDim() {
        return dim / heads;
    }

    /** Rows of the spectral filter: the non-negative frequencies of a real signal of length seqLen. */
    public int frequencies() {
        return seqLen / 2 + 1;
    }

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }
}
