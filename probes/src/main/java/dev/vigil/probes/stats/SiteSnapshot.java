package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;

import java.util.List;

/**
 * The statistics of one probe site; the parts that do not apply to the site's kind are null.
 *
 * @param site          the site
 * @param observedShape the tensor's shape in the latest request that carried it; empty before any
 * @param dead          dead neurons ({@code mlp} only)
 * @param massive       massive activations ({@code residual} only)
 * @param attention     attention ({@code attention} only)
 * @param cosine        token cosine similarity ({@code residual} only)
 * @param quant         quantization ranges ({@code mlp}, {@code residual}, {@code matmul_input})
 * @param counters      the cumulative counters since start (SPEC §6); null in a request summary
 */
public record SiteSnapshot(ProbeSite site, List<Long> observedShape, DeadNeuronSnapshot dead, MassiveSnapshot massive,
                           AttentionSnapshot attention, CosineSnapshot cosine, QuantSnapshot quant,
                           SiteCounters counters) {
    public SiteSnapshot {
        observedShape = List.copyOf(observedShape);
    }

    /** A site's window statistics without cumulative counters (a request summary, or gauges built elsewhere). */
    public SiteSnapshot(ProbeSite site, List<Long> observedShape, DeadNeuronSnapshot dead, MassiveSnapshot massive,
                        AttentionSnapshot attention, CosineSnapshot cosine, QuantSnapshot quant) {
        this(site, observedShape, dead, massive, attention, cosine, quant, null);
    }
}
