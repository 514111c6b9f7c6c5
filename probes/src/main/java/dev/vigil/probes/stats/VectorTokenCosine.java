package dev.vigil.probes.stats;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link TokenCosineStat}'s row loops in SIMD lanes; loaded only when the JVM has the {@code jdk.incubator.vector}
 * module. Only float lanes of {@link FloatVector#SPECIES_PREFERRED} (a second vector shape, such as doubles widened from
 * floats, stops C2 from compiling the other statistics' kernels on JDK 17), so the double precision of the scalar path
 * comes from error-free transformations instead: a product {@code a·b} is exactly {@code p + fma(a, b, −p)} and a sum
 * {@code s + p} exactly {@code t + err} (Knuth's two-sum), so each lane carries an unevaluated sum of two floats
 * ({@code hi + lo}, about 48 bits) that the row's end adds up in double.
 */
final class VectorTokenCosine {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();

    private VectorTokenCosine() {
    }

    /**
     * {@code Σ r[from+j]²} for {@code j < w}, to about 1e-14 relative while no square overflows or underflows a float;
     * {@code lanes} holds {@code LANES} floats of scratch.
     */
    static double squaredNorm(float[] r, int from, int w, float[] lanes) {
        // two sums, over even and odd vectors, so that each add waits on the one before it in its chain only
        FloatVector hi0 = FloatVector.zero(SPECIES);
        FloatVector lo0 = hi0;
        FloatVector hi1 = hi0;
        FloatVector lo1 = hi0;
        int j = 0;
        for (int bound = w - 2 * LANES; j <= bound; j += 2 * LANES) {
            FloatVector v0 = FloatVector.fromArray(SPECIES, r, from + j);
            FloatVector v1 = FloatVector.fromArray(SPECIES, r, from + j + LANES);
            FloatVector p0 = v0.mul(v0);
            FloatVector p1 = v1.mul(v1);
            FloatVector t0 = hi0.add(p0);
            FloatVector t1 = hi1.add(p1);
            FloatVector z0 = t0.sub(hi0);
            FloatVector z1 = t1.sub(hi1);
            lo0 = lo0.add(hi0.sub(t0.sub(z0)).add(p0.sub(z0)).add(v0.fma(v0, p0.neg())));
            lo1 = lo1.add(hi1.sub(t1.sub(z1)).add(p1.sub(z1)).add(v1.fma(v1, p1.neg())));
            hi0 = t0;
            hi1 = t1;
        }
        if (j + LANES <= w) {
            FloatVector v = FloatVector.fromArray(SPECIES, r, from + j);
            FloatVector p = v.mul(v);
            FloatVector t = hi1.add(p);
            FloatVector z = t.sub(hi1);
            lo1 = lo1.add(hi1.sub(t.sub(z)).add(p.sub(z)).add(v.fma(v, p.neg())));
            hi1 = t;
            j += LANES;
        }
        FloatVector t = hi0.add(hi1);
        FloatVector z = t.sub(hi0);
        // the low parts are 2^-24 of the high ones: a float sum of them is good to 2^-48 of the norm
        double sum = lo0.add(lo1).add(hi0.sub(t.sub(z)).add(hi1.sub(z))).reduceLanes(VectorOperators.ADD);
        t.intoArray(lanes, 0);
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int k = 0;
        for (; k + 3 < LANES; k += 4) {
            s0 += lanes[k];
            s1 += lanes[k + 1];
            s2 += lanes[k + 2];
            s3 += lanes[k + 3];
        }
        for (; k < LANES; k++) {
            s0 += lanes[k];
        }
        sum += (s0 + s1) + (s2 + s3);
        for (; j < w; j++) {
            double v = r[from + j];
            sum += v * v;
        }
        return sum;
    }

    /**
     * Adds {@code r[from+j] · (scaleHi + scaleLo)} to the two-float sums {@code sumHi[j] + sumLo[j]}, {@code j < w}: a
     * row scaled to unit length added to the sequence's sum, each element to about 2^-48 of its size.
     */
    static void addScaled(float[] r, int from, int w, float scaleHi, float scaleLo, float[] sumHi, float[] sumLo) {
        FloatVector sh = FloatVector.broadcast(SPECIES, scaleHi);
        FloatVector sl = FloatVector.broadcast(SPECIES, scaleLo);
        FloatVector negHi = FloatVector.broadcast(SPECIES, -scaleHi);
        int j = 0;
        for (int bound = SPECIES.loopBound(w); j < bound; j += LANES) {
            FloatVector v = FloatVector.fromArray(SPECIES, r, from + j);
            FloatVector s = FloatVector.fromArray(SPECIES, sumHi, j);
            // n = −p for p = v·scaleHi rounded; v·scaleHi − p and v·scaleLo are the product's low part
            FloatVector n = v.mul(negHi);
            FloatVector low = v.fma(sl, v.fma(sh, n));
            FloatVector t = s.sub(n);
            FloatVector z = t.sub(s);
            FloatVector sumError = s.sub(t.sub(z)).sub(n.add(z));
            t.intoArray(sumHi, j);
            FloatVector.fromArray(SPECIES, sumLo, j).add(sumError.add(low)).intoArray(sumLo, j);
        }
        for (; j < w; j++) {
            float v = r[from + j];
            float s = sumHi[j];
            float p = v * scaleHi;
            float low = Math.fma(v, scaleLo, Math.fma(v, scaleHi, -p));
            float t = s + p;
            float z = t - s;
            sumHi[j] = t;
            sumLo[j] += ((s - (t - z)) + (p - z)) + low;
        }
    }
}
