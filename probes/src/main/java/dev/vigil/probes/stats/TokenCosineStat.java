package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Token cosine similarity of a {@code residual} site (SPEC §5 "Rank collapse"). Per sequence, with unit rows
 * {@code u_i}, the mean over distinct pairs {@code i != j} of {@code u_i·u_j} is
 * {@code (‖Σu_i‖² − Σ‖u_i‖²) / (n(n−1))}: one O(n·D) pass instead of the O(n²·D) pair loop. The cumulative
 * counters of SPEC §6 ({@link CosineCounters}) add {@code 1 + cosine} per sequence. The row
 * loops stay scalar: widening floats to doubles in the Vector API needs a second vector shape, and on JDK 17 a
 * second shape in the JVM stops C2 from compiling the other statistics' SIMD kernels (quant ranges ran 3× slower).
 * Used by one thread.
 */
final class TokenCosineStat {
    private double[] sum = new double[0];
    private float[] row = new float[0];
    private double windowSum;
    private long sequences;
    private double shiftedTotal;
    private long sequencesTotal;
    private long nonFiniteTotal;

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
                double norm2 = squaredNorm(r, w);
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
            add((total2 - unitNormsSquared) / ((double) n * (n - 1)));
        }
    }

    /** {@code Σ r[j]²} in double, with four running sums so that the adds do not wait on each other. */
    static double squaredNorm(float[] r, int w) {
        double a0 = 0;
        double a1 = 0;
        double a2 = 0;
        double a3 = 0;
        int j = 0;
        for (; j + 3 < w; j += 4) {
            double v0 = r[j];
            double v1 = r[j + 1];
            double v2 = r[j + 2];
            double v3 = r[j + 3];
            a0 += v0 * v0;
            a1 += v1 * v1;
            a2 += v2 * v2;
            a3 += v3 * v3;
        }
        for (; j < w; j++) {
            double v = r[j];
            a0 += v * v;
        }
        return (a0 + a1) + (a2 + a3);
    }

    CosineSnapshot snapshot() {
        return new CosineSnapshot(sequences, sequences == 0 ? Double.NaN : windowSum / sequences);
    }

    CosineCounters counters() {
        return new CosineCounters(shiftedTotal, sequencesTotal, nonFiniteTotal);
    }

    void reset() {
        windowSum = 0;
        sequences = 0;
    }

    /**
     * Adds one request reduced in the graph: per sequence {@code b}, {@code cosine[3b..3b+2]} = rows of nonzero norm,
     * {@code Σ‖u_i‖²} and {@code ‖Σu_i‖²} over its real rows.
     */
    void observeReduced(double[] cosine, int batch) {
        for (int b = 0; b < batch; b++) {
            long n = (long) cosine[3 * b];
            if (n < 2) {
                continue;
            }
            add((cosine[3 * b + 2] - cosine[3 * b + 1]) / ((double) n * (n - 1)));
        }
    }

    /** Adds one sequence's mean pairwise cosine to the window and the counters. */
    private void add(double cosine) {
        windowSum += cosine;
        sequences++;
        if (Double.isFinite(cosine)) {
            // a mean pairwise cosine is at least -1/(n-1); the clamp only absorbs rounding
            shiftedTotal += Math.max(0.0, 1.0 + cosine);
            sequencesTotal++;
        } else {
            nonFiniteTotal++;
        }
    }
}
