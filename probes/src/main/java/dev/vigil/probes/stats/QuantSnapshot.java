package dev.vigil.probes.stats;

/**
 * Quantization-range statistics of one site tensor over the window's unmasked values {@code x}; also the calibration
 * endpoint's per-tensor entry. Every double is NaN without values.
 *
 * @param count            values seen
 * @param channels         channels (last-axis size)
 * @param min              exact minimum ({@code vigil_quant_min})
 * @param max              exact maximum ({@code vigil_quant_max})
 * @param absMax           exact {@code max|x|} ({@code vigil_quant_abs_max})
 * @param absP999          0.999 percentile of {@code |x|} (numpy's linear rule), streaming estimate within 1%
 * @param absP9999         0.9999 percentile, likewise
 * @param absP99999        0.99999 percentile, likewise
 * @param kurtosis         {@code E[(x-μ)^4] / E[(x-μ)^2]^2}; NaN when the variance is 0
 * @param sqnrAbsMaxDb     int8 SQNR in dB with {@code c = absMax} ({@code calibration="absmax"}); +Inf when the
 *                         quantization is exact, NaN when every value is 0
 * @param sqnrPercentileDb int8 SQNR in dB with {@code c = absP9999} ({@code calibration="percentile"})
 * @param outlierChannels  channels whose window abs max is {@code > outlier_threshold}
 */
public record QuantSnapshot(long count, int channels, double min, double max, double absMax, double absP999,
                            double absP9999, double absP99999, double kurtosis, double sqnrAbsMaxDb,
                            double sqnrPercentileDb, int outlierChannels) {
}
