package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Quantization ranges of a site tensor over the window's real rows (SPEC §5): exact min/max/abs max, moments for the
 * kurtosis (shifted by a row mean so the fourth-moment sums do not cancel), per-channel min and max
 * for outlier channels, and an {@link AbsHistogram} for the percentiles and the int8 SQNR. Real rows are copied into a
 * block of up to {@value #FLOAT_ROWS} rows, which {@link QuantRows} reduces into per-channel accumulators (in SIMD
 * lanes, a channel tile's accumulators in registers over the block's rows), then the histogram buckets them. The
 * moments are summed in float over up to {@value #FLOAT_ROWS} rows shifted by the request's first row mean, then moved
 * in double to the window's shift (its first row mean): the kurtosis is within 1e-6 relative of a double-precision
 * reference.
 *
 * <p>The cumulative counters of SPEC §6 ({@link QuantCounters}) are raw power sums split by sign. The row loop keeps
 * only two more per-channel sums for them: {@code Σt} of the channel's minority side {@code t = max(σ·x, 0)}
 * ({@code σ = −1}, the negative parts, where Σx of the previous block of rows was positive, or of the request's first
 * block for its first), and likewise {@code Σt³} with the sign of Σx³. When a block closes, {@code Σx … Σx⁴} follow
 * from the shifted sums by binomial expansion in double and the majority side is {@code |Σx| + Σt} (likewise for the
 * cubes). Adding the small side to the signed sum, never
 * subtracting it from a large one, keeps each side's precision when one sign dominates (GELU outputs); six more
 * accumulators in the row loop had made it three times dearer. Every block term is clamped at 0, so each counter only
 * grows. The block sums depend on the request alone, so replicas' counters add up to one server's. A block with a
 * non-finite value (its Σd⁴ is then not finite) is summed again element by element, leaving
 * out and counting the non-finite values. Each closed window's {@link AbsHistogram} is folded into a
 * {@link CumulativeAbsHistogram}. Used by one thread.
 */
final class QuantRangeStat {
    /** Rows summed in float before the sums move to double: rounding stays near 32 float ulps. */
    private static final int FLOAT_ROWS = 32;
    private final double outlierThreshold;
    private final AbsHistogram histogram = new AbsHistogram();
    /** Per channel min and max: kept per channel so that the row loop has no running reduction. */
    private float[] channelMin = new float[0];
    private float[] channelMax = new float[0];
    private float[] row = new float[0];
    /** Up to {@value #FLOAT_ROWS} real rows, one after the other, reduced together. */
    private float[] block = new float[0];
    /** The row loop's accumulators; the per-channel float arrays below are its arrays. */
    private QuantRows acc = new QuantRows(0);
    /**
     * Per channel, sums of {@code d, d², d³, d⁴} ({@code d = x − k}, k the request's first row mean): in float over up
     * to {@link #FLOAT_ROWS} rows, then added to the double sums (shifted by {@link #shift}), which the snapshot adds
     * up
     * over channels.
     */
    private float[] f1 = new float[0];
    private float[] f2 = new float[0];
    private float[] f3 = new float[0];
    private float[] f4 = new float[0];
    private double[] c1 = new double[0];
    private double[] c2 = new double[0];
    private double[] c3 = new double[0];
    private double[] c4 = new double[0];
    /**
     * Per channel, the signs σ of the sides summed in the row loop for Σx and Σx³ ({@code −1}: the negative parts), the
     * opposite of the channel's sign of Σx (Σx³) in the previous block (the request's first block for its first); and
     * the block's sums {@code Σt}, {@code Σt³} of
     * {@code t = max(σ·x, 0)} (float).
     */
    private float[] side = new float[0];
    private float[] side3 = new float[0];
    private float[] q1 = new float[0];
    private float[] q3 = new float[0];
    /** Per channel, Σmax(x,0), Σmax(−x,0), Σx², Σmax(x,0)³, Σmax(−x,0)³, Σx⁴ since start (never reset). */
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
    /** The window's shift of {@link #c1}…{@link #c4}: its first row mean (a float). */
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
            allocate(w);
        }
        FloatBuffer data = t.data();
        float[] blk = block;
        chooseSides(data, layout);
        boolean first = true;
        float k = 0f;
        int n = 0;
        int blockStart = 0;
        int rows = layout.batch * layout.rowsPerSequence;
        for (int b = 0; b < layout.batch; b++) {
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (!layout.real(b, i)) {
                    continue;
                }
                if (n == 0) {
                    blockStart = b * layout.rowsPerSequence + i;
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
                if (++n == FLOAT_ROWS) {
                    reduce(n, w, k);
                    flushCounters(data, layout, blockStart, b * layout.rowsPerSequence + i + 1, n, k);
                    flush(w, n, k);
                    n = 0;
                }
            }
        }
        reduce(n, w, k);
        flushCounters(data, layout, blockStart, rows, n, k);
        flush(w, n, k);
    }

    /** Adds the {@code n} rows of {@link #block} to the per-channel float sums and the histogram. */
    private void reduce(int n, int w, float k) {
        acc.reduce(block, n, w, k);
        histogram.addAll(block, n * w);
        count += (long) n * w;
    }

    /**
     * Adds the block's power sums ({@code blockRows} real rows among rows {@code from..to-1}, shifted by {@code k}) to
     * the cumulative ones; when one is not finite, sums the block again in double without its non-finite values.
     * Runs before {@link #flush}, while the float sums hold the block alone.
     */
    private void flushCounters(FloatBuffer data, RowLayout layout, int from, int to, int blockRows, float shift) {
        if (blockRows == 0) {
            return;
        }
        int w = layout.width;
        double check = 0;
        for (int j = 0; j < w; j++) {
            check += f4[j];
        }
        if (Double.isFinite(check)) {
            double k = shift;
            double n = blockRows;
            for (int j = 0; j < w; j++) {
                double d1 = f1[j];
                double d2 = f2[j];
                double d3 = f3[j];
                double s1 = d1 + n * k;
                double s2 = d2 + k * (2 * d1 + n * k);
                double s3 = d3 + k * (3 * d2 + k * (3 * d1 + n * k));
                double s4 = f4[j] + k * (4 * d3 + k * (6 * d2 + k * (4 * d1 + n * k)));
                double u1 = q1[j];
                double u3 = q3[j];
                // σ = −1: the summed side is the negative one, the positive one is Σx plus it; σ = +1 the converse
                double toPositive = (1 - side[j]) * 0.5;
                double toPositive3 = (1 - side3[j]) * 0.5;
                tp1[j] += Math.max(0.0, u1 + toPositive * s1);
                tn1[j] += Math.max(0.0, u1 - (1 - toPositive) * s1);
                tp3[j] += Math.max(0.0, u3 + toPositive3 * s3);
                tn3[j] += Math.max(0.0, u3 - (1 - toPositive3) * s3);
                t2[j] += Math.max(0.0, s2);
                t4[j] += Math.max(0.0, s4);
                side[j] = Math.copySign(1f, (float) -s1);
                side3[j] = Math.copySign(1f, (float) -s3);
            }
            finiteTotal += (long) blockRows * w;
        } else {
            sumFiniteOnly(data, layout, from, to);
        }
        Arrays.fill(q1, 0f);
        Arrays.fill(q3, 0f);
    }

    /** Sizes every per-channel array for rows {@code w} wide (only before the first value). */
    private void allocate(int w) {
        acc = new QuantRows(w);
        channelMin = acc.min;
        channelMax = acc.max;
        Arrays.fill(channelMin, Float.POSITIVE_INFINITY);
        Arrays.fill(channelMax, Float.NEGATIVE_INFINITY);
        row = new float[w];
        block = new float[FLOAT_ROWS * w];
        f1 = acc.f1;
        f2 = acc.f2;
        f3 = acc.f3;
        f4 = acc.f4;
        c1 = new double[w];
        c2 = new double[w];
        c3 = new double[w];
        c4 = new double[w];
        side = acc.side;
        side3 = acc.side3;
        q1 = acc.q1;
        q3 = acc.q3;
        tp1 = new double[w];
        tn1 = new double[w];
        t2 = new double[w];
        tp3 = new double[w];
        tn3 = new double[w];
        t4 = new double[w];
    }

    /**
     * Sets each channel's sides for the request's first block: the opposite signs of its Σx and Σx³ over that block's
     * rows (from the request alone, so that its counters do not depend on what came before).
     */
    private void chooseSides(FloatBuffer data, RowLayout layout) {
        int w = layout.width;
        float[] r = row;
        Arrays.fill(q1, 0f);
        Arrays.fill(q3, 0f);
        int seen = 0;
        for (int b = 0; b < layout.batch && seen < FLOAT_ROWS; b++) {
            for (int i = 0; i < layout.rowsPerSequence && seen < FLOAT_ROWS; i++) {
                if (!layout.real(b, i)) {
                    continue;
                }
                data.get(layout.offset(b, i), r, 0, w);
                for (int j = 0; j < w; j++) {
                    float v = r[j];
                    q1[j] += v;
                    q3[j] += v * v * v;
                }
                seen++;
            }
        }
        for (int j = 0; j < w; j++) {
            side[j] = Math.copySign(1f, -q1[j]);
            side3[j] = Math.copySign(1f, -q3[j]);
        }
        Arrays.fill(q1, 0f);
        Arrays.fill(q3, 0f);
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

    /**
     * Moves the float per-channel sums of the last {@code blockRows} rows, shifted by the request's {@code k}, into the
     * double ones, shifted by the window's: {@code Σ(d + δ)^p} expanded with {@code δ = k − shift} in double.
     */
    private void flush(int w, int blockRows, float k) {
        double delta = (double) k - shift;
        double n = blockRows;
        for (int j = 0; j < w; j++) {
            double d1 = f1[j];
            double d2 = f2[j];
            double d3 = f3[j];
            c1[j] += d1 + n * delta;
            c2[j] += d2 + delta * (2 * d1 + n * delta);
            c3[j] += d3 + delta * (3 * d2 + delta * (3 * d1 + n * delta));
            c4[j] += f4[j] + delta * (4 * d3 + delta * (6 * d2 + delta * (4 * d1 + n * delta)));
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
