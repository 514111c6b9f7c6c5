package dev.vigil.probes.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

/**
 * The six power sums of the fleet quantization counters, Σx⁺, Σx⁻, Σx², Σ(x⁺)³, Σ(x⁻)³ and Σx⁴, added up here in
 * double from the values themselves: the reference {@link QuantCounters} are checked against.
 */
final class PowerSums {
    private final double[] sums = new double[6];
    private long values;

    void add(double v) {
        double p = Math.max(v, 0);
        double m = Math.max(-v, 0);
        sums[0] += p;
        sums[1] += m;
        sums[2] += v * v;
        sums[3] += p * p * p;
        sums[4] += m * m * m;
        sums[5] += v * v * v * v;
        values++;
    }

    /** The sums over every value of every row of the sequences. */
    static PowerSums of(List<Reference.Sequence> sequences) {
        PowerSums sums = new PowerSums();
        for (Reference.Sequence seq : sequences) {
            for (double[] row : seq.rows()) {
                for (double v : row) {
                    sums.add(v);
                }
            }
        }
        return sums;
    }

    long values() {
        return values;
    }

    /** Each of the counters' sums within {@code tol} × max(1, |sum|) of these. */
    void assertClose(QuantCounters q, double tol, String where) {
        double[] got = counted(q);
        for (int i = 0; i < sums.length; i++) {
            SnapshotAgreement.close(sums[i], got[i], tol, where + " power sum " + i);
        }
    }

    /** Each of the counters' sums within {@code tol} × |sum| of these, however small the sum (0 for an empty side). */
    void assertRelative(QuantCounters q, double tol, String where) {
        double[] got = counted(q);
        for (int i = 0; i < sums.length; i++) {
            assertEquals(sums[i], got[i], tol * Math.abs(sums[i]), where + " power sum " + i);
        }
    }

    private static double[] counted(QuantCounters q) {
        return new double[] {q.positiveSum(), q.negativeSum(), q.sumSquares(), q.positiveCubes(), q.negativeCubes(),
                q.fourthPowers()};
    }
}
