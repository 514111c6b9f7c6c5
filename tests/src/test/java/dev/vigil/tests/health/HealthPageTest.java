package dev.vigil.tests.health;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.Device;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The health page on real models: MiniLM (text) and the 2-layer prenorm encoder (token ids) served with small
 * windows, plus a prenorm copy with probing disabled. After traffic stops, {@code /api/health} must give exactly the
 * values {@code /metrics} exports, and the page as headless Chromium renders it must show every one of them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HealthPageTest {
    private static final Path MODELS = Path.of("..", "models");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SENTENCES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Vigil serves ONNX models over HTTP.",
            "What is the capital of France?",
            "Attention sinks put most of the probability mass on the first token.",
            "Hello!",
            "Quantization ranges are measured from live traffic.",
            "Dead neurons never fire.",
            "Paris is the capital and most populous city of France.");
    private static final int PRENORM_REQUESTS = 3;
    /** Per statistic of the view, the {@code /metrics} gauge it shows (the head means average its head series). */
    private static final Map<String, String> GAUGES = Map.of(
            "dead_ratio", "vigil_neurons_dead_ratio",
            "dormant_ratio", "vigil_neurons_dormant_ratio",
            "massive_ratio", "vigil_massive_activation_ratio",
            "sink_heads_ratio", "vigil_attention_sink_heads_ratio",
            "sink_score_mean", "vigil_attention_sink_score",
            "entropy_mean", "vigil_attention_entropy",
            "token_cosine", "vigil_token_cosine_similarity",
            "int8_sqnr_db", "vigil_quant_int8_sqnr_db",
            "outlier_channels", "vigil_quant_outlier_channels");

    @TempDir
    static Path repo;
    private VigilServer server;
    private final HttpClient client = HttpClient.newHttpClient();
    private String base;

    @BeforeAll
    void serveAndDriveTraffic() throws Exception {
        model("minilm", MODELS.resolve("all-minilm-l6-v2"), "{\"probe\": {\"window_tokens\": 48}}", "tokenizer.json");
        model("prenorm", MODELS.resolve("prenorm-256"), "{\"probe\": {\"window_tokens\": 512}}");
        model("prenorm-idle", MODELS.resolve("prenorm-256"), "{\"probe\": {\"window_tokens\": 512}}");
        model("unprobed", MODELS.resolve("prenorm-256"), "{\"probe\": {\"enabled\": false}}");
        server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0).device(Device.parse("cpu")).build());
        base = "http://127.0.0.1:" + server.start();
        for (String s : SENTENCES) {
            infer("minilm", "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":\"BYTES\",\"data\":[\""
                    + s + "\",\"" + SENTENCES.get(0) + "\"]}]}");
        }
        Random random = new Random(7);
        for (int r = 0; r < PRENORM_REQUESTS; r++) {
            StringBuilder ids = new StringBuilder();
            for (int i = 0; i < 2 * 256; i++) {
                ids.append(i == 0 ? "" : ",").append(random.nextInt(33));
            }
            infer("prenorm", "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[2,256],\"datatype\":\"INT64\","
                    + "\"data\":[" + ids + "]}]}");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!(probed(health(), "minilm") == SENTENCES.size() && probed(health(), "prenorm") == PRENORM_REQUESTS)) {
            assertTrue(System.nanoTime() < deadline, "probe worker did not catch up: " + health());
            Thread.sleep(50);
        }
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void jsonGivesTheValuesMetricsExports() throws Exception {
        JsonNode view = health();
        Files.writeString(Path.of("target", "health-view.json"), view.toPrettyString());
        ScrapedMetrics metrics = new ScrapedMetrics(get("/metrics").body());
        List<String> names = new ArrayList<>();
        view.path("models").forEach(m -> names.add(m.path("name").asText()));
        assertEquals(List.of("minilm", "prenorm", "prenorm-idle"), names, "probed models only, by name");

        for (JsonNode model : view.path("models")) {
            String name = model.path("name").asText();
            JsonNode window = JSON.readTree(get("/v2/models/" + name + "/calibration").body()).path("window");
            for (String field : List.of("index", "closed", "tokens", "requests")) {
                assertEquals(window.path(field), model.path("window").path(field), name + " window " + field);
            }
            boolean idle = name.equals("prenorm-idle");
            assertEquals(!idle, model.path("window").path("closed").asBoolean(), name + ": a window closed");
            assertEquals(metrics.find("vigil_probe_requests_total", "model", name).get(0).number(),
                    model.path("probed_requests").asDouble(), name);
            assertEquals(metrics.find("vigil_window_tokens", "model", name).get(0).number(),
                    model.path("open_window_tokens").asDouble(), name);

            Set<String> sites = new TreeSet<>();
            JSON.readTree(get("/v2/models/" + name + "/probes").body()).path("sites")
                    .forEach(s -> sites.add(s.path("kind").asText() + " " + s.path("layer").asInt()));
            Set<String> shown = new TreeSet<>();
            for (JsonNode kind : model.path("kinds")) {
                for (JsonNode layer : kind.path("layers")) {
                    shown.add(kind.path("kind").asText() + " " + layer.path("layer").asInt());
                    for (JsonNode stat : kind.path("stats")) {
                        assertMatchesMetrics(metrics, name, kind.path("kind").asText(), layer, stat.asText());
                        assertEquals(idle, layer.path("values").path(stat.asText()).isNull(),
                                name + " " + layer + " " + stat + ": null exactly without traffic");
                    }
                }
            }
            assertEquals(sites, shown, name + ": every probe site has a row");

            JsonNode sink = model.path("sink_scores");
            int attention = 0;
            for (JsonNode layer : sink.path("layers")) {
                attention++;
                List<ScrapedMetrics.Sample> series = metrics.find("vigil_attention_sink_score", "model", name,
                        "kind", "attention", "layer", layer.path("layer").asText());
                assertEquals(series.size(), layer.path("heads").size(), name + " sink heads");
                for (ScrapedMetrics.Sample s : series) {
                    JsonNode v = layer.path("heads").path(Integer.parseInt(s.labels().get("head")));
                    assertEquals(s.number(), v.asDouble(), name + " " + s);
                    assertTrue(v.asDouble() >= 0 && v.asDouble() <= 1, name + " " + s);
                }
            }
            assertEquals(name.equals("minilm") ? 6 : 2, attention, name + " attention layers");
            assertEquals(idle ? 0 : name.equals("minilm") ? 12 : 4, sink.path("heads").asInt(),
                    name + " heads (unknown before the first request)");
        }

        // traffic has stopped: the view does not move
        ObjectNode again = (ObjectNode) health();
        ObjectNode first = (ObjectNode) view;
        first.remove("generated_at");
        again.remove("generated_at");
        assertEquals(first, again);
    }

    /** One cell of the view against its gauge; a null cell has no series, a head mean is the mean of the series. */
    private static void assertMatchesMetrics(ScrapedMetrics metrics, String model, String kind, JsonNode layer,
                                             String stat) {
        String gauge = GAUGES.get(stat);
        assertNotNull(gauge, "unknown statistic " + stat);
        List<String> labels = new ArrayList<>(List.of("model", model, "kind", kind,
                "layer", layer.path("layer").asText(), "tensor", layer.path("tensor").asText()));
        if (stat.equals("int8_sqnr_db")) {
            labels.addAll(List.of("calibration", "absmax"));
        }
        List<ScrapedMetrics.Sample> series = metrics.find(gauge, labels.toArray(String[]::new));
        JsonNode cell = layer.path("values").path(stat);
        String where = model + " " + kind + " " + layer.path("layer").asText() + " " + stat;
        if (series.isEmpty()) {
            assertTrue(cell.isNull(), where + ": no series, yet " + cell);
            return;
        }
        if (stat.endsWith("_mean")) {
            double sum = 0;
            for (ScrapedMetrics.Sample s : series) {
                sum += s.number();
            }
            assertEquals(sum / series.size(), cell.asDouble(), 1e-12, where);
        } else {
            assertEquals(1, series.size(), where);
            ScrapedMetrics.Sample s = series.get(0);
            if (Double.isInfinite(s.number())) {
                assertEquals(s.value(), cell.asText(), where);
            } else {
                assertTrue(stat.equals("outlier_channels") ? cell.isIntegralNumber() : cell.isNumber(),
                        where + ": " + cell);
                assertEquals(s.number(), cell.asDouble(), where);
            }
        }
    }

    @Test
    void pageServesBesideTheApi() throws Exception {
        HttpResponse<String> page = get("/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("/vigil-ui/health.js"), page.body());
        for (String path : List.of("/vigil-ui/health.js", "/vigil-ui/health.css", "/v2/health/live", "/metrics")) {
            assertEquals(200, get(path).statusCode(), path);
        }
        HttpResponse<String> missing = get("/no-such-page");
        assertEquals(404, missing.statusCode());
        assertTrue(JSON.readTree(missing.body()).path("error").asText().contains("/no-such-page"), missing.body());
        assertEquals(404, get("/vigil-ui/index.html").statusCode(), "only the page's own files are served");
    }

    @Test
    void chromiumShowsEveryValueOfTheJson() throws Exception {
        String chromium = chromium();
        assumeTrue(chromium != null, "no chromium binary on PATH (apt-get install chromium): browser test skipped");
        JsonNode view = health();
        Document dom = Jsoup.parse(run(chromium, "--dump-dom", base + "/"));

        Map<String, String> expected = new LinkedHashMap<>();
        for (JsonNode model : view.path("models")) {
            String m = model.path("name").asText();
            for (JsonNode kind : model.path("kinds")) {
                for (JsonNode layer : kind.path("layers")) {
                    for (JsonNode stat : kind.path("stats")) {
                        expected.put(key(m, kind.path("kind").asText(), stat.asText(), layer.path("layer").asText(),
                                ""), json(layer.path("values").path(stat.asText())));
                    }
                }
            }
            for (JsonNode layer : model.path("sink_scores").path("layers")) {
                for (int h = 0; h < layer.path("heads").size(); h++) {
                    expected.put(key(m, "attention", "sink_score", layer.path("layer").asText(), Integer.toString(h)),
                            json(layer.path("heads").path(h)));
                }
            }
            Element line = dom.selectFirst("div.window[data-model=" + m + "]");
            assertNotNull(line, m + ": window line");
            assertEquals(model.path("window").path("index").asText(), line.attr("data-window-index"));
            assertEquals(model.path("window").path("tokens").asText(), line.attr("data-window-tokens"));
            assertTrue(line.text().contains(model.path("window").path("tokens").asText() + " tokens"), line.text());
        }
        assertTrue(expected.size() > 200, "MiniLM alone has 72 sink cells and dozens of statistics");
        Element status = dom.getElementById("status");
        assertNotNull(status);
        assertTrue(Integer.parseInt(status.attr("data-polls")) >= 2,
                "the page polls /api/health every 3 s (8 s of virtual time): " + status);

        Map<String, Element> shown = new LinkedHashMap<>();
        for (Element td : dom.select("td.cell")) {
            String k = key(td.attr("data-model"), td.attr("data-kind"), td.attr("data-stat"), td.attr("data-layer"),
                    td.attr("data-head"));
            assertFalse(shown.containsKey(k), "duplicate cell " + k);
            shown.put(k, td);
        }
        assertEquals(expected.keySet(), shown.keySet(), "every cell of the JSON, and no other");
        Set<String> colours = new HashSet<>();
        for (Map.Entry<String, String> e : expected.entrySet()) {
            Element td = shown.get(e.getKey());
            String value = td.attr("data-value");
            if (e.getValue() == null) {
                assertEquals("null", value, e.getKey());
                assertEquals("—", td.text(), e.getKey());
            } else if (e.getValue().endsWith("Inf")) {
                assertEquals(e.getValue(), value, e.getKey());
            } else {
                double v = Double.parseDouble(e.getValue());
                assertEquals(v, Double.parseDouble(value), e.getKey() + " exact value");
                assertPrintedNear(v, td.text(), e.getKey());
                colours.add(td.attr("style"));
            }
        }
        assertTrue(colours.size() > 20, "cells are coloured by value: " + colours.size() + " distinct colours");

        Path shot = Path.of("target", "health-page.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        run(chromium, "--screenshot=" + shot, "--window-size=1400,1100", "--hide-scrollbars", base + "/");
        assertTrue(Files.size(shot) > 10_000, "screenshot written: " + shot);
    }

    /** The cell prints the value rounded to the digits it shows. */
    private static void assertPrintedNear(double v, String text, String where) {
        int dot = text.indexOf('.');
        int digits = dot < 0 ? 0 : text.length() - dot - 1;
        double printed = Double.parseDouble(text);
        assertTrue(Math.abs(printed - v) <= 0.5 * Math.pow(10, -digits) + 1e-9, where + ": " + text + " for " + v);
    }

    private static String key(String model, String kind, String stat, String layer, String head) {
        return model + "|" + kind + "|" + stat + "|" + layer + "|" + head;
    }

    private static String json(JsonNode v) {
        return v.isNull() ? null : v.asText();
    }

    /** Runs headless Chromium on a URL and returns its stdout. */
    private static String run(String chromium, String... args) throws IOException, InterruptedException {
        Path profile = Files.createTempDirectory(repo, "chromium");
        List<String> command = new ArrayList<>(List.of(chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile,
                "--virtual-time-budget=8000"));
        command.addAll(List.of(args));
        Path err = repo.resolve("chromium.err");
        Process p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish");
        assertEquals(0, p.exitValue(), "chromium failed: " + Files.readString(err));
        return out;
    }

    private static String chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p.toString();
                }
            }
        }
        return null;
    }

    private static void model(String name, Path source, String config, String... extra) throws IOException {
        Path dir = Files.createDirectories(repo.resolve(name));
        Files.createSymbolicLink(dir.resolve("model.onnx"), source.resolve("model.onnx").toAbsolutePath());
        for (String file : extra) {
            Files.createSymbolicLink(dir.resolve(file), source.resolve(file).toAbsolutePath());
        }
        Files.writeString(dir.resolve("config.json"), config);
    }

    private void infer(String model, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model
                + "/infer")).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
    }

    private JsonNode health() throws IOException, InterruptedException {
        HttpResponse<String> r = get("/api/health");
        assertEquals(200, r.statusCode(), r.body());
        assertNotEquals(-1, r.headers().firstValue("Content-Type").orElse("").indexOf("application/json"));
        return JSON.readTree(r.body());
    }

    private static long probed(JsonNode view, String model) {
        for (JsonNode m : view.path("models")) {
            if (m.path("name").asText().equals(model)) {
                return m.path("probed_requests").asLong();
            }
        }
        return -1;
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
