package dev.vigil.probes.stats;

/** How a site tensor is read in one request, checked before any statistic is updated. */
sealed interface TensorLayout permits RowLayout, AttentionLayout {
}
