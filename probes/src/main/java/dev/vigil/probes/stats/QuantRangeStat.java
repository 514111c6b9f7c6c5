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
 * double-precision reference. Used by one thread.
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
        }
        FloatBuffer data = t.data();
        float[] r = row;
        float[] lo = channelMin;
        float[] hi = channelMax;
        int block = 0;
        for (int b = 0; b < layout.batch; b++) {
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (!layout.real(b, i)) {
                    continue;
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
                }
                histogram.addAll(r, w);
                count += w;
                if (++block == FLOAT_ROWS) {
                    flush(w);
                    block = 0;
                }
            }
        }
        flush(w);
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

    void reset() {
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
}
