package dev.vigil.probes.stats;

/**
 * Natural log of a positive float without {@code Math.log}: exponent from the bits, and {@code ln} of the mantissa
 * {@code m ∈ [1,2)} interpolated linearly in a table of {@value #ENTRIES} points (error below 1.2e-7; with float
 * rounding, within 1e-5 absolute down to 1e-30). Half the cost of the degree-7 polynomial it replaced, which was the
 * attention statistics' largest part. Zero maps to about −88 so that {@code 0·ln 0} is 0 without a branch;
 * subnormals are treated as if normal (their {@code p·ln p} is below 1e-36).
 */
final class FastLog {
    private static final float LN2 = 0.6931471805599453f;
    private static final int BITS = 10;
    private static final int ENTRIES = 1 << BITS;
    private static final int FRACTION_BITS = 23 - BITS;
    private static final float FRACTION_SCALE = 1f / (1 << FRACTION_BITS);
    /** {@code ln(1 + i/ENTRIES)} and the slope to the next point, per table index i. */
    private static final float[] VALUE = new float[ENTRIES];
    private static final float[] SLOPE = new float[ENTRIES];

    static {
        for (int i = 0; i < ENTRIES; i++) {
            double lo = Math.log1p((double) i / ENTRIES);
            double hi = Math.log1p((double) (i + 1) / ENTRIES);
            VALUE[i] = (float) lo;
            SLOPE[i] = (float) (hi - lo);
        }
    }

    private FastLog() {
    }

    static float ln(float x) {
        int bits = Float.floatToRawIntBits(x);
        int i = (bits >>> FRACTION_BITS) & (ENTRIES - 1);
        float f = (bits & ((1 << FRACTION_BITS) - 1)) * FRACTION_SCALE;
        // one rounding for e·ln2 + ln m: near ln p ≈ −69 a float ulp is 7.6e-6
        return Math.fma((float) ((bits >>> 23) - 127), LN2, Math.fma(f, SLOPE[i], VALUE[i]));
    }
}
