package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vigil_quant_abs_value} as a user reaches it: a live Vigil serving MiniLM (one window, never closed, so the
 * server's {@code vigil_quant_abs_percentile} gauges cover every value it saw), a real Prometheus started the way
 * the docs say, with {@code grafana/prometheus.yml} and {@code grafana/fleet-rules.yml}. A burst of requests right
 * after a scrape of the empty histograms, then the documented query over one minute and the percentile recording
 * rule must give, for every quantization site, the gauge's percentile within the documented 2%. And every
 * Prometheus start command the docs and scripts print enables native histograms (without them the histogram
 * arrives as a count and a sum, and both stay empty).
 */
class NativeHistogramQueryTest {
    private static final String MINILM = "all-minilm-l6-v2";
    private static final Path MINILM_DIR = Path.of("..", "models", MINILM);
    private static final String SITE = "model, kind, layer, tensor";
    private static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Vigil serves ONNX models over HTTP.",
            "Attention sinks put most of the probability mass on the first token.",
            "Quantization ranges are measured from live traffic.",
            "Paris is the capital and most populous city of France.",
            "Dead neurons never fire.");
    private static final Duration DEADLINE = Duration.ofSeconds(40);
    private static final Pattern PROMETHEUS_COMMAND = Pattern.compile(
            "prometheus --config\\.file=grafana/prometheus\\.yml(?:[^\\n]*\\\\\\\\?\\n)*[^\\n]*");

    @TempDir
    Path tmp;

    @Test
    void theDocumentedQueryAndRuleGiveTheServersPercentiles() throws Exception {
        assumeTrue(PrometheusProcess.available(), "prometheus is not on the PATH");
        Path dir = Files.createDirectories(tmp.resolve("models").resolve(MINILM));
        Files.createSymbolicLink(dir.resolve("model.onnx"), MINILM_DIR.resolve("model.onnx").toAbsolutePath());
        Files.createSymbolicLink(dir.resolve("tokenizer.json"), MINILM_DIR.resolve("tokenizer.json").toAbsolutePath());
        Files.writeString(dir.resolve("config.json"), "{\"probe\": {\"window_tokens\": 1000000000}}");
        try (VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(tmp.resolve("models")).port(0)
                .device(Device.parse("cpu")).probeQueue(1024).build())) {
            int port = server.start();
            try (PrometheusProcess prometheus = PrometheusProcess.startWithConfig(PrometheusProcess.freePort(),
                    LiveDashboardsAndAlertsTest.prometheusConfig("127.0.0.1:" + port,
                            LiveDashboardsAndAlertsTest.testRules(tmp)))) {
                // the empty histograms scraped: the one-minute range below starts from them
                prometheus.awaitResult("histogram_count(vigil_quant_abs_value) == 0", DEADLINE);
                long start = System.nanoTime();
                HttpClient client = HttpClient.newHttpClient();
                for (int i = 0; i < SENTENCES.size(); i++) {
                    StringBuilder texts = new StringBuilder();
                    for (int s = 0; s <= i % 3; s++) {
                        texts.append(s == 0 ? "" : ",").append('"').append(SENTENCES.get((i + s) % SENTENCES.size()))
                                .append('"');
                    }
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/v2/models/" + MINILM + "/infer")).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"inputs\":[{\"name\":\"text\",\"shape\":[" + (i % 3 + 1) + "],\"datatype\":\"BYTES\","
                                    + "\"data\":[" + texts + "]}]}")).build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, r.statusCode(), r.body());
                }
                prometheus.awaitResult("vigil_probe_requests_total == " + SENTENCES.size(), DEADLINE);
                // two more scrapes (2 s apart) and a rule evaluation after them
                Thread.sleep(5_000);
                long took = (System.nanoTime() - start) / 1_000_000_000L;
                double worst = 0;
                assertTrue(took < 50, "the traffic and its scrapes took " + took + " s: a one-minute range ending now "
                        + "no longer starts at the empty histograms");
                assertTrue(prometheus.query("vigil_quant_abs_value_count").isEmpty(),
                        "the histogram was scraped as a native one, not as a count and a sum");

                Map<String, Double> counts = bySite(prometheus.query("sum by (" + SITE
                        + ") (histogram_count(vigil_quant_abs_value))"));
                for (double q : new double[]{0.999, 0.9999}) {
                    Map<String, Double> gauges = bySite(prometheus.query(
                            "vigil_quant_abs_percentile{q=\"" + q + "\"}"));
                    assertEquals(44, gauges.size(), "MiniLM's quantization sites");
                    Map<String, Double> query = bySite(prometheus.query(quantile(q, "")));
                    Map<String, Double> rule = bySite(prometheus.query(
                            "vigil:fleet:quant_abs_percentile:5m{q=\"" + q + "\"}"));
                    assertEquals(gauges.keySet(), query.keySet(), "the query gives every site");
                    assertEquals(gauges.keySet(), rule.keySet(), "the rule gives every site");
                    for (Map.Entry<String, Double> g : gauges.entrySet()) {
                        String site = g.getKey();
                        double u = query.get(site);
                        assertTrue(Double.isFinite(u) && u > 0, site + ": " + u);
                        assertEquals(u, rule.get(site), 1e-9 * u, "the rule reads the same buckets: " + site);
                        // Prometheus ranks at q·n, the gauge (as numpy) at q·(n−1): in a heavy tail neighbouring
                        // values lie percents apart, so the gauge is held to the query's values 1.5 ranks either side
                        double n = counts.get(site);
                        double lo = only(prometheus.query(quantile(q - 1.5 / n, site)));
                        double hi = only(prometheus.query(quantile(Math.min(1, q + 1.5 / n), site)));
                        double gauge = g.getValue();
                        assertTrue(gauge >= lo * 0.98 && gauge <= hi * 1.02, "q=" + q + " " + site + ": the server's "
                                + gauge + " not within 2% of [" + lo + ", " + hi + "] (the query: " + u + ")");
                        worst = Math.max(worst, Math.abs(u - gauge) / gauge);
                    }
                }
                System.out.printf("largest relative difference between the one-minute query and the server's "
                        + "percentile: %.2f%%%n", worst * 100);
            }
        }
    }

    /**
     * The documented query at level {@code q}, for every site or (when {@code tensor} is a site key) for one.
     */
    private static String quantile(double q, String site) {
        String[] labels = site.split(" ", 4);
        String selector = site.isEmpty() ? "" : "{kind=\"" + labels[1] + "\", layer=\"" + labels[2] + "\", tensor=\""
                + labels[3] + "\"}";
        return "histogram_quantile(" + q + ", sum by (" + SITE + ") (rate(vigil_quant_abs_value" + selector
                + "[1m])))";
    }

    private static double only(JsonNode result) {
        assertEquals(1, result.size(), result.toString());
        return Double.parseDouble(result.get(0).path("value").get(1).asText());
    }

    @Test
    void everyPrintedPrometheusCommandEnablesNativeHistograms() throws Exception {
        Path root = DashboardsTest.grafanaDir().getParent();
        List<Path> files = new ArrayList<>(List.of(root.resolve("README.md"), root.resolve("run.sh"),
                root.resolve("grafana").resolve("prometheus.yml")));
        try (Stream<Path> docs = Files.list(root.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(files::add);
        }
        int commands = 0;
        for (Path file : files) {
            Matcher m = PROMETHEUS_COMMAND.matcher(Files.readString(file));
            while (m.find()) {
                commands++;
                assertTrue(m.group().contains("--enable-feature=native-histograms"),
                        root.relativize(file) + ": " + m.group());
            }
        }
        assertTrue(commands >= 4, "the README, run.sh, grafana/prometheus.yml and DASHBOARDS.md each print one; found "
                + commands);
        String config = Files.readString(root.resolve("grafana").resolve("prometheus.yml"));
        assertTrue(config.contains("scrape_native_histograms: true"),
                "grafana/prometheus.yml says what Prometheus 3.9 and later need instead of the flag");
    }

    /** The documented bound: within 2% of the server's own percentile. */
    private static void assertWithin(double expected, Double actual, String what) {
        assertTrue(actual != null && Math.abs(actual - expected) <= 0.02 * expected,
                what + ": " + actual + " against the server's " + expected);
    }

    private static Map<String, Double> bySite(JsonNode result) {
        Map<String, Double> out = new TreeMap<>();
        for (JsonNode r : result) {
            JsonNode m = r.path("metric");
            String site = m.path("model").asText() + " " + m.path("kind").asText() + " " + m.path("layer").asText()
                    + " " + m.path("tensor").asText();
            assertFalse(out.containsKey(site), "one series per site: " + site);
            out.put(site, Double.parseDouble(r.path("value").get(1).asText()));
        }
        return out;
    }
}
