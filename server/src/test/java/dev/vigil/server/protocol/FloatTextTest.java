package dev.vigil.server.protocol;

import com.fasterxml.jackson.core.io.NumberOutput;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FloatText} against independent references: Java's own float parser (every text must read back as the
 * very same float), a brute-force search over decimals of 1 to 9 digits with {@link BigDecimal} (the text must be
 * the decimal Java 19+'s {@code Float.toString} specifies: the fewest digits, at least two, that read back, the
 * closest of those, a tie to the even digit), Jackson's Schubfach writer (the same text) and {@code Float.toString}'s
 * layout.
 */
class FloatTextTest {
    private static final Pattern JSON_NUMBER = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]+)?");
    private static final Pattern SCIENTIFIC = Pattern.compile("-?[1-9]\\.[0-9]+E-?[1-9][0-9]?");
    private static final Pattern PLAIN = Pattern.compile("-?[0-9]+\\.[0-9]+");

    /** Exactly the room a write is allowed: a store past it throws. */
    private final byte[] buf = new byte[FloatText.ROOM];

    private String text(float f) {
        int end = FloatText.write(f, buf, 0);
        assertTrue(end <= 15, "more than sign, 9 digits, point and E-45 for " + f);
        return new String(buf, 0, end, StandardCharsets.US_ASCII);
    }

    /** The text reads back as the same float. */
    private String checkRoundTrip(float f) {
        String mine = text(f);
        if (Float.floatToRawIntBits(Float.parseFloat(mine)) != Float.floatToRawIntBits(f)) {
            throw new AssertionError(mine + " does not read back as bits "
                    + Integer.toHexString(Float.floatToRawIntBits(f)));
        }
        return mine;
    }

    /** As {@link #checkRoundTrip}, and the text is a JSON number laid out as Float.toString does. */
    private String checkRoundTripAndLayout(float f) {
        String mine = checkRoundTrip(f);
        float a = Math.abs(f);
        boolean plain = a == 0 || (a >= 1e-3f && a < 1e7f);
        if (!JSON_NUMBER.matcher(mine).matches() || !(plain ? PLAIN : SCIENTIFIC).matcher(mine).matches()) {
            throw new AssertionError(mine + " is not laid out as Float.toString for " + f);
        }
        return mine;
    }

    /** The decimal Float.toString specifies (Java 19+), found by trying every decimal of 1 to 9 digits near f. */
    private static BigDecimal reference(float f) {
        BigDecimal exact = new BigDecimal(f);
        BigDecimal best = null;
        for (int n = 1; n <= 9; n++) {
            for (RoundingMode mode : new RoundingMode[]{RoundingMode.FLOOR, RoundingMode.CEILING}) {
                BigDecimal candidate = exact.round(new MathContext(n, mode));
                if (Float.floatToRawIntBits(Float.parseFloat(candidate.toString())) == Float.floatToRawIntBits(f)) {
                    best = closer(exact, best, candidate);
                }
            }
            // with one digit enough, two-digit decimals compete too: return after two digits at the earliest
            if (best != null && n >= 2) {
                return best;
            }
        }
        return best;
    }

    private static BigDecimal closer(BigDecimal exact, BigDecimal a, BigDecimal b) {
        if (a == null) {
            return b;
        }
        int cmp = a.subtract(exact).abs().compareTo(b.subtract(exact).abs());
        if (cmp != 0) {
            return cmp < 0 ? a : b;
        }
        // equally near: the one whose last digit is even
        return a.unscaledValue().testBit(0) ? b : a;
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
        assertEquals("-3.4028235E38", text(-Float.MAX_VALUE));
        assertEquals("1.4E-45", text(Float.MIN_VALUE));
        assertEquals("1.1754944E-38", text(Float.MIN_NORMAL));
        assertEquals("0.33333334", text(1f / 3));
        assertEquals("1.6777216E7", text(16777216f));
        // 2^-1 written whole, 2^-10 = 0.0009765625 needs all its digits less the ones no float is that near
        assertEquals("0.5", text(0.5f));
        assertEquals("9.765625E-4", text(0x1p-10f));
        // 21 * 2^-149 = 2.94...E-44: 3.0E-44 reads back too, but with one digit enough the nearest of two is taken
        assertEquals("2.9E-44", text(Float.intBitsToFloat(21)));
        // subnormals whose digits round up to a power of ten keep one digit before the point
        assertEquals("9.977211E-39", text(9.977211E-39f));
        assertEquals("-9.967807E-39", text(-9.967807E-39f));
    }

    @Test
    void randomBitPatternsReadBackAsTheSameFloat() {
        SplittableRandom random = new SplittableRandom(2024);
        int checked = 0;
        for (int i = 0; i < 2_000_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt());
            if (Float.isFinite(f)) {
                checkRoundTrip(f);
                checked++;
            }
        }
        assertTrue(checked > 1_900_000);
    }

    @Test
    void edgeCasesReadBackAsTheSameFloat() {
        for (float f : edgeCases()) {
            checkRoundTripAndLayout(f);
            checkRoundTripAndLayout(-f);
        }
    }

    @Test
    void digitsAreTheShortestAndClosestByBruteForce() {
        SplittableRandom random = new SplittableRandom(99);
        float[] edges = edgeCases();
        for (int i = 0; i < edges.length; i += 10) {
            checkDigits(edges[i]);
        }
        for (int i = 0; i < 15_000; i++) {
            checkDigits(Float.intBitsToFloat(random.nextInt(0x7F800000)));
            // activations: the range where a model's outputs live
            checkDigits((float) (random.nextGaussian() * Math.pow(10, random.nextInt(-4, 4))));
        }
        // short decimals, where a shorter or a nearer decimal is most often at hand
        for (int i = 0; i < 10_000; i++) {
            checkDigits(Float.parseFloat(random.nextInt(1, 10_000) + "E" + random.nextInt(-45, 35)));
        }
    }

    private void checkDigits(float f) {
        String mine = checkRoundTripAndLayout(f);
        BigDecimal expected = reference(f);
        if (new BigDecimal(mine).compareTo(expected) != 0) {
            throw new AssertionError(mine + " for bits " + Integer.toHexString(Float.floatToRawIntBits(f))
                    + ", the shortest nearest decimal is " + expected);
        }
    }

    @Test
    void sameTextAsJacksonsSchubfachWriter() {
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 300_000; i++) {
            float f = Float.intBitsToFloat(random.nextInt(0x7F800000));
            String mine = text(f);
            String jackson = NumberOutput.toString(f, true);
            if (!mine.equals(jackson)) {
                assertEquals(jackson, mine, "bits " + Integer.toHexString(Float.floatToRawIntBits(f)));
            }
        }
    }

    /**
     * Subnormals of few bits, the normal range's ends, powers of two (the float below is nearer than the one above)
     * and of ten with their neighbours, integers and the floats around 2^24 where they stop being consecutive.
     */
    private static float[] edgeCases() {
        java.util.List<Float> all = new java.util.ArrayList<>();
        for (int bits = 1; bits < 2000; bits++) {
            all.add(Float.intBitsToFloat(bits));
        }
        for (int bits = 0x007FFF00; bits < 0x00800100; bits++) {
            all.add(Float.intBitsToFloat(bits));
        }
        for (int bits = 0x7F7FFF00; bits <= 0x7F7FFFFF; bits++) {
            all.add(Float.intBitsToFloat(bits));
        }
        for (int e = -149; e <= 127; e++) {
            float f = (float) Math.scalb(1.0, e);
            all.add(f);
            all.add(Math.nextUp(f));
            all.add(Math.nextDown(f));
        }
        for (int e = -45; e <= 38; e++) {
            float f = Float.parseFloat("1E" + e);
            all.add(f);
            all.add(Math.nextUp(f));
            all.add(Math.nextDown(f));
        }
        for (int i = 1; i <= 100_000; i++) {
            all.add((float) i);
        }
        for (int i = (1 << 24) - 1000; i < (1 << 24) + 1000; i++) {
            all.add((float) i);
        }
        float[] out = new float[all.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = all.get(i);
        }
        return out;
    }
}
