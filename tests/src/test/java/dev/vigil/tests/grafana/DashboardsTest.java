package dev.vigil.tests.grafana;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Static checks of grafana/dashboards/*.json against the metric contract (SPEC §5, §6 and the fleet
 * recording rules): template variables (a datasource variable every query uses, one model at a time so
 * that no panel mixes models, an instance filter on every per-replica query outside the fleet panels),
 * panel types, and every query's metric names, labels and variables.
 */
class DashboardsTest {

    private static final Set<String> PANEL_TYPES = Set.of("timeseries", "heatmap", "bargauge", "stat", "table");
    private static final Set<String> GRAFANA_BUILTINS = Set.of("__rate_interval");
    /** Every panel, target and variable query uses the dashboard's datasource variable. */
    private static final String DATASOURCE = "${datasource}";
    /** Panels whose title starts so aggregate over every replica: no instance filter. */
    private static final String FLEET_PANEL = "Fleet";
    private static final Pattern LABEL_VALUES = Pattern.compile("label_values\\((.+),\\s*(\\w+)\\)");
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path grafanaDir() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("grafana/dashboards"))) {
                return dir.resolve("grafana");
            }
        }
        throw new IllegalStateException("no grafana/dashboards above " + Path.of("").toAbsolutePath());
    }

    static List<Path> dashboards() throws IOException {
        try (Stream<Path> files = Files.list(grafanaDir().resolve("dashboards"))) {
            return files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
    }

    @Test
    void theProvisionedPrometheusIsTheDefaultDatasource() throws IOException {
        String provisioning = Files.readString(grafanaDir().resolve("provisioning/datasources/prometheus.yml"));
        assertTrue(Pattern.compile("(?m)^\\s*type:\\s*prometheus\\s*$").matcher(provisioning).find(), provisioning);
        assertTrue(Pattern.compile("(?m)^\\s*isDefault:\\s*true\\s*$").matcher(provisioning).find(),
                "the datasource variable starts on the default datasource: " + provisioning);
    }

    @Test
    void theFiveDashboardsExistWithDistinctUids() throws IOException {
        Set<String> names = new TreeSet<>();
        Set<String> uids = new HashSet<>();
        for (Path p : dashboards()) {
            names.add(p.getFileName().toString());
            assertTrue(uids.add(JSON.readTree(p.toFile()).path("uid").asText()), "duplicate uid in " + p);
        }
        assertEquals(new TreeSet<>(List.of("attention.json", "neuron-health.json", "outliers.json",
                "quantization.json", "serving.json")), names);
    }

    @TestFactory
    Stream<DynamicTest> everyDashboardFollowsTheContract() throws IOException {
        String uid = DATASOURCE;
        return dashboards().stream().map(p -> DynamicTest.dynamicTest(p.getFileName().toString(), () -> {
            List<String> problems = new DashboardCheck(JSON.readTree(p.toFile()), uid).problems();
            assertTrue(problems.isEmpty(), p.getFileName() + ":\n  " + String.join("\n  ", problems));
        }));
    }

    @Test
    void theCheckFindsWhatItLooksFor() throws IOException {
        String broken = """
                {"uid": "x", "templating": {"list": [
                   {"name": "model", "type": "query", "datasource": {"uid": "ds"}, "multi": true,
                    "query": {"query": "label_values(vigil_requests_total, model)"}}]},
                 "panels": [
                   {"id": 1, "type": "graph", "datasource": {"uid": "ds"}, "gridPos": {"x": 0, "w": 12},
                    "targets": [{"datasource": {"uid": "ds"}, "expr": "rate(vigil_request_total{model=~\\"$model\\"}[5m])"}]},
                   {"id": 1, "type": "stat", "datasource": {"uid": "other"}, "gridPos": {"x": 16, "w": 12},
                    "targets": [{"datasource": {"uid": "ds"}, "expr": " "}]},
                   {"id": 3, "type": "stat", "datasource": {"uid": "ds"}, "gridPos": {"x": 0, "w": 6},
                    "targets": [{"datasource": {"uid": "ds"},
                      "expr": "sum by (head) (vigil_quant_abs_max{model=~\\"$model\\", kind=\\"attn\\"}) or up{instance=~\\"$host\\"}"}]}
                 ]}
                """;
        List<String> problems = new DashboardCheck(JSON.readTree(broken), "ds").problems();
        String all = String.join("\n", problems);
        for (String expected : List.of(
                "unknown metric vigil_request_total", "panel type graph", "panel id 1 twice", "datasource other",
                "no target with an expr", "extends past column 24", "unknown metric up",
                "kind value attn", "grouping label head", "variable $host", "needs kind=~\"$kind\"",
                "variable kind missing", "variable model allows several models", "needs instance=~\"$instance\"",
                "variable instance missing")) {
            assertTrue(all.contains(expected), "missing problem '" + expected + "' in:\n" + all);
        }
    }

    /** Collects every contract violation of one dashboard. */
    private static final class DashboardCheck {
        private final JsonNode dashboard;
        private final String datasourceUid;
        private final List<String> problems = new ArrayList<>();
        private final Set<String> variables = new HashSet<>();

        DashboardCheck(JsonNode dashboard, String datasourceUid) {
            this.dashboard = dashboard;
            this.datasourceUid = datasourceUid;
        }

        List<String> problems() {
            for (JsonNode v : dashboard.path("templating").path("list")) {
                checkVariable(v);
            }
            for (String v : List.of("model", "instance")) {
                if (!variables.contains(v)) {
                    problems.add("variable " + v + " missing");
                }
            }
            if (datasourceUid.startsWith("${") && !variables.contains("datasource")) {
                problems.add("variable datasource missing");
            }
            Set<Integer> ids = new HashSet<>();
            boolean usesSites = false;
            for (JsonNode panel : panels()) {
                if (!ids.add(panel.path("id").asInt())) {
                    problems.add("panel id " + panel.path("id").asInt() + " twice");
                }
                usesSites |= checkPanel(panel);
            }
            if (usesSites) {
                for (String v : List.of("kind", "layer")) {
                    if (!variables.contains(v)) {
                        problems.add("variable " + v + " missing on a dashboard of site metrics");
                    }
                }
            }
            return problems;
        }

        private List<JsonNode> panels() {
            List<JsonNode> out = new ArrayList<>();
            for (JsonNode p : dashboard.path("panels")) {
                if ("row".equals(p.path("type").asText())) {
                    p.path("panels").forEach(out::add);
                } else {
                    out.add(p);
                }
            }
            return out;
        }

        private void checkVariable(JsonNode v) {
            String name = v.path("name").asText();
            variables.add(name);
            if ("datasource".equals(v.path("type").asText())) {
                if (!"prometheus".equals(v.path("query").asText())) {
                    problems.add("variable " + name + " offers datasources of type " + v.path("query").asText());
                }
                return;
            }
            if (name.equals("model") && (v.path("multi").asBoolean() || v.path("includeAll").asBoolean())) {
                problems.add("variable model allows several models: a panel would mix them");
            }
            JsonNode q = v.path("query");
            String query = q.isTextual() ? q.asText() : q.path("query").asText();
            Matcher m = LABEL_VALUES.matcher(query);
            if (!"query".equals(v.path("type").asText()) || !m.matches()) {
                problems.add("variable " + name + " is not a label_values query: " + query);
                return;
            }
            checkDatasource("variable " + name, v);
            if (!m.group(2).equals(name)) {
                problems.add("variable " + name + " lists label " + m.group(2));
            }
            for (PromQlReferences.Selector s : PromQlReferences.of(m.group(1)).selectors()) {
                if (!SpecMetrics.isSpecName(s.metric()) || !SpecMetrics.carries(s.metric(), name)) {
                    problems.add("variable " + name + " reads " + s.metric() + ", which has no label " + name);
                }
            }
        }

        /** Checks one panel; returns whether it queries site metrics. */
        private boolean checkPanel(JsonNode panel) {
            String where = "panel " + panel.path("id").asInt() + " '" + panel.path("title").asText() + "'";
            String type = panel.path("type").asText();
            if (!PANEL_TYPES.contains(type)) {
                problems.add(where + ": panel type " + type + " is not one of " + PANEL_TYPES);
            }
            JsonNode grid = panel.path("gridPos");
            if (grid.path("x").asInt() + grid.path("w").asInt() > 24) {
                problems.add(where + ": extends past column 24");
            }
            checkDatasource(where, panel);
            boolean anyExpr = false;
            boolean usesSites = false;
            for (JsonNode target : panel.path("targets")) {
                checkDatasource(where, target);
                String expr = target.path("expr").asText();
                if (expr.isBlank()) {
                    continue;
                }
                anyExpr = true;
                try {
                    usesSites |= checkExpr(where, expr, panel.path("title").asText().startsWith(FLEET_PANEL));
                } catch (IllegalArgumentException e) {
                    problems.add(where + ": " + e.getMessage());
                }
            }
            if (!anyExpr) {
                problems.add(where + ": no target with an expr");
            }
            return usesSites;
        }

        private boolean checkExpr(String where, String expr, boolean fleetPanel) {
            PromQlReferences refs = PromQlReferences.of(expr);
            boolean usesSites = false;
            for (PromQlReferences.Selector s : refs.selectors()) {
                String metric = s.metric();
                if (!SpecMetrics.isSpecName(metric)) {
                    problems.add(where + ": unknown metric " + (metric.isEmpty() ? "(none)" : metric) + " in " + expr);
                    continue;
                }
                if (!"$model".equals(s.valueOf("model", "=~"))) {
                    problems.add(where + ": " + metric + " needs model=~\"$model\"");
                }
                if (!fleetPanel && !SpecMetrics.isRecordingRule(metric)
                        && !"$instance".equals(s.valueOf("instance", "=~"))) {
                    problems.add(where + ": " + metric + " needs instance=~\"$instance\"");
                }
                if (SpecMetrics.isSiteMetric(metric)) {
                    usesSites = true;
                    for (String label : List.of("kind", "layer")) {
                        if (!("$" + label).equals(s.valueOf(label, "=~"))) {
                            problems.add(where + ": " + metric + " needs " + label + "=~\"$" + label + "\"");
                        }
                    }
                }
                for (PromQlReferences.LabelMatcher m : s.matchers()) {
                    if (!SpecMetrics.carries(metric, m.label())) {
                        problems.add(where + ": " + metric + " has no label " + m.label());
                    }
                    checkValue(where, m, "kind", SpecMetrics.KINDS);
                    checkValue(where, m, "outcome", SpecMetrics.OUTCOMES);
                    checkValue(where, m, "calibration", SpecMetrics.CALIBRATIONS);
                }
            }
            for (String label : refs.groupingLabels()) {
                if (refs.selectors().stream().noneMatch(s -> SpecMetrics.carries(s.metric(), label))) {
                    problems.add(where + ": grouping label " + label + " is on none of the metrics of " + expr);
                }
            }
            for (String v : refs.variables()) {
                if (!variables.contains(v) && !GRAFANA_BUILTINS.contains(v)) {
                    problems.add(where + ": variable $" + v + " is not defined");
                }
            }
            return usesSites;
        }

        private void checkValue(String where, PromQlReferences.LabelMatcher m, String label, Set<String> allowed) {
            if (m.label().equals(label) && m.op().equals("=") && !allowed.contains(m.value())) {
                problems.add(where + ": " + label + " value " + m.value() + " is not one of " + allowed);
            }
        }

        private void checkDatasource(String where, JsonNode node) {
            String uid = node.path("datasource").path("uid").asText();
            if (!datasourceUid.equals(uid)) {
                problems.add(where + ": datasource " + uid + " is not the provisioned " + datasourceUid);
            }
        }
    }
}
