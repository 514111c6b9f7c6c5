package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The SIMD row loop and the scalar one give the same sums bit for bit (whole vectors and the scalar tail). */
class QuantRowsTest {
    @Test
    void vectorAndScalarPathsAgreeBitForBit() {
        assertTrue(QuantRows.VECTORIZED, "the tests run with jdk.incubator.vector");
        Random rnd = new Random(4);
        for (int w : new int[] {384, 37, 5}) {
            int rows = 32;
            float[] block = new float[rows * w];
            for (int i = 0; i < block.length; i++) {
                block[i] = (float) (rnd.nextGaussian() * (i % w == 3 ? 300 : 1) + (i % 7 == 0 ? -0.0 : 0.2));
            }
            block[w + 1] = -0f;
            QuantRows vector = rows(w, rnd);
            QuantRows scalar = rows(w, new Random(0));
            copy(vector, scalar);
            VectorQuantRows.reduce(block, rows, w, 0.37f, vector);
            QuantRows.scalar(block, rows, w, 0, 0.37f, scalar);
            float[][] a = {vector.min, vector.max, vector.f1, vector.f2, vector.f3, vector.f4, vector.q1, vector.q3};
            float[][] b = {scalar.min, scalar.max, scalar.f1, scalar.f2, scalar.f3, scalar.f4, scalar.q1, scalar.q3};
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(b[i], a[i], "width " + w + " accumulator " + i);
            }
        }
    }

    private static QuantRows rows(int w, Random rnd) {
        QuantRows s = new QuantRows(w);
        Arrays.fill(s.min, Float.POSITIVE_INFINITY);
        Arrays.fill(s.max, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < w; j++) {
            s.side[j] = rnd.nextBoolean() ? 1f : -1f;
            s.side3[j] = rnd.nextBoolean() ? 1f : -1f;
            s.f2[j] = rnd.nextFloat();
        }
        return s;
    }

    private static void copy(QuantRows from, QuantRows to) {
        System.arraycopy(from.side, 0, to.side, 0, from.side.length);
        System.arraycopy(from.side3, 0, to.side3, 0, from.side3.length);
        System.arraycopy(from.f2, 0, to.f2, 0, from.f2.length);
    }
}
