package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The error bounds of the approximate estimators, against exact references on large samples: histogram percentiles
 * within 1% and histogram int8 SQNR within 1 dB on distributions shaped like real activations, the fast log within
 * 1e-5 absolute, scalar and SIMD (so Σ p·ln p is off by at most 1e-5 and the normalised entropy by 1.5e-5 ≪ 0.01), and exact
 * medians by selection.
 */
class EstimatorAccuracyTest {
    private static final int N = 200_000;
    private static final int W = 200;

    private static void checkQuant(String name, DoubleSupplier source) {
        float[] x = new float[N];
        double[] xd = new double[N];
        for (int i = 0; i < N; i++) {
            x[i] = (float) source.getAsDouble();
            xd[i] = x[i];
        }
        QuantRangeStat stat = new QuantRangeStat(6.0);
        TapTensor t = new TapTensor(FloatBuffer.wrap(x), new long[] {N / W, W});
        stat.observe(t, RowLayout.of("x", t, new ProbedBatch(N / W, 1, null, Map.of())));
        QuantSnapshot q = stat.snapshot();
        Reference.Quant r = Reference.quant(xd, W, 6.0);
        assertEquals(r.p999(), q.absP999(), 0.01 * r.p999(), name + " p999");
        assertEquals(r.p9999(), q.absP9999(), 0.01 * r.p9999(), name + " p9999");
        assertEquals(r.p99999(), q.absP99999(), 0.01 * r.p99999(), name + " p99999");
        assertEquals(r.sqnrAbsMax(), q.sqnrAbsMaxDb(), 1.0, name + " sqnr absmax");
        assertEquals(r.sqnrPercentile(), q.sqnrPercentileDb(), 1.0, name + " sqnr percentile");
        assertEquals(r.kurtosis(), q.kurtosis(), 1e-6 * r.kurtosis(), name + " kurtosis (float sums)");
    }

    @Test
    void percentilesAndSqnrOnActivationLikeDistributions() {
        Random rnd = new Random(3);
        checkQuant("gaussian", rnd::nextGaussian);
        checkQuant("shifted gaussian", () -> 40 + rnd.nextGaussian());
        checkQuant("laplace", () -> (rnd.nextBoolean() ? 1 : -1) * -Math.log(1 - rnd.nextDouble()));
        checkQuant("lognormal", () -> Math.exp(2 * rnd.nextGaussian()));
        checkQuant("uniform", () -> rnd.nextDouble() * 2 - 1);
        checkQuant("relu", () -> Math.max(0, rnd.nextGaussian()));
        checkQuant("small integers", () -> rnd.nextInt(7) - 3);
        int[] i = {0};
        // LLM-like: Gaussian with two channels carrying massive activations
        checkQuant("massive channels", () -> {
            int ch = i[0]++ % W;
            return ch == 17 || ch == 101 ? 300 + 50 * rnd.nextGaussian() : rnd.nextGaussian();
        });
    }

    @Test
    void fastLogErrorIsBelow1e5() {
        double worst = 0;
        for (float p = 1f; p > 1e-30f; p *= 0.9993f) {
            worst = Math.max(worst, Math.abs(FastLog.ln(p) - Math.log(p)));
        }
        assertTrue(worst < 1e-5, "worst absolute error " + worst);
        assertEquals(0.0, 0f * FastLog.ln(0f), 0.0, "0·ln 0 must be 0");
    }

    @Test
    void vectorLogErrorIsBelow1e5() {
        assertTrue(RowEntropy.VECTORIZED, "the tests run with --add-modules jdk.incubator.vector, as the server does");
        double worst = 0;
        for (float p = 1f; p > 1e-30f; p *= 0.9993f) {
            worst = Math.max(worst, Math.abs(VectorRowEntropy.ln(p) - Math.log(p)));
        }
        assertTrue(worst < 1e-5, "worst absolute error " + worst);
        assertEquals(0.0, 0f * VectorRowEntropy.ln(0f), 0.0, "0·ln 0 must be 0");
    }

    /** Both kernels against double {@code Math.log}, on softmax rows of every length around the SIMD width. */
    @Test
    void rowKernelsMatchTheReference() {
        Random rnd = new Random(9);
        for (int trial = 0; trial < 400; trial++) {
            int n = 1 + rnd.nextInt(trial < 300 ? 70 : 600);
            int from = rnd.nextInt(5);
            float[] row = new float[from + n];
            double total = 0;
            for (int m = 0; m < n; m++) {
                double z = rnd.nextInt(4) == 0 ? 0 : Math.exp(rnd.nextGaussian() * 4);
                row[from + m] = (float) z;
                total += z;
            }
            double expected = 0;
            for (int m = 0; m < n; m++) {
                row[from + m] = total == 0 ? 0f : (float) (row[from + m] / total);
                double p = row[from + m];
                expected += p == 0 ? 0 : p * Math.log(p);
            }
            float[] scalarMass = new float[n];
            float[] vectorMass = new float[n];
            java.util.Arrays.fill(scalarMass, 1f);
            java.util.Arrays.fill(vectorMass, 1f);
            float scalar = RowEntropy.scalar(row, from, n, scalarMass);
            float vector = VectorRowEntropy.plogp(row, from, n, vectorMass);
            // 1e-5 from the log (Σ p = 1), the rest from float sums over n terms
            double tol = 1e-5 + n * 1e-7 * Math.max(1, Math.abs(expected));
            assertEquals(expected, scalar, tol, "scalar, n=" + n);
            assertEquals(expected, vector, tol, "vector, n=" + n);
            for (int m = 0; m < n; m++) {
                assertEquals(1f + row[from + m], scalarMass[m], 0f, "scalar mass " + m);
                assertEquals(1f + row[from + m], vectorMass[m], 0f, "vector mass " + m);
            }
        }
        float[] bad = {0.5f, Float.NaN, 0.5f};
        assertTrue(Float.isNaN(RowEntropy.scalar(bad, 0, 3, new float[3])));
        assertTrue(Float.isNaN(VectorRowEntropy.plogp(bad, 0, 3, new float[3])));
        float[] wide = new float[64];
        wide[40] = Float.POSITIVE_INFINITY;
        assertTrue(!Float.isFinite(VectorRowEntropy.plogp(wide, 0, 64, new float[64])), "infinity in a SIMD lane");
    }

    @Test
    void selectionMedianIsExact() {
        Random rnd = new Random(5);
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(trial < 200 ? 200 : 20000);
            float[] a = new float[n];
            int kind = trial % 4;
            for (int k = 0; k < n; k++) {
                a[k] = switch (kind) {
                    case 0 -> (float) Math.abs(rnd.nextGaussian());
                    case 1 -> rnd.nextInt(3);
                    case 2 -> k;
                    default -> n - k;
                };
            }
            double[] d = new double[n];
            for (int k = 0; k < n; k++) {
                d[k] = a[k];
            }
            float[] before = a.clone();
            double median = Selection.medianOfNonNegative(a, n, new float[n], new int[Selection.RADIX_BUCKETS]);
            assertEquals(Reference.median(d), median, "trial " + trial);
            assertArrayEquals(before, a, "the input is left as it is");
        }
    }
}
