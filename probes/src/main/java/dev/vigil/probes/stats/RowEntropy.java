package dev.vigil.probes.stats;

/**
 * The attention statistics' inner loop: {@code Σ p·ln p} of one row of probabilities, adding each {@code p} to its
 * key's mass on the way. In SIMD lanes ({@link VectorRowEntropy}) when the JVM has the {@code jdk.incubator.vector}
 * module ({@code --add-modules jdk.incubator.vector}, as {@code run.sh} and the container start the server), about
 * five times faster; else one value at a time with {@link FastLog}. The JIT does not vectorize the float/int bit
 * reinterpretation a log needs, so plain loops cannot get there. Both logs are within 1e-5 of {@code Math.log}
 * down to 1e-30, so the paths agree to far better than the entropy's 0.01 tolerance.
 */
final class RowEntropy {
    /** Whether {@link #plogp} runs in SIMD lanes. */
    static final boolean VECTORIZED = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    /** Calls after which the JIT has compiled the SIMD kernel (measured: about 6,000). */
    private static final int WARM_UP_CALLS = 20_000;

    static {
        if (VECTORIZED) {
            warmUp();
        }
    }

    private RowEntropy() {
    }

    /** Compiles the SIMD kernel now (class initialization) if it was not yet: call where a delay is harmless. */
    static void prepare() {
        // the static initializer did the work
    }

    /**
     * Until the JIT compiles it, the SIMD kernel is interpreted with an object per vector operation: its first few
     * thousand rows cost milliseconds each, which on the first requests would hold up the probe workers for seconds.
     * So it is compiled here, on a small row, when the first attention site is set up ({@link #prepare}, at model
     * load).
     */
    private static void warmUp() {
        float[] row = new float[32];
        float[] mass = new float[row.length];
        for (int m = 0; m < row.length; m++) {
            row[m] = (m + 1f) / (row.length * (row.length + 1) / 2f);
        }
        float sum = 0f;
        for (int i = 0; i < WARM_UP_CALLS; i++) {
            sum += VectorRowEntropy.plogp(row, 0, row.length, mass);
        }
        if (!(sum < 0f)) {
            throw new IllegalStateException("SIMD attention kernel self-check failed: Σ p·ln p = " + sum);
        }
    }

    /**
     * {@code Σ p·ln p} over {@code row[from .. from+n)}, with {@code mass[m] += row[from+m]} for each {@code m < n}.
     * A NaN or infinite probability makes the sum non-finite; {@code 0·ln 0} is 0.
     */
    static float plogp(float[] row, int from, int n, float[] mass) {
        return VECTORIZED ? VectorRowEntropy.plogp(row, from, n, mass) : scalar(row, from, n, mass);
    }

    /** The path without the vector module; four running sums so that no add waits on the previous one. */
    static float scalar(float[] row, int from, int n, float[] mass) {
        float a0 = 0f;
        float a1 = 0f;
        float a2 = 0f;
        float a3 = 0f;
        int m = 0;
        for (; m + 3 < n; m += 4) {
            float p0 = row[from + m];
            float p1 = row[from + m + 1];
            float p2 = row[from + m + 2];
            float p3 = row[from + m + 3];
            mass[m] += p0;
            mass[m + 1] += p1;
            mass[m + 2] += p2;
            mass[m + 3] += p3;
            a0 += p0 * FastLog.ln(p0);
            a1 += p1 * FastLog.ln(p1);
            a2 += p2 * FastLog.ln(p2);
            a3 += p3 * FastLog.ln(p3);
        }
        for (; m < n; m++) {
            float p = row[from + m];
            mass[m] += p;
            a0 += p * FastLog.ln(p);
        }
        return (a0 + a1) + (a2 + a3);
    }
}
