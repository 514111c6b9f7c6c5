package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Token cosine similarity of a {@code residual} site (SPEC §5 "Rank collapse"). Per sequence, with unit rows
 * {@code u_i}, the mean over distinct pairs {@code i != j} of {@code u_i·u_j} is
 * {@code (‖Σu_i‖² − Σ‖u_i‖²) / (n(n−1))}: one O(n·D) pass instead of the O(n²·D) pair loop. The cumulative
 * counters of SPEC §6 ({@link CosineCounters}) add {@code 1 + cosine} per sequence. The sums cancel down to
 * {@code n(n−1)} times the cosine, so they are kept to about double precision: in SIMD lanes
 * ({@link VectorTokenCosine}, float lanes holding two-float sums) when the JVM has the {@code jdk.incubator.vector}
 * module, else in double. A sequence's rows arrive in blocks ({@link #startSequence}, {@link #addRows},
 * {@link #endSequence}), copied from the tap here or by {@link MassiveActivationStat}, which reads the same rows.
 * Used by one thread.
 */
final class TokenCosineStat {
    /** Whether the row loops run in SIMD lanes. */
    static final boolean VECTORIZED = RowEntropy.VECTORIZED;
    /**
     * Below this squared norm a float square may have lost bits to underflow; such rows, and rows whose float sum
     * overflowed or met a NaN, get their norm again in double.
     */
    private static final double FLOAT_NORM_MIN = 1e-30;
    /** Floats copied from the tap before their rows are added: 16 KiB, half the L1 data cache. */
    private static final int BLOCK_FLOATS = 4096;
    /** Calls of the SIMD loops on a short row after which the JIT has compiled them. */
    private static final int WARM_UP_CALLS = 10_000;

    static {
        if (VECTORIZED) {
            warmUp();
        }
    }

    /** Whether this instance's loops run in SIMD lanes: {@link #VECTORIZED}, unless a test asks for the double path. */
    private final boolean vectorized;
    private int width = -1;
    /** The sequence's sum of unit rows: in double without the module, */
    private double[] sum = new double[0];
    /** else as {@code sumHi[j] + sumLo[j]}. */
    private float[] sumHi = new float[0];
    private float[] sumLo = new float[0];
    private final float[] lanes = new float[VECTORIZED ? VectorTokenCosine.LANES : 0];
    /** Real rows copied from the tap, one after the other. */
    private float[] block = new float[0];
    /** Squared norms of the rows of one {@link #addRows}. */
    private double[] norms = new double[0];
    /** The current sequence's rows of nonzero norm and their {@code Σ‖u_i‖²}. */
    private long rows;
    private double unitNormsSquared;
    private double windowSum;
    private long sequences;
    private double shiftedTotal;
    private long sequencesTotal;
    private long nonFiniteTotal;

    /**
     * Interpreted, the SIMD loops allocate an object per vector operation; they are compiled here, on a short row,
     * when the first residual site is set up (at model load), and checked against the double path.
     */
    private static void warmUp() {
        int w = 3 * VectorTokenCosine.LANES + 3;
        float[] r = new float[w];
        float[] hi = new float[w];
        float[] lo = new float[w];
        float[] lanes = new float[VectorTokenCosine.LANES];
        double norm = 0;
        for (int call = 0; call < WARM_UP_CALLS; call++) {
            for (int j = 0; j < w; j++) {
                r[j] = (j + call % 7) / 3f;
            }
            norm = VectorTokenCosine.squaredNorm(r, 0, w, lanes);
            VectorTokenCosine.addScaled(r, 0, w, 1f / 3, 0f, hi, lo);
        }
        double expected = squaredNorm(r, 0, w);
        if (!(Math.abs(norm - expected) <= 1e-12 * expected)) {
            throw new IllegalStateException("SIMD token cosine self-check failed: squared norm " + norm + " vs "
                    + expected);
        }
    }

    TokenCosineStat() {
        this(VECTORIZED);
    }

    /** @param vectorized SIMD lanes (only with the vector module) or the double path */
    TokenCosineStat(boolean vectorized) {
        if (vectorized && !VECTORIZED) {
            throw new IllegalArgumentException("SIMD token cosine needs the jdk.incubator.vector module");
        }
        this.vectorized = vectorized;
    }

    void observe(TapTensor t, RowLayout layout) {
        int w = layout.width;
        int blockRows = Math.max(1, BLOCK_FLOATS / Math.max(1, w));
        if (block.length < blockRows * w) {
            block = new float[blockRows * w];
        }
        FloatBuffer data = t.data();
        float[] a = block;
        for (int b = 0; b < layout.batch; b++) {
            startSequence(w);
            int n = 0;
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (layout.real(b, i)) {
                    data.get(layout.offset(b, i), a, n * w, w);
                    if (++n == blockRows) {
                        addRows(a, 0, n);
                        n = 0;
                    }
                }
            }
            addRows(a, 0, n);
            endSequence();
        }
    }

    /** Starts a sequence of rows {@code w} wide. */
    void startSequence(int w) {
        if (width != w) {
            width = w;
            sum = vectorized ? sum : new double[w];
            sumHi = vectorized ? new float[w] : sumHi;
            sumLo = vectorized ? new float[w] : sumLo;
        } else if (vectorized) {
            Arrays.fill(sumHi, 0f);
            Arrays.fill(sumLo, 0f);
        } else {
            Arrays.fill(sum, 0.0);
        }
        rows = 0;
        unitNormsSquared = 0;
    }

    /**
     * Adds {@code count} rows of the current sequence, one after the other from {@code a[from]}; a row of norm 0 has
     * no direction and is left out. The norms come first, so that their sums over lanes do not hold up the scaled
     * adds.
     */
    void addRows(float[] a, int from, int count) {
        int w = width;
        if (norms.length < count) {
            norms = new double[count];
        }
        double[] nrm = norms;
        for (int k = 0, off = from; k < count; k++, off += w) {
            double norm2 = vectorized ? VectorTokenCosine.squaredNorm(a, off, w, lanes) : squaredNorm(a, off, w);
            if (vectorized && !(norm2 >= FLOAT_NORM_MIN && norm2 < Double.POSITIVE_INFINITY)) {
                norm2 = squaredNorm(a, off, w);
            }
            nrm[k] = norm2;
        }
        for (int k = 0, off = from; k < count; k++, off += w) {
            double norm2 = nrm[k];
            if (norm2 == 0) {
                continue;
            }
            double inv = 1.0 / Math.sqrt(norm2);
            if (vectorized) {
                float hi = (float) inv;
                float lo = (float) (inv - hi);
                VectorTokenCosine.addScaled(a, off, w, hi, lo, sumHi, sumLo);
                inv = (double) hi + lo;
            } else {
                double[] s = sum;
                for (int j = 0; j < w; j++) {
                    s[j] += a[off + j] * inv;
                }
            }
            unitNormsSquared += norm2 * inv * inv;
            rows++;
        }
    }

    /** Ends the current sequence: a sequence with two rows of nonzero norm or more adds its mean pairwise cosine. */
    void endSequence() {
        long n = rows;
        if (n < 2) {
            return;
        }
        double total2 = 0;
        if (vectorized) {
            for (int j = 0; j < width; j++) {
                double s = (double) sumHi[j] + sumLo[j];
                total2 += s * s;
            }
        } else {
            for (int j = 0; j < width; j++) {
                total2 += sum[j] * sum[j];
            }
        }
        add((total2 - unitNormsSquared) / ((double) n * (n - 1)));
    }

    /** {@code Σ r[from+j]²} in double, with four running sums so that the adds do not wait on each other. */
    static double squaredNorm(float[] r, int from, int w) {
        double a0 = 0;
        double a1 = 0;
        double a2 = 0;
        double a3 = 0;
        int j = 0;
        for (; j + 3 < w; j += 4) {
            double v0 = r[from + j];
            double v1 = r[from + j + 1];
            double v2 = r[from + j + 2];
            double v3 = r[from + j + 3];
            a0 += v0 * v0;
            a1 += v1 * v1;
            a2 += v2 * v2;
            a3 += v3 * v3;
        }
        for (; j < w; j++) {
            double v = r[from + j];
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
