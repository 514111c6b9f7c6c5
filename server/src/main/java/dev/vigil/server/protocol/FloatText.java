package dev.vigil.server.protocol;

/**
 * Writes a float as JSON number text (ASCII bytes) into a byte array, without allocating: the shortest decimal (at most 9
 * significant digits, which always read back as the same float; rarely one digit more than the shortest, for an exact
 * halfway case above 1e20) that reads back as the same float, in {@link Float#toString}'s
 * layout ({@code 0.001} to below {@code 1.0E7} plainly, else {@code d.dddE±n}). Used for large float outputs, where
 * a String per number (Jackson's way) is most of the response's cost.
 */
final class FloatText {
    /** The most bytes one float takes: sign, 9 digits, point, "E-45". */
    static final int MAX_CHARS = 16;
    private static final int MIN_EXP = -46;
    private static final double[] POW10 = new double[100];
    private static final long[] LONG_POW10 = new long[19];
    /** "00" to "99": the two digits of each number below 100. */
    private static final byte[] DIGIT_PAIRS = new byte[200];

    static {
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = Double.parseDouble("1e" + (i + MIN_EXP));
        }
        for (int i = 0; i < 100; i++) {
            DIGIT_PAIRS[2 * i] = (byte) ('0' + i / 10);
            DIGIT_PAIRS[2 * i + 1] = (byte) ('0' + i % 10);
        }
        LONG_POW10[0] = 1;
        for (int i = 1; i < LONG_POW10.length; i++) {
            LONG_POW10[i] = LONG_POW10[i - 1] * 10;
        }
    }

    private FloatText() {
    }

    private static double pow10(int e) {
        return POW10[e - MIN_EXP];
    }

    /**
     * Writes a finite float at {@code pos}; returns the position after it.
     *
     * @param buf has at least {@link #MAX_CHARS} bytes free from {@code pos}
     */
    static int write(float f, byte[] buf, int pos) {
        if (Float.floatToRawIntBits(f) < 0) {
            buf[pos++] = '-';
            f = -f;
        }
        if (f == 0f) {
            buf[pos++] = '0';
            buf[pos++] = '.';
            buf[pos++] = '0';
            return pos;
        }
        double a = f;
        int e10 = (int) Math.floor(Math.max(Math.getExponent(f), -149) * 0.30102999566398120);
        while (a >= pow10(e10 + 1)) {
            e10++;
        }
        while (a < pow10(e10)) {
            e10--;
        }
        // a decimal reads back as f when it lies strictly within half the gap to each neighbouring float
        // (less a slack far above the double arithmetic's error, ~1e-16 of a, and far below the gap, ~3e-8 of a);
        // a decimal exactly halfway reads back as f when f's significand is even (round half to even)
        int bits = Float.floatToRawIntBits(f);
        double slack = a * 2e-15;
        double up = Math.ulp(f) / 2.0;
        double down = (bits & 0x007FFFFF) == 0 && f > Float.MIN_NORMAL ? up / 2 : up;
        boolean even = (bits & 1) == 0;
        // A decimal that reads back with p digits also does with p + 1, so the shortest is found going down from 8
        // digits (9 always read back): two tries for most activations, which need 8 or 9. A normal float has over 7
        // significant digits, so its nearest 6-digit decimal is the shortest one when that has 6 digits or fewer; a
        // subnormal has fewer.
        int shortest = f < Float.MIN_NORMAL ? 2 : 6;
        int p = 8;
        long digits = nearest(a, p, e10, up, down, slack, even);
        if (digits < 0) {
            p = 9;
            long nine = nearest(a, p, e10, up, down, slack, even);
            digits = nine < 0 ? -nine - 1 : nine;
        } else {
            while (p > shortest) {
                long fewer = nearest(a, p - 1, e10, up, down, slack, even);
                if (fewer < 0) {
                    break;
                }
                digits = fewer;
                p--;
            }
        }
        if (digits == LONG_POW10[p]) {
            // rounded up to the next power of ten: one more leading digit
            digits /= 10;
            e10++;
        }
        int n = p;
        int d = (int) digits;
        while (n > 1 && d % 10 == 0) {
            d /= 10;
            n--;
        }
        return layout(d, n, e10, buf, pos);
    }

    /**
     * The p-digit decimal (digits at decimal exponent e10, possibly 10^p: one more leading digit) that reads back as
     * the float {@code a}: the nearest one, or at a power of two the next one up; its negation minus one when
     * neither does.
     */
    private static long nearest(double a, int p, int e10, double up, double down, double slack, boolean even) {
        int k = p - 1 - e10;
        double scale = pow10(k);
        long digits = (long) Math.rint(a * scale);
        // dividing or multiplying by an exact power of ten keeps exact halfway cases exact
        double diff = (k >= 0 ? digits / scale : digits * pow10(-k)) - a;
        if (fits(diff, up, down, slack, even)) {
            return digits;
        }
        if (diff < 0 && down < up) {
            // at a power of two the gap below is half the gap above: the next decimal up may fit instead
            double next = (k >= 0 ? (digits + 1) / scale : (digits + 1) * pow10(-k)) - a;
            if (digits + 1 < LONG_POW10[p] && fits(next, up, down, slack, even)) {
                return digits + 1;
            }
        }
        return -digits - 1;
    }

    /** Whether a decimal {@code diff} away from the float reads back as it. */
    private static boolean fits(double diff, double up, double down, double slack, boolean even) {
        double gap = diff >= 0 ? up : down;
        double dist = Math.abs(diff);
        return dist < gap - slack || (dist == gap && even);
    }

    /** Writes {@code digits} (n of them, the first at decimal exponent e10) as Float.toString lays them out. */
    private static int layout(int digits, int n, int e10, byte[] buf, int pos) {
        if (e10 >= -3 && e10 < 7) {
            if (e10 >= 0) {
                int intDigits = e10 + 1;
                if (n <= intDigits) {
                    pos = digitsOf(digits, n, buf, pos);
                    for (int i = n; i < intDigits; i++) {
                        buf[pos++] = '0';
                    }
                    buf[pos++] = '.';
                    buf[pos++] = '0';
                } else {
                    // the integer part, then the fraction: written as one run, the point put in after
                    digitsOf(digits, n, buf, pos + 1);
                    System.arraycopy(buf, pos + 1, buf, pos, intDigits);
                    buf[pos + intDigits] = '.';
                    pos += n + 1;
                }
            } else {
                buf[pos++] = '0';
                buf[pos++] = '.';
                for (int i = -1; i > e10; i--) {
                    buf[pos++] = '0';
                }
                pos = digitsOf(digits, n, buf, pos);
            }
            return pos;
        }
        digitsOf(digits, n, buf, pos + 1);
        buf[pos] = buf[pos + 1];
        buf[pos + 1] = '.';
        pos += 2;
        if (n > 1) {
            pos += n - 1;
        } else {
            buf[pos++] = '0';
        }
        buf[pos++] = 'E';
        int e = e10;
        if (e < 0) {
            buf[pos++] = '-';
            e = -e;
        }
        if (e >= 10) {
            buf[pos++] = (byte) ('0' + e / 10);
        }
        buf[pos++] = (byte) ('0' + e % 10);
        return pos;
    }

    /** Writes {@code value} as exactly {@code n} digits (leading zeros kept), two at a time. */
    private static int digitsOf(int value, int n, byte[] buf, int pos) {
        int i = pos + n;
        while (i - pos >= 2) {
            int q = value / 100;
            int r = (value - q * 100) << 1;
            buf[--i] = DIGIT_PAIRS[r + 1];
            buf[--i] = DIGIT_PAIRS[r];
            value = q;
        }
        if (i > pos) {
            buf[--i] = (byte) ('0' + value % 10);
        }
        return pos + n;
    }
}
