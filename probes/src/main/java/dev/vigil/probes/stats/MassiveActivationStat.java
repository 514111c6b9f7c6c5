package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Massive activations of a {@code residual} site (SPEC §5, Sun et al. 2024). Per sequence, {@link AbsMedian} reads
 * its real rows once, as {@code |h|}, with their max and exact median (handing the signed rows to the site's
 * {@link TokenCosineStat} on the way); only when the max passes both thresholds are those {@code |h|} read again to
 * count and place the massive elements.
 * Used by one thread.
 */
final class MassiveActivationStat {
    private final double absThreshold;
    private final double medianRatio;
    /** Tap offsets of the current sequence's real rows. */
    private int[] rowOffsets = new int[0];
    private final AbsMedian absMedian = new AbsMedian();

    private long windowCount;
    private long windowFirstToken;
    private double windowRatio = Double.NaN;

    private long total;
    private long firstTokenTotal;
    private long[] channelHits = new long[0];
    /** Channels with their own series, in first-hit order; {@code namedCount} of them are set. */
    private final int[] named = new int[MassiveSnapshot.NAMED_CHANNELS];
    private int namedCount;
    private boolean[] isNamed = new boolean[0];

    MassiveActivationStat(double absThreshold, double medianRatio) {
        AbsMedian.prepare();
        this.absThreshold = absThreshold;
        this.medianRatio = medianRatio;
    }

    void observe(TapTensor t, RowLayout layout) {
        observe(t, layout, null);
    }

    /**
     * {@link #observe(TapTensor, RowLayout)} that hands each sequence's rows, as they are read, to {@code cosine} (when
     * not null), so that the site's two residual statistics read the tap once.
     */
    void observe(TapTensor t, RowLayout layout, TokenCosineStat cosine) {
        int w = layout.width;
        if (channelHits.length != w) {
            if (total > 0) {
                throw new IllegalArgumentException(
                        "residual site width changed from " + channelHits.length + " to " + w);
            }
            channelHits = new long[w];
            isNamed = new boolean[w];
        }
        if (rowOffsets.length < layout.rowsPerSequence) {
            rowOffsets = new int[layout.rowsPerSequence];
        }
        FloatBuffer data = t.data();
        int[] offsets = rowOffsets;
        for (int b = 0; b < layout.batch; b++) {
            int rows = 0;
            int firstRow = -1;
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (layout.real(b, i)) {
                    firstRow = firstRow < 0 ? i : firstRow;
                    offsets[rows++] = layout.offset(b, i);
                }
            }
            if (rows == 0 || w == 0) {
                continue;
            }
            if (cosine != null) {
                cosine.startSequence(w);
            }
            absMedian.compute(data, offsets, rows, w, cosine);
            if (cosine != null) {
                cosine.endSequence();
            }
            float max = absMedian.max;
            double median = absMedian.median;
            if (max > 0) {
                double ratio = max / median;
                windowRatio = Double.isNaN(windowRatio) ? ratio : Math.max(windowRatio, ratio);
            }
            double limit = Math.max(absThreshold, medianRatio * median);
            if (max > limit) {
                countMassive(absMedian.values, rows, w, limit);
            }
        }
    }

    /** Counts and places the massive elements among the {@code |h|} of a sequence's real rows. */
    private void countMassive(float[] abs, int rows, int w, double limit) {
        for (int r = 0; r < rows; r++) {
            for (int j = 0, off = r * w; j < w; j++) {
                if (abs[off + j] > limit) {
                    windowCount++;
                    total++;
                    if (r == 0) {
                        windowFirstToken++;
                        firstTokenTotal++;
                    }
                    if (!isNamed[j] && namedCount < named.length) {
                        named[namedCount++] = j;
                        isNamed[j] = true;
                    }
                    channelHits[j]++;
                }
            }
        }
    }

    MassiveSnapshot snapshot() {
        double firstFraction = windowCount == 0 ? Double.NaN : (double) windowFirstToken / windowCount;
        return new MassiveSnapshot(windowCount, windowRatio, firstFraction, total, channelHitMap());
    }

    /** The window's gauges with the cumulative counters as of now. */
    MassiveSnapshot countersOnto(MassiveSnapshot windowGauges) {
        return new MassiveSnapshot(windowGauges.windowCount(), windowGauges.ratio(), windowGauges.firstTokenFraction(),
                total, channelHitMap());
    }

    private Map<String, Long> channelHitMap() {
        LinkedHashMap<String, Long> hits = new LinkedHashMap<>();
        long namedSum = 0;
        for (int i = 0; i < namedCount; i++) {
            long h = channelHits[named[i]];
            hits.put(Integer.toString(named[i]), h);
            namedSum += h;
        }
        if (total > namedSum) {
            hits.put(MassiveSnapshot.OTHER, total - namedSum);
        }
        return Collections.unmodifiableMap(hits);
    }

    /** Massive elements at their sequence's first unmasked position since start. */
    long firstTokenTotal() {
        return firstTokenTotal;
    }

    /** Clears the window gauges; the counters stay. */
    void resetWindow() {
        windowCount = 0;
        windowFirstToken = 0;
        windowRatio = Double.NaN;
    }

    /**
     * Adds one request reduced in the graph: per sequence, max {@code |h|} and the two middle values of its sorted
     * {@code |h|} (the exact median, as {@link Selection} gives it), and per channel its massive elements and the first
     * row holding one. Channels get their series in the order of their first massive element, as in {@link #observe}.
     */
    void observeReduced(ReducedRows r) {
        int w = r.width();
        if (channelHits.length != w) {
            if (total > 0) {
                throw new IllegalArgumentException(
                        "residual site width changed from " + channelHits.length + " to " + w);
            }
            channelHits = new long[w];
            isNamed = new boolean[w];
        }
        double[] m = r.massive();
        for (int b = 0; b < r.batch(); b++) {
            int firstRow = r.firstRealRow(b);
            if (firstRow < 0 || w == 0) {
                continue;
            }
            float max = (float) m[3 * b];
            double median = (m[3 * b + 1] + m[3 * b + 2]) / 2.0;
            if (max > 0) {
                double ratio = max / median;
                windowRatio = Double.isNaN(windowRatio) ? ratio : Math.max(windowRatio, ratio);
            }
            double limit = Math.max(absThreshold, medianRatio * median);
            if (max > limit) {
                placeReducedHits(r, b, firstRow);
            }
        }
    }

    private void placeReducedHits(ReducedRows r, int b, int firstRow) {
        int w = r.width();
        double[] hits = r.hits();
        double[] first = r.firstHit();
        long[] order = new long[w];
        int n = 0;
        for (int j = 0; j < w; j++) {
            if (hits[b * w + j] > 0) {
                order[n++] = (long) first[b * w + j] * w + j;
            }
        }
        Arrays.sort(order, 0, n);
        for (int i = 0; i < n; i++) {
            int j = (int) (order[i] % w);
            long count = (long) hits[b * w + j];
            windowCount += count;
            total += count;
            if ((long) first[b * w + j] == firstRow) {
                windowFirstToken++;
                firstTokenTotal++;
            }
            if (!isNamed[j] && namedCount < named.length) {
                named[namedCount++] = j;
                isNamed[j] = true;
            }
            channelHits[j] += count;
        }
    }
}
