package dev.vigil.server.protocol;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.nio.ByteOrder;

/**
 * Writes a float as JSON number text (ASCII bytes) into a byte array, without allocating: the decimal that
 * {@link Float#toString} writes from Java 19 on, in the same layout ({@code 0.001} to below {@code 1.0E7} plainly,
 * else {@code d.dddE±n}). That decimal reads back as the same float and has the fewest significant digits that do
 * (where one digit would do, the nearer of one or two: {@code 1.4E-45}, not {@code 1.0E-45}); among those of that
 * length it is the closest to the float, a tie going to the even last digit. Used for large float outputs, where a
 * String per number (Jackson's way) is most of the response's cost.
 *
 * <p>The digits come from Raffaello Giulietti's Schubfach method: with {@code k} chosen so that the interval of
 * reals that round to the float is between 1 and 10 units of {@code 10^k} wide, the interval's ends and the float
 * are scaled by {@code 10^-k} with one 64-bit multiplication each (a 63-bit upper approximation of a power of ten
 * from a table, the product rounded to odd so that it still compares exactly with integers); the answer is then
 * the one multiple of 10 units inside the interval, if any, else the nearer of the two units around the float.
 * Java 17's own {@code Float.toString} is slower and sometimes one digit longer.
 *
 * <p>Checked on 2026-12-02 against {@code Float.toString} of JDK 25 for all 2<sup>32</sup> bit patterns: the same
 * text for every one of the 4,278,190,080 finite floats.
 */
