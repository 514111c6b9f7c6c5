package dev.vigil.probes.stats;

import java.util.Arrays;

/** Exact medians without sorting: a radix counting pass, then quickselect on the middle bucket(s). */
final class Selection {
    /** Radix buckets of the first pass of {@link #medianOfNonNegative}: the top 13 bits of a non-negative float. */
    static final int RADIX_BUCKETS = 1 << 13;
    private static final int RADIX_SHIFT = 18;

    private Selection() {
    }

    /**
     * The exact median of the non-negative floats {@code a[0..n)} (mean of the two middle values for even n). The
     * bits of non-negative floats order like the floats, so one counting pass over their top 13 bits finds the
     * bucket(s) holding the middle ranks; only those values are gathered into {@code aux} and quickselected.
     * {@code counts} needs {@link #RADIX_BUCKETS} entries, {@code aux} n; {@code a} is left as it is.
     */
    static double medianOfNonNegative(float[] a, int n, float[] aux, int[] counts) {
        Arrays.fill(counts, 0, RADIX_BUCKETS, 0);
        for (int i = 0; i < n; i++) {
            counts[bucket(a[i])]++;
        }
        return medianOfCounted(a, n, aux, counts);
    }

    /** The radix bucket of a non-negative float in {@link #medianOfCounted}'s {@code counts}. */
    static int bucket(float nonNegative) {
        return Float.floatToRawIntBits(nonNegative) >>> RADIX_SHIFT;
    }

    /**
     * {@link #medianOfNonNegative} with the counting pass done by the caller while it wrote {@code a}:
     * {@code counts[bucket(a[i])]} holds how many of {@code a[0..n)} fall in each bucket.
     */
    static double medianOfCounted(float[] a, int n, float[] aux, int[] counts) {
        if (n <= 0) {
            throw new IllegalArgumentException("median of no values");
        }
        int lowRank = (n - 1) / 2;
        int highRank = n / 2;
        int before = 0;
        int bucket = 0;
        while (before + counts[bucket] <= lowRank) {
            before += counts[bucket++];
        }
        int lastBucket = bucket;
        int through = before + counts[bucket];
        while (through <= highRank) {
            through += counts[++lastBucket];
        }
        int m = 0;
        int span = lastBucket - bucket;
        for (int j = 0; j < n; j++) {
            // without a branch: half the values lie above the median's bucket, so "b >= bucket" would be a coin
            // flip for the branch predictor; d is in [0, span] exactly when neither d nor span - d is negative
            int d = bucket(a[j]) - bucket;
            aux[m] = a[j];
            m += ((d | (span - d)) >>> 31) ^ 1;
        }
        return middleOf(aux, m, lowRank - before, highRank - before);
    }

    /**
     * The mean of the values of ranks {@code low} and {@code high} (equal, or {@code high = low + 1}) among
     * {@code a[0..n)}, which it reorders: what is left of a median once the values around it are gathered.
     */
    static double middleOf(float[] a, int n, int low, int high) {
        float upper = select(a, n, high);
        if (low == high) {
            return upper;
        }
        float lower = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < high; j++) {
            lower = Math.max(lower, a[j]);
        }
        return ((double) lower + upper) / 2.0;
    }

    /** Places the k-th smallest of {@code a[0..n)} at index k, smaller-or-equal left, greater-or-equal right. */
    static float select(float[] a, int n, int k) {
        return select(a, 0, n, k);
    }

    /** {@link #select(float[], int, int)} within {@code a[from..to)}: the value of rank {@code k - from} there. */
    static float select(float[] a, int from, int to, int k) {
        int lo = from;
        int hi = to - 1;
        while (hi > lo) {
            int mid = (lo + hi) >>> 1;
            // median of three as pivot keeps sorted and reversed runs linear
            if (a[mid] < a[lo]) {
                swap(a, mid, lo);
            }
            if (a[hi] < a[lo]) {
                swap(a, hi, lo);
            }
            if (a[hi] < a[mid]) {
                swap(a, hi, mid);
            }
            float pivot = a[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    swap(a, i, j);
                    i++;
                    j--;
                }
            }
            if (k <= j) {
                hi = j;
            } else if (k >= i) {
                lo = i;
            } else {
                return a[k];
            }
        }
        return a[k];
    }

    private static void swap(float[] a, int i, int j) {
        float t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
