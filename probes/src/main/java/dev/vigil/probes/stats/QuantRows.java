package dev.vigil.probes.stats;

import java.util.Arrays;

/**
 * The per-channel accumulators of {@link QuantRangeStat} and the loops over them. The row loop ({@link #reduce}), over
 * a block of rows: each channel's min and max, the float sums of {@code d, d², d³, d⁴} ({@code d = x − k}) and of the
 * summed sides {@code max(σ·x, 0)}, {@code max(σ₃·x, 0)³}. The min and max are kept as {@link #orderKey order keys},
 * ints that order like the floats, and the sides as sign flips: the SIMD path takes them with int operations, because
 * the Vector API's float min, max and {@code max(·, 0)}, which keep Java's NaN and signed-zero rules, cost several
 * instructions per lane and an int one a single instruction (its row loop ran 1.6× longer with the float ones). The
 * block close ({@link #widen}): the block's float sums added to the request's double ones and the floats restarted,
 * six widening adds per channel. The request close ({@link #close}): the request's sums moved by binomial expansion
 * into the window's shifted sums and the cumulative counters; the moves are linear in the sums, so moving the
 * request's total once equals moving each block. The row loop runs in SIMD lanes ({@link VectorQuantRows}) when the
 * JVM has the {@code jdk.incubator.vector} module, else in plain loops; both add the same values in the same order, so
 * for values that are not NaN they give the same sums, mins and maxes bit for bit.
 */
final class QuantRows {
    /** Whether {@link #reduce} runs in SIMD lanes. */
    static final boolean VECTORIZED = RowEntropy.VECTORIZED;
    /** The sign bit: {@code bits ^ FLIP} is {@code −x}. */
    static final int FLIP = 0x80000000;
    /** Keys below and above every float's: a channel that saw a NaN holds them, so its min and max read as NaN. */
    static final int NAN_MIN_KEY = Integer.MIN_VALUE;
    static final int NAN_MAX_KEY = Integer.MAX_VALUE;

    /** Each channel's min and max as {@link #orderKey order keys}. */
    final int[] minKey;
    final int[] maxKey;
    /** The block's sums of {@code d, d², d³, d⁴}, and of the summed sides {@code Σt}, {@code Σt³}. */
    final float[] f1;
    final float[] f2;
    final float[] f3;
    final float[] f4;
    final float[] q1;
    final float[] q3;
    /** σ and σ₃ per channel as the sign bit they flip: {@link #FLIP} for σ = −1, 0 for σ = +1. */
    final int[] flip;
    final int[] flip3;
    /** The request's sums of {@code d, d², d³, d⁴} and of the summed sides, in double. */
    final double[] r1;
    final double[] r2;
    final double[] r3;
    final double[] r4;
    final double[] rq1;
    final double[] rq3;
    /** The window's sums of {@code (x − K)^p}, K its shift. */
    final double[] c1;
    final double[] c2;
    final double[] c3;
    final double[] c4;
    /** Σmax(x,0), Σmax(−x,0), Σx², Σmax(x,0)³, Σmax(−x,0)³, Σx⁴ since start (never reset). */
    final double[] tp1;
    final double[] tn1;
    final double[] t2;
    final double[] tp3;
    final double[] tn3;
    final double[] t4;
    /** One row at a time for {@link #scalar}: indexed like the accumulators, its loops vectorize. */
    private final float[] row;
    /** {@link #scalar}'s min, max, σ and σ₃ as floats. */
    private final float[] low;
    private final float[] high;
    private final float[] sigma;
    private final float[] sigma3;

    QuantRows(int w) {
        row = new float[w];
        low = new float[w];
        high = new float[w];
        sigma = new float[w];
        sigma3 = new float[w];
        minKey = new int[w];
        maxKey = new int[w];
        f1 = new float[w];
        f2 = new float[w];
        f3 = new float[w];
        f4 = new float[w];
        q1 = new float[w];
        q3 = new float[w];
        flip = new int[w];
        flip3 = new int[w];
        r1 = new double[w];
        r2 = new double[w];
        r3 = new double[w];
        r4 = new double[w];
        rq1 = new double[w];
        rq3 = new double[w];
        c1 = new double[w];
        c2 = new double[w];
        c3 = new double[w];
        c4 = new double[w];
        tp1 = new double[w];
        tn1 = new double[w];
        t2 = new double[w];
        tp3 = new double[w];
        tn3 = new double[w];
        t4 = new double[w];
    }

