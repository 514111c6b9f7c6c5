package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One model's shadow int8 measurements: per {@code matmul_input} site the signal energy {@code Σx²} of the float
 * model's tensor and the error energy {@code Σ(x − x_q)²} against the value the quantized model's MatMuls consume
 * there; per float output the cosine similarity of float and int8 rows and, for class outputs, whether their argmax
 * agrees. Two scopes: since the running shadow model was built (the gauges, reset by {@link #restart}) and since start
 * (the fleet counters). Masked positions are left out as for every site statistic; non-finite values and rows are
 * counted apart, never added. {@link #add} is called by one thread; {@link #snapshot} by any.
 */
public final class ShadowStats {
    private final List<ProbeSite> sites;
    private final List<String> outputs;
    private final boolean[] classOutput;
    private final double[] signal;
    private final double[] error;
    private final double[] signalTotal;
    private final double[] errorTotal;
    private final double[] cosineSum;
    private final long[] rows;
    private final long[] agree;
    private final double[] distanceTotal;
    private final long[] rowsTotal;
    private long nonFinite;
    private final Object lock = new Object();

    /**
     * @param sites        the measured sites (kind {@code matmul_input}), whose counters exist from the start
     * @param outputs      the compared float outputs
     * @param classOutputs outputs whose argmax agreement is measured (names not among {@code outputs} are ignored)
     */
    public ShadowStats(List<ProbeSite> sites, List<String> outputs, Set<String> classOutputs) {
        this.sites = List.copyOf(sites);
        this.outputs = List.copyOf(outputs);
        this.classOutput = new boolean[outputs.size()];
        for (int i = 0; i < classOutput.length; i++) {
            classOutput[i] = classOutputs.contains(outputs.get(i));
        }
        int n = sites.size();
        signal = new double[n];
        error = new double[n];
        signalTotal = new double[n];
        errorTotal = new double[n];
        int m = outputs.size();
        cosineSum = new double[m];
        rows = new long[m];
        agree = new long[m];
        distanceTotal = new double[m];
        rowsTotal = new long[m];
    }

    /** The measured sites. */
    public List<ProbeSite> sites() {
        return sites;
    }

    /** The compared outputs. */
    public List<String> outputs() {
        return outputs;
    }

    /** A new shadow model runs: the since-build sums start again; the counters since start go on. */
    public void restart() {
        synchronized (lock) {
            Arrays.fill(signal, 0);
            Arrays.fill(error, 0);
            Arrays.fill(cosineSum, 0);
            Arrays.fill(rows, 0);
            Arrays.fill(agree, 0);
        }
    }

    /**
     * Adds one shadowed request. Every tensor's layout is checked before anything is added, so a request that does
     * not fit (IllegalArgumentException) leaves the sums as they were.
     *
     * @param request         the float run: its batch, tokens, mask and site taps (by tensor name)
     * @param quantizedSites  per site tensor name, the quantized model's {@code DequantizeLinear} output there
     * @param floatOutputs    the float model's outputs, by name
     * @param quantizedOutputs the quantized model's outputs, by name
     */
    public void add(ProbedBatch request, Map<String, TapTensor> quantizedSites, Map<String, TapTensor> floatOutputs,
                    Map<String, TapTensor> quantizedOutputs) {
        int n = sites.size();
        RowLayout[] siteLayouts = new RowLayout[n];
        for (int i = 0; i < n; i++) {
            String name = sites.get(i).tensor();
            siteLayouts[i] = pair(name, request.tensors().get(name), quantizedSites.get(name), request);
        }
        int m = outputs.size();
        RowLayout[] outLayouts = new RowLayout[m];
        for (int o = 0; o < m; o++) {
            String name = outputs.get(o);
            outLayouts[o] = pair(name, floatOutputs.get(name), quantizedOutputs.get(name), request);
        }
        double[] s = new double[n];
        double[] e = new double[n];
        long skipped = 0;
        for (int i = 0; i < n; i++) {
            if (siteLayouts[i] != null) {
                String name = sites.get(i).tensor();
                skipped += energies(siteLayouts[i], request.tensors().get(name).data(),
                        quantizedSites.get(name).data(), s, e, i);
            }
        }
        double[] cos = new double[m];
        long[] r = new long[m];
        long[] a = new long[m];
        for (int o = 0; o < m; o++) {
            if (outLayouts[o] != null) {
                String name = outputs.get(o);
                skipped += fidelity(outLayouts[o], floatOutputs.get(name).data(), quantizedOutputs.get(name).data(),
                        cos, r, a, o);
            }
        }
        synchronized (lock) {
            for (int i = 0; i < n; i++) {
                signal[i] += s[i];
                error[i] += e[i];
                signalTotal[i] += s[i];
                errorTotal[i] += e[i];
            }
            for (int o = 0; o < m; o++) {
                cosineSum[o] += cos[o];
                rows[o] += r[o];
                agree[o] += a[o];
                distanceTotal[o] += r[o] - cos[o];
                rowsTotal[o] += r[o];
            }
            nonFinite += skipped;
        }
    }

    /** The layout both tensors share; null when either is absent. */
    private static RowLayout pair(String name, TapTensor f, TapTensor q, ProbedBatch request) {
        if (f == null || q == null) {
            return null;
        }
        if (!Arrays.equals(f.shape(), q.shape())) {
            throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(f.shape())
                    + " in the float model but " + Arrays.toString(q.shape()) + " in the quantized one");
        }
        RowLayout layout = RowLayout.of(name, f, request);
        RowLayout.of(name, q, request);
        return layout;
    }

    /** Adds Σx² and Σ(x − x_q)² over the real rows into s[i], e[i]; returns the non-finite pairs left out. */
    private static long energies(RowLayout l, FloatBuffer x, FloatBuffer xq, double[] s,
                                 double[] e, int i) {
        double ss = 0;
        double ee = 0;
        long bad = 0;
        for (int b = 0; b < l.batch; b++) {
            for (int row = 0; row < l.rowsPerSequence; row++) {
                if (!l.real(b, row)) {
                    continue;
                }
                int off = l.offset(b, row);
                for (int j = off, end = off + l.width; j < end; j++) {
                    double v = x.get(j);
                    double d = v - xq.get(j);
                    if (Double.isFinite(d)) {
                        ss += v * v;
                        ee += d * d;
                    } else {
                        bad++;
                    }
                }
            }
        }
        s[i] = ss;
        e[i] = ee;
        return bad;
    }

    /** Adds the row cosines into cos[o], the rows into r[o] and argmax agreements into a[o]; returns rows left out. */
    private long fidelity(RowLayout l, FloatBuffer f, FloatBuffer q, double[] cos, long[] r,
                          long[] a, int o) {
        long bad = 0;
        for (int b = 0; b < l.batch; b++) {
            for (int row = 0; row < l.rowsPerSequence; row++) {
                if (!l.real(b, row)) {
                    continue;
                }
                int off = l.offset(b, row);
                double fq = 0;
                double ff = 0;
                double qq = 0;
                int fMax = off;
                int qMax = off;
                for (int j = off, end = off + l.width; j < end; j++) {
                    double u = f.get(j);
                    double v = q.get(j);
                    fq += u * v;
                    ff += u * u;
                    qq += v * v;
                    if (u > f.get(fMax)) {
                        fMax = j;
                    }
                    if (v > q.get(qMax)) {
                        qMax = j;
                    }
                }
                if (!Double.isFinite(fq) || !Double.isFinite(ff) || !Double.isFinite(qq)) {
                    bad++;
                    continue;
                }
                cos[o] += cosine(fq, ff, qq);
                r[o]++;
                if (classOutput[o] && fMax == qMax) {
                    a[o]++;
                }
            }
        }
        return bad;
    }

    /** The cosine of two rows from their dot product and squared norms: two zero rows agree, one zero row does not. */
    static double cosine(double fq, double ff, double qq) {
        if (ff == 0 && qq == 0) {
            return 1;
        }
        if (ff == 0 || qq == 0) {
            return 0;
        }
        return Math.max(-1, Math.min(1, fq / Math.sqrt(ff * qq)));
    }

    /** The sums as of the last added request. */
    public ShadowSnapshot snapshot() {
        synchronized (lock) {
            List<ShadowSnapshot.Site> s = new ArrayList<>(sites.size());
            for (int i = 0; i < sites.size(); i++) {
                s.add(new ShadowSnapshot.Site(sites.get(i), signal[i], error[i], signalTotal[i], errorTotal[i]));
            }
            List<ShadowSnapshot.Output> out = new ArrayList<>(outputs.size());
            for (int o = 0; o < outputs.size(); o++) {
                out.add(new ShadowSnapshot.Output(outputs.get(o), classOutput[o], cosineSum[o], rows[o], agree[o],
                        distanceTotal[o], rowsTotal[o]));
            }
            return new ShadowSnapshot(s, out, nonFinite);
        }
    }
}
