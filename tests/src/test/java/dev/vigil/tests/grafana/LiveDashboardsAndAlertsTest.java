package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The issue-6 end-to-end check: a live Vigil serving MiniLM and {@link PlantedOutliersModel}, a real Prometheus
 * scraping it with a configuration made from {@code grafana/prometheus.yml} and the rules of
 * {@code grafana/alerts.yml}, and {@link VariedTraffic}. Every query of every dashboard panel must return a finite
 * value through Prometheus' HTTP API, every template variable must list values, and the alerts that fire must be
 * exactly those the planted model was built to trigger, plus MiniLM's where its own exported values cross a
 * threshold. Skipped where no {@code prometheus} binary is installed.
 *
 * <p>Test-only changes to the shipped files, made by {@link #prometheusConfig} and {@link #testRules} and failing
 * loudly if the text they rewrite is gone: scrape and evaluation every 2 seconds, the Vigil target on its ephemeral
 * port, and every {@code for:} cut to 1 s (the shipped 1–15 minutes would not fit a test).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LiveDashboardsAndAlertsTest {
    private static final String MINILM = "all-minilm-l6-v2";
    private static final String PLANTED = "planted-outliers";
    private static final Path MINILM_DIR = Path.of("..", "models", MINILM);
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.+),\\s*(\\w+)\\)");
    private static final Pattern SAMPLE = Pattern.compile("(?m)^(\\w+)\\{([^}]*)} (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("(\\w+)=\"([^\"]*)\"");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofSeconds(40);

    @TempDir
    static Path tmp;
    private static VigilServer server;
    private static int vigilPort;
    private static PrometheusProcess prometheus;
    private static VariedTraffic traffic;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(PrometheusProcess.available(), "prometheus is not on the PATH");
        Path repo = Files.createDirectories(tmp.resolve("models"));
        Path minilm = Files.createDirectories(repo.resolve(MINILM));
        Files.createSymbolicLink(minilm.resolve("model.onnx"), MINILM_DIR.resolve("model.onnx").toAbsolutePath());
        Files.createSymbolicLink(minilm.resolve("tokenizer.json"),
                MINILM_DIR.resolve("tokenizer.json").toAbsolutePath());
        // Small windows, so that several close while the test drives traffic.
        Files.writeString(minilm.resolve("config.json"), "{\"probe\": {\"window_tokens\": 128}}");
        // The planted model is also shadowed in int8 (every probed request), for the Shadow int8 panels and alert.
        PlantedOutliersModel.write(repo, PLANTED, "{\"probe\": {\"window_tokens\": 256, "
                + "\"shadow\": {\"enabled\": true, \"sample_rate\": 1.0}}}");

        // A deep probe queue: on a busy machine the probe worker may lag the sequential traffic, and dropped probes
        // are not what this test is about.
        server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0).device(Device.parse("cpu"))
                .probeQueue(1024).build());
        vigilPort = server.start();
        traffic = VariedTraffic.start(vigilPort, MINILM, PLANTED);
        prometheus = PrometheusProcess.startWithConfig(PrometheusProcess.freePort(),
                prometheusConfig("127.0.0.1:" + vigilPort, testRules(tmp)));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (traffic != null) {
                traffic.close();
            }
        } finally {
            try {
                if (prometheus != null) {
                    prometheus.close();
                }
            } finally {
                if (server != null) {
                    server.close();
                }
            }
        }
    }

    /** grafana/prometheus.yml with the target, intervals and rule file replaced. */
    static String prometheusConfig(String target, Path rules) throws IOException {
        String shipped = Files.readString(DashboardsTest.grafanaDir().resolve("prometheus.yml"));
        String config = replace(shipped, "\"localhost:8080\"", "\"" + target + "\"");
        // 2 s, not 1: a protobuf scrape of both models' histograms can take about a second on a loaded machine, and
        // a timed-out scrape marks every series stale.
        config = replace(config, "scrape_interval: 5s", "scrape_interval: 2s");
        config = replace(config, "evaluation_interval: 5s", "evaluation_interval: 2s");
        config = replace(config, "- alerts.yml", "- '" + rules.toAbsolutePath() + "'");
        Path fleet = DashboardsTest.grafanaDir().resolve("fleet-rules.yml").toAbsolutePath();
        return replace(config, "- fleet-rules.yml", "- '" + fleet + "'");
    }

    /** grafana/alerts.yml with every {@code for:} cut to 1 s, written under {@code dir}. */
    static Path testRules(Path dir) throws IOException {
        String shipped = Files.readString(DashboardsTest.grafanaDir().resolve("alerts.yml"));
        String rules = shipped.replaceAll("(?m)^(\\s+for:) \\S+$", "$1 1s");
        assertFalse(rules.equals(shipped), "alerts.yml has no for: to shorten");
        return Files.writeString(dir.resolve("alerts-test.yml"), rules);
    }

    private static String replace(String text, String what, String with) {
        assertTrue(text.contains(what), "grafana/prometheus.yml no longer contains " + what);
        return text.replace(what, with);
    }

    /** What Grafana sends with "All" kinds, layers and instances selected, for both models at once. */
    static String substitute(String expr) {
        return expr.replace("$__rate_interval", "15s")
                .replace("$model", MINILM + "|" + PLANTED).replace("$kind", ".*").replace("$layer", ".*")
                .replace("$instance", ".*");
    }

    @Test
    @Order(1)
    void everyPanelQueryAndVariableReturnsDataFromLiveVigil() throws Exception {
        List<String> failures = List.of("not run");
        Set<String> answered = new java.util.HashSet<>();
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        // Retried until every query has answered with data once: rates need two scrapes, gauges a closed window, and
        // on a loaded machine a scrape that times out leaves the target's gauges stale until the next one.
        while (!failures.isEmpty() && System.nanoTime() < deadline) {
            traffic.check();
            Thread.sleep(1000);
            failures = emptyPanelsAndVariables(answered);
        }
        assertTrue(failures.isEmpty(), "after " + DEADLINE + " of traffic:\n" + String.join("\n", failures));
        assertTrue(traffic.clientErrors() > 0 && traffic.successes() > 0);
    }

    /** The panel queries and variables that have never answered with data; {@code answered} collects the others. */
    private static List<String> emptyPanelsAndVariables(Set<String> answered) throws Exception {
        List<String> failures = new ArrayList<>();
        int queries = 0;
        for (Path dashboard : DashboardsTest.dashboards()) {
            JsonNode json = JSON.readTree(dashboard.toFile());
            for (JsonNode panel : json.path("panels")) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = substitute(target.path("expr").asText());
                    queries++;
                    if (answered.contains(expr)) {
                        continue;
                    }
                    String problem = noFiniteValue(prometheus.query(expr));
                    if (problem == null) {
                        answered.add(expr);
                    } else {
                        failures.add(dashboard.getFileName() + " '" + panel.path("title").asText() + "' " + expr
                                + ": " + problem);
                    }
                }
            }
            for (JsonNode v : json.path("templating").path("list")) {
                if ("datasource".equals(v.path("type").asText())) {
                    continue;
                }
                Matcher m = LABEL_VALUES.matcher(v.path("query").path("query").asText());
                assertTrue(m.matches(), dashboard + ": " + v);
                JsonNode values = prometheus.api("/api/v1/label/" + m.group(2) + "/values?match[]="
                        + URLEncoder.encode(substitute(m.group(1)), StandardCharsets.UTF_8));
                if (values.isEmpty()) {
                    failures.add(dashboard.getFileName() + " variable " + v.path("name").asText() + ": no values");
                }
            }
        }
        assertTrue(queries >= 50, "only " + queries + " queries found");
        return failures;
    }

    /** Null when some series of an instant-vector result has a finite value, else what is wrong. */
    private static String noFiniteValue(JsonNode result) {
        if (result.isEmpty()) {
            return "no series";
        }
        for (JsonNode series : result) {
            double v = Double.parseDouble(series.path("value").get(1).asText());
            if (Double.isFinite(v)) {
                return null;
            }
        }
        return "only non-finite values " + result;
    }

    /** Runs last: it stops the traffic. */
    @Test
    @Order(2)
    void alertsFireOnThePlantedOutliersAndWhereMiniLmCrossesAThreshold() throws Exception {
        // Let a few windows close, then stop so that the gauges Prometheus sees stop moving.
        awaitWindows();
        traffic.close();
        String metrics = awaitSettledMetrics();
        Files.writeString(Path.of("target", "live-vigil-metrics.txt"), metrics);

        Set<String> expected = new TreeSet<>(List.of(
                "VigilMassiveActivationAppeared " + PLANTED + " residual 0 x",
                "VigilMassiveActivationAppeared " + PLANTED + " residual 1 y",
                "VigilInt8OutlierChannels " + PLANTED + " matmul_input 0 x",
                "VigilInt8OutlierChannels " + PLANTED + " matmul_input 1 n1",
                "VigilInt8OutlierChannels " + PLANTED + " matmul_input 3 out",
                "VigilInt8SqnrLow " + PLANTED + " matmul_input 0 x"));
        // MiniLM (BERT-like) has real outlier features; the int8 alerts must fire exactly where its own values
        // cross the thresholds, and only on matmul_input sites although residual sites are exported too.
        int miniLmResidualUnder20 = 0;
        Matcher s = SAMPLE.matcher(metrics);
        while (s.find()) {
            String name = s.group(1);
            String labels = s.group(2);
            double value = Double.parseDouble(s.group(3));
            if (name.equals("vigil_shadow_output_cosine") && value < 0.99) {
                // the planted outlier wipes the router's int8 input (its absmax scale rounds the body to 0)
                expected.add("VigilShadowOutputCosineLow " + PLANTED + "   ");
            }
            if (!labels.contains("model=\"" + MINILM + "\"")) {
                continue;
            }
            boolean matmul = labels.contains("kind=\"matmul_input\"");
            if (name.equals("vigil_quant_outlier_channels") && matmul && value > 0) {
                expected.add("VigilInt8OutlierChannels " + site(labels));
            } else if (name.equals("vigil_quant_int8_sqnr_db") && labels.contains("calibration=\"absmax\"")
                    && value < 20) {
                if (matmul) {
                    expected.add("VigilInt8SqnrLow " + site(labels));
                } else {
                    miniLmResidualUnder20++;
                }
            }
        }
        assertTrue(sample(metrics, "vigil_probe_dropped_total", MINILM) == 0
                && sample(metrics, "vigil_probe_dropped_total", PLANTED) == 0, "probes dropped, so "
                + "VigilProbesDropping would fire");
        assertTrue(expected.contains("VigilShadowOutputCosineLow " + PLANTED + "   "),
                "the planted model's int8 router output is far from float: " + expected);
        assertTrue(sample(metrics, "vigil_massive_activations_total", MINILM) == 0,
                "MiniLM has massive elements; the planted model is to be the only one");

        Set<String> firing = Set.of();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!firing.equals(expected) && System.nanoTime() < deadline) {
            Thread.sleep(500);
            firing = firingAlerts();
        }
        assertEquals(String.join("\n", expected), String.join("\n", firing),
                "firing alerts (MiniLM residual sites under 20 dB, which must not alert: " + miniLmResidualUnder20
                        + ")");
        // Client errors were served all along; they are not server errors, so the error-ratio alert stays quiet.
        assertFalse(prometheus.query("vigil_requests_total{outcome=\"client_error\"} > 0").isEmpty());
    }

    private static void awaitWindows() throws Exception {
        prometheus.awaitResult("vigil_massive_first_token_fraction{model=\"" + PLANTED + "\"}", DEADLINE);
        prometheus.awaitResult("changes(vigil_quant_abs_max{model=\"" + MINILM + "\"}[1m]) > 0", DEADLINE);
    }

    /** Vigil's own exposition once every probed request has been processed and Prometheus has scraped it. */
    private static String awaitSettledMetrics() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        String previous = "";
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            String now = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + vigilPort + "/metrics"))
                    .build(), HttpResponse.BodyHandlers.ofString()).body();
            if (probeCounts(now).equals(probeCounts(previous))) {
                Thread.sleep(2500);
                return now;
            }
            previous = now;
            Thread.sleep(1000);
        }
        throw new IllegalStateException("probe counters still moving after the traffic stopped");
    }

    private static String probeCounts(String metrics) {
        return sample(metrics, "vigil_probe_requests_total", MINILM) + "/"
                + sample(metrics, "vigil_probe_requests_total", PLANTED);
    }

    /** The sum of a metric's samples for one model in an exposition; NaN when it has none. */
    private static double sample(String metrics, String name, String model) {
        double sum = 0;
        boolean found = false;
        Matcher s = SAMPLE.matcher(metrics);
        while (s.find()) {
            if (s.group(1).equals(name) && s.group(2).contains("model=\"" + model + "\"")) {
                sum += Double.parseDouble(s.group(3));
                found = true;
            }
        }
        return found ? sum : Double.NaN;
    }

    private static String site(String labels) {
        Map<String, String> l = new HashMap<>();
        Matcher m = LABEL.matcher(labels);
        while (m.find()) {
            l.put(m.group(1), m.group(2));
        }
        return l.get("model") + " " + l.get("kind") + " " + l.get("layer") + " " + l.get("tensor");
    }

    private static Set<String> firingAlerts() throws Exception {
        Set<String> firing = new TreeSet<>();
        for (JsonNode alert : prometheus.api("/api/v1/alerts").path("alerts")) {
            if (alert.path("state").asText().equals("firing")) {
                JsonNode l = alert.path("labels");
                firing.add(l.path("alertname").asText() + " " + l.path("model").asText() + " "
                        + l.path("kind").asText() + " " + l.path("layer").asText() + " " + l.path("tensor").asText());
            }
        }
        return firing;
    }
}
