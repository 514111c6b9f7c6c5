package dev.vigil.probes.stats;

import java.util.Arrays;

/** One site's reduction outputs in one request, checked against the request before any statistic changes. */
sealed interface ReducedSite permits ReducedRows, ReducedAttention {

    /** The site tensor's dims as the graph reported them. */
    long[] shape();

    /** The output {@code what} of {@code tensor}; IllegalArgumentException when absent or not {@code n} values. */
    static double[] need(ReducedBatch batch, String tensor, String what, long n) {
        ReducedTensor t = batch.outputs().get(ReducedOutputs.name(tensor, what));
        if (t == null) {
            throw new IllegalArgumentException("reduction output '" + what + "' of tensor '" + tensor + "' is missing");
        }
        if (t.data().length != n) {
            throw new IllegalArgumentException("reduction output '" + what + "' of tensor '" + tensor + "' has "
                    + t.data().length + " values, expected " + n + " (shape " + Arrays.toString(t.shape()) + ")");
        }
        return t.data();
    }

    /** The site tensor's dims, or null when the batch has no outputs for {@code tensor}. */
    static long[] shapeOf(ReducedBatch batch, String tensor) {
        ReducedTensor t = batch.outputs().get(ReducedOutputs.name(tensor, ReducedOutputs.SHAPE));
        return t == null ? null : t.longs();
    }
}
