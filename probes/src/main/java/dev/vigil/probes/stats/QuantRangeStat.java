package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Quantization ranges of a site tensor over the window's real rows (SPEC §5): exact min/max/abs max, moments for the
 * kurtosis (shifted by the window's first row mean so the fourth-moment sums do not cancel), per-channel min and max
 * for outlier channels, and an {@link AbsHistogram} for the percentiles and the int8 SQNR. One pass per row: the row
 * is copied to a reused array, then reduced into per-channel accumulators, so that no element's update waits on the
 * previous one's and the loop runs in vector lanes (a running sum per row was half the cost). The moments are summed
 * in float over up to {@value #FLOAT_ROWS} rows, then in double: the kurtosis is within 1e-6 relative of a
 * double-precision reference.
 *
 * <p>The same row loop keeps the cumulative counters of SPEC §6 ({@link QuantCounters}): raw power sums split by sign,
 * summed in float per block of rows like the moments, then added per channel to double sums that are never reset.
 * Every float term is non-negative, so each counter only grows. A block with a non-finite value (its Σx⁴ is then not
 * finite) is summed again element by element, leaving out and counting the non-finite values. Each closed window's
 * {@link AbsHistogram} is folded into a {@link CumulativeAbsHistogram}. Used by one thread.
 */
final class QuantRangeStat {
    /** Rows summed in float before the sums move to double: rounding stays near 16 float ulps. */
    private static final int FLOAT_ROWS = 16;
    private final double outlierThreshold;
    private final AbsHistogram histogram = new AbsHistogram();
    /** Per channel min and max: kept per channel so that the row loop has no running reduction. */
    private float[] channelMin = new float[0];
    private float[] channelMax = new float[0];
    private float[] row = new float[0];
    /**
     * Per channel, sums of {@code d, d², d³, d⁴} ({@code d = x − shift}): in float over up to {@link #FLOAT_ROWS} rows,
     * then added to the double sums, which the snapshot adds up over channels.
     */
    private float[] f1 = new float[0];
    private float[] f2 = new float[0];
    private float[] f3 = new float[0];
    private float[] f4 = new float[0];
    private double[] c1 = new double[0];
    private double[] c2 = new double[0];
    private double[] c3 = new double[0];
    private double[] c4 = new double[0];
    /** Per channel, the block's raw sums Σmax(x,0), Σmax(−x,0), Σx², Σmax(x,0)³, Σmax(−x,0)³, Σx⁴ (float). */
    private float[] rp1 = new float[0];
    private float[] rn1 = new float[0];
    private float[] r2 = new float[0];
    private float[] rp3 = new float[0];
    private float[] rn3 = new float[0];
    private float[] r4 = new float[0];
    /** Per channel, the same raw sums since start (double, never reset). */
    private double[] tp1 = new double[0];
    private double[] tn1 = new double[0];
    private double[] t2 = new double[0];
    private double[] tp3 = new double[0];
    private double[] tn3 = new double[0];
    private double[] t4 = new double[0];
    private long finiteTotal;
    private long nonFiniteTotal;
    private final CumulativeAbsHistogram cumulativeHistogram = new CumulativeAbsHistogram();
    private long count;
    private boolean shifted;
    private double shift;

    QuantRangeStat(double outlierThreshold) {
        this.outlierThreshold = outlierThreshold;
        reset();
    }

    void observe(TapTensor t, RowLayout layout) {
        int w = layout.width;
        if (channelMin.length != w) {
            if (count > 0) {
                throw new IllegalArgumentException("site width changed from " + channelMin.length + " to " + w);
            }
            channelMin = new float[w];
            channelMax = new float[w];
            Arrays.fill(channelMin, Float.POSITIVE_INFINITY);
            Arrays.fill(channelMax, Float.NEGATIVE_INFINITY);
            row = new float[w];
            f1 = new float[w];
            f2 = new float[w];
            f3 = new float[w];
            f4 = new float[w];
            c1 = new double[w];
            c2 = new double[w];
            c3 = new double[w];
            c4 = new double[w];
            rp1 = new float[w];
            rn1 = new float[w];
            r2 = new float[w];
            rp3 = new float[w];
            rn3 = new float[w];
            r4 = new float[w];
            tp1 = new double[w];
            tn1 = new double[w];
            t2 = new double[w];
            tp3 = new double[w];
            tn3 = new double[w];
            t4 = new double[w];
        }
        FloatBuffer data = t.data();
        float[] r = row;
        float[] lo = channelMin;
        float[] hi = channelMax;
        int block = 0;
        int blockStart = 0;
        int rows = layout.batch * layout.rowsPerSequence;
        for (int b = 0; b < layout.batch; b++) {
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (!layout.real(b, i)) {
                    continue;
                }
                if (block == 0) {
                    blockStart = b * layout.rowsPerSequence + i;
                }
                data.get(layout.offset(b, i), r, 0, w);
                if (!shifted) {
                    shift = (float) rowMean(r, w);
                    shifted = true;
                }
                float k = (float) shift;
                // per-channel sums: no add depends on the previous element's, so the loop runs in vector lanes
                for (int j = 0; j < w; j++) {
                    float v = r[j];
                    lo[j] = Math.min(lo[j], v);
                    hi[j] = Math.max(hi[j], v);
                    float d = v - k;
                    float d2 = d * d;
                    f1[j] += d;
                    f2[j] += d2;
                    f3[j] += d2 * d;
                    f4[j] += d2 * d2;
                    float p = Math.max(v, 0f);
                    float m = Math.max(-v, 0f);
                    float v2 = v * v;
                    rp1[j] += p;
                    rn1[j] += m;
                    r2[j] += v2;
                    rp3[j] += p * p * p;
                    rn3[j] += m * m * m;
                    r4[j] += v2 * v2;
                }
                histogram.addAll(r, w);
                count += w;
                if (++block == FLOAT_ROWS) {
                    flush(w);
                    flushCounters(data, layout, blockStart, b * layout.rowsPerSequence + i + 1, block);
                    block = 0;
                }
            }
        }
        flush(w);
        flushCounters(data, layout, blockStart, rows, block);
    }

    /**
     * Adds the block's raw float sums ({@code blockRows} real rows among rows {@code from..to-1}) to the cumulative
     * ones; when one is not finite, sums the block again in double without its non-finite values.
     */
    private void flushCounters(FloatBuffer data, RowLayout layout, int from, int to, int blockRows) {
        if (blockRows == 0) {
            return;
        }
        int w = layout.width;
        double check = 0;
        for (int j = 0; j < w; j++) {
            check += r4[j];
        }
        if (Double.isFinite(check)) {
            for (int j = 0; j < w; j++) {
                tp1[j] += rp1[j];
                tn1[j] += rn1[j];
                t2[j] += r2[j];
                tp3[j] += rp3[j];
                tn3[j] += rn3[j];
                t4[j] += r4[j];
            }
            finiteTotal += (long) blockRows * w;
        } else {
            sumFiniteOnly(data, layout, from, to);
        }
        Arrays.fill(rp1, 0f);
        Arrays.fill(rn1, 0f);
        Arrays.fill(r2, 0f);
        Arrays.fill(rp3, 0f);
        Arrays.fill(rn3, 0f);
        Arrays.fill(r4, 0f);
    }

    /** The slow path of a block holding a non-finite value: double sums of its finite values, the others counted. */
    private void sumFiniteOnly(FloatBuffer data, RowLayout layout, int from, int to) {
        int w = layout.width;
        for (int row = from; row < to; row++) {
            int b = row / layout.rowsPerSequence;
            int i = row % layout.rowsPerSequence;
            if (!layout.real(b, i)) {
                continue;
            }
            int off = layout.offset(b, i);
            for (int j = 0; j < w; j++) {
                double v = data.get(off + j);
                if (!Double.isFinite(v)) {
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
        return new QuantCounters(finiteTotal, nonFiniteTotal, sum(tp1), sum(tn1), sum(t2), sum(tp3), sum(tn3),
                sum(t4), cumulativeHistogram.buckets(histogram));
    }

    /** Moves the float per-channel sums of the last few rows into the double ones. */
    private void flush(int w) {
        for (int j = 0; j < w; j++) {
            c1[j] += f1[j];
            c2[j] += f2[j];
            c3[j] += f3[j];
            c4[j] += f4[j];
        }
        Arrays.fill(f1, 0f);
        Arrays.fill(f2, 0f);
        Arrays.fill(f3, 0f);
        Arrays.fill(f4, 0f);
    }

    private static double rowMean(float[] r, int w) {
        double sum = 0;
        for (int j = 0; j < w; j++) {
            sum += r[j];
        }
        return w == 0 ? 0 : sum / w;
    }

    QuantSnapshot snapshot() {
        int channels = channelMin.length;
        if (count == 0) {
            double nan = Double.NaN;
            return new QuantSnapshot(0, channels, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0);
        }
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        int outliers = 0;
        for (int j = 0; j < channels; j++) {
            min = Math.min(min, channelMin[j]);
            max = Math.max(max, channelMax[j]);
            if (Math.max(Math.abs(channelMin[j]), Math.abs(channelMax[j])) > outlierThreshold) {
                outliers++;
            }
        }
        double s1 = sum(c1);
        double s2 = sum(c2);
        double s3 = sum(c3);
        double s4 = sum(c4);
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
        Arrays.fill(channelMin, Float.POSITIVE_INFINITY);
        Arrays.fill(channelMax, Float.NEGATIVE_INFINITY);
        count = 0;
        shifted = false;
        shift = 0;
        Arrays.fill(c1, 0.0);
        Arrays.fill(c2, 0.0);
        Arrays.fill(c3, 0.0);
        Arrays.fill(c4, 0.0);
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
        if (channelMin.length != w) {
            if (count > 0) {
                throw new IllegalArgumentException("site width changed from " + channelMin.length + " to " + w);
            }
            channelMin = new float[w];
            channelMax = new float[w];
            Arrays.fill(channelMin, Float.POSITIVE_INFINITY);
            Arrays.fill(channelMax, Float.NEGATIVE_INFINITY);
            row = new float[w];
            f1 = new float[w];
            f2 = new float[w];
            f3 = new float[w];
            f4 = new float[w];
            c1 = new double[w];
            c2 = new double[w];
            c3 = new double[w];
            c4 = new double[w];
            rp1 = new float[w];
            rn1 = new float[w];
            r2 = new float[w];
            rp3 = new float[w];
            rn3 = new float[w];
            r4 = new float[w];
            tp1 = new double[w];
            tn1 = new double[w];
            t2 = new double[w];
            tp3 = new double[w];
            tn3 = new double[w];
            t4 = new double[w];
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
        c1[0] += e1 + n * d;
        c2[0] += e2 + 2 * d * e1 + n * d2;
        c3[0] += e3 + 3 * d * e2 + 3 * d2 * e1 + n * d2 * d;
        c4[0] += e4 + 4 * d * e3 + 6 * d2 * e2 + 4 * d2 * d * e1 + n * d2 * d2;
        double[] lo = r.channelMin();
        double[] hi = r.channelMax();
        for (int j = 0; j < w; j++) {
            channelMin[j] = Math.min(channelMin[j], (float) lo[j]);
            channelMax[j] = Math.max(channelMax[j], (float) hi[j]);
        }
        int raw = ReducedOutputs.RAW;
        tp1[0] += m[raw];
        tn1[0] += m[raw + 1];
        t2[0] += m[raw + 2];
        tp3[0] += m[raw + 3];
        tn3[0] += m[raw + 4];
        t4[0] += m[raw + 5];
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
