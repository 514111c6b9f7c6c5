package dev.vigil.probes.stats;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SIMD row loop and the scalar one give the same sums bit for bit (whole vectors and the scalar tail), and their
 * int-key min and max and sign-flip sides are Math.min, Math.max and {@code Math.max(σ·x, 0)} of the floats.
 */
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
            block[2 * w + w - 1] = Float.NEGATIVE_INFINITY;
            block[3 * w] = Float.POSITIVE_INFINITY;
            QuantRows vector = rows(w, rnd);
            QuantRows scalar = rows(w, new Random(0));
            copy(vector, scalar);
            VectorQuantRows.reduce(block, rows, w, 0.37f, vector);
            QuantRows.scalar(block, rows, w, 0, 0.37f, scalar);
            float[][] a = {vector.f1, vector.f2, vector.f3, vector.f4, vector.q1, vector.q3};
            float[][] b = {scalar.f1, scalar.f2, scalar.f3, scalar.f4, scalar.q1, scalar.q3};
            for (int i = 0; i < a.length; i++) {
                assertArrayEquals(b[i], a[i], "width " + w + " accumulator " + i);
            }
            assertArrayEquals(scalar.minKey, vector.minKey, "width " + w + " min");
            assertArrayEquals(scalar.maxKey, vector.maxKey, "width " + w + " max");
            assertAgreesWithFloatOps(block, rows, w, vector);
        }
    }

    @Test
    void orderKeysOrderLikeFloatsAndComeBack() {
        float[] ascending = {Float.NEGATIVE_INFINITY, -3e38f, -1f, -Float.MIN_NORMAL, -Float.MIN_VALUE, -0f, 0f,
                Float.MIN_VALUE, Float.MIN_NORMAL, 1f, 3e38f, Float.POSITIVE_INFINITY};
        for (int i = 0; i < ascending.length; i++) {
            int key = QuantRows.orderKey(Float.floatToRawIntBits(ascending[i]));
            assertEquals(Float.floatToRawIntBits(ascending[i]), Float.floatToRawIntBits(QuantRows.fromKey(key)));
            if (i > 0) {
                assertTrue(QuantRows.orderKey(Float.floatToRawIntBits(ascending[i - 1])) < key, "at " + ascending[i]);
            }
        }
        assertTrue(Float.isNaN(QuantRows.fromKey(QuantRows.NAN_MIN_KEY)));
        assertTrue(Float.isNaN(QuantRows.fromKey(QuantRows.NAN_MAX_KEY)));
        assertEquals(QuantRows.NAN_MIN_KEY, QuantRows.minKey(0, Float.NaN));
        assertEquals(QuantRows.NAN_MAX_KEY, QuantRows.maxKey(0, Float.NaN));
    }

    /** Math.min, Math.max and the float products of the old row loop, channel by channel, in the same order. */
    private static void assertAgreesWithFloatOps(float[] block, int rows, int w, QuantRows s) {
        for (int j = 0; j < w; j++) {
            float lo = Float.POSITIVE_INFINITY;
            float hi = Float.NEGATIVE_INFINITY;
            float q1 = 0f;
            float q3 = 0f;
            float sigma = s.flip[j] == QuantRows.FLIP ? -1f : 1f;
            float sigma3 = s.flip3[j] == QuantRows.FLIP ? -1f : 1f;
            for (int r = 0; r < rows; r++) {
                float v = block[r * w + j];
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                float u = Math.max(sigma * v, 0f);
                float c = Math.max(sigma3 * v, 0f);
                q1 += u;
                q3 += c * c * c;
            }
            assertEquals(Float.floatToRawIntBits(lo), Float.floatToRawIntBits(QuantRows.fromKey(s.minKey[j])),
                    "min " + j);
            assertEquals(Float.floatToRawIntBits(hi), Float.floatToRawIntBits(QuantRows.fromKey(s.maxKey[j])),
                    "max " + j);
            assertEquals(Float.floatToRawIntBits(q1), Float.floatToRawIntBits(s.q1[j]), "side sum " + j);
            assertEquals(Float.floatToRawIntBits(q3), Float.floatToRawIntBits(s.q3[j]), "cubed side sum " + j);
        }
    }

    private static QuantRows rows(int w, Random rnd) {
        QuantRows s = new QuantRows(w);
        Arrays.fill(s.minKey, QuantRows.orderKey(Float.floatToRawIntBits(Float.POSITIVE_INFINITY)));
        Arrays.fill(s.maxKey, QuantRows.orderKey(Float.floatToRawIntBits(Float.NEGATIVE_INFINITY)));
        for (int j = 0; j < w; j++) {
            s.flip[j] = rnd.nextBoolean() ? QuantRows.FLIP : 0;
            s.flip3[j] = rnd.nextBoolean() ? QuantRows.FLIP : 0;
            s.f2[j] = rnd.nextFloat();
        }
        return s;
    }

    private static void copy(QuantRows from, QuantRows to) {
        System.arraycopy(from.flip, 0, to.flip, 0, from.flip.length);
        System.arraycopy(from.flip3, 0, to.flip3, 0, from.flip3.length);
        System.arraycopy(from.f2, 0, to.f2, 0, from.f2.length);
    }
}
