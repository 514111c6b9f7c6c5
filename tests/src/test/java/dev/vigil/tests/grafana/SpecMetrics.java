package dev.vigil.tests.grafana;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The metric contract of SPEC.md §5 and §6, typed from the SPEC (not from the dashboards): every name as
 * it appears in the Prometheus exposition, with the labels it may carry; and the fleet recording rules of
 * grafana/fleet-rules.yml, which keep {@code job} and the site labels.
 */
final class SpecMetrics {

    /** Site kinds of SPEC §3, the values of the {@code kind} label. */
    static final Set<String> KINDS = Set.of("attention", "mlp", "residual", "matmul_input");
    /** Values of {@code outcome} on {@code vigil_requests_total}. */
    static final Set<String> OUTCOMES = Set.of("success", "client_error", "overloaded", "unavailable", "server_error");
    /** Values of {@code calibration} on {@code vigil_quant_int8_sqnr_db}. */
    static final Set<String> CALIBRATIONS = Set.of("absmax", "percentile");
    /** Labels Prometheus adds to every scraped series. */
    static final Set<String> TARGET_LABELS = Set.of("job", "instance");

    private static final Set<String> SITE = Set.of("model", "kind", "layer", "tensor");
    private static final Map<String, Set<String>> LABELS = build();

    private SpecMetrics() {
    }

    private static Map<String, Set<String>> build() {
        Map<String, Set<String>> m = new HashMap<>();
        for (String site : new String[] {
                "vigil_neurons_dead_ratio", "vigil_neurons_dormant_ratio", "vigil_neurons",
                "vigil_massive_activations_total", "vigil_massive_activation_ratio",
                "vigil_massive_first_token_fraction",
                "vigil_attention_sink_heads_ratio", "vigil_attention_max_key_mass",
                "vigil_token_cosine_similarity",
                "vigil_quant_min", "vigil_quant_max", "vigil_quant_abs_max", "vigil_quant_kurtosis",
                "vigil_quant_outlier_channels"}) {
            m.put(site, SITE);
        }
        m.put("vigil_massive_channel_hits_total", with("channel"));
        m.put("vigil_attention_sink_score", with("head"));
        m.put("vigil_attention_entropy", with("head"));
        m.put("vigil_quant_abs_percentile", with("q"));
        m.put("vigil_quant_int8_sqnr_db", with("calibration"));

        // SPEC §6 fleet counters
        for (String site : new String[] {
                "vigil_attention_nonfinite_queries_total", "vigil_token_cosine_shifted_sum_total",
                "vigil_token_cosine_sequences_total", "vigil_token_cosine_nonfinite_sequences_total",
                "vigil_massive_first_token_total", "vigil_quant_values_total", "vigil_quant_nonfinite_values_total",
                "vigil_quant_sum_squares_total", "vigil_quant_sum_fourth_powers_total", "vigil_quant_abs_value"}) {
            m.put(site, SITE);
        }
        for (String perHead : new String[] {
                "vigil_attention_sink_mass_total", "vigil_attention_queries_total",
                "vigil_attention_entropy_sum_total", "vigil_attention_entropy_queries_total"}) {
            m.put(perHead, with("head"));
        }
        m.put("vigil_quant_sum_total", with("sign"));
        m.put("vigil_quant_sum_cubes_total", with("sign"));
        m.put("vigil_probe_sink_epsilon", Set.of("model"));
        // grafana/fleet-rules.yml
        for (String rule : new String[] {
                "vigil:fleet:attention_sink_heads_ratio:5m", "vigil:fleet:token_cosine_similarity:5m",
                "vigil:fleet:massive_first_token_fraction:5m", "vigil:fleet:massive_activations:rate5m",
                "vigil:fleet:quant_moment1:5m", "vigil:fleet:quant_moment2:5m", "vigil:fleet:quant_moment3:5m",
                "vigil:fleet:quant_moment4:5m", "vigil:fleet:quant_mean:5m", "vigil:fleet:quant_variance:5m",
                "vigil:fleet:quant_kurtosis:5m"}) {
            m.put(rule, SITE);
        }
        m.put("vigil:fleet:attention_sink_score:5m", with("head"));
        m.put("vigil:fleet:attention_entropy:5m", with("head"));
        m.put("vigil:fleet:quant_abs_percentile:5m", with("q"));

        // shadow int8 (SPEC §5) and its fleet counters and rules
        for (String site : new String[] {
                "vigil_shadow_site_sqnr_db", "vigil_shadow_signal_energy_total", "vigil_shadow_error_energy_total",
                "vigil:fleet:shadow_site_sqnr_db:5m"}) {
            m.put(site, SITE);
        }
        for (String perOutput : new String[] {
                "vigil_shadow_output_cosine", "vigil_shadow_top1_agreement",
                "vigil_shadow_output_cosine_distance_sum_total", "vigil_shadow_output_rows_total",
                "vigil:fleet:shadow_output_cosine:5m"}) {
            m.put(perOutput, Set.of("model", "output"));
        }

        m.put("vigil_requests_total", Set.of("model", "outcome"));
        for (String counterOrGauge : new String[] {
                "vigil_probe_requests_total", "vigil_probe_dropped_total", "vigil_tokens_total",
                "vigil_window_tokens", "vigil_model_ready", "vigil_shadow_requests_total",
                "vigil_shadow_skipped_total", "vigil_shadow_model_window", "vigil_shadow_nonfinite_total"}) {
            m.put(counterOrGauge, Set.of("model"));
        }
        for (String histogram : new String[] {
                "vigil_request_duration_seconds", "vigil_inference_duration_seconds",
                "vigil_probe_duration_seconds", "vigil_batch_size"}) {
            m.put(histogram + "_bucket", Set.of("model", "le"));
            m.put(histogram + "_sum", Set.of("model"));
            m.put(histogram + "_count", Set.of("model"));
        }
        return Map.copyOf(m);
    }

    private static Set<String> with(String extra) {
        return Set.of("model", "kind", "layer", "tensor", extra);
    }

    /** Whether {@code name} is a fleet recording rule (it has no {@code instance} label). */
    static boolean isRecordingRule(String name) {
        return name.startsWith("vigil:fleet:");
    }

    /** Whether {@code name} is an exposition name of a SPEC §5/§6 metric or a fleet recording rule. */
    static boolean isSpecName(String name) {
        return LABELS.containsKey(name);
    }

    /** Whether the metric carries the site labels {@code kind}, {@code layer}, {@code tensor}. */
    static boolean isSiteMetric(String name) {
        return LABELS.containsKey(name) && LABELS.get(name).contains("kind");
    }

    /** Whether {@code label} can appear on series of {@code name} (its SPEC labels or a target label). */
    static boolean carries(String name, String label) {
        return TARGET_LABELS.contains(label) || LABELS.getOrDefault(name, Set.of()).contains(label);
    }
}
