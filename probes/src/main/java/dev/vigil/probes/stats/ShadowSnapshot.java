package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;

import java.util.List;

/**
 * An immutable view of a model's {@link ShadowStats}.
 *
 * @param sites     per measured site, in site order
 * @param outputs   per compared output
 * @param nonFinite site values and output rows left out because they were not finite, since start
 */
public record ShadowSnapshot(List<Site> sites, List<Output> outputs, long nonFinite) {
    public ShadowSnapshot {
        sites = List.copyOf(sites);
        outputs = List.copyOf(outputs);
    }

    /**
     * One site's energies.
     *
     * @param signal      {@code Σx²} since the shadow model was built
     * @param error       {@code Σ(x − x_q)²} since the shadow model was built
     * @param signalTotal {@code Σx²} since start
     * @param errorTotal  {@code Σ(x − x_q)²} since start
     */
    public record Site(ProbeSite site, double signal, double error, double signalTotal, double errorTotal) {
        /** {@code 10·log10(signal / error)}: NaN before any value, +∞ when the quantized values were exact. */
        public double sqnrDb() {
            return signal == 0 && error == 0 ? Double.NaN : 10 * Math.log10(signal / error);
        }
    }

    /**
     * One output's fidelity.
     *
     * @param classOutput   whether argmax agreement is measured
     * @param cosineSum     Σ of row cosines since the shadow model was built
     * @param rows          rows since the shadow model was built
     * @param agree         rows whose argmax agreed since the shadow model was built (class outputs)
     * @param distanceTotal Σ of {@code 1 − cosine} since start
     * @param rowsTotal     rows since start
     */
    public record Output(String output, boolean classOutput, double cosineSum, long rows, long agree,
                         double distanceTotal, long rowsTotal) {
        /** Mean row cosine; NaN before any row. */
        public double cosine() {
            return rows == 0 ? Double.NaN : cosineSum / rows;
        }

        /** Fraction of rows whose argmax agreed; NaN before any row or for an output that is not a class output. */
        public double top1Agreement() {
            return rows == 0 || !classOutput ? Double.NaN : (double) agree / rows;
        }
    }
}
