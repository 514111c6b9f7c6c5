package dev.vigil.probes.stats;

import java.util.Arrays;

/** The reduction outputs of an {@code attention} site in one request, with its {@code [B,H,Tq,Tk]} dims. */
record ReducedAttention(long[] shape, int heads, int queries, int keys, double[] sink, double[] plogp,
                        double[] lastKey, double[] keyMass) implements ReducedSite {

    /** The outputs of {@code tensor}; null when the batch has none. */
    static ReducedAttention of(String tensor, ReducedBatch batch) {
        long[] shape = ReducedSite.shapeOf(batch, tensor);
        if (shape == null) {
            return null;
        }
        int b = batch.batch();
        int h;
        if (shape.length == 4 && shape[0] == b) {
            h = Math.toIntExact(shape[1]);
        } else if (shape.length == 3 && shape[0] % b == 0) {
            h = Math.toIntExact(shape[0] / b);
        } else {
            throw new IllegalArgumentException("attention tensor '" + tensor + "' has shape " + Arrays.toString(shape)
                    + "; expected [B,H,Tq,Tk] or [B*H,Tq,Tk] with B=" + b);
        }
        int tq = Math.toIntExact(shape[shape.length - 2]);
        int tk = Math.toIntExact(shape[shape.length - 1]);
        long perQuery = (long) b * h * tq;
        return new ReducedAttention(shape, h, tq, tk,
                ReducedSite.need(batch, tensor, ReducedOutputs.SINK, perQuery),
                ReducedSite.need(batch, tensor, ReducedOutputs.PLOGP, perQuery),
                ReducedSite.need(batch, tensor, ReducedOutputs.LAST_KEY, perQuery),
                ReducedSite.need(batch, tensor, ReducedOutputs.KEY_MASS, (long) b * h * tk));
    }
}
