package dev.vigil.probes.stats;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link QuantRows#reduce} in SIMD lanes; loaded only when the JVM has the
 * {@code jdk.incubator.vector} module. A tile of channels one vector wide keeps its ten accumulators in registers over
 * all the block's rows, so each value is loaded once and nothing else is loaded or stored per row; the float operations
 * per channel are the scalar path's, in the same order, so both give the same sums bit for bit.
 */
final class VectorQuantRows {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;

    private VectorQuantRows() {
    }

    /** See {@link QuantRows#reduce}; channels past the last whole vector go to the scalar path. */
    static void reduce(float[] block, int rows, int w, float k, QuantRows s) {
        int lanes = SPECIES.length();
        FloatVector kv = FloatVector.broadcast(SPECIES, k);
        FloatVector zero = FloatVector.zero(SPECIES);
        int j = 0;
        for (; j + lanes <= w; j += lanes) {
            FloatVector lo = FloatVector.fromArray(SPECIES, s.min, j);
            FloatVector hi = FloatVector.fromArray(SPECIES, s.max, j);
            FloatVector a1 = FloatVector.fromArray(SPECIES, s.f1, j);
            FloatVector a2 = FloatVector.fromArray(SPECIES, s.f2, j);
            FloatVector a3 = FloatVector.fromArray(SPECIES, s.f3, j);
            FloatVector a4 = FloatVector.fromArray(SPECIES, s.f4, j);
            FloatVector u1 = FloatVector.fromArray(SPECIES, s.q1, j);
            FloatVector u3 = FloatVector.fromArray(SPECIES, s.q3, j);
            FloatVector g1 = FloatVector.fromArray(SPECIES, s.side, j);
            FloatVector g3 = FloatVector.fromArray(SPECIES, s.side3, j);
            for (int r = 0, off = j; r < rows; r++, off += w) {
                FloatVector v = FloatVector.fromArray(SPECIES, block, off);
                lo = lo.min(v);
                hi = hi.max(v);
                FloatVector d = v.sub(kv);
                FloatVector d2 = d.mul(d);
                a1 = a1.add(d);
                a2 = a2.add(d2);
                a3 = a3.add(d2.mul(d));
                a4 = a4.add(d2.mul(d2));
                FloatVector u = g1.mul(v).max(zero);
                FloatVector c = g3.mul(v).max(zero);
                u1 = u1.add(u);
                u3 = u3.add(c.mul(c).mul(c));
            }
            lo.intoArray(s.min, j);
            hi.intoArray(s.max, j);
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
