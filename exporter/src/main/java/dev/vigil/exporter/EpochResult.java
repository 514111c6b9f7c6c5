package dev.vigil.exporter;

/**
 * What one training epoch achieved.
 *
 * @param epoch              1-based epoch number
 * @param loss               mean training cross-entropy over the epoch's steps
 * @param trainAccuracy      accuracy on the epoch's training batches (measured before each step's update)
 * @param validationAccuracy accuracy on the held-out split after the epoch
 * @param seconds            wall time of the epoch's training steps (validation excluded)
 * @param tokensPerSecond    training tokens processed per second of {@code seconds}
 * @param trainSetAccuracy   accuracy on the whole fixed training set in eval mode, measured after the last
 *                           epoch only; -1 on other epochs and when training on a fresh stream
 */
public record EpochResult(int epoch, double loss, double trainAccuracy, double validationAccuracy,
                          double seconds, double tokensPerSecond, double trainSetAccuracy) {
}
