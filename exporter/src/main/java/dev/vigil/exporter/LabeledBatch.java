package dev.vigil.exporter;

/**
 * A batch of token sequences and their class labels.
 *
 * @param ids    row-major token ids [size, seqLen]
 * @param labels one class per sequence
 * @param size   number of sequences
 * @param seqLen tokens per sequence
 */
public record LabeledBatch(long[] ids, int[] labels, int size, int seqLen) {
    public LabeledBatch {
        if (ids.length != (long) size * seqLen || labels.length != size) {
            throw new IllegalArgumentException("ids must hold size*seqLen values and labels size values");
        }
    }
}
