package dev.vigil.probes.stats;

/**
 * The cumulative quantization counters of one site tensor since start (SPEC §6): raw power sums of its finite
 * unmasked values, signed ones split by sign so that every counter only grows, and the {@code |x|} histogram.
 * Summed over replicas they equal one server's; mean, variance and kurtosis follow from them.
 *
 * @param values        finite values counted ({@code vigil_quant_values_total})
 * @param nonFinite     NaN and infinite values, left out of every other counter
 * @param positiveSum   Σ max(x, 0)
 * @param negativeSum   Σ max(−x, 0)
 * @param sumSquares    Σ x²
 * @param positiveCubes Σ max(x, 0)³
 * @param negativeCubes Σ max(−x, 0)³
 * @param fourthPowers  Σ x⁴
 * @param absValues     the {@code |x|} histogram of the same values ({@code vigil_quant_abs_value})
 */
public record QuantCounters(long values, long nonFinite, double positiveSum, double negativeSum, double sumSquares,
                            double positiveCubes, double negativeCubes, double fourthPowers,
                            AbsValueBuckets absValues) {
}
