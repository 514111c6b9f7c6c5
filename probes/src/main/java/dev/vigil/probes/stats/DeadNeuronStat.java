package dev.vigil.probes.stats;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * Dead and τ-dormant neurons of an {@code mlp} site (SPEC §5): per channel, the window's max activation and sum of
 * {@code |a|}, in one pass over the real token rows. Used by one thread.
 */
final class DeadNeuronStat {
    /** Rows summed in float before the sums move to double (a float add runs in vector lanes, a double one slower). */
    private static final int FLOAT_ROWS = 16;
    private final double dormantTau;
    private float[] maxActivation = new float[0];
    private double[] sumAbs = new double[0];
    /** {@code |a|} summed in float over up to {@value #FLOAT_ROWS} rows, then moved to {@link #sumAbs}. */
    private float[] floatSumAbs = new float[0];
    private float[] row = new float[0];
    /** Rows in {@link #floatSumAbs} since it last moved to {@link #sumAbs}. */
    private int pendingRows;
    private long rows;

    DeadNeuronStat(double dormantTau) {
        this.dormantTau = dormantTau;
    }

    /** Adds a request's real rows, read from the tap. */
    void observe(TapTensor t, RowLayout layout) {
        int w = layout.width;
        FloatBuffer data = t.data();
        ensureWidth(w);
        float[] r = row;
        for (int b = 0; b < layout.batch; b++) {
            for (int i = 0; i < layout.rowsPerSequence; i++) {
                if (layout.real(b, i)) {
                    data.get(layout.offset(b, i), r, 0, w);
                    addRow(w);
                }
            }
        }
        endRequest();
    }

    /**
     * Adds {@code n} real rows of a request, {@code w} channels each, one after the other in {@code block} (the rows a
     * {@link QuantRangeStat} of the same tensor copied, so that the tap is read once); {@link #endRequest} follows the
     * request's last rows. The same sums as {@link #observe}, bit for bit.
     */
    void addRows(float[] block, int n, int w) {
        ensureWidth(w);
        for (int r = 0, off = 0; r < n; r++, off += w) {
            System.arraycopy(block, off, row, 0, w);
            addRow(w);
        }
    }

    /**
     * Adds {@link #row}. The loop reads it at the accumulators' own index: read at an offset, a float array the JIT
     * cannot tell apart from them is not vectorized (7× slower).
     */
    private void addRow(int w) {
        float[] r = row;
        float[] mx = maxActivation;
        float[] fa = floatSumAbs;
        for (int j = 0; j < w; j++) {
            float v = r[j];
            mx[j] = Math.max(mx[j], v);
            fa[j] += Math.abs(v);
        }
        rows++;
        if (++pendingRows == FLOAT_ROWS) {
            flush(w);
        }
    }

    /** Ends a request's rows: their float sums move to double. */
    void endRequest() {
        flush(floatSumAbs.length);
    }

    private void flush(int w) {
        for (int j = 0; j < w; j++) {
            sumAbs[j] += floatSumAbs[j];
        }
        Arrays.fill(floatSumAbs, 0f);
        pendingRows = 0;
    }

    DeadNeuronSnapshot snapshot() {
        int w = maxActivation.length;
        if (rows == 0) {
            return new DeadNeuronSnapshot(w, 0, 0, Double.NaN, 0, Double.NaN);
        }
        int dead = 0;
        double total = 0;
        for (int j = 0; j < w; j++) {
            if (!(maxActivation[j] > 0)) {
                dead++;
            }
            total += sumAbs[j];
        }
        int dormant = 0;
        // s_j = mean|a_j| / mean_k(mean|a_k|) = sumAbs_j · w / Σ_k sumAbs_k: the row counts cancel.
        for (int j = 0; j < w; j++) {
            if (total == 0 || sumAbs[j] * w / total <= dormantTau) {
                dormant++;
            }
        }
        return new DeadNeuronSnapshot(w, rows, dead, (double) dead / w, dormant, (double) dormant / w);
    }

    /** The window's {@code Σ|a|} of channel {@code j} so far (its float sums moved to double). */
    double sumAbs(int j) {
        return sumAbs[j];
    }

    void reset() {
        Arrays.fill(maxActivation, Float.NEGATIVE_INFINITY);
        Arrays.fill(sumAbs, 0.0);
        rows = 0;
    }

    /**
     * Adds one request reduced in the graph: per channel, the max and {@code Σ|a|} over its {@code realRows} real
     * rows (the window state is the one {@link #observe} keeps).
     */
    void observeReduced(double[] channelMax, double[] channelAbsSum, long realRows) {
        int w = channelMax.length;
        ensureWidth(w);
        for (int j = 0; j < w; j++) {
            maxActivation[j] = Math.max(maxActivation[j], (float) channelMax[j]);
            sumAbs[j] += channelAbsSum[j];
        }
        rows += realRows;
    }

    /** Sizes the accumulators for {@code w} channels; a site whose width changes once rows are counted is refused. */
    private void ensureWidth(int w) {
        if (maxActivation.length == w) {
            return;
        }
        if (rows > 0) {
            throw new IllegalArgumentException("mlp site width changed from " + maxActivation.length + " to " + w);
        }
        maxActivation = new float[w];
        sumAbs = new double[w];
        floatSumAbs = new float[w];
        row = new float[w];
        reset();
    }
}
