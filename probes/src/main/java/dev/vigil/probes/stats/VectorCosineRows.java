package dev.vigil.probes.stats;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link TokenCosineStat}'s two row loops in SIMD lanes of doubles; loaded only when the JVM has the
 * {@code jdk.incubator.vector} module. Each float is widened to double as in the scalar loops; only the order of the
 * squared norm's additions differs (lane sums), by about one ulp of a double.
 */
final class VectorCosineRows {
    private static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
    private static final int LANES = DOUBLES.length();
    /** As many floats as a double vector has lanes, so that one widens into one. */
    private static final VectorSpecies<Float> FLOATS =
            FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));

    private VectorCosineRows() {
    }

    private static DoubleVector widened(float[] r, int j) {
        return (DoubleVector) FloatVector.fromArray(FLOATS, r, j).convertShape(VectorOperators.F2D, DOUBLES, 0);
    }

    /** {@code Σ r[j]²} over {@code r[0..w)}, in double. */
    static double squaredNorm(float[] r, int w) {
        DoubleVector acc = DoubleVector.zero(DOUBLES);
        int j = 0;
        for (int bound = DOUBLES.loopBound(w); j < bound; j += LANES) {
            DoubleVector v = widened(r, j);
            acc = acc.add(v.mul(v));
        }
        double sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < w; j++) {
            double v = r[j];
            sum += v * v;
        }
        return sum;
    }

    /** {@code s[j] += r[j] · scale} over {@code [0, w)}, in double. */
    static void addScaled(float[] r, int w, double scale, double[] s) {
        int j = 0;
        for (int bound = DOUBLES.loopBound(w); j < bound; j += LANES) {
            DoubleVector.fromArray(DOUBLES, s, j).add(widened(r, j).mul(scale)).intoArray(s, j);
        }
        for (; j < w; j++) {
            s[j] += r[j] * scale;
        }
    }
}
