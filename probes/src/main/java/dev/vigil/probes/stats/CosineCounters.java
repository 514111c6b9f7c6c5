package dev.vigil.probes.stats;

/**
 * The cumulative token-cosine counters of one {@code residual} site since start (SPEC §6).
 *
 * @param shiftedSum         Σ over sequences of {@code 1 + cosine} (≥ 0, so the counter only grows)
 * @param sequences          sequences with at least two nonzero unmasked rows
 * @param nonFiniteSequences sequences left out because their cosine was not finite
 */
public record CosineCounters(double shiftedSum, long sequences, long nonFiniteSequences) {
}
