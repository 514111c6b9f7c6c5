package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every dashboard query and template variable, substituted the way Grafana does with "All"
 * selected, run by a real Prometheus scraping SPEC-shaped metrics ({@link SpecShapedMetrics}):
 * each must parse and return series. Skipped where no {@code prometheus} binary is installed.
 */
class DashboardQueriesTest {

    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.+),\\s*(\\w+)\\)");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static SpecShapedMetrics metrics;
    private static PrometheusProcess prometheus;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(PrometheusProcess.available(), "prometheus is not on the PATH");
        metrics = SpecShapedMetrics.start();
        prometheus = PrometheusProcess.start(metrics.target(), Duration.ofMillis(500));
        // Rates need two scrapes of the counters.
        prometheus.awaitResult("rate(vigil_requests_total[1m]) > 0", Duration.ofSeconds(20));
    }

    @AfterAll
    static void stop() throws Exception {
        if (prometheus != null) {
            prometheus.close();
        }
        if (metrics != null) {
            metrics.close();
        }
    }

    /** What Grafana sends with "All" selected (allValue .*); $__rate_interval is at least 4 scrapes. */
    static String substitute(String expr) {
        return expr.replace("$__rate_interval", "1m")
                .replace("$model", ".*").replace("$kind", ".*").replace("$layer", ".*");
    }

    @Test
    void everyPanelQueryReturnsSeries() throws Exception {
        List<String> failures = new ArrayList<>();
        int queries = 0;
        for (Path dashboard : DashboardsTest.dashboards()) {
            for (JsonNode panel : JSON.readTree(dashboard.toFile()).path("panels")) {
                for (JsonNode target : panel.path("targets")) {
                    String expr = substitute(target.path("expr").asText());
                    String where = dashboard.getFileName() + " '" + panel.path("title").asText() + "' " + expr;
                    queries++;
                    try {
                        if (prometheus.query(expr).isEmpty()) {
                            failures.add(where + ": no series");
                        }
                    } catch (IllegalStateException e) {
                        failures.add(where + ": " + e.getMessage());
                    }
                }
            }
        }
        assertTrue(queries >= 50, "only " + queries + " queries found");
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void everyVariableListsValues() throws Exception {
        List<String> failures = new ArrayList<>();
        for (Path dashboard : DashboardsTest.dashboards()) {
            for (JsonNode v : JSON.readTree(dashboard.toFile()).path("templating").path("list")) {
                Matcher m = LABEL_VALUES.matcher(v.path("query").path("query").asText());
                assertTrue(m.matches(), dashboard + ": " + v);
                JsonNode values = prometheus.api("/api/v1/label/" + m.group(2) + "/values?match[]="
                        + URLEncoder.encode(substitute(m.group(1)), StandardCharsets.UTF_8));
                if (values.isEmpty()) {
                    failures.add(dashboard.getFileName() + " variable " + v.path("name").asText() + ": no values");
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
}
