package dev.vigil.probes.stats;

/**
 * Attention probabilities {@code [B,H,Tq,Tk]} or {@code [B*H,Tq,Tk]}.
 *
 * @param heads   H
 * @param queries Tq
 * @param keys    Tk
 */
record AttentionLayout(int heads, int queries, int keys) implements TensorLayout {
}
