package dev.vigil.probes.stats;

import java.util.Arrays;

/**
 * A log-bucketed histogram of {@code |x|}, indexed by the float's exponent and top 7 mantissa bits (no
 * {@code Math.log}): bucket {@code i} holds the floats whose magnitude bits shifted right by 16 equal {@code i}, a
 * range of relative width at most {@code 2^-7 ≈ 0.78%}; 32768 buckets (256 KB) cover every float.
 *
 * <p>Order statistics are interpolated by rank inside their bucket (with the top bucket cut at the exact abs max), so
 * an estimate lies in the same bucket as the true value: relative error below 0.78%. The int8 quantization noise is the
 * integral of the squared quantization error over each bucket assuming values spread uniformly inside it.
 */
final class AbsHistogram {
    static final int SHIFT = 16;
    static final int BUCKETS = 1 << (31 - SHIFT);

    private final long[] counts = new long[BUCKETS];
    private long total;

    /** Bucket of {@code |x|} for any float x. */
    static int bucket(float x) {
        return (Float.floatToRawIntBits(x) & 0x7fffffff) >>> SHIFT;
    }

    static double lower(int bucket) {
        return Float.intBitsToFloat(bucket << SHIFT);
    }

    static double upper(int bucket) {
        return Float.intBitsToFloat((bucket + 1) << SHIFT);
    }

    /** Adds {@code |r[j]|} for {@code j < n}. */
    void addAll(float[] r, int n) {
        long[] c = counts;
        for (int j = 0; j < n; j++) {
            c[(Float.floatToRawIntBits(r[j]) & 0x7fffffff) >>> SHIFT]++;
        }
        total += n;
    }

    /** Values in bucket {@code b}. */
    long count(int b) {
        return counts[b];
    }

    /** Values in the buckets below {@code b}. */
    long countBelow(int b) {
        long n = 0;
        for (int i = 0; i < b; i++) {
            n += counts[i];
        }
        return n;
    }

    void clear() {
        Arrays.fill(counts, 0L);
        total = 0;
    }

    /** numpy's linear-interpolated {@code q} quantile of the added values; {@code absMax} is their exact max. */
    double quantile(double q, double absMax) {
        if (total == 0) {
            return Double.NaN;
        }
        double rank = q * (total - 1);
        long k = (long) Math.floor(rank);
        double f = rank - k;
        double below = valueAtRank(k, absMax);
        if (f == 0 || k + 1 >= total) {
            return below;
        }
        return below + f * (valueAtRank(k + 1, absMax) - below);
    }

    /** Estimate of the 0-based order statistic {@code r}: its bucket, at its rank's share of the bucket. */
    private double valueAtRank(long r, double absMax) {
        long seen = 0;
        for (int i = 0; i < BUCKETS; i++) {
            long c = counts[i];
            if (c > 0 && r < seen + c) {
                double lo = lower(i);
                double hi = Math.min(upper(i), absMax);
                if (hi <= lo) {
                    return lo;
                }
                return lo + (r - seen + 0.5) / c * (hi - lo);
            }
            seen += c;
        }
        return absMax;
    }

    /**
     * Σ over the added values of {@code (x − Q(x))²}, Q symmetric int8 fake quantization with clip {@code c} and scale
     * {@code c/127}; estimated per bucket as count × mean squared error over the bucket's range. NaN when c is not
     * positive.
     */
    double int8Noise(double c, double absMax) {
        if (!(c > 0)) {
            return Double.NaN;
        }
        double s = c / 127.0;
        double noise = 0;
        for (int i = 0; i < BUCKETS; i++) {
            long count = counts[i];
            if (count == 0) {
                continue;
            }
            double lo = lower(i);
            double hi = Math.min(upper(i), absMax);
            if (hi <= lo) {
                double e = error(lo, c, s);
                noise += count * e * e;
            } else {
                noise += count * (errorIntegral(hi, c, s) - errorIntegral(lo, c, s)) / (hi - lo);
            }
        }
        return noise;
    }

    /** {@code |x| − Q(|x|)} for {@code x >= 0}. */
    private static double error(double x, double c, double s) {
        if (x >= c) {
            return x - c;
        }
        return x - s * Math.rint(x / s);
    }

    /** {@code ∫_0^y error(t)² dt}, {@code y >= 0}: whole sawtooth periods, the partial one, then the clipped tail. */
    static double errorIntegral(double y, double c, double s) {
        double clipped = 0;
        if (y > c) {
            double over = y - c;
            clipped = over * over * over / 3.0;
            y = c;
        }
        double periods = Math.floor(y / s);
        double a = y - periods * s;
        double half = s / 2.0;
        double partial;
        if (a <= half) {
            partial = a * a * a / 3.0;
        } else {
            double d = a - s;
            partial = s * s * s / 12.0 + d * d * d / 3.0;
        }
        return periods * s * s * s / 12.0 + partial + clipped;
    }

    /** Adds {@code n} values to bucket {@code b}. */
    void add(int b, long n) {
        counts[b] += n;
        total += n;
    }
}
