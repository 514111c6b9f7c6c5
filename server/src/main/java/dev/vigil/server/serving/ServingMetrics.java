package dev.vigil.server.serving;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.io.IOException;
import java.io.OutputStream;

/**
 * The serving metrics of SPEC §5 in their own registry, labelled by {@code model}. Only repository model names
 * become label values; requests for unknown models are not counted here.
 */
public final class ServingMetrics {
    /**
     * The outcome label of {@code vigil_requests_total}: {@code overloaded} and {@code unavailable} are 503s that
     * are not faults of the server, so that an error-rate alert on {@code server_error} does not fire on them.
     */
    public enum Outcome {
        SUCCESS, CLIENT_ERROR, OVERLOADED, UNAVAILABLE, SERVER_ERROR;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The outcome of an HTTP status when nothing more is known: any 5xx is a server error. */
        public static Outcome of(int status) {
            return status >= 500 ? SERVER_ERROR : status >= 400 ? CLIENT_ERROR : SUCCESS;
        }
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormats formats = ExpositionFormats.init();
    private final Counter requests = Counter.builder().name("vigil_requests_total")
            .help("Inference requests by outcome").labelNames("model", "outcome").register(registry);
    private final Histogram requestDuration = Histogram.builder().name("vigil_request_duration_seconds")
            .help("Inference request time, from body read to response written").labelNames("model")
            .classicOnly().register(registry);
    private final Histogram inferenceDuration = Histogram.builder().name("vigil_inference_duration_seconds")
            .help("Model run time alone (ONNX Runtime session.run)").labelNames("model")
            .classicOnly().register(registry);
    private final Histogram batchSize = Histogram.builder().name("vigil_batch_size")
            .help("Batch size of successful inference requests").labelNames("model")
            .classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128, 256).classicOnly().register(registry);
    private final Counter tokens = Counter.builder().name("vigil_tokens_total")
            .help("Unmasked tokens of inference requests (text models)").labelNames("model").register(registry);

    private final Gauge modelReady = Gauge.builder().name("vigil_model_ready")
            .help("1 when the model loaded and is served, 0 when it failed to load").labelNames("model")
            .register(registry);

    /** The registry; the probe layer registers its metrics here too. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** Creates the per-model series at zero so a fresh server already exposes them. */
    public void initModel(String model) {
        for (Outcome o : Outcome.values()) {
            requests.labelValues(model, o.label());
        }
        tokens.labelValues(model);
    }

    /** Records whether a repository model loaded. */
    public void modelReady(String model, boolean ready) {
        modelReady.labelValues(model).set(ready ? 1 : 0);
    }

    /** Counts a finished request of a repository model. */
    public void observeRequest(String model, Outcome outcome, double seconds) {
        requests.labelValues(model, outcome.label()).inc();
        requestDuration.labelValues(model).observe(seconds);
    }

    /** Records one model run's time. */
    public void observeInference(String model, double seconds) {
        inferenceDuration.labelValues(model).observe(seconds);
    }

    /** Records a served batch and its unmasked tokens. */
    public void observeBatch(String model, long batch, long tokenCount) {
        batchSize.labelValues(model).observe(batch);
        if (tokenCount > 0) {
            tokens.labelValues(model).inc(tokenCount);
        }
    }

    /**
     * Writes the exposition for an Accept header (OpenMetrics when asked, else the Prometheus text format).
     *
     * @return the content type written
     */
    public String write(String accept, OutputStream out) throws IOException {
        ExpositionFormatWriter writer = formats.findWriter(accept);
        if (!writer.isAvailable()) {
            writer = formats.getPrometheusTextFormatWriter();
        }
        writer.write(out, registry.scrape());
        return writer.getContentType();
    }
}
