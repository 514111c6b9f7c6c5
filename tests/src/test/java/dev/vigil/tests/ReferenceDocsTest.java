package dev.vigil.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.vigil.server.Http;
import dev.vigil.server.Main;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reference in docs/ against a live server on bundled models: every metric {@code /metrics} exports is in
 * METRICS.md (and every documented one is exported), every route of openapi.yaml answers as documented (plain
 * and versioned), every server flag and probe setting is in CONFIG.md, and the Java client example of API.md
 * runs and agrees with a JSON request.
 */
@Timeout(300)
class ReferenceDocsTest {
    private static final Path DOCS = Path.of("..", "docs");
    /** Documented metrics that a server exports only in some configurations. */
    private static final Set<String> CONDITIONAL = Set.of(
            "vigil_batch_queue_delay_seconds",   // only models with dynamic_batching
            // only models with probe.shadow.enabled (ShadowInt8Test checks them)
            "vigil_shadow_site_sqnr_db", "vigil_shadow_output_cosine", "vigil_shadow_top1_agreement",
            "vigil_shadow_model_window", "vigil_shadow_requests_total", "vigil_shadow_skipped_total",
            "vigil_shadow_nonfinite_total", "vigil_shadow_signal_energy_total", "vigil_shadow_error_energy_total",
            "vigil_shadow_output_cosine_distance_sum_total", "vigil_shadow_output_rows_total");
    private static final String PLANTED = "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,4],\"datatype\":\"INT64\","
            + "\"data\":[1,5,6,7]},{\"name\":\"attention_mask\",\"shape\":[1,4],\"datatype\":\"INT64\","
            + "\"data\":[1,1,1,1]}],\"outputs\":[{\"name\":\"logits\"}]}";

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        // MiniLM has every site kind; planted-outliers fires massive activations; prenorm-256 is API.md's model.
        for (String model : List.of("all-minilm-l6-v2", "planted-outliers", "prenorm-256")) {
            Files.createSymbolicLink(repo.resolve(model), MiniLmTextTest.MODELS.resolve(model).toAbsolutePath());
        }
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
        assertEquals(200, http.postJson("/v2/models/all-minilm-l6-v2/infer", "{\"inputs\":[{\"name\":\"text\","
                + "\"datatype\":\"BYTES\",\"shape\":[2],\"data\":[\"Vigil watches models.\",\"Hello\"]}]}").statusCode());
        assertEquals(200, http.postJson("/v2/models/planted-outliers/infer", PLANTED).statusCode());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String doc(String name) throws Exception {
        return Files.readString(DOCS.resolve(name));
    }

    @Test
    void metricsMdDocumentsEveryExportedMetricAndNoOther() throws Exception {
        Set<String> exported = new TreeSet<>();
        // The probe worker adds requests off the response path: wait until both probed requests are in.
        for (int i = 0; i < 100 && !exported.contains("vigil_massive_first_token_fraction"); i++) {
            Thread.sleep(100);
            exported.clear();
            Matcher m = Pattern.compile("(?m)^# TYPE (vigil_\\w+) ").matcher(Http.text(http.get("/metrics")));
            while (m.find()) {
                exported.add(m.group(1));
            }
        }
        String metricsMd = doc("METRICS.md");
        Set<String> documented = new TreeSet<>();
        for (String row : metricsMd.lines().filter(l -> l.startsWith("| `vigil_")).toList()) {
            Matcher names = Pattern.compile("`(vigil_\\w+)`").matcher(row.split("\\|")[1]);
            while (names.find()) {
                documented.add(names.group(1));
            }
        }
        Set<String> undocumented = new TreeSet<>(exported);
        undocumented.removeAll(documented);
        assertTrue(undocumented.isEmpty(), "exported but not in docs/METRICS.md: " + undocumented);
        Set<String> missing = new TreeSet<>(documented);
        missing.removeAll(exported);
        missing.removeAll(CONDITIONAL);
        assertTrue(missing.isEmpty(), "in docs/METRICS.md but not exported: " + missing);
    }

