package dev.vigil.tests.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code deploy/monitoring/prometheusrule.sh} wraps the rule files of grafana/ into a PrometheusRule that the
 * Prometheus Operator's CRD accepts, with every group exactly as in the files.
 */
@Timeout(120)
class PrometheusRuleTest {

    @Test
    void theScriptWrapsEveryRuleGroupOfGrafanaUnchanged() throws Exception {
        Process p = new ProcessBuilder("bash", Path.of("..", "deploy", "monitoring", "prometheusrule.sh").toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        JsonNode rule = CrdCatalog.YAML.readTree(out);

        CrdCatalog strict = CrdCatalog.load(Path.of("src", "test", "resources", "crds"), true);
        assertEquals(List.of(), strict.violations(rule), out);

        Map<String, JsonNode> expected = new TreeMap<>();
        try (Stream<Path> files = Files.list(Path.of("..", "grafana"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".yml")).toList()) {
                CrdCatalog.YAML.readTree(f.toFile()).path("groups").forEach(g -> expected.put(g.get("name").asText(), g));
            }
        }
        assertTrue(expected.containsKey("vigil-serving"), expected.keySet().toString());
        Map<String, JsonNode> wrapped = new TreeMap<>();
        rule.at("/spec/groups").forEach(g -> wrapped.put(g.get("name").asText(), g));
        assertEquals(expected, wrapped);
        assertEquals(expected.size(), rule.at("/spec/groups").size(), "no group twice");

        ObjectNode firstRule = (ObjectNode) rule.at("/spec/groups/0/rules/0");
        firstRule.set("exp", firstRule.remove("expr"));
        assertFalse(strict.violations(rule).isEmpty(), "a misspelt rule field fails");
    }
}
