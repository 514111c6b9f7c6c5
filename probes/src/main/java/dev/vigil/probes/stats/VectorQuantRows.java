package dev.vigil.probes.stats;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link QuantRows#reduce} in SIMD lanes; loaded only when the JVM has the {@code jdk.incubator.vector} module. A tile
 * of channels one vector wide keeps its ten accumulators in registers over all the block's rows, so each value is
 * loaded once and nothing else is loaded or stored per row. The min and max are int order keys and the sides a sign
 * flip and an int max with 0 (the scalar path does them in floats, with the same results for values that are not
 * NaN); the sums add the same values in the same order as the scalar path, so both give the same sums bit for bit.
 */
final class VectorQuantRows {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = SPECIES.withLanes(int.class);

    private VectorQuantRows() {
    }

    /** See {@link QuantRows#reduce}; channels past the last whole vector go to the scalar path. */
    static void reduce(float[] block, int rows, int w, float k, QuantRows s) {
        int lanes = SPECIES.length();
        FloatVector kv = FloatVector.broadcast(SPECIES, k);
        IntVector zero = IntVector.zero(INTS);
        int j = 0;
        for (; j + lanes <= w; j += lanes) {
            IntVector lo = IntVector.fromArray(INTS, s.minKey, j);
            IntVector hi = IntVector.fromArray(INTS, s.maxKey, j);
            FloatVector a1 = FloatVector.fromArray(SPECIES, s.f1, j);
            FloatVector a2 = FloatVector.fromArray(SPECIES, s.f2, j);
            FloatVector a3 = FloatVector.fromArray(SPECIES, s.f3, j);
            FloatVector a4 = FloatVector.fromArray(SPECIES, s.f4, j);
            FloatVector u1 = FloatVector.fromArray(SPECIES, s.q1, j);
            FloatVector u3 = FloatVector.fromArray(SPECIES, s.q3, j);
            IntVector g1 = IntVector.fromArray(INTS, s.flip, j);
            IntVector g3 = IntVector.fromArray(INTS, s.flip3, j);
            for (int r = 0, off = j; r < rows; r++, off += w) {
                FloatVector v = FloatVector.fromArray(SPECIES, block, off);
                IntVector bits = v.reinterpretAsInts();
                // QuantRows.orderKey lane by lane
                IntVector key = bits.lanewise(VectorOperators.XOR,
                        bits.lanewise(VectorOperators.ASHR, 31).lanewise(VectorOperators.LSHR, 1));
                lo = lo.min(key);
                hi = hi.max(key);
                FloatVector d = v.sub(kv);
                FloatVector d2 = d.mul(d);
                a1 = a1.add(d);
                a2 = a2.add(d2);
                a3 = a3.add(d2.mul(d));
                a4 = a4.add(d2.mul(d2));
                FloatVector u = bits.lanewise(VectorOperators.XOR, g1).max(zero).reinterpretAsFloats();
                FloatVector c = bits.lanewise(VectorOperators.XOR, g3).max(zero).reinterpretAsFloats();
                u1 = u1.add(u);
                u3 = u3.add(c.mul(c).mul(c));
            }
            lo.intoArray(s.minKey, j);
            hi.intoArray(s.maxKey, j);
            a1.intoArray(s.f1, j);
            a2.intoArray(s.f2, j);
            a3.intoArray(s.f3, j);
            a4.intoArray(s.f4, j);
            u1.intoArray(s.q1, j);
            u3.intoArray(s.q3, j);
        }
        if (j < w) {
            QuantRows.scalar(block, rows, w, j, k, s);
        }
    }
}
