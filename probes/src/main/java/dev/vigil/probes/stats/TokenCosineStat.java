package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Token cosine similarity of a {@code residual} site (SPEC §5 "Rank collapse"). Per sequence, with unit rows
 * {@code u_i}, the mean over distinct pairs {@code i != j} of {@code u_i·u_j} is
 * {@code (‖Σu_i‖² − Σ‖u_i‖²) / (n(n−1))}: one O(n·D) pass instead of the O(n²·D) pair loop. Used by one thread.
 */
final class TokenCosineStat {
    private double[] sum = new double[0];
    private float[] row = new float[0];
    private double windowSum;
    private long sequences;

    void observe(TapTensor t, RowLayout layout) {
        int w = layout.width;
        if (sum.length != w) {
            sum = new double[w];
            row = new float[w];
        }
        FloatBuffer data = t.data();
        double[] s = sum;
        float[] r = row;
        for (int b = 0; b < layout.batch; b++) {
            Arrays.fill(s, 0.0);
            long n = 0;
            double unitNormsSquared = 0;
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (!layout.real(b, i)) {
                    continue;
                }
                data.get(layout.offset(b, i), r, 0, w);
                double norm2 = 0;
                for (int j = 0; j < w; j++) {
                    double v = r[j];
                    norm2 += v * v;
                }
                if (norm2 == 0) {
                    continue;
                }
                double inv = 1.0 / Math.sqrt(norm2);
                for (int j = 0; j < w; j++) {
                    s[j] += r[j] * inv;
                }
                unitNormsSquared += norm2 * inv * inv;
                n++;
            }
            if (n < 2) {
                continue;
            }
            double total2 = 0;
            for (int j = 0; j < w; j++) {
                total2 += s[j] * s[j];
            }
            windowSum += (total2 - unitNormsSquared) / ((double) n * (n - 1));
            sequences++;
        }
    }

    CosineSnapshot snapshot() {
        return new CosineSnapshot(sequences, sequences == 0 ? Double.NaN : windowSum / sequences);
    }

    void reset() {
        windowSum = 0;
        sequences = 0;
    }
}
