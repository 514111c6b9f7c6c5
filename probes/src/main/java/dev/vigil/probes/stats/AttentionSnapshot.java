package dev.vigil.probes.stats;

import java.util.List;

/**
 * Attention statistics of one {@code attention} site; means are pooled over the (sequence, unmasked query) pairs.
 *
 * @param heads          H
 * @param queries        unmasked (sequence, query) pairs seen
 * @param sinkScore      per head, mean of {@code p[b,h,i,k0]}, {@code k0} the first unmasked key
 *                       ({@code vigil_attention_sink_score{head}}); NaN without queries
 * @param sinkHeadsRatio fraction of heads whose sink score is {@code > epsilon}; NaN without queries
 * @param entropy        per head, mean over queries with at least two visible keys of
 *                       {@code -Σ p log p / log(n_keys)} ({@code vigil_attention_entropy{head}}); NaN without any
 * @param maxKeyMass     max over heads and key positions {@code k} (k-th unmasked key) of the mean of
 *                       {@code p[b,h,i,k]} over the unmasked queries of the sequences that have a k-th unmasked key
 *                       ({@code vigil_attention_max_key_mass}); NaN without queries
 * @param maxKeyPosition the key position {@code k} where {@code maxKeyMass} is reached; -1 without queries
 * @param maxKeyHead     the head where {@code maxKeyMass} is reached; -1 without queries
 */
public record AttentionSnapshot(int heads, long queries, List<Double> sinkScore, double sinkHeadsRatio,
                                List<Double> entropy, double maxKeyMass, int maxKeyPosition, int maxKeyHead) {
}
