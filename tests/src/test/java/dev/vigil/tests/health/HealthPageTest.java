package dev.vigil.tests.health;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
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
    private static final int PLANTED_REQUESTS = 2;
    /** The attention picture the page is asked for in the browser test. */
    private static final String PICTURE_TEXT = "Paris is the capital of France.";
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

    /** The quantization report whose advice the page shows for the planted model. */
    private static final String PLANTED_REPORT = "/v2/models/planted/quantized/report?calibration=absmax"
            + "&target_cosine=0.99";

    @TempDir
    static Path repo;
    private VigilServer server;
    private JsonNode plantedReport;
    private final HttpClient client = HttpClient.newHttpClient();
    private String base;

    @BeforeAll
    void serveAndDriveTraffic() throws Exception {
        model("minilm", MODELS.resolve("all-minilm-l6-v2"), "{\"probe\": {\"window_tokens\": 48}}", "tokenizer.json");
        model("prenorm", MODELS.resolve("prenorm-256"), "{\"probe\": {\"window_tokens\": 512}}");
        model("prenorm-idle", MODELS.resolve("prenorm-256"), "{\"probe\": {\"window_tokens\": 512}}");
        model("unprobed", MODELS.resolve("prenorm-256"), "{\"probe\": {\"enabled\": false}}");
        model("planted", MODELS.resolve("planted-outliers"), "{\"probe\": {\"window_tokens\": 32}}");
        server = new VigilServer(TestServers.cpu(repo).build());
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
        for (int r = 0; r < PLANTED_REQUESTS; r++) {
            infer("planted", plantedRequest(random));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!(probed(health(), "minilm") == SENTENCES.size() && probed(health(), "prenorm") == PRENORM_REQUESTS
                && probed(health(), "planted") == PLANTED_REQUESTS)) {
            assertTrue(System.nanoTime() < deadline, "probe worker did not catch up: " + health());
            Thread.sleep(50);
        }
        // the planted model's int8 advice (its window has closed), for the page's advice panel
        HttpResponse<String> report = get(PLANTED_REPORT);
        while (report.statusCode() == 202) {
            assertTrue(System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(60), "report: " + report.body());
            Thread.sleep(100);
            report = get(PLANTED_REPORT);
        }
        assertEquals(200, report.statusCode(), report.body());
        plantedReport = JSON.readTree(report.body());
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
        assertEquals(List.of("minilm", "planted", "prenorm", "prenorm-idle"), names, "probed models only, by name");
        for (JsonNode model : view.path("models")) {
            JsonNode advice = model.path("quant_advice");
            if (model.path("name").asText().equals("planted")) {
                assertEquals(plantedReport.path("advice"), advice.path("advice"), "the last report's advice");
                assertEquals("x", advice.path("keep").path(0).path("tensor").asText(), advice.toString());
            } else {
                assertTrue(advice.isNull(), "no report asked for " + model.path("name") + ": " + advice);
            }
        }

        for (JsonNode model : view.path("models")) {
            String name = model.path("name").asText();
            JsonNode window = JSON.readTree(get("/v2/models/" + name + "/calibration").body()).path("window");
            for (String field : List.of("index", "closed", "tokens", "requests")) {
                assertEquals(window.path(field), model.path("window").path(field), name + " window " + field);
            }
            boolean idle = name.equals("prenorm-idle");
            assertEquals(!idle, model.path("window").path("closed").asBoolean(), name + ": a window closed");
            assertFindingsFollowTheLevels(model);
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
            if (name.equals("planted")) {
                continue;
            }

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

        JsonNode minilm = model(view, "minilm");
        assertEquals("block 2 · attention output LayerNorm in", row(minilm, "residual", 5).path("name").asText());
        assertEquals("block 0 · attention self query/key/value in",
                row(minilm, "matmul_input", 0).path("name").asText());
        assertEquals("block 1 · mlp norm in", row(model(view, "prenorm"), "residual", 3).path("name").asText());

        // the planted massive activation: ratio ~1.8e5, painted as the alarm of VigilMassiveActivationAppeared
        JsonNode planted = row(model(view, "planted"), "residual", 0);
        assertEquals("ln1 in", planted.path("name").asText());
        assertTrue(planted.path("values").path("massive_ratio").asDouble() > 1e5, planted.toString());
        assertEquals("alarm", planted.path("health").path("massive_ratio").asText());
        JsonNode plantedInput = row(model(view, "planted"), "matmul_input", 0);
        assertTrue(plantedInput.path("values").path("int8_sqnr_db").asDouble() < 20, plantedInput.toString());
        assertEquals("alarm", plantedInput.path("health").path("int8_sqnr_db").asText(), "VigilInt8SqnrLow");
        assertEquals("alarm", plantedInput.path("health").path("outlier_channels").asText(), "VigilInt8OutlierChannels");
        JsonNode act = row(model(view, "planted"), "matmul_input", 2);
        assertEquals("ok", act.path("health").path("outlier_channels").asText(), "ReLU output: 0 outlier channels");
        assertEquals("info", row(minilm, "attention", 0).path("health").path("sink_score_mean").asText());
        assertEquals("none", row(model(view, "prenorm-idle"), "residual", 0).path("health").path("massive_ratio")
                .asText());

        // models ranked by alarms, then warnings, then name
        List<String> ranking = new ArrayList<>();
        view.path("ranking").forEach(n -> ranking.add(n.asText()));
        List<String> expected = new ArrayList<>(names);
        expected.sort(Comparator.comparingInt((String n) -> -model(view, n).path("alarms").asInt())
                .thenComparingInt(n -> -model(view, n).path("warnings").asInt()).thenComparing(n -> n));
        assertEquals(expected, ranking);
        assertEquals("prenorm-idle", ranking.get(ranking.size() - 1), "no traffic, nothing to attend to");
        assertTrue(model(view, "planted").path("alarms").asInt() >= 3, model(view, "planted").toString());

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
        Map<String, String> levels = new LinkedHashMap<>();
        for (JsonNode model : view.path("models")) {
            String m = model.path("name").asText();
            for (JsonNode kind : model.path("kinds")) {
                for (JsonNode layer : kind.path("layers")) {
                    for (JsonNode stat : kind.path("stats")) {
                        String k = key(m, kind.path("kind").asText(), stat.asText(), layer.path("layer").asText(), "");
                        expected.put(k, json(layer.path("values").path(stat.asText())));
                        levels.put(k, layer.path("health").path(stat.asText()).asText());
                    }
                    Element name = dom.selectFirst("details[data-model=" + m + "] div.panel[data-kind="
                            + kind.path("kind").asText() + "] th.site[data-layer=" + layer.path("layer").asText() + "]");
                    assertNotNull(name, m + " " + kind.path("kind") + " " + layer.path("layer") + ": row header");
                    assertEquals(layer.path("name").asText(), name.text(), "rows are named by block and tensor");
                    assertTrue(name.attr("title").contains(layer.path("tensor").asText()), name.attr("title"));
                }
            }
            for (JsonNode layer : model.path("sink_scores").path("layers")) {
                for (int h = 0; h < layer.path("heads").size(); h++) {
                    String k = key(m, "attention", "sink_score", layer.path("layer").asText(), Integer.toString(h));
                    expected.put(k, json(layer.path("heads").path(h)));
                    levels.put(k, layer.path("heads").path(h).isNull() ? "none" : "info");
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
            String level = levels.get(e.getKey());
            assertEquals(level, td.attr("data-health"), e.getKey());
            if (e.getValue() == null) {
                assertEquals("null", value, e.getKey());
                assertEquals("—", td.text(), e.getKey());
            } else if (e.getValue().endsWith("Inf")) {
                assertEquals(e.getValue(), value, e.getKey());
            } else {
                double v = Double.parseDouble(e.getValue());
                assertEquals(v, Double.parseDouble(value), e.getKey() + " exact value");
                assertPrintedNear(v, td.text().replace(",", ""), e.getKey());
                assertTrue(td.hasClass("lvl-" + level), e.getKey() + " is painted " + level + ": " + td);
                // a health level has its class's fixed colour; only values without a healthy direction are shaded
                assertEquals(level.equals("info"), !td.attr("style").isEmpty(), e.getKey());
                if (level.equals("info")) {
                    colours.add(td.attr("style"));
                }
            }
        }
        assertTrue(colours.size() > 20, "magnitude cells are shaded by value: " + colours.size() + " colours");
        Element plantedCell = shown.get(key("planted", "residual", "massive_ratio", "0", ""));
        assertTrue(plantedCell.hasClass("lvl-alarm"), "the planted massive activation is painted alarming: "
                + plantedCell);

        // the summary lists the models in the JSON's ranking, each linking to its section
        List<String> ranking = new ArrayList<>();
        view.path("ranking").forEach(n -> ranking.add(n.asText()));
        List<String> rows = new ArrayList<>();
        for (Element tr : dom.select("#summary table.ranking tbody tr")) {
            rows.add(tr.attr("data-model"));
            String m = tr.attr("data-model");
            assertEquals("#model-" + m, tr.selectFirst("a").attr("href"));
            assertNotNull(dom.getElementById("model-" + m), "anchor of " + m);
        }
        assertEquals(ranking, rows);
        Element top = dom.selectFirst("#summary tr[data-model=planted]");
        assertTrue(top.text().contains("massive ratio"), top.text());
        assertEquals(4, dom.select("details.model").size(), "one collapsible section per probed model");

        // the int8 advice panel: the planted model's report, the others' "no report yet"
        JsonNode advice = plantedReport.path("advice");
        Element panel = dom.selectFirst("div.quant-advice[data-model=planted]");
        assertNotNull(panel, "planted: int8 advice panel");
        Element line = panel.selectFirst("div.quant-line");
        assertEquals(advice.path("keep_fp32").size(), Integer.parseInt(line.attr("data-keep")), line.toString());
        assertEquals(advice.path("measured").path("cosine_mean").asDouble(), Double.parseDouble(line.attr(
                "data-measured")));
        List<String> kept = panel.select("tr.quant-site[data-kept=true]").eachAttr("data-tensor");
        List<String> advised = new ArrayList<>();
        advice.path("keep_fp32").forEach(k -> advised.add(k.asText()));
        assertEquals(advised, kept, "the kept sites, in rank order");
        assertEquals(plantedReport.path("sites").path(0).path("tensor").asText(),
                panel.selectFirst("tr.quant-site[data-rank=1]").attr("data-tensor"));
        Element none = dom.selectFirst("div.quant-advice[data-model=minilm] .none");
        assertNotNull(none, "minilm: no report yet");
        assertTrue(none.text().contains("/quantized/report"), none.text());
        assertTrue(dom.select("details.model[open]").isEmpty(), "sections start collapsed: " + dom.select(
                "details.model[open]").eachAttr("data-model"));

        Path shot = Path.of("target", "health-page.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        run(chromium, "--screenshot=" + shot, "--window-size=1400,1100", "--hide-scrollbars", base + "/#model-planted");
        assertTrue(Files.size(shot) > 10_000, "screenshot written: " + shot);
    }

    @Test
    void chromiumDrawsTheAttentionPictureOfTheJson() throws Exception {
        String chromium = chromium();
        assumeTrue(chromium != null, "no chromium binary on PATH (apt-get install chromium): browser test skipped");
        int layer = 2;
        int head = 5;
        String url = base + "/?inspect=minilm&layer=" + layer + "&head=" + head + "&text="
                + URLEncoder.encode(PICTURE_TEXT, StandardCharsets.UTF_8);
        Document dom = Jsoup.parse(run(chromium, "--dump-dom", url));
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/minilm/infer"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"text\",\"shape\":[1],"
                        + "\"datatype\":\"BYTES\",\"data\":[\"" + PICTURE_TEXT + "\"]}],\"parameters\":"
                        + "{\"inspect_attention\":{\"layer\":" + layer + ",\"head\":" + head + "}}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode picture = JSON.readTree(r.body()).path("inspect_attention");

        Element box = dom.selectFirst("div.picture");
        assertNotNull(box, "the page drew a picture: " + dom.select("#inspect-out").outerHtml());
        assertEquals(String.valueOf(layer), box.attr("data-layer"));
        assertEquals(String.valueOf(head), box.attr("data-head"));
        List<String> tokens = new ArrayList<>();
        picture.path("tokens").forEach(t -> tokens.add(t.asText()));
        assertEquals("[CLS]", tokens.get(0));
        assertEquals(tokens, dom.select("#attention-map th.key").eachText(), "keys: the tokenizer's tokens");
        assertEquals(tokens, dom.select("#attention-map th.query").eachText(), "queries: the tokenizer's tokens");
        int n = tokens.size();
        assertEquals(n * n, dom.select("#attention-map td.acell").size());
        for (Element td : dom.select("#attention-map td.acell")) {
            int q = Integer.parseInt(td.attr("data-q"));
            int k = Integer.parseInt(td.attr("data-k"));
            assertEquals(picture.path("probabilities").path(q).path(k).asDouble(), Double.parseDouble(td.attr(
                    "data-value")), 1e-7, "cell " + q + "," + k);
        }
        assertNormBars(dom, picture, n);
        // MiniLM's FFN outputs carry a massive [CLS] row (norm ~200 against ~10): drawn as a spike
        Element ffn = dom.selectFirst("div.bars[data-tensor=\"/encoder/layer.2/output/Add_output_0\"]");
        assertTrue(ffn.select("div.bar").get(0).hasClass("spike"), ffn.outerHtml());

        // a link to a head the model lacks draws nothing and says so; a server 400 is shown as its message
        Document wrongHead = Jsoup.parse(run(chromium, "--dump-dom", base + "/?inspect=minilm&layer=0&head=12"));
        assertTrue(wrongHead.select("div.picture").isEmpty());
        assertTrue(wrongHead.select("#inspect-error").text().contains("head 12"), wrongHead.select("#inspect-out")
                .outerHtml());
        Document tooLong = Jsoup.parse(run(chromium, "--dump-dom", base + "/?inspect=minilm&layer=0&head=0&text="
                + "word+".repeat(600)));
        assertTrue(tooLong.select("#inspect-error").text().contains("max_sequence_length"),
                tooLong.select("#inspect-out").outerHtml());

        Path shot = Path.of("target", "attention-picture.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        run(chromium, "--screenshot=" + shot, "--window-size=1400,900", "--hide-scrollbars", url);
        assertTrue(Files.size(shot) > 10_000, "screenshot written: " + shot);
    }

    @Test
    void chromiumDrawsTheAttentionPictureOfTokenIds() throws Exception {
        String chromium = chromium();
        assumeTrue(chromium != null, "no chromium binary on PATH (apt-get install chromium): browser test skipped");
        long probedBefore = probed(health(), "prenorm");
        int layer = 0;
        int head = 3;
        // prenorm takes exactly 256 ids: without ids in the link the page runs its generated example
        String url = base + "/?inspect=prenorm&layer=" + layer + "&head=" + head;
        Document dom = Jsoup.parse(run(chromium, "--dump-dom", url));
        Element box = dom.selectFirst("div.picture");
        assertNotNull(box, "the page drew a picture: " + dom.select("#inspect-out").outerHtml());
        assertEquals("prenorm", box.attr("data-model"));
        assertTrue(dom.selectFirst("#inspect-hint").text().contains("exactly 256"), dom.select("#inspect-hint")
                .text());
        // the ids it sent, from its link to the picture
        String link = box.selectFirst("a.permalink").attr("href");
        String ids = null;
        for (String param : link.substring(link.indexOf('?') + 1).split("&")) {
            if (param.startsWith("ids=")) {
                ids = URLDecoder.decode(param.substring(4), StandardCharsets.UTF_8);
            }
        }
        assertNotNull(ids, link);
        long[] sent = Arrays.stream(ids.trim().split(" ")).mapToLong(Long::parseLong).toArray();
        assertEquals(256, sent.length, ids);
        for (long id : sent) {
            assertTrue(id >= 1 && id <= 32, "an example id inside the vocabulary (0 is left out): " + id);
        }
        String json = Arrays.toString(sent).replace(" ", "");
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/prenorm/infer"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],"
                        + "\"datatype\":\"INT64\",\"data\":" + json + "}],\"parameters\":{\"inspect_attention\":"
                        + "{\"layer\":" + layer + ",\"head\":" + head + "}}}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode picture = JSON.readTree(r.body()).path("inspect_attention");
        assertTrue(picture.path("tokens").isMissingNode() || picture.path("tokens").isNull(), "ids: no tokens");
        int n = picture.path("query_positions").size();
        assertEquals(256, n);

        // 256 x 256 is drawn as an image, one pixel per cell: each pixel is the colour of the JSON probability
        Element img = dom.selectFirst("img#attention-image");
        assertNotNull(img, box.outerHtml().substring(0, 500));
        String src = img.attr("src");
        assertTrue(src.startsWith("data:image/png;base64,"), src.substring(0, Math.min(40, src.length())));
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(
                src.substring(src.indexOf(',') + 1))));
        assertEquals(n, image.getWidth());
        assertEquals(n, image.getHeight());
        double max = 0;
        for (JsonNode row : picture.path("probabilities")) {
            for (JsonNode p : row) {
                max = Math.max(max, p.asDouble());
            }
        }
        assertEquals(max, Double.parseDouble(box.attr("data-scale-max")), "the scale ends at the largest p");
        Set<Integer> colours = new HashSet<>();
        for (int q = 0; q < n; q++) {
            for (int k = 0; k < n; k++) {
                int expected = mapColour(picture.path("probabilities").path(q).path(k).asDouble(), max);
                assertEquals(Integer.toHexString(expected), Integer.toHexString(image.getRGB(k, q) & 0xffffff),
                        "pixel of query " + q + ", key " + k);
                colours.add(expected);
            }
        }
        assertTrue(colours.size() > 50, "a map with structure, not one colour: " + colours.size());
        // position ticks every 16 on both axes, labelled with the JSON's positions
        List<Element> keyTicks = dom.select(".axis.keys .tick");
        List<Element> queryTicks = dom.select(".axis.queries .tick");
        assertEquals(16, keyTicks.size());
        assertEquals(16, queryTicks.size());
        for (int i = 0; i < 16; i++) {
            assertEquals(String.valueOf(16 * i), keyTicks.get(i).attr("data-k"));
            assertEquals(picture.path("key_positions").path(16 * i).asText(), keyTicks.get(i).text());
            assertEquals(picture.path("query_positions").path(16 * i).asText(), queryTicks.get(i).text());
        }
        assertNormBars(dom, picture, n);
        List<Element> bars = dom.select("div.bars").get(0).select("div.bar");
        for (int t = 0; t < n; t++) {
            assertTrue(bars.get(t).attr("title").startsWith(t + " · " + sent[t] + ":"), bars.get(t).attr("title"));
        }

        // bad ids are refused in the page, before any request, with what the model takes
        String ones = " 1".repeat(255);
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("1 2 3", "takes exactly 256 token ids (input input_ids has shape [-1, 256]); you gave 3");
        refused.put(ones.substring(1) + " 40", "position 255 is id 40, outside the vocabulary of prenorm: valid ids"
                + " are 0..32");
        refused.put("1 2 x" + ones.substring(4), "position 2: \"x\" is not a token id");
        for (Map.Entry<String, String> bad : refused.entrySet()) {
            Document page = Jsoup.parse(run(chromium, "--dump-dom", url + "&ids=" + URLEncoder.encode(bad.getKey(),
                    StandardCharsets.UTF_8)));
            assertTrue(page.select("div.picture").isEmpty(), bad.getValue());
            assertTrue(page.select("#inspect-error").text().contains(bad.getValue()), page.select("#inspect-out")
                    .outerHtml());
        }

        Path shot = Path.of("target", "attention-picture-ids.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        run(chromium, "--screenshot=" + shot, "--window-size=1400,1100", "--hide-scrollbars", url);
        assertTrue(Files.size(shot) > 10_000, "screenshot written: " + shot);

        // the pictures (the page's two, the test's one) were probed; the refused ids never reached the server
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (probed(health(), "prenorm") < probedBefore + 3) {
            assertTrue(System.nanoTime() < deadline, "probe worker: " + probed(health(), "prenorm"));
            Thread.sleep(50);
        }
        assertEquals(probedBefore + 3, probed(health(), "prenorm"));
    }

    /** One chart per residual site of the picture, a bar per token with its norm, spikes where 5 x the median. */
    private static void assertNormBars(Document dom, JsonNode picture, int n) {
        List<Element> charts = dom.select("div.bars");
        assertEquals(picture.path("residual_norms").size(), charts.size(), "one norm chart per residual site");
        for (int i = 0; i < charts.size(); i++) {
            JsonNode site = picture.path("residual_norms").path(i);
            assertEquals(site.path("name").asText(), charts.get(i).selectFirst(".bars-title").text());
            List<Element> bars = charts.get(i).select("div.bar");
            assertEquals(n, bars.size());
            double[] sorted = new double[n];
            for (int t = 0; t < n; t++) {
                sorted[t] = site.path("norms").path(t).asDouble();
            }
            Arrays.sort(sorted);
            double median = sorted[n / 2];
            for (int t = 0; t < n; t++) {
                double v = site.path("norms").path(t).asDouble();
                assertEquals(v, Double.parseDouble(bars.get(t).attr("data-value")), 1e-9 * v,
                        site.path("tensor") + " token " + t);
                assertEquals(v >= 5 * median, bars.get(t).hasClass("spike"), site.path("tensor") + " token " + t);
            }
        }
    }

    /**
     * The colour of a map cell, computed here from the page's documented scale: sqrt(p / the map's largest p) on the
     * purple ramp (246,243,251) (196,178,228) (120,86,188) (45,20,102), linear between its stops, rounded.
     */
    private static int mapColour(double p, double max) {
        int[][] ramp = {{246, 243, 251}, {196, 178, 228}, {120, 86, 188}, {45, 20, 102}};
        double x = Math.min(1, Math.max(0, Math.sqrt(p / max))) * (ramp.length - 1);
        int i = Math.min(ramp.length - 2, (int) Math.floor(x));
        double f = x - i;
        int rgb = 0;
        for (int c = 0; c < 3; c++) {
            rgb = rgb << 8 | (int) Math.round(ramp[i][c] + (ramp[i + 1][c] - ramp[i][c]) * f);
        }
        return rgb;
    }

    /** The alarm/warning counts and findings are exactly the alarm and warn levels of the rows (recounted here). */
    private static void assertFindingsFollowTheLevels(JsonNode model) {
        int alarms = 0;
        int warnings = 0;
        Set<String> levels = new TreeSet<>();
        for (JsonNode kind : model.path("kinds")) {
            for (JsonNode layer : kind.path("layers")) {
                for (JsonNode stat : kind.path("stats")) {
                    String level = layer.path("health").path(stat.asText()).asText();
                    levels.add(kind.path("kind").asText() + " " + layer.path("layer").asInt() + " " + stat.asText()
                            + " " + level);
                    alarms += level.equals("alarm") ? 1 : 0;
                    warnings += level.equals("warn") ? 1 : 0;
                    assertTrue(Set.of("none", "info", "ok", "warn", "alarm").contains(level), level);
                    assertEquals(level.equals("none"), layer.path("values").path(stat.asText()).isNull(),
                            model.path("name") + " " + layer + " " + stat);
                }
            }
        }
        assertEquals(alarms, model.path("alarms").asInt(), model.path("name").asText());
        assertEquals(warnings, model.path("warnings").asInt(), model.path("name").asText());
        Set<String> found = new TreeSet<>();
        boolean seenWarn = false;
        for (JsonNode f : model.path("findings")) {
            found.add(f.path("kind").asText() + " " + f.path("layer").asInt() + " " + f.path("stat").asText() + " "
                    + f.path("level").asText());
            seenWarn |= f.path("level").asText().equals("warn");
            assertFalse(seenWarn && f.path("level").asText().equals("alarm"), "alarms come first");
        }
        Set<String> flagged = new TreeSet<>();
        levels.stream().filter(l -> l.endsWith(" alarm") || l.endsWith(" warn")).forEach(flagged::add);
        assertEquals(flagged, found, model.path("name").asText());
    }

    private static JsonNode model(JsonNode view, String name) {
        for (JsonNode m : view.path("models")) {
            if (m.path("name").asText().equals(name)) {
                return m;
            }
        }
        throw new AssertionError("no model " + name);
    }

    private static JsonNode row(JsonNode model, String kind, int layer) {
        for (JsonNode k : model.path("kinds")) {
            if (k.path("kind").asText().equals(kind)) {
                for (JsonNode l : k.path("layers")) {
                    if (l.path("layer").asInt() == layer) {
                        return l;
                    }
                }
            }
        }
        throw new AssertionError("no " + kind + " " + layer + " in " + model.path("name"));
    }

    /** models/planted-outliers: BOS (1) then 12-32 body tokens 2..31, right-padded to 32, two sequences. */
    private static String plantedRequest(Random random) {
        StringBuilder ids = new StringBuilder();
        StringBuilder mask = new StringBuilder();
        for (int b = 0; b < 2; b++) {
            int n = 12 + random.nextInt(21);
            for (int t = 0; t < 32; t++) {
                String sep = ids.length() == 0 ? "" : ",";
                ids.append(sep).append(t == 0 ? 1 : t < n ? 2 + random.nextInt(30) : 0);
                mask.append(sep).append(t < n ? 1 : 0);
            }
        }
        return "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[2,32],\"datatype\":\"INT64\",\"data\":[" + ids
                + "]},{\"name\":\"attention_mask\",\"shape\":[2,32],\"datatype\":\"INT64\",\"data\":[" + mask
                + "]}],\"outputs\":[{\"name\":\"logits\"}]}";
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
