package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link AbsMedian} against a sort: the exact median and max of {@code |x|} over the real rows, on distributions that
 * the sampled SIMD path finds easy (a smooth bulk), and on those where its sample and bracket must fall back or take
 * several passes (ties, a constant, runs, a bulk of zeros, two far clusters, infinities).
 */
class AbsMedianTest {
    @Test
    void medianAndMaxAreExactOnManyDistributions() {
        assertTrue(AbsMedian.VECTORIZED, "the tests run with jdk.incubator.vector");
        Random rnd = new Random(11);
        AbsMedian m = new AbsMedian();
        for (int trial = 0; trial < 160; trial++) {
            int w = switch (trial % 4) {
                case 0 -> 384;
                case 1 -> 37;
                case 2 -> 16;
                default -> 1 + rnd.nextInt(600);
            };
            int rows = 1 + rnd.nextInt(trial < 40 ? 8 : 160);
            int tapRows = rows + 3;
            float[] tap = new float[tapRows * w];
            int kind = trial % 8;
            for (int k = 0; k < tap.length; k++) {
                tap[k] = value(kind, k, tap.length, rnd);
            }
            // the sequence's real rows: all but three, in order, skipping some
            int[] offsets = new int[rows];
            int skip = rnd.nextInt(tapRows - rows + 1);
            for (int r = 0, row = 0; r < rows; r++, row++) {
                if (r == skip) {
                    row += tapRows - rows;
                }
                offsets[r] = row * w;
            }
            m.compute(direct(tap), offsets, rows, w);
            int n = rows * w;
            double[] abs = new double[n];
            float max = 0f;
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < w; j++) {
                    float a = Math.abs(tap[offsets[r] + j]);
                    abs[r * w + j] = a;
                    max = Math.max(max, a);
                    assertEquals(a, m.values[r * w + j], "trial " + trial + " value " + (r * w + j));
                }
            }
            assertEquals(max, m.max, "trial " + trial + " max");
            assertEquals(Reference.median(abs), m.median, "trial " + trial + " kind " + kind + " n " + n);
        }
    }

    @Test
    void aNaNMakesMaxAndMedianNaN() {
        float[] tap = new float[4096];
        for (int k = 0; k < tap.length; k++) {
            tap[k] = k % 7 - 3;
        }
        tap[1234] = Float.NaN;
        AbsMedian m = new AbsMedian();
        m.compute(direct(tap), new int[] {0, 2048}, 2, 2048);
        assertTrue(Float.isNaN(m.max));
        assertTrue(Double.isNaN(m.median));
    }

    private static float value(int kind, int k, int n, Random rnd) {
        return switch (kind) {
            case 0 -> (float) rnd.nextGaussian();
            case 1 -> (float) (rnd.nextGaussian() * (k % 384 == 7 ? 500 : 0.3) + (k % 11 == 0 ? -0.0 : 0.01));
            case 2 -> rnd.nextInt(3) - 1;
            case 3 -> -2.5f;
            case 4 -> k;
            case 5 -> rnd.nextInt(10) < 6 ? 0f : (float) rnd.nextGaussian();
            case 6 -> rnd.nextBoolean() ? 1e-20f * rnd.nextFloat() : 1e20f * rnd.nextFloat();
            default -> rnd.nextInt(50) == 0 ? Float.NEGATIVE_INFINITY : (float) (rnd.nextGaussian() / 1e3);
        };
    }

    private static FloatBuffer direct(float[] values) {
        FloatBuffer fb = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        fb.put(0, values);
        return fb;
    }
}
