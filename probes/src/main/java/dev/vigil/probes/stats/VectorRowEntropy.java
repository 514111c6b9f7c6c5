package dev.vigil.probes.stats;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link RowEntropy#plogp} in SIMD lanes; loaded only when the JVM has the {@code jdk.incubator.vector} module.
 * {@code ln p = e·ln 2 + f·ln 2 + f(1−f)·q(f)} for {@code p = (1+f)·2^e}: exponent and mantissa from the float's bits,
 * {@code q} a degree-4 minimax polynomial, so {@code ln(1+f) − f·ln 2} is within 1.6e-6 and {@code ln p} within
 * 1e-5 (float rounding of {@code e·ln 2}) down to 1e-30. Zero gives about −88, so {@code 0·ln 0} is 0 without a
 * branch; subnormals count as if normal (their {@code p·ln p} is below 1e-36).
 */
final class VectorRowEntropy {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final float LN2 = 0.6931471805599453f;
    private static final float Q0 = 0.30674878f;
    private static final float Q1 = -0.19103156f;
    private static final float Q2 = 0.1261173f;
    private static final float Q3 = -0.06651187f;
    private static final float Q4 = 0.017911893f;
    private static final FloatVector LN2V = FloatVector.broadcast(SPECIES, LN2);
    private static final FloatVector Q0V = FloatVector.broadcast(SPECIES, Q0);
    private static final FloatVector Q1V = FloatVector.broadcast(SPECIES, Q1);
    private static final FloatVector Q2V = FloatVector.broadcast(SPECIES, Q2);
    private static final int MANTISSA = 0x007fffff;
    private static final int ONE = 0x3f800000;

    private VectorRowEntropy() {
    }

    static float plogp(float[] row, int from, int n, float[] mass) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int m = 0;
        for (int bound = SPECIES.loopBound(n); m < bound; m += SPECIES.length()) {
            FloatVector p = FloatVector.fromArray(SPECIES, row, from + m);
            FloatVector.fromArray(SPECIES, mass, m).add(p).intoArray(mass, m);
            IntVector bits = (IntVector) p.reinterpretAsInts();
            FloatVector e = (FloatVector) bits.lanewise(VectorOperators.LSHR, 23).sub(127)
                    .convert(VectorOperators.I2F, 0);
            FloatVector f = ((FloatVector) bits.and(MANTISSA).or(ONE).reinterpretAsFloats()).sub(1f);
            FloatVector q = f.fma(Q4, Q3).fma(f, Q2V).fma(f, Q1V).fma(f, Q0V);
            FloatVector ln = e.fma(LN2V, f.sub(f.mul(f)).fma(q, f.mul(LN2)));
            acc = p.fma(ln, acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; m < n; m++) {
            float p = row[from + m];
            mass[m] += p;
            sum += p * ln(p);
        }
        return sum;
    }

    /** The same log, one value (the row's tail). */
    static float ln(float p) {
        int bits = Float.floatToRawIntBits(p);
        float e = (bits >>> 23) - 127;
        float f = Float.intBitsToFloat((bits & MANTISSA) | ONE) - 1f;
        float q = Math.fma(Math.fma(Math.fma(Math.fma(Q4, f, Q3), f, Q2), f, Q1), f, Q0);
        return Math.fma(e, LN2, Math.fma(f - f * f, q, f * LN2));
    }
}
