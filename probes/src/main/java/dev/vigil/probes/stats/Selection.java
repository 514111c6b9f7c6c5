package dev.vigil.probes.stats;

/** Exact order statistics by in-place quickselect (expected linear time, no sorting). */
final class Selection {
    private Selection() {
    }

    /** The exact median of {@code a[0..n)} (mean of the two middle values for even n); reorders {@code a}. */
    static double median(float[] a, int n) {
        if (n <= 0) {
            throw new IllegalArgumentException("median of no values");
        }
        int k = n / 2;
        float upper = select(a, n, k);
        if ((n & 1) == 1) {
            return upper;
        }
        // After selection every element left of k is <= a[k]: the lower middle is their max.
        float lower = a[0];
        for (int i = 1; i < k; i++) {
            lower = Math.max(lower, a[i]);
        }
        return ((double) lower + upper) / 2.0;
    }

    /** Places the k-th smallest of {@code a[0..n)} at index k, smaller-or-equal left, greater-or-equal right. */
    static float select(float[] a, int n, int k) {
        int lo = 0;
        int hi = n - 1;
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
