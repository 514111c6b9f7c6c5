package dev.vigil.probes.stats;

/**
 * Natural log of a positive float without {@code Math.log} or a division: exponent from the bits, and for the
 * mantissa {@code m = 1 + t ∈ [1,2)} a degree-7 least-squares polynomial for {@code ln(1+t)} fitted on Chebyshev
 * nodes (error 2.6e-7; with float rounding of {@code e·ln 2}, within 1e-5 absolute down to 1e-30). Zero maps to about
 * −88 so that {@code 0·ln 0} is 0 without a branch; subnormals are treated as if normal (their {@code p·ln p} is
 * below 1e-36).
 */
final class FastLog {
    private static final float LN2 = 0.6931471805599453f;
    private static final float C1 = 0.9999785162766246f;
    private static final float C2 = -0.4994232971539415f;
    private static final float C3 = 0.3279371811875155f;
    private static final float C4 = -0.22500693106121572f;
    private static final float C5 = 0.13335115835347847f;
    private static final float C6 = -0.054175141702919635f;
    private static final float C7 = 0.01048587235635505f;

    private FastLog() {
    }

    static float ln(float x) {
        int bits = Float.floatToRawIntBits(x);
        int exponent = (bits >>> 23) - 127;
        float t = Float.intBitsToFloat((bits & 0x007fffff) | 0x3f800000) - 1f;
        float poly = t * (C1 + t * (C2 + t * (C3 + t * (C4 + t * (C5 + t * (C6 + t * C7))))));
        return exponent * LN2 + poly;
    }
}
