package dev.vigil.probes.stats;

import java.util.List;

/**
 * The cumulative attention counters of one site since start, per head (SPEC §6). A query row whose sink probability
 * or entropy is not finite is left out of its head's counters and counted in {@code nonFiniteQueries}.
 *
 * @param sinkMass         Σ of {@code p[b,h,i,k0]} over unmasked queries ({@code vigil_attention_sink_mass_total})
 * @param queries          unmasked queries ({@code vigil_attention_queries_total})
 * @param entropySum       Σ of the normalized entropy over queries with more than one visible key
 *                         ({@code vigil_attention_entropy_sum_total})
 * @param entropyQueries   those queries ({@code vigil_attention_entropy_queries_total})
 * @param nonFiniteQueries (query, head) rows left out because a value was not finite
 */
public record AttentionCounters(List<Double> sinkMass, List<Long> queries, List<Double> entropySum,
                                List<Long> entropyQueries, long nonFiniteQueries) {
    public AttentionCounters {
        sinkMass = List.copyOf(sinkMass);
        queries = List.copyOf(queries);
        entropySum = List.copyOf(entropySum);
        entropyQueries = List.copyOf(entropyQueries);
    }
}
