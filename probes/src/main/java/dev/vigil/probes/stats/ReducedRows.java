package dev.vigil.probes.stats;

import dev.vigil.probes.SiteKind;

import java.util.Arrays;

/**
 * The reduction outputs of a row site ({@code mlp}, {@code residual}, {@code matmul_input}) in one request, with the
 * row layout of {@link RowLayout}: the tensor's rows are B·T token rows (masked) or B sequence rows (no mask).
 * Arrays of a kind the site does not have are null.
 */
record ReducedRows(long[] shape, int batch, int rowsPerSequence, int width, byte[] mask, double[] moments,
                   double[] channelMin, double[] channelMax, double[] histogram, double[] absSum, double[] massive,
                   double[] hits, double[] firstHit, double[] cosine) implements ReducedSite {

    /** The outputs of {@code tensor} for a site of {@code kind}; null when the batch has none. */
    static ReducedRows of(String tensor, SiteKind kind, ReducedBatch batch) {
        long[] shape = ReducedSite.shapeOf(batch, tensor);
        if (shape == null) {
            return null;
        }
        if (shape.length == 0) {
            throw new IllegalArgumentException("tensor '" + tensor + "' is a scalar; a probe site needs a channel axis");
        }
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        int w = Math.toIntExact(shape[shape.length - 1]);
        long rows = w == 0 ? 0 : n / w;
        long tokenRows = (long) batch.batch() * batch.tokens();
        int b = batch.batch();
        int perSequence;
        byte[] mask = null;
        if (rows == tokenRows) {
            perSequence = batch.tokens();
            mask = batch.mask();
        } else if (rows == b) {
            perSequence = 1;
        } else if (n == 0) {
            b = 0;
            perSequence = 0;
        } else {
            throw new IllegalArgumentException("tensor '" + tensor + "' of shape " + Arrays.toString(shape) + " has "
                    + rows + " rows of " + w + " channels; expected batch*tokens=" + tokenRows
                    + " token rows or batch=" + batch.batch() + " sequence rows");
        }
        double[] moments = ReducedSite.need(batch, tensor, ReducedOutputs.MOMENTS, ReducedOutputs.MOMENTS_LENGTH);
        double[] min = ReducedSite.need(batch, tensor, ReducedOutputs.CHANNEL_MIN, w);
        double[] max = ReducedSite.need(batch, tensor, ReducedOutputs.CHANNEL_MAX, w);
        double[] histogram = ReducedSite.need(batch, tensor, ReducedOutputs.HISTOGRAM,
                ReducedOutputs.HISTOGRAM_BUCKETS);
        double[] absSum = kind == SiteKind.MLP ? ReducedSite.need(batch, tensor, ReducedOutputs.ABS_SUM, w) : null;
        boolean residual = kind == SiteKind.RESIDUAL;
        long bw = (long) batch.batch() * w;
        double[] massive = residual ? ReducedSite.need(batch, tensor, ReducedOutputs.MASSIVE, 3L * batch.batch())
                : null;
        double[] hits = residual ? ReducedSite.need(batch, tensor, ReducedOutputs.HITS, bw) : null;
        double[] firstHit = residual ? ReducedSite.need(batch, tensor, ReducedOutputs.FIRST_HIT, bw) : null;
        double[] cosine = residual ? ReducedSite.need(batch, tensor, ReducedOutputs.COSINE, 3L * batch.batch())
                : null;
        return new ReducedRows(shape, b, perSequence, w, mask, moments, min, max, histogram, absSum, massive, hits,
                firstHit, cosine);
    }

    /** Whether row {@code r} of sequence {@code b} is real. */
    boolean real(int b, int r) {
        return mask == null || mask[b * rowsPerSequence + r] != 0;
    }

    /** The first real row of sequence {@code b}; -1 when it has none. */
    int firstRealRow(int b) {
        for (int r = 0; r < rowsPerSequence; r++) {
            if (real(b, r)) {
                return r;
            }
        }
        return -1;
    }

    /** Real rows of the request. */
    long realRows() {
        long n = 0;
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rowsPerSequence; r++) {
                if (real(b, r)) {
                    n++;
                }
            }
        }
        return n;
    }
}
