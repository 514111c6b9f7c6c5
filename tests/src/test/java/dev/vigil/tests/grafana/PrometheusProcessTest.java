package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link PrometheusProcess} against a real Prometheus scraping itself, with grafana/alerts.yml loaded.
 * Skipped where no {@code prometheus} binary is installed (CI installs the Debian package).
 */
class PrometheusProcessTest {

    private static PrometheusProcess prometheus;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(PrometheusProcess.available(), "prometheus is not on the PATH");
        port = PrometheusProcess.freePort();
        prometheus = PrometheusProcess.start(port, "127.0.0.1:" + port, Duration.ofSeconds(1),
                DashboardsTest.grafanaDir().resolve("alerts.yml"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (prometheus != null) {
            prometheus.close();
        }
    }

    @Test
    void scrapesItselfAsJobVigil() throws Exception {
        JsonNode up = prometheus.awaitResult("up{job=\"vigil\"}", Duration.ofSeconds(20));
        assertEquals(1, up.size());
        assertEquals("127.0.0.1:" + port, up.get(0).path("metric").path("instance").asText());
        assertEquals("1", up.get(0).path("value").get(1).asText());
        assertFalse(prometheus.query("prometheus_build_info").isEmpty());
        assertTrue(prometheus.query("vigil_requests_total").isEmpty(), "nothing named vigil_ is scraped here");
    }

    @Test
    void loadsEveryAlertRule() throws Exception {
        Set<String> alerts = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        boolean evaluated = false;
        while (!evaluated && System.nanoTime() < deadline) {
            Thread.sleep(200);
            alerts.clear();
            evaluated = true;
            for (JsonNode group : prometheus.api("/api/v1/rules").path("groups")) {
                for (JsonNode rule : group.path("rules")) {
                    // "unknown" until the rule's group has been evaluated once, then "ok" or "err".
                    String health = rule.path("health").asText();
                    evaluated &= !health.equals("unknown");
                    assertFalse(health.equals("err"), rule.path("name") + ": " + rule.path("lastError"));
                    alerts.add(rule.path("name").asText());
                }
            }
        }
        assertTrue(evaluated, "rules not evaluated within 20 s");
        Set<String> declared = new HashSet<>();
        for (String line : Files.readAllLines(DashboardsTest.grafanaDir().resolve("alerts.yml"))) {
            if (line.strip().startsWith("- alert:")) {
                declared.add(line.strip().substring("- alert:".length()).strip());
            }
        }
        assertEquals(declared, alerts);
        assertTrue(alerts.contains("VigilInt8SqnrLow"));
    }

    @Test
    void reportsQueryErrorsWithPrometheusMessage() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> prometheus.query("sum(rate(up[1m])"));
        assertTrue(e.getMessage().contains("bad_data"), e.getMessage());
    }
}
