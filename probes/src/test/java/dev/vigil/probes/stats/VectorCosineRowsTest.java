package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SIMD cosine row loops against the scalar ones: the unit-row sums bit for bit (the same double operations per
 * channel), the squared norm within a few ulps (only the order of its additions differs); whole vectors and tails.
 */
class VectorCosineRowsTest {
    @Test
    void vectorAndScalarRowLoopsAgree() {
        assertTrue(RowEntropy.VECTORIZED, "the tests run with jdk.incubator.vector");
        Random rnd = new Random(8);
        for (int w : new int[] {384, 37, 5, 1}) {
            for (int trial = 0; trial < 20; trial++) {
                float[] r = new float[w];
                for (int j = 0; j < w; j++) {
                    r[j] = (float) (rnd.nextGaussian() * (j == 3 ? 400 : 1));
                }
                double scalar = TokenCosineStat.squaredNorm(r, w);
                assertEquals(scalar, VectorCosineRows.squaredNorm(r, w), scalar * 1e-15, "width " + w);
                double scale = 1 / Math.sqrt(scalar);
                double[] expected = new double[w];
                double[] actual = new double[w];
                for (int j = 0; j < w; j++) {
                    expected[j] = actual[j] = rnd.nextDouble();
                    expected[j] += r[j] * scale;
                }
                VectorCosineRows.addScaled(r, w, scale, actual);
                assertArrayEquals(expected, actual, "width " + w);
            }
        }
    }
}
