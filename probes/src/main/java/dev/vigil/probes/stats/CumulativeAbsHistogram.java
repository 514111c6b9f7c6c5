package dev.vigil.probes.stats;

import java.util.Arrays;

/**
 * The {@code |x|} distribution of a site since start, kept in {@link AbsHistogram}'s bucket space and folded in from
 * each closed window's histogram (no per-element work beyond the window's own), handed out as native-histogram
 * buckets ({@link AbsValueBuckets}). An {@link AbsHistogram} bucket (exponent and 7 mantissa bits, a linear slice of
 * its octave) maps to the schema-7 bucket that holds its midpoint; a value therefore lands at most half a source
 * bucket (0.39%) outside its native bucket, so a quantile read from the native buckets is off by less than one native
 * bucket plus that (under 1%). Non-finite values are left out (the caller counts them). Used under the owner's lock.
 */
final class CumulativeAbsHistogram {
    /** Source buckets below this (magnitudes under {@link AbsValueBuckets#ZERO_THRESHOLD}) are the zero bucket. */
    private static final int FIRST_NORMAL = (127 - 24) << 7;
    /** Source buckets from this on hold infinities and NaNs. */
    static final int FIRST_NON_FINITE = 0x7f80;
    private static final int SUB_BUCKETS = 1 << AbsValueBuckets.SCHEMA;
    /** Native index offset, within its octave, of the source bucket with mantissa slice {@code m}. */
    private static final int[] OFFSET = new int[SUB_BUCKETS];

    static {
        for (int m = 0; m < SUB_BUCKETS; m++) {
            double log2 = Math.log1p((m + 0.5) / SUB_BUCKETS) / Math.log(2);
            OFFSET[m] = (int) Math.ceil(SUB_BUCKETS * log2);
        }
    }

    /**
     * Counts of the source buckets {@code first..first+counts.length-1}: only the range populated so far is held (an
     * activation tensor spans a few dozen octaves, not the 254 of a float).
     */
    private long[] counts = new long[0];
    private int first = FIRST_NORMAL;
    private long zeroCount;

    /** The native bucket index of source bucket {@code b} (a normal, finite magnitude). */
    static int nativeIndex(int b) {
        int exponent = (b >>> 7) - 127;
        return exponent * SUB_BUCKETS + OFFSET[b & (SUB_BUCKETS - 1)];
    }

    /** Adds a closed window's distribution. */
    void add(AbsHistogram window) {
        zeroCount += window.countBelow(FIRST_NORMAL);
        int lo = FIRST_NORMAL;
        while (lo < FIRST_NON_FINITE && window.count(lo) == 0) {
            lo++;
        }
        if (lo == FIRST_NON_FINITE) {
            return;
        }
        int hi = FIRST_NON_FINITE - 1;
        while (window.count(hi) == 0) {
            hi--;
        }
        cover(lo, hi);
        for (int b = lo; b <= hi; b++) {
            counts[b - first] += window.count(b);
        }
    }

    /** Grows the held range to include source buckets {@code lo..hi}. */
    private void cover(int lo, int hi) {
        if (counts.length == 0) {
            first = lo;
            counts = new long[hi - lo + 1];
            return;
        }
        int newFirst = Math.min(first, lo);
        int newEnd = Math.max(first + counts.length, hi + 1);
        if (newFirst == first && newEnd == first + counts.length) {
            return;
        }
        long[] grown = new long[newEnd - newFirst];
        System.arraycopy(counts, 0, grown, first - newFirst, counts.length);
        counts = grown;
        first = newFirst;
    }

    private long held(int b) {
        int i = b - first;
        return i >= 0 && i < counts.length ? counts[i] : 0;
    }

    /** The buckets of everything added plus {@code open} (the open window, not added). */
    AbsValueBuckets buckets(AbsHistogram open) {
        long zero = zeroCount + open.countBelow(FIRST_NORMAL);
        int[] idx = new int[64];
        long[] cnt = new long[64];
        int n = 0;
        for (int b = FIRST_NORMAL; b < FIRST_NON_FINITE; b++) {
            long v = held(b) + open.count(b);
            if (v == 0) {
                continue;
            }
            int k = nativeIndex(b);
            if (n > 0 && idx[n - 1] == k) {
                cnt[n - 1] += v;
                continue;
            }
            if (n == idx.length) {
                idx = Arrays.copyOf(idx, n * 2);
                cnt = Arrays.copyOf(cnt, n * 2);
            }
            idx[n] = k;
            cnt[n] = v;
            n++;
        }
        return new AbsValueBuckets(zero, Arrays.copyOf(idx, n), Arrays.copyOf(cnt, n));
    }
}
