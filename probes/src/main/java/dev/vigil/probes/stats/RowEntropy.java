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

    private RowEntropy() {
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
