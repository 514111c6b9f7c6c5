package dev.vigil.server.protocol;

import com.fasterxml.jackson.core.io.NumberOutput;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FloatText} against two references: Java's own float parser (every text must read back as the very same
 * float) and Jackson's Schubfach writer (the shortest round-tripping decimal, which the text must not exceed but
 * by one digit in a rare exact halfway case above 1e20).
 */
class FloatTextTest {
    private static String text(float f) {
        byte[] buf = new byte[FloatText.MAX_CHARS];
        return new String(buf, 0, FloatText.write(f, buf, 0), StandardCharsets.US_ASCII);
    }

    private static int significantDigits(String s) {
        String mantissa = s.replace("-", "").split("E")[0].replace(".", "");
        mantissa = mantissa.replaceFirst("^0+", "").replaceFirst("0+$", "");
        return Math.max(1, mantissa.length());
    }

    private int longer;

    private void check(float f) {
        String mine = text(f);
        assertEquals(Float.floatToIntBits(f), Float.floatToIntBits(Float.parseFloat(mine)), mine + " for " + f);
        if (mine.contains("E")) {
            // scientific notation has one non-zero digit before the point
            assertTrue(mine.replace("-", "").matches("[1-9]\\.[0-9]+E-?[0-9]+"), mine + " for " + f);
        }
        String shortest = NumberOutput.toString(f, true);
        int extra = significantDigits(mine) - significantDigits(shortest);
        assertTrue(extra <= 1 && (extra <= 0 || Math.abs(f) > 1e20f),
                mine + " is longer than the shortest " + shortest);
        longer += extra > 0 ? 1 : 0;
    }

    @Test
    void handPickedValues() {
        assertEquals("0.0", text(0f));
        assertEquals("-0.0", text(-0f));
        assertEquals("1.0", text(1f));
        assertEquals("0.1", text(0.1f));
        assertEquals("-2.5", text(-2.5f));
        assertEquals("123456.0", text(123456f));
        assertEquals("1234567.0", text(1234567f));
        assertEquals("1.0E7", text(1e7f));
        assertEquals("0.001", text(0.001f));
        assertEquals("1.0E-4", text(1e-4f));
        assertEquals("3.4028235E38", text(Float.MAX_VALUE));
        assertEquals("1.4E-45", text(Float.MIN_VALUE));
        assertEquals("1.1754944E-38", text(Float.MIN_NORMAL));
        assertEquals("0.33333334", text(1f / 3));
        // subnormals whose digits round up to a power of ten keep one digit before the point
        assertEquals("9.977211E-39", text(9.977211E-39f));
        assertEquals("-9.967807E-39", text(-9.967807E-39f));
    }

    @Test
    void everyTextReadsBackAsTheSameFloatAndIsShortest() {
        SplittableRandom random = new SplittableRandom(2024);
        for (int i = 0; i < 300_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isFinite(f)) {
                check(f);
            }
        }
        // activations: the range where a model's outputs live
        for (int i = 0; i < 200_000; i++) {
            check((float) (random.nextGaussian() * Math.pow(10, random.nextInt(-4, 4))));
        }
        // powers of two, where the float below is nearer than the one above, and their neighbours
        for (int e = -149; e <= 127; e++) {
            float f = (float) Math.scalb(1.0, e);
            check(f);
            check(Math.nextUp(f));
            check(Math.nextDown(f));
        }
        assertTrue(longer < 100, longer + " texts longer than the shortest");
    }
}
