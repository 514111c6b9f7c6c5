package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's attention picture (SPEC §2 {@code inspect_attention}): for the request's first sequence, one head's
 * attention probabilities over its unmasked queries and keys, and the L2 norm of every unmasked token row of each
 * residual site, where a massive activation shows as one token with a norm far above the others.
 *
 * @param site          the attention site
 * @param head          the head shown
 * @param heads         the site's head count
 * @param queries       the unmasked query positions of the first sequence (rows of {@code probabilities})
 * @param keys          the unmasked key positions of the first sequence (columns of {@code probabilities})
 * @param probabilities {@code probabilities[q][k]}: attention of query {@code queries[q]} on key {@code keys[k]}
 * @param residuals     per residual site with token rows, in site order, the norms of the first sequence's unmasked rows
 */
public record AttentionInspection(ProbeSite site, int head, int heads, int[] queries, int[] keys,
                                  float[][] probabilities, List<ResidualNorms> residuals) {

    /**
     * The L2 norms of one residual site's token rows.
     *
     * @param positions the unmasked positions of the first sequence
     * @param norms     {@code norms[i]}: the L2 norm of the row at {@code positions[i]}
     */
    public record ResidualNorms(ProbeSite site, int[] positions, double[] norms) {
    }

    /**
     * The picture of attention layer {@code layer}, head {@code head}, from a probed request.
     *
     * @param sites the probed sites (the residual sites among them give the norms)
     * @throws IllegalArgumentException naming the parameter when the layer is not an attention site among
     *                                  {@code sites} or was not tapped, or the head is out of range
     */
    public static AttentionInspection of(List<ProbeSite> sites, ProbedBatch batch, int layer, int head) {
        ProbeSite site = null;
        List<Integer> layers = new ArrayList<>();
        for (ProbeSite s : sites) {
            if (s.kind() == SiteKind.ATTENTION) {
                layers.add(s.layer());
                if (s.layer() == layer) {
                    site = s;
                }
            }
        }
        if (site == null) {
            throw new IllegalArgumentException("inspect_attention layer " + layer + " is not a probed attention layer;"
                    + " the probed attention layers are " + layers);
        }
        TapTensor t = batch.tensors().get(site.tensor());
        if (t == null) {
            throw new IllegalArgumentException("inspect_attention layer " + layer + ": tensor '" + site.tensor()
                    + "' was not tapped in this request");
        }
        AttentionLayout shape = AttentionStat.layout(site.tensor(), t, batch);
        if (head < 0 || head >= shape.heads()) {
            throw new IllegalArgumentException("inspect_attention head " + head + " is out of range: attention layer "
                    + layer + " has " + shape.heads() + " heads (0.." + (shape.heads() - 1) + ")");
        }
        int tq = shape.queries();
        int tk = shape.keys();
        int[] queries = positions(batch, tq);
        int[] keys = positions(batch, tk);
        float[][] p = new float[queries.length][keys.length];
        FloatBuffer data = t.data();
        // sequence 0: row i of head h starts at (h * tq + i) * tk in both [B,H,Tq,Tk] and [B*H,Tq,Tk]
        for (int q = 0; q < queries.length; q++) {
            int row = (head * tq + queries[q]) * tk;
            float[] out = p[q];
            for (int k = 0; k < keys.length; k++) {
                out[k] = data.get(row + keys[k]);
            }
        }
        List<ResidualNorms> residuals = new ArrayList<>();
        for (ProbeSite s : sites) {
            TapTensor r = s.kind() == SiteKind.RESIDUAL ? batch.tensors().get(s.tensor()) : null;
            if (r == null) {
                continue;
            }
            RowLayout rows = RowLayout.of(s.tensor(), r, batch);
            if (rows.rowsPerSequence == batch.tokens()) {
                int[] at = positions(batch, batch.tokens());
                residuals.add(new ResidualNorms(s, at, norms(r.data(), rows, at)));
            }
        }
        return new AttentionInspection(site, head, shape.heads(), queries, keys, p, residuals);
    }

    /** The unmasked positions of sequence 0 along an axis of length {@code n} (all of them unless n is T). */
    private static int[] positions(ProbedBatch batch, int n) {
        boolean masked = batch.mask() != null && n == batch.tokens();
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (!masked || batch.real(0, i)) {
                count++;
            }
        }
        int[] out = new int[count];
        int j = 0;
        for (int i = 0; i < n; i++) {
            if (!masked || batch.real(0, i)) {
                out[j++] = i;
            }
        }
        return out;
    }

    private static double[] norms(FloatBuffer data, RowLayout rows, int[] positions) {
        double[] out = new double[positions.length];
        for (int i = 0; i < positions.length; i++) {
            int offset = rows.offset(0, positions[i]);
            double sum = 0;
            for (int c = 0; c < rows.width; c++) {
                double x = data.get(offset + c);
                sum += x * x;
            }
            out[i] = Math.sqrt(sum);
        }
        return out;
    }
}
