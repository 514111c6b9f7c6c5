package dev.vigil.tests.grafana;

import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A {@code /metrics} endpoint exposing every SPEC §5 metric with the label sets SPEC gives it, for one
 * model {@code m} with two sites of each kind, registered through the same Prometheus client library
 * the server uses (so exposition names, {@code _total} and histogram suffixes are the library's).
 * Counters and histograms grow on every scrape so that rates and quantiles have data. It stands in
 * for a probed Vigil until the server exports the probe metrics; values are arbitrary but typed.
 */
final class SpecShapedMetrics implements AutoCloseable {

    private static final String MODEL = "m";
    private static final String[] SITE = {"model", "kind", "layer", "tensor"};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final HttpServer server;
    private final Counter requests;
    private final Counter massive;
    private final Counter channelHits;
    private final Counter probeRequests;
    private final Counter probeDropped;
    private final Counter tokens;
    private final Histogram[] durations;
    private final Histogram batchSize;
    private int scrapes;

    private SpecShapedMetrics() throws IOException {
        requests = Counter.builder().name("vigil_requests_total").labelNames("model", "outcome").register(registry);
        massive = Counter.builder().name("vigil_massive_activations_total").labelNames(SITE).register(registry);
        channelHits = Counter.builder().name("vigil_massive_channel_hits_total")
                .labelNames("model", "kind", "layer", "tensor", "channel").register(registry);
        probeRequests = Counter.builder().name("vigil_probe_requests_total").labelNames("model").register(registry);
        probeDropped = Counter.builder().name("vigil_probe_dropped_total").labelNames("model").register(registry);
        tokens = Counter.builder().name("vigil_tokens_total").labelNames("model").register(registry);
        durations = new Histogram[] {
                histogram("vigil_request_duration_seconds"), histogram("vigil_inference_duration_seconds"),
                histogram("vigil_probe_duration_seconds")};
        batchSize = Histogram.builder().name("vigil_batch_size").labelNames("model").classicOnly()
                .classicUpperBounds(1, 2, 4, 8, 16, 32).register(registry);
        gauges();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/metrics", exchange -> {
            synchronized (this) {
                advance();
                exchange.getResponseHeaders().set("Content-Type", PrometheusTextFormatWriter.CONTENT_TYPE);
                exchange.sendResponseHeaders(200, 0);
                try (OutputStream out = exchange.getResponseBody()) {
                    PrometheusTextFormatWriter.create().write(out, registry.scrape());
                }
            }
        });
        server.start();
    }

    /** Starts the endpoint on a free loopback port. */
    static SpecShapedMetrics start() throws IOException {
        return new SpecShapedMetrics();
    }

    /** {@code host:port} to scrape. */
    String target() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private Histogram histogram(String name) {
        return Histogram.builder().name(name).labelNames("model").classicOnly().register(registry);
    }

    private Gauge gauge(String name, String... labelNames) {
        return Gauge.builder().name(name).labelNames(labelNames).register(registry);
    }

    private void gauges() {
        gauge("vigil_model_ready", "model").labelValues(MODEL).set(1);
        gauge("vigil_window_tokens", "model").labelValues(MODEL).set(5000);

        Gauge dead = gauge("vigil_neurons_dead_ratio", SITE);
        Gauge dormant = gauge("vigil_neurons_dormant_ratio", SITE);
        Gauge neurons = gauge("vigil_neurons", SITE);
        Gauge ratio = gauge("vigil_massive_activation_ratio", SITE);
        Gauge firstToken = gauge("vigil_massive_first_token_fraction", SITE);
        Gauge cosine = gauge("vigil_token_cosine_similarity", SITE);
        Gauge sinkScore = gauge("vigil_attention_sink_score", "model", "kind", "layer", "tensor", "head");
        Gauge entropy = gauge("vigil_attention_entropy", "model", "kind", "layer", "tensor", "head");
        Gauge sinkHeads = gauge("vigil_attention_sink_heads_ratio", SITE);
        Gauge maxKeyMass = gauge("vigil_attention_max_key_mass", SITE);
        Gauge min = gauge("vigil_quant_min", SITE);
        Gauge max = gauge("vigil_quant_max", SITE);
        Gauge absMax = gauge("vigil_quant_abs_max", SITE);
        Gauge kurtosis = gauge("vigil_quant_kurtosis", SITE);
        Gauge outliers = gauge("vigil_quant_outlier_channels", SITE);
        Gauge percentile = gauge("vigil_quant_abs_percentile", "model", "kind", "layer", "tensor", "q");
        Gauge sqnr = gauge("vigil_quant_int8_sqnr_db", "model", "kind", "layer", "tensor", "calibration");

        for (int layer = 0; layer < 2; layer++) {
            String l = Integer.toString(layer);
            dead.labelValues(MODEL, "mlp", l, "mlp" + l).set(0.1 * layer);
            dormant.labelValues(MODEL, "mlp", l, "mlp" + l).set(0.2);
            neurons.labelValues(MODEL, "mlp", l, "mlp" + l).set(1536);
            ratio.labelValues(MODEL, "residual", l, "res" + l).set(1500);
            firstToken.labelValues(MODEL, "residual", l, "res" + l).set(0.9);
            cosine.labelValues(MODEL, "residual", l, "res" + l).set(0.4);
            for (int head = 0; head < 4; head++) {
                sinkScore.labelValues(MODEL, "attention", l, "attn" + l, Integer.toString(head)).set(0.1 * head);
                entropy.labelValues(MODEL, "attention", l, "attn" + l, Integer.toString(head)).set(0.6);
            }
            sinkHeads.labelValues(MODEL, "attention", l, "attn" + l).set(0.25);
            maxKeyMass.labelValues(MODEL, "attention", l, "attn" + l).set(0.5);
            for (String[] site : new String[][] {{"mlp", "mlp" + l}, {"residual", "res" + l}, {"matmul_input", "in" + l}}) {
                min.labelValues(MODEL, site[0], l, site[1]).set(-4);
                max.labelValues(MODEL, site[0], l, site[1]).set(80);
                absMax.labelValues(MODEL, site[0], l, site[1]).set(80);
                kurtosis.labelValues(MODEL, site[0], l, site[1]).set(120);
                outliers.labelValues(MODEL, site[0], l, site[1]).set(layer);
                for (String q : new String[] {"0.999", "0.9999", "0.99999"}) {
                    percentile.labelValues(MODEL, site[0], l, site[1], q).set(3);
                }
                sqnr.labelValues(MODEL, site[0], l, site[1], "absmax").set(15 + 10 * layer);
                sqnr.labelValues(MODEL, site[0], l, site[1], "percentile").set(35);
            }
        }
    }

    private void advance() {
        scrapes++;
        requests.labelValues(MODEL, "success").inc(90);
        requests.labelValues(MODEL, "client_error").inc(5);
        requests.labelValues(MODEL, "server_error").inc(1);
        probeRequests.labelValues(MODEL).inc(48);
        probeDropped.labelValues(MODEL).inc(2);
        tokens.labelValues(MODEL).inc(3000);
        for (Histogram h : durations) {
            h.labelValues(MODEL).observe(0.01 * (1 + scrapes % 5));
        }
        batchSize.labelValues(MODEL).observe(1 + scrapes % 8);
        for (int layer = 0; layer < 2; layer++) {
            String l = Integer.toString(layer);
            massive.labelValues(MODEL, "residual", l, "res" + l).inc(3);
            channelHits.labelValues(MODEL, "residual", l, "res" + l, "447").inc(2);
            channelHits.labelValues(MODEL, "residual", l, "res" + l, "other").inc(1);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
