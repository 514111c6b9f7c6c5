package dev.vigil.exporter;

import java.util.SplittableRandom;

/**
 * A finite training set: examples {@code 0 .. size-1} of a task's training split, drawn once and
 * visited in a new random order every epoch, so a model can memorize it (a fixed set, as in LRA).
 */
public final class TrainingSet {
    private final LabeledBatch examples;
    private final long seed;

    public TrainingSet(SequenceTask task, long seed, int size) {
        if (size < 1) {
            throw new IllegalArgumentException("training set size must be positive, got " + size);
        }
        this.examples = task.batch(seed, Split.TRAIN, 0, size);
        this.seed = seed;
    }

    public int size() {
        return examples.size();
    }

    /** Steps of one epoch: one pass over the set, the last batch possibly smaller. */
    public int stepsPerEpoch(int batchSize) {
        return (size() + batchSize - 1) / batchSize;
    }

    /** The visiting order of an epoch (1-based): a permutation of {@code 0 .. size-1}, seeded by (seed, epoch). */
    public int[] order(int epoch) {
        int[] order = new int[size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = order.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int swap = order[i];
            order[i] = order[j];
            order[j] = swap;
        }
        return order;
    }

    /** Step {@code step} (0-based) of an epoch whose visiting order is {@code order}. */
    public LabeledBatch batch(int[] order, int step, int batchSize) {
        int first = step * batchSize;
        int size = Math.min(batchSize, order.length - first);
        if (first < 0 || size < 1) {
            throw new IllegalArgumentException("step " + step + " is past the end of the epoch");
        }
        int seqLen = examples.seqLen();
        long[] ids = new long[size * seqLen];
        int[] labels = new int[size];
        for (int b = 0; b < size; b++) {
            int example = order[first + b];
            System.arraycopy(examples.ids(), example * seqLen, ids, b * seqLen, seqLen);
            labels[b] = examples.labels()[example];
        }
        return new LabeledBatch(ids, labels, size, seqLen);
    }
}
