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
 * @param seed           seed of the data streams (the initial weights use DJL's own generator)
 * @param validationSize held-out sequences scored after every epoch
 * @param logEvery       steps between progress lines (0: only the end-of-epoch line)
 * @param trainSize      0: every step draws fresh sequences; N: a fixed set of N training sequences
 *                       ({@link TrainingSet}), shuffled every epoch
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
        int trainSize) {

    public TrainingOptions {
        if (epochs < 1 || stepsPerEpoch < 1 || batchSize < 1 || validationSize < 1) {
            throw new IllegalArgumentException("epochs, stepsPerEpoch, batchSize and validationSize must be positive");
        }
        if (!(learningRate > 0) || warmupSteps < 0 || logEvery < 0 || trainSize < 0) {
            throw new IllegalArgumentException(
                    "learningRate must be positive, warmupSteps, logEvery and trainSize non-negative");
        }
    }
}