final class FloatText {
    /**
     * The bytes one write may touch: its text takes at most 15 (sign, 9 digits, point, "E-45"), and its 8-byte
     * stores reach 2 further.
     */
    static final int ROOM = 17;
    /** The smallest and largest power of ten the scaling uses (a subnormal of up to 7 units uses 10^46). */
    private static final int K_MIN = -46;
    private static final int K_MAX = 31;
    /** Fraction bits kept of a scaled value: enough to tell an integer from a non-integer for every float. */
    private static final int FRACTION_BITS = 31;
    private static final long FRACTION_MASK = (1L << FRACTION_BITS) - 1;
    /** G[k - K_MIN] * 2^e is 10^-k rounded up, with 2^62 <= G < 2^63 (63 significant bits). */
    private static final long[] G = new long[K_MAX - K_MIN + 1];
    /**
     * SHIFT[k - K_MIN] + q: how far a float's scaled significand is shifted left before the multiplication, so that
     * the product's high word holds f * 10^-k with FRACTION_BITS fraction bits (64 + FRACTION_BITS + e).
     */
    private static final int[] SHIFT = new int[K_MAX - K_MIN + 1];
    private static final int[] INT_POW10 = new int[10];
    /** Stores 8 bytes at once into a byte array, the lowest byte first. */
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Added to each byte of {@link #eightDigits}: '0' is 0x30. */
    private static final long ASCII_ZEROS = 0x30303030_30303030L;
    /** "0.000000" as a little-endian long. */
    private static final long ZERO_POINT_ZEROS = 0x30303030_30302E30L;
    /** "00" to "99": the two digits of each number below 100. */
    private static final byte[] DIGIT_PAIRS = new byte[200];

    static {
        for (int k = K_MIN; k <= K_MAX; k++) {
            BigInteger g;
            int e;
            if (k <= 0) {
                BigInteger p = BigInteger.TEN.pow(-k);
                e = p.bitLength() - 63;
                g = (e >= 0 ? p.shiftRight(e) : p.shiftLeft(-e)).add(BigInteger.ONE);
            } else {
                BigInteger p = BigInteger.TEN.pow(k);
                e = -(62 + p.bitLength());
                g = BigInteger.ONE.shiftLeft(-e).divide(p).add(BigInteger.ONE);
            }
            G[k - K_MIN] = g.longValueExact();
            SHIFT[k - K_MIN] = 64 + FRACTION_BITS + e;
        }
        INT_POW10[0] = 1;
        for (int i = 1; i < INT_POW10.length; i++) {
            INT_POW10[i] = INT_POW10[i - 1] * 10;
        }
        for (int i = 0; i < 100; i++) {
            DIGIT_PAIRS[2 * i] = (byte) ('0' + i / 10);
            DIGIT_PAIRS[2 * i + 1] = (byte) ('0' + i % 10);
        }
    }

    private FloatText() {
    }

    /**
     * Writes a finite float at {@code pos}; returns the position after it.
     *
     * @param buf has at least {@link #ROOM} bytes free from {@code pos}
     */
    static int write(float f, byte[] buf, int pos) {
        int bits = Float.floatToRawIntBits(f);
        // the sign is written always and kept for a negative float (a branch on it would be mispredicted half the time)
        buf[pos] = '-';
        pos += bits >>> 31;
        int biased = (bits >>> 23) & 0xFF;
        int fraction = bits & 0x007FFFFF;
        if (biased == 0 && fraction == 0) {
            buf[pos++] = '0';
            buf[pos++] = '.';
            buf[pos++] = '0';
            return pos;
        }
        // f = c * 2^q
        int c;
        int q;
        if (biased != 0) {
            c = fraction | 0x00800000;
            q = biased - 150;
        } else {
            c = fraction;
            q = -149;
        }
        // everything below is in quarter units, so that the interval's ends are integers: it is c ± 1/2 (its ends
        // included when c is even, as the parser rounds half to even), or from c - 1/4 at a power of two, where
        // the float below is half as far
        long cb = (long) c << 2;
        long cbr = cb + 2;
        long cbl;
        int k;
        if (fraction != 0 || biased <= 1) {
            cbl = cb - 2;
            // floor(q * log10(2))
            k = (q * 1262611) >> 22;
        } else {
            cbl = cb - 1;
            // floor(q * log10(2) + log10(3/4))
            k = (q * 1262611 - 524031) >> 22;
        }
        if (c < 8 && q == -149) {
            // the interval holds a one-digit decimal, and the rule is then the closest of one or two digits: scaled
            // by 10^46, f is 14 to 98 units (two digits), and one unit is well inside the interval
            k = K_MIN;
        }
        long g = G[k - K_MIN];
        int shift = SHIFT[k - K_MIN] + q;
        int vbl = scaled(g, cbl << shift);
        int vb = scaled(g, cb << shift);
        int vbr = scaled(g, cbr << shift);
        int out = c & 1;
        // vb is f * 10^-k in quarter units: s units and a fraction. The choices below are computed without branches
        // (a comparison's outcome as the sign bit of a difference): on real data they are coin flips, and a
        // mispredicted branch costs more than the arithmetic
        int s = vb >> 2;
        // a multiple of ten units inside the interval is shorter, and the interval (under 10 units wide) holds at most
        // one; below 100 units that could be a single digit, which the rule does not want
        int tens = s / 10 * 10;
        int lowerTenIn = 1 - ((tens << 2) - vbl - out >>> 31);
        int upperTenIn = 1 - (vbr - (tens + 10 << 2) - out >>> 31);
        int tenIn = (lowerTenIn | upperTenIn) & (99 - s >>> 31);
        int ten = tens + 10 * (1 - lowerTenIn);
        // else s or s + 1 units (the interval is at least one unit wide, so one is inside): the one inside, or the
        // nearer when both are, an exact tie to the even one
        int lowerOut = (s << 2) - vbl - out >>> 31;
        int upperIn = 1 - (vbr - (s + 1 << 2) - out >>> 31);
        int nearerUp = -(vb - ((s << 2) + 2) + (s & 1)) >>> 31;
        int unit = s + (upperIn & (lowerOut | nearerUp));
        int decimal = unit + (-tenIn & (ten - unit));
        // decimal * 10^k has n digits (at most 9): padded with zeros to 9 digits, the first one apart. A normal float's
        // has 7 to 9 (it is at least c units), counted without a branch
        int n;
        int nine;
        if (decimal >= 1_000_000) {
            int over7 = 9_999_999 - decimal >>> 31;
            int over8 = 99_999_999 - decimal >>> 31;
            n = 7 + over7 + over8;
            nine = decimal * (100 - 90 * over7 - 9 * over8);
        } else {
            // floor(log10(2^bits)), one less than the digits when decimal is at least the next power of ten
            n = (32 - Integer.numberOfLeadingZeros(decimal)) * 1233 >>> 12;
            n += INT_POW10[n] - 1 - decimal >>> 31;
            nine = decimal * INT_POW10[9 - n];
        }
        int first = nine / 100_000_000;
        long rest = eightDigits(nine - first * 100_000_000);
        // the digits after the first that are not trailing zeros
        int more = 8 - (Long.numberOfLeadingZeros(rest) >>> 3);
        return layout((byte) ('0' + first), rest + ASCII_ZEROS, more, k + n - 1, buf, pos);
    }

    /**
     * {@code g * x / 2^(64 + FRACTION_BITS)} rounded to odd: the integer part, with its last bit set when a fraction
     * was dropped. The fraction bits are exact enough that a non-integer never looks like an integer (checked for
     * every float).
     */
    private static int scaled(long g, long x) {
        long product = Math.multiplyHigh(g, x);
        return (int) ((product >>> FRACTION_BITS) | (((product & FRACTION_MASK) + FRACTION_MASK) >>> FRACTION_BITS));
    }

    /**
     * The 8 decimal digits of {@code value} (below 10^8) as the bytes of a little-endian long, the first digit in the
     * lowest byte, each digit's value (not yet ASCII): split into two halves of 4 digits, each half into 2 + 2, each
     * of those into 1 + 1, all lanes at once, by multiplying with a fixed-point reciprocal.
     */
    private static long eightDigits(int value) {
        int high = value / 10_000;
        long lanes = high | (long) (value - high * 10_000) << 32;
        // x / 100 = x * 10486 >> 20 for x < 10^4; the neighbouring lane's bits that shift in are masked off
        long hundreds = (lanes * 10486 >>> 20) & 0x0000007F_0000007FL;
        lanes = (lanes - hundreds * 100) << 16 | hundreds;
        // x / 10 = x * 103 >> 10 for x < 100
        long tens = (lanes * 103 >>> 10) & 0x000F000F_000F000FL;
        return (lanes - tens * 10) << 8 | tens;
    }

    /**
     * Writes the digits ({@code first}, then the first {@code more} of the ASCII bytes {@code rest}; the next ones
     * are '0'), the first at decimal exponent {@code e10}, as Float.toString lays them out.
     */
    private static int layout(byte first, long rest, int more, int e10, byte[] buf, int pos) {
        if (e10 >= 0 && e10 < 7) {
            // the first e10 + 1 digits, the point, the rest or 0
            buf[pos] = first;
            LONGS.set(buf, pos + 1, rest);
            buf[pos + 1 + e10] = '.';
            LONGS.set(buf, pos + 2 + e10, rest >>> (e10 << 3));
            return pos + 2 + e10 + Math.max(more - e10, 1);
        }
        if (e10 < 0 && e10 >= -3) {
            // "0." and -e10 - 1 zeros
            LONGS.set(buf, pos, ZERO_POINT_ZEROS);
            pos += 1 - e10;
            buf[pos] = first;
            LONGS.set(buf, pos + 1, rest);
            return pos + 1 + more;
        }
        buf[pos] = first;
        buf[pos + 1] = '.';
        LONGS.set(buf, pos + 2, rest);
        pos += 2 + Math.max(more, 1);
        buf[pos++] = 'E';
        int e = e10;
        if (e < 0) {
            buf[pos++] = '-';
            e = -e;
        }
        if (e >= 10) {
            buf[pos++] = DIGIT_PAIRS[e << 1];
        }
        buf[pos++] = DIGIT_PAIRS[(e << 1) + 1];
        return pos;
    }
}
