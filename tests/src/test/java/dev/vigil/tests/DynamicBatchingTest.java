package dev.vigil.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dynamic batching on the real MiniLM: one server holds the model twice, {@code plain} (every request alone) and
 * {@code batched} ({@code max_queue_delay_us} 300 ms). Concurrent requests of different lengths sent to
 * {@code batched} are merged into fewer runs, and each response equals the same request run alone on
 * {@code plain}; the probe statistics of both models over the same requests are equal too. One server serves every
 * test (MiniLM loads twice); the probe statistics test runs first, while the models' windows hold nothing else.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DynamicBatchingTest {
    private static final long DELAY_US = 300_000;
    private static final double TOLERANCE = 1e-5;
    private static final Pattern SAMPLE = Pattern.compile("(?m)^(vigil_[a-z0-9_]+)\\{(.*)} (\\S+)$");

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        Path minilm = MiniLmTextTest.MODELS.resolve(MiniLmTextTest.MODEL).toAbsolutePath();
        assertTrue(Files.isRegularFile(minilm.resolve("model.onnx")), "the server build unpacks MiniLM");
        writeModel("plain", minilm, "");
        writeModel("batched", minilm, ",\"dynamic_batching\":{\"max_queue_delay_us\":" + DELAY_US + "}");
        // a run costs more than any padding and holds any number of tokens: every batch runs as one; a batch goes
        // when it holds 8 rows, so the 8 requests of a test always share one
        writeModel("one-run", minilm, ",\"probe\":{\"enabled\":false},\"dynamic_batching\":{\"max_queue_delay_us\":5000000,"
                + "\"preferred_batch_size\":[8],"
                + "\"cpu\":{\"run_cost_tokens\":1000000,\"max_run_tokens\":1000000,\"alone_from_tokens\":0}}");
        server = new VigilServer(TestServers.cpu(repo).maxInflight(4).build());
        http = new Http(server.start());
    }

    private static void writeModel(String name, Path minilm, String extra) throws Exception {
        Path dir = Files.createDirectories(repo.resolve(name));
        Files.createSymbolicLink(dir.resolve("model.onnx"), minilm.resolve("model.onnx"));
        Files.createSymbolicLink(dir.resolve("tokenizer.json"), minilm.resolve("tokenizer.json"));
        Files.writeString(dir.resolve("config.json"), "{\"max_batch_size\":32" + extra + "}");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String textRequest(List<String> texts) {
        ObjectNode req = Http.JSON.createObjectNode();
        ObjectNode in = req.putArray("inputs").addObject();
        in.put("name", "text").put("datatype", "BYTES").putArray("shape").add(texts.size());
        ArrayNode data = in.putArray("data");
        texts.forEach(data::add);
        ArrayNode outputs = req.putArray("outputs");
        outputs.addObject().put("name", "output_0");
        outputs.addObject().put("name", "attention_mask");
        return req.toString();
    }

    /** Token tensors of {@code rows} random sequences of one length (ids from MiniLM's vocabulary, [CLS]…[SEP]). */
    private static String tensorRequest(Random random, int rows, int length) {
        ObjectNode req = Http.JSON.createObjectNode();
        ArrayNode inputs = req.putArray("inputs");
        for (String name : List.of("input_ids", "attention_mask", "token_type_ids")) {
            ObjectNode in = inputs.addObject();
            in.put("name", name).put("datatype", "INT64").putArray("shape").add(rows).add(length);
            ArrayNode data = in.putArray("data");
            for (int r = 0; r < rows; r++) {
                for (int t = 0; t < length; t++) {
                    long id = t == 0 ? 101 : t == length - 1 ? 102 : 1000 + random.nextInt(28000);
                    data.add(name.equals("input_ids") ? id : name.equals("attention_mask") ? 1 : 0);
                }
            }
        }
        return req.toString();
    }

    /** Sends every body to {@code model} at once (one thread each) and returns the answers in order. */
    private static List<JsonNode> concurrently(String model, List<String> bodies) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(bodies.size());
        try {
            List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
            for (String body : bodies) {
                futures.add(pool.submit(() -> http.postJson("/v2/models/" + model + "/infer", body)));
            }
            List<JsonNode> out = new ArrayList<>();
            for (Future<HttpResponse<byte[]>> f : futures) {
                HttpResponse<byte[]> r = f.get();
                assertEquals(200, r.statusCode(), Http.text(r));
                out.add(Http.json(r));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static JsonNode alone(String body) {
        HttpResponse<byte[]> r = http.postJson("/v2/models/plain/infer", body);
        assertEquals(200, r.statusCode(), Http.text(r));
        return Http.json(r);
    }

    private static void assertSameOutputs(JsonNode expected, JsonNode actual, String what) {
        JsonNode e = expected.get("outputs");
        JsonNode a = actual.get("outputs");
        assertEquals(e.size(), a.size(), what);
        for (int o = 0; o < e.size(); o++) {
            assertEquals(e.get(o).get("name"), a.get(o).get("name"), what);
            assertEquals(e.get(o).get("shape"), a.get(o).get("shape"), what + " " + e.get(o).get("name"));
            JsonNode ed = e.get(o).get("data");
            JsonNode ad = a.get(o).get("data");
            assertEquals(ed.size(), ad.size(), what);
            double worst = 0;
            for (int i = 0; i < ed.size(); i++) {
                worst = Math.max(worst, Math.abs(ed.get(i).asDouble() - ad.get(i).asDouble()));
            }
            assertTrue(worst <= TOLERANCE, what + " " + e.get(o).get("name") + ": max |diff| " + worst);
        }
    }

    /** The samples of one model's series, keyed by name and labels without the model. */
    private static Map<String, Double> series(String metrics, String model) {
        Map<String, Double> out = new TreeMap<>();
        Matcher m = SAMPLE.matcher(metrics);
        String label = "model=\"" + model + "\"";
        while (m.find()) {
            if (m.group(2).contains(label)) {
                out.put(m.group(1) + "{" + m.group(2).replace(label, "") + "}", Double.parseDouble(m.group(3)));
            }
        }
        return out;
    }

    private static double sample(String metrics, String key) {
        Double v = series(metrics, "batched").get(key);
        return v == null ? Double.NaN : v;
    }

    /** A sample of a model's series; 0 before the series has one (a model that has not run yet). */
    private static double sample(String metrics, String model, String key) {
        return series(metrics, model).getOrDefault(key, 0.0);
    }

    /** The key of a histogram's lowest bucket in a model's series. */
    private static String lowestBucket(String metrics, String model, String histogram) {
        Pattern le = Pattern.compile("le=\"([^\"]+)\"");
        String lowest = null;
        double bound = Double.POSITIVE_INFINITY;
        for (String key : series(metrics, model).keySet()) {
            Matcher m = le.matcher(key);
            if (key.startsWith(histogram + "_bucket{") && m.find() && !m.group(1).equals("+Inf")
                    && Double.parseDouble(m.group(1)) < bound) {
                bound = Double.parseDouble(m.group(1));
                lowest = key;
            }
        }
        assertTrue(lowest != null, histogram + " has no buckets");
        return lowest;
    }

    /** Sequences of 6 and 100 tokens, alternating. */
    private static List<String> shortAndLong(Random random, int n) {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            bodies.add(tensorRequest(random, 1, i % 2 == 0 ? 6 : 100));
        }
        return bodies;
    }

    @Test
    void concurrentTextRequestsOfDifferentLengthsAreMergedAndEachGetsItsOwnRows() throws Exception {
        List<String> s = MiniLmTextTest.SENTENCES;
        List<String> bodies = List.of(textRequest(List.of(s.get(2))), textRequest(List.of(s.get(5), s.get(3))),
                textRequest(List.of(s.get(0))), textRequest(List.of(s.get(17))),
                textRequest(List.of(s.get(10), s.get(11), s.get(12))), textRequest(List.of(s.get(3))),
                textRequest(List.of(s.get(8))), textRequest(List.of(s.get(19), s.get(1))));
        String before = Http.text(http.get("/metrics"));
        List<JsonNode> batched = concurrently("batched", bodies);
        for (int i = 0; i < bodies.size(); i++) {
            assertSameOutputs(alone(bodies.get(i)), batched.get(i), "request " + i);
        }
        String after = Http.text(http.get("/metrics"));
        double runs = sample(after, "vigil_batch_size_count{}") - sample(before, "vigil_batch_size_count{}");
        double rows = sample(after, "vigil_batch_size_sum{}") - sample(before, "vigil_batch_size_sum{}");
        assertEquals(12, rows, after);
        assertTrue(runs < bodies.size(), "8 concurrent requests ran as " + runs + " batches");
        double waited = sample(after, "vigil_batch_queue_delay_seconds_count{}")
                - sample(before, "vigil_batch_queue_delay_seconds_count{}");
        assertEquals(bodies.size(), waited);
    }

    @Test
    void concurrentTokenTensorsArePaddedWithTheMaskAndMatchRunsAlone() throws Exception {
        Random random = new Random(12);
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            bodies.add(tensorRequest(random, 1 + i % 3, 5 + random.nextInt(16)));
        }
        List<JsonNode> batched = concurrently("batched", bodies);
        for (int i = 0; i < bodies.size(); i++) {
            assertSameOutputs(alone(bodies.get(i)), batched.get(i), "tensor request " + i);
        }
    }

    @Test
    void onACpuShortAndLongRequestsOfOneBatchRunApart() throws Exception {
        // 4 sequences of 6 tokens and 4 of 100: padded together they cost 8 × 100 token rows, apart 4 × 6 + 4 × 100
        // and one more run, so no run mixes the two (each has at most 4 rows)
        List<String> bodies = shortAndLong(new Random(5), 8);
        String before = Http.text(http.get("/metrics"));
        List<JsonNode> batched = concurrently("batched", bodies);
        String after = Http.text(http.get("/metrics"));
        for (int i = 0; i < bodies.size(); i++) {
            assertSameOutputs(alone(bodies.get(i)), batched.get(i), "request " + i);
        }
        double runs = sample(after, "vigil_batch_size_count{}") - sample(before, "vigil_batch_size_count{}");
        double rows = sample(after, "vigil_batch_size_sum{}") - sample(before, "vigil_batch_size_sum{}");
        String upTo4 = "vigil_batch_size_bucket{,le=\"4.0\"}";
        double small = sample(after, upTo4) - sample(before, upTo4);
        assertEquals(8, rows, after);
        assertTrue(runs >= 2, "ran as " + runs + " runs");
        assertEquals(runs, small, "every run has at most 4 rows: " + series(after, "batched"));
    }

    @Test
    void theCpuRunCostIsTheModelsSetting() throws Exception {
        // the same mix as above on a model whose runs cost more than any padding: one run of all 8
        List<String> bodies = shortAndLong(new Random(6), 8);
        String before = Http.text(http.get("/metrics"));
        List<JsonNode> batched = concurrently("one-run", bodies);
        String after = Http.text(http.get("/metrics"));
        for (int i = 0; i < bodies.size(); i++) {
            assertSameOutputs(alone(bodies.get(i)), batched.get(i), "request " + i);
        }
        String count = "vigil_batch_size_count{}";
        String sum = "vigil_batch_size_sum{}";
        assertEquals(1, sample(after, "one-run", count) - sample(before, "one-run", count), "runs");
        assertEquals(8, sample(after, "one-run", sum) - sample(before, "one-run", sum), "rows");
    }

    @Test
    void onACpuLongRequestsRunAloneAtOnce() throws Exception {
        // 128 tokens reach the default alone_from_tokens: each runs by itself without waiting in the queue
        Random random = new Random(8);
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bodies.add(tensorRequest(random, 1, 128 + i));
        }
        String before = Http.text(http.get("/metrics"));
        List<JsonNode> batched = concurrently("batched", bodies);
        String after = Http.text(http.get("/metrics"));
        for (int i = 0; i < bodies.size(); i++) {
            assertSameOutputs(alone(bodies.get(i)), batched.get(i), "request " + i);
        }
        String count = "vigil_batch_size_count{}";
        String sum = "vigil_batch_size_sum{}";
        String waitedNone = lowestBucket(after, "batched", "vigil_batch_queue_delay_seconds");
        assertEquals(4, sample(after, "batched", count) - sample(before, "batched", count), "runs");
        assertEquals(4, sample(after, "batched", sum) - sample(before, "batched", sum), "rows");
        assertEquals(4, sample(after, "batched", waitedNone) - sample(before, "batched", waitedNone),
                "requests that did not wait");
    }

    @Test
    void aLoneRequestWaitsAboutTheDelayAndInspectRunsAlone() {
        String body = textRequest(List.of("a lone sentence"));
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r = http.postJson("/v2/models/batched/infer", body);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(200, r.statusCode(), Http.text(r));
        assertTrue(seconds >= DELAY_US / 1e6, "a lone request waits the delay for company: " + seconds + " s");
        HttpResponse<byte[]> inspected = http.postJson("/v2/models/batched/infer?inspect=true", body);
        assertEquals(200, inspected.statusCode(), Http.text(inspected));
        JsonNode summary = Http.json(inspected).get("probe_summary");
        assertTrue(summary != null && summary.isObject() && !summary.has("error"), Http.text(inspected));
        assertSameOutputs(alone(body), Http.json(inspected), "inspected request");
    }

    @Test
    @Order(1)
    void probeStatisticsWithBatchingEqualThoseWithout() throws Exception {
        // the first test, so that only these requests are in the two models' windows
        List<String> s = MiniLmTextTest.SENTENCES;
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            bodies.add(textRequest(List.of(s.get(i), s.get(i + 10))));
        }
        for (String body : bodies) {
            assertEquals(200, http.postJson("/v2/models/plain/infer", body).statusCode());
        }
        ExecutorService pool = Executors.newFixedThreadPool(bodies.size());
        List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
        for (String body : bodies) {
            futures.add(pool.submit(() -> http.postJson("/v2/models/batched/infer", body)));
        }
        for (Future<HttpResponse<byte[]>> f : futures) {
            assertEquals(200, f.get().statusCode());
        }
        pool.shutdown();
        Map<String, Double> plain = Map.of();
        Map<String, Double> batched = Map.of();
        for (int attempt = 0; attempt < 100; attempt++) {
            String metrics = Http.text(http.get("/metrics"));
            plain = series(metrics, "plain");
            batched = series(metrics, "batched");
            if (plain.get("vigil_window_tokens{}") != null && plain.get("vigil_window_tokens{}") > 0
                    && plain.get("vigil_window_tokens{}").equals(batched.get("vigil_window_tokens{}"))) {
                break;
            }
            Thread.sleep(100);
        }
        assertEquals(plain.get("vigil_window_tokens{}"), batched.get("vigil_window_tokens{}"));
        assertEquals(0.0, batched.getOrDefault("vigil_probe_dropped_total{}", 0.0), "no probed run dropped");
        int compared = 0;
        for (Map.Entry<String, Double> e : plain.entrySet()) {
            String key = e.getKey();
            if (!key.matches("vigil_(attention|massive|neurons|quant|token_cosine|window_tokens|tokens_total).*")) {
                continue;
            }
            Double other = batched.get(key);
            assertTrue(other != null, key + " missing with batching");
            double a = e.getValue();
            double tolerance = 1e-3 * Math.max(1, Math.abs(a));
            assertTrue(Math.abs(a - other) <= tolerance || (Double.isNaN(a) && Double.isNaN(other)),
                    key + ": " + a + " without batching, " + other + " with");
            compared++;
        }
        assertTrue(compared > 100, "compared " + compared + " series");
        assertFalse(batched.get("vigil_batch_size_count{}").equals(plain.get("vigil_batch_size_count{}")),
                "the batched model ran fewer, larger batches");
    }
}
