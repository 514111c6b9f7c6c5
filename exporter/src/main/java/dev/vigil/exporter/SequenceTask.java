package dev.vigil.exporter;

/**
 * A deterministic, seeded sequence-classification task: example {@code i} of a split is a pure
 * function of (seed, split, i).
 */
public interface SequenceTask {

    /** Short name written to exporter.json and accepted by {@code train --task}. */
    String kind();

    int seqLen();

    int classes();

    /** Token ids are in {@code [1, vocabSize)}; 0 is reserved for padding and never generated. */
    int vocabSize();

    /** Examples {@code first .. first+size-1} of a split of the stream named by {@code seed}. */
    LabeledBatch batch(long seed, Split split, long first, int size);
}
