package dev.vigil.probes.stats;

/**
 * Rank-collapse statistic of one {@code residual} site.
 *
 * @param sequences        sequences with at least two nonzero unmasked token rows
 * @param cosineSimilarity mean over those sequences of each one's mean pairwise cosine similarity of distinct unmasked
 *                         token rows ({@code vigil_token_cosine_similarity}); rows that are all zero have no direction
 *                         and are left out; NaN without such a sequence
 */
public record CosineSnapshot(long sequences, double cosineSimilarity) {
}
