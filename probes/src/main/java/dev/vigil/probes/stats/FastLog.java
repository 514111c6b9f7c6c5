package dev.vigil.probes.stats;

/**
 * Natural log of a positive float without {@code Math.log}: exponent from the bits, and for the mantissa
 * {@code m ∈ [1,2)}, {@code ln m = 2·atanh(z)}, {@code z = (m−1)/(m+1) ∈ [0,1/3]}, by its series to {@code z⁹}
 * (truncation below {@code 2·z¹¹/11 ≈ 1e-6}; with float rounding of {@code e·ln 2}, within 1e-5 absolute down to
 * 1e-30). Zero maps to about −88 so that {@code 0·ln 0} is 0 without a branch;
 * subnormals are treated as if normal (their {@code p·ln p} is below 1e-36).
 */
final class FastLog {
    private static final float LN2 = 0.6931471805599453f;

    private FastLog() {
    }

    static float ln(float x) {
        int bits = Float.floatToRawIntBits(x);
        int exponent = (bits >>> 23) - 127;
        float m = Float.intBitsToFloat((bits & 0x007fffff) | 0x3f800000);
        float z = (m - 1f) / (m + 1f);
        float z2 = z * z;
        float series = z * (2f + z2 * (2f / 3f + z2 * (2f / 5f + z2 * (2f / 7f + z2 * (2f / 9f)))));
        return exponent * LN2 + series;
    }
}
