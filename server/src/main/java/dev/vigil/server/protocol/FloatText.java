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

    static {
        for (int i = 0; i < POW10.length; i++) {
            POW10[i] = Double.parseDouble("1e" + (i + MIN_EXP));
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
        long digits = 0;
        // a normal float has over 7 significant digits, so its nearest 6-digit decimal is the shortest one when that
        // has 6 digits or fewer; a subnormal has fewer
        int p = f < Float.MIN_NORMAL ? 2 : 6;
        for (; p <= 9; p++) {
            int k = p - 1 - e10;
            double scale = pow10(k);
            digits = (long) Math.rint(a * scale);
            if (digits >= LONG_POW10[p]) {
                // rounded up to the next power of ten: one more leading digit
                e10++;
                p--;
                continue;
            }
            // dividing or multiplying by an exact power of ten keeps exact halfway cases exact
            double diff = (k >= 0 ? digits / scale : digits * pow10(-k)) - a;
            if (p == 9 || fits(diff, up, down, slack, even)) {
                break;
            }
            if (diff < 0 && down < up) {
                // at a power of two the gap below is half the gap above: the next decimal up may fit instead
                double next = (k >= 0 ? (digits + 1) / scale : (digits + 1) * pow10(-k)) - a;
                if (digits + 1 < LONG_POW10[p] && fits(next, up, down, slack, even)) {
                    digits++;
                    break;
                }
            }
        }
        int n = p;
        while (n > 1 && digits % 10 == 0) {
            digits /= 10;
            n--;
        }
        return layout(digits, n, e10, buf, pos);
    }

    /** Whether a decimal {@code diff} away from the float reads back as it. */
    private static boolean fits(double diff, double up, double down, double slack, boolean even) {
        double gap = diff >= 0 ? up : down;
        double dist = Math.abs(diff);
        return dist < gap - slack || (dist == gap && even);
    }

    /** Writes {@code digits} (n of them, the first at decimal exponent e10) as Float.toString lays them out. */
    private static int layout(long digits, int n, int e10, byte[] buf, int pos) {
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
                    pos = digitsOf(digits / LONG_POW10[n - intDigits], intDigits, buf, pos);
                    buf[pos++] = '.';
                    pos = digitsOf(digits % LONG_POW10[n - intDigits], n - intDigits, buf, pos);
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
        pos = digitsOf(digits / LONG_POW10[n - 1], 1, buf, pos);
        buf[pos++] = '.';
        if (n > 1) {
            pos = digitsOf(digits % LONG_POW10[n - 1], n - 1, buf, pos);
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

    /** Writes {@code value} as exactly {@code n} digits (leading zeros kept). */
    private static int digitsOf(long value, int n, byte[] buf, int pos) {
        for (int i = pos + n - 1; i >= pos; i--) {
            buf[i] = (byte) ('0' + value % 10);
            value /= 10;
        }
        return pos + n;
    }
}