    /** Adds {@code rows} rows of {@code block} ({@code w} channels each, row after row) to the accumulators. */
    void reduce(float[] block, int rows, int w, float k) {
        if (VECTORIZED) {
            VectorQuantRows.reduce(block, rows, w, k, this);
        } else {
            scalar(block, rows, w, 0, k, this);
        }
    }

    /**
     * Channels {@code from..w-1}: row by row, each loop small enough for the JIT to unroll and vectorize. The JIT does
     * not vectorize a float's bits as an int, so here the min, max and sides are float operations on floats taken
     * from the keys and flips once per call; for values that are not NaN they give the same floats as the SIMD
     * path's int operations (a request with a NaN has its min, max and counters set again element by element).
     */
    static void scalar(float[] block, int rows, int w, int from, float k, QuantRows s) {
        float[] lo = s.low;
        float[] hi = s.high;
        float[] sg = s.sigma;
        float[] sg3 = s.sigma3;
        for (int j = from; j < w; j++) {
            lo[j] = fromKey(s.minKey[j]);
            hi[j] = fromKey(s.maxKey[j]);
            sg[j] = s.flip[j] == FLIP ? -1f : 1f;
            sg3[j] = s.flip3[j] == FLIP ? -1f : 1f;
        }
        float[] f1 = s.f1;
        float[] f2 = s.f2;
        float[] f3 = s.f3;
        float[] f4 = s.f4;
        float[] q1 = s.q1;
        float[] q3 = s.q3;
        float[] x = s.row;
        for (int r = 0, off = 0; r < rows; r++, off += w) {
            System.arraycopy(block, off + from, x, from, w - from);
            for (int j = from; j < w; j++) {
                float v = x[j];
                lo[j] = Math.min(lo[j], v);
                hi[j] = Math.max(hi[j], v);
                float d = v - k;
                float d2 = d * d;
                f1[j] += d;
                f2[j] += d2;
                f3[j] += d2 * d;
                f4[j] += d2 * d2;
            }
            for (int j = from; j < w; j++) {
                float v = x[j];
                float u = Math.max(sg[j] * v, 0f);
                float c = Math.max(sg3[j] * v, 0f);
                q1[j] += u;
                q3[j] += c * c * c;
            }
        }
        for (int j = from; j < w; j++) {
            s.minKey[j] = orderKey(Float.floatToRawIntBits(lo[j]));
            s.maxKey[j] = orderKey(Float.floatToRawIntBits(hi[j]));
        }
    }

    /**
     * The float with raw bits {@code bits} as an int that orders like it ({@code −0.0 < +0.0}; a NaN with the sign bit
     * clear above +∞, with it set below −∞): the magnitude bits of a negative float are flipped. Its own inverse.
     */
    static int orderKey(int bits) {
        return bits ^ ((bits >> 31) >>> 1);
    }

    /** The float an {@link #orderKey order key} stands for. */
    static float fromKey(int key) {
        return Float.intBitsToFloat(orderKey(key));
    }

    /** {@code Math.min} of the float {@code key} stands for and {@code v}, as a key (NaN wins, as in Math.min). */
    static int minKey(int key, float v) {
        return Float.isNaN(v) ? NAN_MIN_KEY : Math.min(key, orderKey(Float.floatToRawIntBits(v)));
    }

    /** {@code Math.max} of the float {@code key} stands for and {@code v}, as a key (NaN wins, as in Math.max). */
    static int maxKey(int key, float v) {
        return Float.isNaN(v) ? NAN_MAX_KEY : Math.max(key, orderKey(Float.floatToRawIntBits(v)));
    }

