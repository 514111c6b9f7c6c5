package dev.vigil.probes.stats;

/**
 * A cumulative histogram of {@code |x|} in Prometheus native-histogram form: exponential buckets of a fixed
 * {@link #SCHEMA}, bucket {@code k} holding {@code (2^((k-1)/2^schema), 2^(k/2^schema)]}, plus a zero bucket for
 * {@code |x| <} {@link #ZERO_THRESHOLD}. The schema never changes, so the histograms of several replicas add up
 * bucket by bucket without losing resolution. Only populated buckets are listed, in increasing index order.
 * Immutable.
 */
public final class AbsValueBuckets {
    /** 2^7 = 128 buckets per power of two: each bucket is 0.54% wide. */
    public static final int SCHEMA = 7;
    /**
     * 2^-24 (6e-8): smaller magnitudes go to the zero bucket. They are below any int8 step of a tensor whose range
     * exceeds 8e-6, and the tails of GELU outputs would otherwise spread buckets over a hundred powers of two.
     */
    public static final double ZERO_THRESHOLD = 0x1p-24;

    private final long zeroCount;
    private final int[] indexes;
    private final long[] counts;

    AbsValueBuckets(long zeroCount, int[] indexes, long[] counts) {
        this.zeroCount = zeroCount;
        this.indexes = indexes;
        this.counts = counts;
    }

    /** Values in the zero bucket. */
    public long zeroCount() {
        return zeroCount;
    }

    /** Populated buckets. */
    public int size() {
        return indexes.length;
    }

    /** The native bucket index of the {@code i}-th populated bucket (increasing with {@code i}). */
    public int index(int i) {
        return indexes[i];
    }

    /** The count of the {@code i}-th populated bucket. */
    public long count(int i) {
        return counts[i];
    }

    /** Every value counted: the zero bucket plus the others. */
    public long total() {
        long t = zeroCount;
        for (long c : counts) {
            t += c;
        }
        return t;
    }
}
