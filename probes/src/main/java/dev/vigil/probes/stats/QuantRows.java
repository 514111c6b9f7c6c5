package dev.vigil.probes.stats;

/**
 * The per-channel float accumulators of {@link QuantRangeStat}'s row loop and the loop itself: over a block of rows,
 * each channel's min and max, the sums of {@code d, d², d³, d⁴} ({@code d = x − k}) and of the summed sides
 * {@code max(σ·x, 0)}, {@code max(σ₃·x, 0)³}. In SIMD lanes ({@link VectorQuantRows}) when the JVM has the
 * {@code jdk.incubator.vector} module, else in loops the JIT vectorizes; both give the same sums bit for bit.
 */
final class QuantRows {
    /** Whether {@link #reduce} runs in SIMD lanes. */
    static final boolean VECTORIZED = RowEntropy.VECTORIZED;

    final float[] min;
    final float[] max;
    final float[] f1;
    final float[] f2;
    final float[] f3;
    final float[] f4;
    final float[] q1;
    final float[] q3;
    /** σ and σ₃ per channel, {@code ±1}. */
    final float[] side;
    final float[] side3;
    /** One row at a time for {@link #scalar}: indexed like the accumulators, its loops vectorize. */
    private final float[] row;

    QuantRows(int w) {
        row = new float[w];
        min = new float[w];
        max = new float[w];
        f1 = new float[w];
        f2 = new float[w];
        f3 = new float[w];
        f4 = new float[w];
        q1 = new float[w];
        q3 = new float[w];
        side = new float[w];
        side3 = new float[w];
    }

    /** Adds {@code rows} rows of {@code block} ({@code w} channels each, row after row) to the accumulators. */
    void reduce(float[] block, int rows, int w, float k) {
        if (VECTORIZED) {
            VectorQuantRows.reduce(block, rows, w, k, this);
        } else {
            scalar(block, rows, w, 0, k, this);
        }
    }

    /** Channels {@code from..w-1}: row by row, each loop small enough for the JIT to unroll and vectorize. */
    static void scalar(float[] block, int rows, int w, int from, float k, QuantRows s) {
        float[] lo = s.min;
        float[] hi = s.max;
        float[] f1 = s.f1;
        float[] f2 = s.f2;
        float[] f3 = s.f3;
        float[] f4 = s.f4;
        float[] q1 = s.q1;
        float[] q3 = s.q3;
        float[] sg = s.side;
        float[] sg3 = s.side3;
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
    }
}
