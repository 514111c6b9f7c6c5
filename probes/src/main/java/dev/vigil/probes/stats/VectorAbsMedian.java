package dev.vigil.probes.stats;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AbsMedian}'s passes in SIMD lanes; loaded only when the JVM has the {@code jdk.incubator.vector} module.
 * They work on the bits of non-negative floats, which order like the floats (a NaN above everything): {@code |x|} is
 * the bits without the sign, the max an int max, and {@code v < p} is the sign of {@code v − p} (no overflow between
 * non-negative ints), so counting needs no masks.
 */
final class VectorAbsMedian {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    private static final int NO_SIGN = 0x7fffffff;

    private VectorAbsMedian() {
    }

    /**
     * One pass over {@code a[from..to)}, non-negative unless {@code abs} replaces them by {@code |a|}: adds to
     * {@code below[k]} how many lie below {@code pivots[k]} (bits of non-negative floats) for the
     * {@value AbsMedian#PIVOTS} pivots; returns the bits of the largest (a NaN's when there is one).
     */
    static int pass(float[] a, int from, int to, boolean abs, int[] pivots, int[] below) {
        IntVector p0 = IntVector.broadcast(INTS, pivots[0]);
        IntVector p1 = IntVector.broadcast(INTS, pivots[1]);
        IntVector p2 = IntVector.broadcast(INTS, pivots[2]);
        IntVector p3 = IntVector.broadcast(INTS, pivots[3]);
        IntVector p4 = IntVector.broadcast(INTS, pivots[4]);
        IntVector p5 = IntVector.broadcast(INTS, pivots[5]);
        IntVector p6 = IntVector.broadcast(INTS, pivots[6]);
        IntVector max = IntVector.zero(INTS);
        // each lane adds −1 (the sign of v − p, shifted down) for a value below the pivot
        IntVector c0 = max;
        IntVector c1 = max;
        IntVector c2 = max;
        IntVector c3 = max;
        IntVector c4 = max;
        IntVector c5 = max;
        IntVector c6 = max;
        int i = from;
        for (int bound = from + SPECIES.loopBound(to - from); i < bound; i += LANES) {
            IntVector v = FloatVector.fromArray(SPECIES, a, i).reinterpretAsInts();
            if (abs) {
                v = v.lanewise(VectorOperators.AND, NO_SIGN);
                v.reinterpretAsFloats().intoArray(a, i);
            }
            max = max.max(v);
            c0 = c0.add(v.sub(p0).lanewise(VectorOperators.ASHR, 31));
            c1 = c1.add(v.sub(p1).lanewise(VectorOperators.ASHR, 31));
            c2 = c2.add(v.sub(p2).lanewise(VectorOperators.ASHR, 31));
            c3 = c3.add(v.sub(p3).lanewise(VectorOperators.ASHR, 31));
            c4 = c4.add(v.sub(p4).lanewise(VectorOperators.ASHR, 31));
            c5 = c5.add(v.sub(p5).lanewise(VectorOperators.ASHR, 31));
            c6 = c6.add(v.sub(p6).lanewise(VectorOperators.ASHR, 31));
        }
        below[0] -= c0.reduceLanes(VectorOperators.ADD);
        below[1] -= c1.reduceLanes(VectorOperators.ADD);
        below[2] -= c2.reduceLanes(VectorOperators.ADD);
        below[3] -= c3.reduceLanes(VectorOperators.ADD);
        below[4] -= c4.reduceLanes(VectorOperators.ADD);
        below[5] -= c5.reduceLanes(VectorOperators.ADD);
        below[6] -= c6.reduceLanes(VectorOperators.ADD);
        int m = max.reduceLanes(VectorOperators.MAX);
        for (; i < to; i++) {
            int bits = Float.floatToRawIntBits(a[i]) & NO_SIGN;
            a[i] = Float.intBitsToFloat(bits);
            m = Math.max(m, bits);
            for (int k = 0; k < AbsMedian.PIVOTS; k++) {
                below[k] += (bits - pivots[k]) >>> 31;
            }
        }
        return m;
    }

    /**
     * Copies the non-negative {@code a[i]} whose bits are in {@code [low, high]} to {@code out}, in order; returns
     * their count. A vector with none of them costs one unsigned compare; the others are copied value by value
     * without a branch.
     */
    static int gather(float[] a, int n, int low, int high, float[] out) {
        int span = high - low;
        int m = 0;
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += LANES) {
            IntVector v = FloatVector.fromArray(SPECIES, a, i).reinterpretAsInts();
            if (v.sub(low).compare(VectorOperators.UNSIGNED_LE, span).anyTrue()) {
                m = gatherScalar(a, i, i + LANES, low, high, out, m);
            }
        }
        return gatherScalar(a, i, n, low, high, out, m);
    }

    private static int gatherScalar(float[] a, int from, int to, int low, int high, float[] out, int m) {
        for (int j = from; j < to; j++) {
            int bits = Float.floatToRawIntBits(a[j]);
            out[m] = a[j];
            m += (((bits - low) | (high - bits)) >>> 31) ^ 1;
        }
        return m;
    }
}
