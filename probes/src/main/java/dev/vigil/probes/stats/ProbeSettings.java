package dev.vigil.probes.stats;

import dev.vigil.probes.ProbeSite;

import java.util.ArrayList;
import java.util.List;

/**
 * Per-model probe settings, the {@code probe} block of SPEC §1.
 *
 * @param enabled              whether the model is probed at all
 * @param sampleRate           fraction of requests probed, in [0, 1]
 * @param windowTokens         unmasked tokens per statistics window (SPEC §4), at least 1
 * @param attentionMaskInput   name of the model input that carries the attention mask
 * @param include              tensor names or kind labels to keep; empty keeps every site
 * @param exclude              tensor names or kind labels to drop (applied after include)
 * @param massiveAbsThreshold  massive activation: {@code |h| > massiveAbsThreshold}
 * @param massiveMedianRatio   massive activation: {@code |h| > massiveMedianRatio · median|h|}
 * @param sinkEpsilon          a head is a sink head when its sink score is {@code > sinkEpsilon}
 * @param dormantTau           a neuron is dormant when its τ-dormant score is {@code <= dormantTau}
 * @param outlierThreshold     a channel is an outlier channel when its window abs max is {@code > outlierThreshold}
 */
public record ProbeSettings(boolean enabled, double sampleRate, long windowTokens, String attentionMaskInput,
                            List<String> include, List<String> exclude, double massiveAbsThreshold,
                            double massiveMedianRatio, double sinkEpsilon, double dormantTau,
                            double outlierThreshold) {

    public ProbeSettings {
        if (!(sampleRate >= 0.0 && sampleRate <= 1.0)) {
            throw new IllegalArgumentException("probe.sample_rate must be in [0, 1], got " + sampleRate);
        }
        if (windowTokens < 1) {
            throw new IllegalArgumentException("probe.window_tokens must be >= 1, got " + windowTokens);
        }
        requireFinite("probe.massive.abs_threshold", massiveAbsThreshold);
        requireFinite("probe.massive.median_ratio", massiveMedianRatio);
        requireFinite("probe.sink.epsilon", sinkEpsilon);
        requireFinite("probe.dormant_tau", dormantTau);
        requireFinite("probe.outlier_threshold", outlierThreshold);
        include = include == null ? List.of() : List.copyOf(include);
        exclude = exclude == null ? List.of() : List.copyOf(exclude);
    }

    /** The SPEC §1 defaults. */
    public static ProbeSettings defaults() {
        return new ProbeSettings(true, 1.0, 16384, "attention_mask", List.of(), List.of(),
                100.0, 1000.0, 0.3, 0.025, 6.0);
    }

    /** A copy with another window size (tests and tools use small windows). */
    public ProbeSettings withWindowTokens(long tokens) {
        return new ProbeSettings(enabled, sampleRate, tokens, attentionMaskInput, include, exclude,
                massiveAbsThreshold, massiveMedianRatio, sinkEpsilon, dormantTau, outlierThreshold);
    }

    /** Sites kept by include/exclude (entries are tensor names or kind labels; empty include = all), in order. */
    public List<ProbeSite> select(List<ProbeSite> sites) {
        List<ProbeSite> kept = new ArrayList<>();
        for (ProbeSite s : sites) {
            boolean in = include.isEmpty() || matches(include, s);
            if (in && !matches(exclude, s)) {
                kept.add(s);
            }
        }
        return List.copyOf(kept);
    }

    private static boolean matches(List<String> entries, ProbeSite site) {
        return entries.contains(site.tensor()) || entries.contains(site.kind().label());
    }

    private static void requireFinite(String name, double v) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(name + " must be a finite number, got " + v);
        }
    }
}
