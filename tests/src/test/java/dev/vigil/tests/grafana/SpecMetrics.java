package dev.vigil.tests.grafana;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The metric contract of SPEC.md §5, typed from the SPEC (not from the dashboards): every name as
 * it appears in the Prometheus exposition, with the labels it may carry.
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

        m.put("vigil_requests_total", Set.of("model", "outcome"));
        for (String counterOrGauge : new String[] {
                "vigil_probe_requests_total", "vigil_probe_dropped_total", "vigil_tokens_total",
                "vigil_window_tokens", "vigil_model_ready"}) {
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

    /** Whether {@code name} is an exposition name of a SPEC §5 metric. */
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
