package dev.vigil.exporter;

/**
 * How long and how fast to train.
 *
 * @param epochs         epochs to train
 * @param stepsPerEpoch  optimizer steps per epoch, each on a fresh batch; ignored with a training set
 *                       ({@code trainSize > 0}), where an epoch is one shuffled pass over it
 * @param batchSize      sequences per step
 * @param learningRate   Adam learning rate (after a linear warm-up over the first {@code warmupSteps})
 * @param warmupSteps    steps of linear learning-rate warm-up
 * @param seed           seed of the data streams, the training set's shuffles and (through
 *                       {@link SequenceClassifier#create(ModelOptions, ai.djl.ndarray.NDManager, long)})
 *                       the initial weights
 * @param validationSize held-out sequences scored after every epoch
 * @param logEvery       steps between progress lines (0: only the end-of-epoch line)
 * @param trainSize      0: every step draws fresh sequences; N: a fixed set of N training sequences
 *                       ({@link TrainingSet}), shuffled every epoch
 * @param threads        PyTorch intra-op threads while training (0: the engine's default, one per core); the
 *                       split of PyTorch's parallel reductions depends on it, so the same seed gives the
 *                       same numbers only at the same thread count
 */
public record TrainingOptions(
        int epochs,
        int stepsPerEpoch,
        int batchSize,
        float learningRate,
        int warmupSteps,
        long seed,
        int validationSize,
        int logEvery,
        int trainSize,
        int threads) {

    public TrainingOptions {
        if (epochs < 1 || stepsPerEpoch < 1 || batchSize < 1 || validationSize < 1) {
            throw new IllegalArgumentException("epochs, stepsPerEpoch, batchSize and validationSize must be positive");
        }
        if (!(learningRate > 0) || warmupSteps < 0 || logEvery < 0 || trainSize < 0 || threads < 0) {
            throw new IllegalArgumentException(
                    "learningRate must be positive, warmupSteps, logEvery, trainSize and threads non-negative");
        }
    }
}