    /**
     * Sets each channel's sides for a request from its first block ({@code n} rows of {@code block}): the opposite
     * signs of its Σx and Σx³ over them (from the request alone, so that its counters do not depend on what came
     * before). Each row is copied to {@link #row} first: read at an offset, a float array the JIT cannot tell apart
     * from the sums is not vectorized.
     */
    void chooseSides(float[] block, int n, int w) {
        float[] x = row;
        for (int r = 0, off = 0; r < n; r++, off += w) {
            System.arraycopy(block, off, x, 0, w);
            for (int j = 0; j < w; j++) {
                float v = x[j];
                q1[j] += v;
                q3[j] += v * v * v;
            }
        }
        for (int j = 0; j < w; j++) {
            // σ = −sign(Σx): flip the sign bit of the channel's values when their sum's is clear
            flip[j] = ~Float.floatToRawIntBits(q1[j]) & FLIP;
            flip3[j] = ~Float.floatToRawIntBits(q3[j]) & FLIP;
        }
        Arrays.fill(q1, 0f);
        Arrays.fill(q3, 0f);
    }

    /** Whether every request sum of {@code d⁴} is finite, so that the request holds finite values only. */
    boolean finite(int w) {
        double nan = 0;
        for (int j = 0; j < w; j++) {
            nan += r4[j] - r4[j];
        }
        return nan == 0;
    }

    /** Adds the block's float sums to the request's double ones and restarts them. */
    void widen(int w) {
        for (int j = 0; j < w; j++) {
            r1[j] += f1[j];
            r2[j] += f2[j];
            r3[j] += f3[j];
            r4[j] += f4[j];
            rq1[j] += q1[j];
            rq3[j] += q3[j];
            f1[j] = 0f;
            f2[j] = 0f;
            f3[j] = 0f;
            f4[j] = 0f;
            q1[j] = 0f;
            q3[j] = 0f;
        }
    }

    /**
     * Closes a request's {@code n} rows summed shifted by {@code k} (its sums widened into {@link #r1}…): adds them to
     * the window's ({@code delta = k −} the window's shift) and, where {@code counters}, to the cumulative counters
     * with the request's sides; then restarts the request's sums. One pass over the channels.
     */
    void close(int w, double n, double k, double delta, boolean counters) {
        for (int j = 0; j < w; j++) {
            double d1 = r1[j];
            double d2 = r2[j];
            double d3 = r3[j];
            double d4 = r4[j];
            if (counters) {
                double s1 = d1 + n * k;
                double s2 = d2 + k * (2 * d1 + n * k);
                double s3 = d3 + k * (3 * d2 + k * (3 * d1 + n * k));
                double s4 = d4 + k * (4 * d3 + k * (6 * d2 + k * (4 * d1 + n * k)));
                double u1 = rq1[j];
                double u3 = rq3[j];
                // σ = −1: the summed side is the negative one, the positive one is Σx plus it; σ = +1 the converse
                double toPositive = flip[j] == FLIP ? 1 : 0;
                double toPositive3 = flip3[j] == FLIP ? 1 : 0;
                tp1[j] += Math.max(0.0, u1 + toPositive * s1);
                tn1[j] += Math.max(0.0, u1 - (1 - toPositive) * s1);
                tp3[j] += Math.max(0.0, u3 + toPositive3 * s3);
                tn3[j] += Math.max(0.0, u3 - (1 - toPositive3) * s3);
                t2[j] += Math.max(0.0, s2);
                t4[j] += Math.max(0.0, s4);
            }
            c1[j] += d1 + n * delta;
            c2[j] += d2 + delta * (2 * d1 + n * delta);
            c3[j] += d3 + delta * (3 * d2 + delta * (3 * d1 + n * delta));
            c4[j] += d4 + delta * (4 * d3 + delta * (6 * d2 + delta * (4 * d1 + n * delta)));
            r1[j] = 0.0;
            r2[j] = 0.0;
            r3[j] = 0.0;
            r4[j] = 0.0;
            rq1[j] = 0.0;
            rq3[j] = 0.0;
        }
    }
}
