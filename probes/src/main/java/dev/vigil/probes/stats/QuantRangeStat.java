package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Quantization ranges of a site tensor over the window's real rows (SPEC §5): exact min/max/abs max, moments for the
 * kurtosis (shifted by the window's first row mean so the fourth-moment sums do not cancel), per-channel abs max for
 * outlier channels, and an {@link AbsHistogram} for the percentiles and the int8 SQNR. One pass per row: the row is
 * copied to a reused array, then reduced. Used by one thread.
 */
final class QuantRangeStat {
    private final double outlierThreshold;
    private final AbsHistogram histogram = new AbsHistogram();
    private float[] channelAbsMax = new float[0];
    private float[] row = new float[0];
    private long count;
    private float min;
    private float max;
    private boolean shifted;
    private double shift;
    private double s1;
    private double s2;
    private double s3;
    private double s4;

    QuantRangeStat(double outlierThreshold) {
        this.outlierThreshold = outlierThreshold;
        reset();
    }

    void observe(TapTensor t, RowLayout layout) {
        int w = layout.width;
        if (channelAbsMax.length != w) {
            if (count > 0) {
                throw new IllegalArgumentException("site width changed from " + channelAbsMax.length + " to " + w);
            }
            channelAbsMax = new float[w];
            row = new float[w];
        }
        FloatBuffer data = t.data();
        float[] r = row;
        float[] chan = channelAbsMax;
        float lo = min;
        float hi = max;
        for (int b = 0; b < layout.batch; b++) {
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (!layout.real(b, i)) {
                    continue;
                }
                data.get(layout.offset(b, i), r, 0, w);
                if (!shifted) {
                    shift = rowMean(r, w);
                    shifted = true;
                }
                double k = shift;
                double a1 = 0;
                double a2 = 0;
                double a3 = 0;
                double a4 = 0;
                for (int j = 0; j < w; j++) {
                    float v = r[j];
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                    chan[j] = Math.max(chan[j], Math.abs(v));
                    double d = v - k;
                    double d2 = d * d;
                    a1 += d;
                    a2 += d2;
                    a3 += d2 * d;
                    a4 += d2 * d2;
                }
                s1 += a1;
                s2 += a2;
                s3 += a3;
                s4 += a4;
                histogram.addAll(r, w);
                count += w;
            }
        }
        min = lo;
        max = hi;
    }

    private static double rowMean(float[] r, int w) {
        double sum = 0;
        for (int j = 0; j < w; j++) {
            sum += r[j];
        }
        return w == 0 ? 0 : sum / w;
    }

    QuantSnapshot snapshot() {
        int channels = channelAbsMax.length;
        if (count == 0) {
            double nan = Double.NaN;
            return new QuantSnapshot(0, channels, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0);
        }
        double n = count;
        double absMax = Math.max(Math.abs((double) min), Math.abs((double) max));
        double mean = s1 / n;
        double m2 = s2 / n - mean * mean;
        double m4 = s4 / n - 4 * mean * s3 / n + 6 * mean * mean * s2 / n - 3 * mean * mean * mean * mean;
        double kurtosis = m2 > 0 ? m4 / (m2 * m2) : Double.NaN;
        double sumSquares = s2 + 2 * shift * s1 + n * shift * shift;
        double p9999 = histogram.quantile(0.9999, absMax);
        int outliers = 0;
        for (float c : channelAbsMax) {
            if (c > outlierThreshold) {
                outliers++;
            }
        }
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
        Arrays.fill(channelAbsMax, 0f);
        count = 0;
        min = Float.POSITIVE_INFINITY;
        max = Float.NEGATIVE_INFINITY;
        shifted = false;
        shift = 0;
        s1 = 0;
        s2 = 0;
        s3 = 0;
        s4 = 0;
    }
}
