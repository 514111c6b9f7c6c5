package dev.vigil.probes.stats;

/**
 * Dead-neuron statistics of one {@code mlp} site over a window (or one request).
 *
 * @param neurons      channels at the site ({@code vigil_neurons}); 0 before any data
 * @param rows         token rows seen
 * @param deadCount    channels never {@code > 0} on any row
 * @param deadRatio    {@code deadCount / neurons} ({@code vigil_neurons_dead_ratio}); NaN without rows
 * @param dormantCount channels with τ-dormant score {@code <= dormant_tau}; when every activation is zero the scores
 *                     are 0/0 and every channel counts as dormant
 * @param dormantRatio {@code dormantCount / neurons} ({@code vigil_neurons_dormant_ratio}); NaN without rows
 */
public record DeadNeuronSnapshot(int neurons, long rows, int deadCount, double deadRatio, int dormantCount,
                                 double dormantRatio) {
}