    @Test
    void everyOpenApiRouteAnswersAsDocumentedPlainAndVersioned() throws Exception {
        JsonNode api = new YAMLMapper().readTree(DOCS.resolve("openapi.yaml").toFile());
        assertTrue(api.path("openapi").asText().startsWith("3."), "an OpenAPI 3 document");
        assertRefsResolve(api, api);
        String apiMd = doc("API.md");
        int checked = 0;
        for (Iterator<Map.Entry<String, JsonNode>> paths = api.path("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            assertTrue(apiMd.contains("`" + path.getKey()) || apiMd.contains(" " + path.getKey() + "`"),
                    path.getKey() + " is in docs/API.md");
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext(); ) {
                Map.Entry<String, JsonNode> op = ops.next();
                List<String> urls = new ArrayList<>(List.of(path.getKey().replace("{name}", "planted-outliers")));
                if (path.getKey().startsWith("/v2/models/{name}/")) {
                    urls.add(path.getKey().replace("{name}", "planted-outliers/versions/1"));
                }
                for (String url : urls) {
                    HttpResponse<byte[]> r = switch (op.getKey()) {
                        case "get" -> http.get(url);
                        case "post" -> url.endsWith("/infer") ? http.postJson(url + "?inspect=true", PLANTED)
                                : http.post(url, new byte[0]);
                        default -> throw new AssertionError("undocumented method " + op.getKey());
                    };
                    String status = Integer.toString(r.statusCode());
                    JsonNode response = op.getValue().path("responses").path(status);
                    assertFalse(response.isMissingNode(), op.getKey() + " " + url + " answered " + status
                            + ", not among the documented responses: " + Http.text(r));
                    if (response.has("$ref")) {
                        response = api.at(response.get("$ref").asText().substring(1));
                    }
                    String type = r.headers().firstValue("Content-Type").orElse("").replaceAll(";.*", "");
                    assertTrue(response.path("content").has(type), op.getKey() + " " + url + ": " + type
                            + " is not a documented content type of " + status);
                    if (url.endsWith("/infer")) {
                        assertTrue(Http.json(r).has("probe_summary"), Http.text(r));
                    }
                    checked++;
                }
            }
        }
        assertTrue(checked >= 12, "routes checked: " + checked);
    }

    /** Every {@code $ref} in the document points at a node that exists. */
    private static void assertRefsResolve(JsonNode api, JsonNode node) {
        if (node.has("$ref")) {
            String ref = node.get("$ref").asText();
            assertTrue(ref.startsWith("#/") && !api.at(ref.substring(1)).isMissingNode(), "dangling $ref " + ref);
        }
        node.elements().forEachRemaining(child -> assertRefsResolve(api, child));
    }

    @Test
    void configMdDocumentsEveryFlagAndEveryProbeSetting() throws Exception {
        String configMd = doc("CONFIG.md");
        for (CommandLine.Model.OptionSpec option : new CommandLine(new Main()).getCommandSpec().options()) {
            String flag = option.longestName();
            if (!flag.equals("--help") && !flag.equals("--version")) {
                assertTrue(configMd.contains("| `" + flag + " "), flag + " is in the flags table of docs/CONFIG.md");
            }
        }
        JsonNode settings = Http.json(http.get("/v2/models/planted-outliers/probes")).path("settings");
        List<String> keys = new ArrayList<>();
        settings.fields().forEachRemaining(e -> {
            if (e.getValue().isObject()) {
                e.getValue().fieldNames().forEachRemaining(k -> keys.add("probe." + e.getKey() + "." + k));
            } else {
                keys.add("probe." + e.getKey());
            }
        });
        assertTrue(keys.size() >= 10, keys.toString());
        for (String key : keys) {
            assertTrue(configMd.contains("| `" + key + "` |"), key + " is in the config.json table of docs/CONFIG.md");
        }
    }

    @Test
    void theJavaClientExampleRunsAndAgreesWithJson() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, DOCS.resolve("examples").resolve("BinaryInfer.java").toString(),
                "http://127.0.0.1:" + server.port()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        StringBuilder ids = new StringBuilder();
        for (int t = 0; t < 256; t++) {
            ids.append(t > 0 ? "," : "").append(t % 32 + 1);
        }
        JsonNode json = Http.json(http.postJson("/v2/models/prenorm-256/infer", "{\"inputs\":[{\"name\":\"input_ids\","
                + "\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":[" + ids + "]}]}"));
        List<String> logits = new ArrayList<>();
        json.at("/outputs/0/data").forEach(v -> logits.add(Float.toString(v.floatValue())));
        assertTrue(out.contains("logits [" + String.join(", ", logits) + "]"), out + "\nvs JSON " + logits);
    }
}
