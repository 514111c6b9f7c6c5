package dev.vigil.probes.stats;

/**
 * The cumulative counters of one site since start (SPEC §6), from which a fleet's statistics follow by summing over
 * replicas; the parts that do not apply to the site's kind are null.
 *
 * @param attention        per-head sink and entropy sums ({@code attention})
 * @param cosine           token cosine sums ({@code residual})
 * @param massiveFirstToken massive elements at their sequence's first unmasked position ({@code residual}; 0 otherwise)
 * @param quant            power sums and the |x| histogram ({@code mlp}, {@code residual}, {@code matmul_input})
 */
public record SiteCounters(AttentionCounters attention, CosineCounters cosine, long massiveFirstToken,
                           QuantCounters quant) {
}
