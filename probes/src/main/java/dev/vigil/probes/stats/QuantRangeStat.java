package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Quantization ranges of a site tensor over the window's real rows (SPEC §5): exact min/max/abs max, moments for the
 * kurtosis (shifted by a row mean so the fourth-moment sums do not cancel), per-channel min and max
 * for outlier channels, and an {@link AbsHistogram} for the percentiles and the int8 SQNR. Real rows are copied into a
 * block of up to {@value #FLOAT_ROWS} rows, which {@link QuantRows} reduces into per-channel accumulators (in SIMD
 * lanes, a channel tile's accumulators in registers over the block's rows), then the histogram buckets them. The
 * moments are summed in float over up to {@value #FLOAT_ROWS} rows shifted by the request's first row mean, added up
 * in double over the request, then moved once per request, in double, to the window's shift (its first row mean):
 * the kurtosis is within 1e-6 relative of a double-precision reference.
 *
 * <p>The cumulative counters of SPEC §6 ({@link QuantCounters}) are raw power sums split by sign. The row loop keeps
 * only two more per-channel sums for them: {@code Σt} of the channel's minority side {@code t = max(σ·x, 0)}
 * ({@code σ = −1}, the negative parts, where Σx over the request's first block of rows is positive), and likewise
 * {@code Σt³} with the sign of Σx³. When the request closes, {@code Σx … Σx⁴} follow from the shifted sums by
 * binomial expansion in double and the majority side is {@code |Σx| + Σt} (likewise for the cubes). Adding the small
 * side to the signed sum, never subtracting it from a large one, keeps each side's precision when one sign dominates
 * (GELU outputs); six more accumulators in the row loop had made it three times dearer. Every request term is clamped
 * at 0, so each counter only grows. The request's sums depend on the request alone, so replicas' counters add up to
 * one server's. A request with a non-finite value (a Σd⁴ is then not finite) is summed again element by element,
 * leaving out and counting the non-finite values. Each closed window's {@link AbsHistogram} is folded into a
 * {@link CumulativeAbsHistogram}. Used by one thread.
 */
final class QuantRangeStat {
    /** Rows summed in float before the sums move to double: rounding stays near 32 float ulps. */
    private static final int FLOAT_ROWS = 32;
    private static final int POSITIVE_INFINITY_KEY =
            QuantRows.orderKey(Float.floatToRawIntBits(Float.POSITIVE_INFINITY));
    private static final int NEGATIVE_INFINITY_KEY =
            QuantRows.orderKey(Float.floatToRawIntBits(Float.NEGATIVE_INFINITY));
    private final double outlierThreshold;
    private final AbsHistogram histogram = new AbsHistogram();
    /** Up to {@value #FLOAT_ROWS} real rows, one after the other, reduced together. */
    private float[] block = new float[0];
    /** The per-channel accumulators: the row loop's float sums, the window's and the cumulative double ones. */
    private QuantRows acc = new QuantRows(0);
    private long finiteTotal;
    private long nonFiniteTotal;
    private final CumulativeAbsHistogram cumulativeHistogram = new CumulativeAbsHistogram();
    private long count;
    private boolean shifted;
    /** The window's shift of its sums ({@link QuantRows#c1}…): its first row mean (a float). */
    private double shift;
    /** The dead-neuron statistic of the same tensor that takes the rows this one copies; null when none. */
    private DeadNeuronStat fed;

    QuantRangeStat(double outlierThreshold) {
        this.outlierThreshold = outlierThreshold;
        reset();
    }

    /**
     * Has {@link #observe} hand every block of rows it copies to {@code dead} (an {@code mlp} site's statistic on this
     * tensor), so that the tap is read once for both; returns false, taking nothing, when one is fed already.
     */
    boolean feed(DeadNeuronStat dead) {
        if (fed != null) {
            return false;
        }
        fed = dead;
        return true;
    }

    void observe(TapTensor t, RowLayout layout) {
        int w = layout.width;
        if (acc.minKey.length != w) {
            if (count > 0) {
                throw new IllegalArgumentException("site width changed from " + acc.minKey.length + " to " + w);
            }
            allocate(w);
        }
        FloatBuffer data = t.data();
        float[] blk = block;
        boolean first = true;
        float k = 0f;
        int n = 0;
        long real = 0;
        for (int b = 0; b < layout.batch; b++) {
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (!layout.real(b, i)) {
                    continue;
                }
                data.get(layout.offset(b, i), blk, n * w, w);
                if (first) {
                    k = (float) rowMean(blk, w);
                    if (!shifted) {
                        shift = k;
                        shifted = true;
                    }
                    first = false;
                }
                real++;
                if (++n == FLOAT_ROWS) {
                    if (real == FLOAT_ROWS) {
                        acc.chooseSides(block, n, w);
                    }
                    reduce(n, w, k);
                    n = 0;
                }
            }
        }
        if (real < FLOAT_ROWS) {
            acc.chooseSides(block, n, w);
        }
        reduce(n, w, k);
        close(data, layout, real, k);
        if (fed != null) {
            fed.endRequest();
        }
    }

    /** Adds the {@code n} rows of {@link #block} to the per-channel sums and the histogram. */
    private void reduce(int n, int w, float k) {
        if (n == 0) {
            return;
        }
        if (fed != null) {
            fed.addRows(block, n, w);
        }
        acc.reduce(block, n, w, k);
        acc.widen(w);
        histogram.addAll(block, n * w);
        count += (long) n * w;
    }

    /**
     * Closes the request's {@code realRows} rows, summed shifted by {@code k}: its sums move to the window's double
     * ones (shifted by {@link #shift}) and to the cumulative counters; when one is not finite, the counters take the
     * request again in double without its non-finite values.
     */
    private void close(FloatBuffer data, RowLayout layout, long realRows, float k) {
        if (realRows == 0) {
            return;
        }
        int w = layout.width;
        boolean counters = acc.finite(w);
        if (counters) {
            finiteTotal += realRows * w;
        } else {
            sumFiniteOnly(data, layout);
        }
        acc.close(w, realRows, k, (double) k - shift, counters);
    }

    /** Sizes every per-channel array for rows {@code w} wide (only before the first value). */
    private void allocate(int w) {
        acc = new QuantRows(w);
        Arrays.fill(acc.minKey, POSITIVE_INFINITY_KEY);
        Arrays.fill(acc.maxKey, NEGATIVE_INFINITY_KEY);
        block = new float[FLOAT_ROWS * w];
    }

    /** The slow path of a request holding a non-finite value: double sums of its finite values, the others counted. */
    private void sumFiniteOnly(FloatBuffer data, RowLayout layout) {
        int w = layout.width;
        double[] tp1 = acc.tp1;
        double[] tn1 = acc.tn1;
        double[] t2 = acc.t2;
        double[] tp3 = acc.tp3;
        double[] tn3 = acc.tn3;
        double[] t4 = acc.t4;
        for (int row = 0; row < layout.batch * layout.rowsPerSequence; row++) {
            int b = row / layout.rowsPerSequence;
            int i = row % layout.rowsPerSequence;
            if (!layout.real(b, i)) {
                continue;
            }
            int off = layout.offset(b, i);
            for (int j = 0; j < w; j++) {
                double v = data.get(off + j);
                if (!Double.isFinite(v)) {
                    if (Double.isNaN(v)) {
                        // the row loop's int keys order a NaN by its sign bit; Math.min and max let it win
                        acc.minKey[j] = QuantRows.NAN_MIN_KEY;
                        acc.maxKey[j] = QuantRows.NAN_MAX_KEY;
                    }
                    nonFiniteTotal++;
                    continue;
                }
                double p = Math.max(v, 0);
                double m = Math.max(-v, 0);
                double v2 = v * v;
                tp1[j] += p;
                tn1[j] += m;
                t2[j] += v2;
                tp3[j] += p * p * p;
                tn3[j] += m * m * m;
                t4[j] += v2 * v2;
                finiteTotal++;
            }
        }
    }

    /** The counters since start, the open window's values included. */
    QuantCounters counters() {
        return new QuantCounters(finiteTotal, nonFiniteTotal, sum(acc.tp1), sum(acc.tn1), sum(acc.t2), sum(acc.tp3),
                sum(acc.tn3), sum(acc.t4), cumulativeHistogram.buckets(histogram));
    }

    private static double rowMean(float[] r, int w) {
        double sum = 0;
        for (int j = 0; j < w; j++) {
            sum += r[j];
        }
        return w == 0 ? 0 : sum / w;
    }

    QuantSnapshot snapshot() {
        int[] channelMin = acc.minKey;
        int[] channelMax = acc.maxKey;
        int channels = channelMin.length;
        if (count == 0) {
            double nan = Double.NaN;
            return new QuantSnapshot(0, channels, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0);
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        int outliers = 0;
        for (int j = 0; j < channels; j++) {
            float lo = QuantRows.fromKey(channelMin[j]);
            float hi = QuantRows.fromKey(channelMax[j]);
            min = Math.min(min, lo);
            max = Math.max(max, hi);
            if (Math.max(Math.abs(lo), Math.abs(hi)) > outlierThreshold) {
                outliers++;
            }
        }
        double s1 = sum(acc.c1);
        double s2 = sum(acc.c2);
        double s3 = sum(acc.c3);
        double s4 = sum(acc.c4);
        double n = count;
        double absMax = Math.max(Math.abs((double) min), Math.abs((double) max));
        double mean = s1 / n;
        double m2 = s2 / n - mean * mean;
        double m4 = s4 / n - 4 * mean * s3 / n + 6 * mean * mean * s2 / n - 3 * mean * mean * mean * mean;
        double kurtosis = m2 > 0 ? m4 / (m2 * m2) : Double.NaN;
        double sumSquares = s2 + 2 * shift * s1 + n * shift * shift;
        double p9999 = histogram.quantile(0.9999, absMax);
        return new QuantSnapshot(count, channels, min, max, absMax, histogram.quantile(0.999, absMax), p9999,
                histogram.quantile(0.99999, absMax), kurtosis, sqnrDb(sumSquares, absMax, absMax),
                sqnrDb(sumSquares, p9999, absMax), outliers);
    }

    private double sqnrDb(double sumSquares, double clip, double absMax) {
        double noise = histogram.int8Noise(clip, absMax);
        return 10.0 * Math.log10(sumSquares / noise);
    }

    /** Starts a new window: the closed window's histogram joins the cumulative one, the window sums restart. */
    void closeWindow() {
        cumulativeHistogram.add(histogram);
        reset();
    }

    private void reset() {
        histogram.clear();
        Arrays.fill(acc.minKey, POSITIVE_INFINITY_KEY);
        Arrays.fill(acc.maxKey, NEGATIVE_INFINITY_KEY);
        count = 0;
        shifted = false;
        shift = 0;
        Arrays.fill(acc.c1, 0.0);
        Arrays.fill(acc.c2, 0.0);
        Arrays.fill(acc.c3, 0.0);
        Arrays.fill(acc.c4, 0.0);
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }

    /**
     * Adds one request reduced in the graph ({@link ReducedOutputs}): its centered sums are moved to this window's
     * shift, {@code Σ(x−K)^m = Σ(e+δ)^m} with {@code e = x−k}, {@code δ = k−K} (k the request's mean, so the sums stay
     * small and the binomial terms do not cancel); its histogram buckets are the {@link AbsHistogram} buckets of the
     * same exponent and mantissa slice.
     */
    void observeReduced(ReducedRows r) {
        int w = r.width();
        if (acc.minKey.length != w) {
            if (count > 0) {
                throw new IllegalArgumentException("site width changed from " + acc.minKey.length + " to " + w);
            }
            allocate(w);
        }
        long n = r.realRows() * w;
        if (n == 0) {
            return;
        }
        double[] m = r.moments();
        float k = (float) m[ReducedOutputs.SHIFT];
        if (!shifted) {
            shift = k;
            shifted = true;
        }
        double d = k - shift;
        double e1 = m[ReducedOutputs.CENTERED];
        double e2 = m[ReducedOutputs.CENTERED + 1];
        double e3 = m[ReducedOutputs.CENTERED + 2];
        double e4 = m[ReducedOutputs.CENTERED + 3];
        double d2 = d * d;
        double[] c1 = acc.c1;
        double[] c2 = acc.c2;
        double[] c3 = acc.c3;
        double[] c4 = acc.c4;
        c1[0] += e1 + n * d;
        c2[0] += e2 + 2 * d * e1 + n * d2;
        c3[0] += e3 + 3 * d * e2 + 3 * d2 * e1 + n * d2 * d;
        c4[0] += e4 + 4 * d * e3 + 6 * d2 * e2 + 4 * d2 * d * e1 + n * d2 * d2;
        double[] lo = r.channelMin();
        double[] hi = r.channelMax();
        for (int j = 0; j < w; j++) {
            acc.minKey[j] = QuantRows.minKey(acc.minKey[j], (float) lo[j]);
            acc.maxKey[j] = QuantRows.maxKey(acc.maxKey[j], (float) hi[j]);
        }
        int raw = ReducedOutputs.RAW;
        acc.tp1[0] += m[raw];
        acc.tn1[0] += m[raw + 1];
        acc.t2[0] += m[raw + 2];
        acc.tp3[0] += m[raw + 3];
        acc.tn3[0] += m[raw + 4];
        acc.t4[0] += m[raw + 5];
        long nonFinite = (long) m[ReducedOutputs.NON_FINITE];
        finiteTotal += n - nonFinite;
        nonFiniteTotal += nonFinite;
        double[] buckets = r.histogram();
        for (int b = 0; b < buckets.length; b++) {
            if (buckets[b] != 0) {
                histogram.add(ReducedOutputs.hostBucket(b), (long) buckets[b]);
            }
        }
        if (nonFinite > 0) {
            histogram.add(CumulativeAbsHistogram.FIRST_NON_FINITE, nonFinite);
        }
        count += n;
    }
}
