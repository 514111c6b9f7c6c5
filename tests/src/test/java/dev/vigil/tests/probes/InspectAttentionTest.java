package dev.vigil.tests.probes;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.probes.GraphTaps;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code "inspect_attention": {"layer": L, "head": H}} on the real MiniLM (text) and the prenorm encoder (token ids)
 * against an independent reference: the same model run directly in ONNX Runtime on the first sequence alone (no
 * padding), with the Softmax and residual tensors as extra outputs; norms recomputed by brute force.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class InspectAttentionTest {
    private static final Path MODELS = Path.of("..", "models");
    private static final Path MINILM = MODELS.resolve("all-minilm-l6-v2");
    /** Shorter than the second text: the first sequence is padded, so its mask matters. */
    private static final String FIRST = "Paris is lovely in spring.";
    private static final String SECOND = "Attention sinks put most of the probability mass on the first token of a text.";

    @TempDir
    static Path repo;
    private VigilServer server;
    private Http http;

    @BeforeAll
    void serve() throws Exception {
        link("minilm", MINILM, "{\"probe\": {\"window_tokens\": 4096}}", "tokenizer.json");
        link("prenorm", MODELS.resolve("prenorm-256"), "{\"probe\": {\"window_tokens\": 4096}}");
        link("unprobed", MODELS.resolve("prenorm-256"), "{\"probe\": {\"enabled\": false}}");
        link("no-attention", MODELS.resolve("prenorm-256"),
                "{\"probe\": {\"exclude\": [\"layer0.attention.probs\", \"layer1.attention.probs\"]}}");
        server = new VigilServer(TestServers.cpu(repo).build());
        http = new Http(server.start());
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void miniLmPictureEqualsTheModelRunAlone() throws Exception {
        int layer = 3;
        int head = 7;
        JsonNode picture = infer("minilm", "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":\"BYTES\","
                + "\"data\":[\"" + FIRST + "\",\"" + SECOND + "\"]}],\"parameters\":{\"inspect_attention\":"
                + "{\"layer\":" + layer + ",\"head\":" + head + "}}}").path("inspect_attention");

        String[] tokens;
        long[] ids;
        long[] types;
        try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(MINILM.resolve("tokenizer.json"),
                Map.of("padding", "false", "truncation", "false"))) {
            Encoding e = tokenizer.encode(FIRST);
            tokens = e.getTokens();
            ids = e.getIds();
            types = e.getTypeIds();
        }
        int n = tokens.length;
        assertEquals("[CLS]", tokens[0]);
        assertEquals("[SEP]", tokens[n - 1]);
        List<String> shown = new ArrayList<>();
        picture.path("tokens").forEach(t -> shown.add(t.asText()));
        assertEquals(List.of(tokens), shown, "the tokenizer's tokens of the first text");
        assertEquals(layer, picture.path("layer").asInt());
        assertEquals(head, picture.path("head").asInt());
        assertEquals(12, picture.path("heads").asInt());
        assertEquals("block 3 · attention self softmax", picture.path("name").asText());
        assertEquals(range(n), ints(picture.path("query_positions")));
        assertEquals(range(n), ints(picture.path("key_positions")));

        String softmax = "/encoder/layer." + layer + "/attention/self/Softmax_output_0";
        List<String> residuals = new ArrayList<>();
        picture.path("residual_norms").forEach(r -> residuals.add(r.path("tensor").asText()));
        assertEquals(13, residuals.size(), "every residual site of MiniLM: " + residuals);
        List<String> taps = new ArrayList<>(residuals);
        taps.add(softmax);
        long[] mask = new long[n];
        java.util.Arrays.fill(mask, 1);
        Map<String, float[]> ref = runAlone(MINILM.resolve("model.onnx"), taps, Map.of("input_ids", ids,
                "attention_mask", mask, "token_type_ids", types), n);

        float[] p = ref.get(softmax);
        JsonNode rows = picture.path("probabilities");
        assertEquals(n, rows.size());
        double worst = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(n, rows.path(i).size());
            double sum = 0;
            for (int k = 0; k < n; k++) {
                double expected = p[(head * n + i) * n + k];
                double got = rows.path(i).path(k).asDouble();
                worst = Math.max(worst, Math.abs(expected - got));
                sum += got;
            }
            assertEquals(1.0, sum, 1e-4, "row " + i + " of the unmasked keys sums to 1 (padding keys carry ~0)");
        }
        assertTrue(worst < 1e-5, "max |difference| from the unpadded run: " + worst);
        assertNormsMatch(picture, ref, n, 1e-4);
    }

    @Test
    void tokenIdModelPictureHasPositionsAndNoTokens() throws Exception {
        // prenorm: 2 x 256 ids, no mask (every position is real); the picture is of the first sequence
        int t = 256;
        Random random = new Random(11);
        StringBuilder ids = new StringBuilder();
        long[] first = new long[t];
        for (int b = 0; b < 2; b++) {
            for (int i = 0; i < t; i++) {
                long id = random.nextInt(33);
                if (b == 0) {
                    first[i] = id;
                }
                ids.append(ids.length() == 0 ? "" : ",").append(id);
            }
        }
        JsonNode picture = infer("prenorm", "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[2," + t
                + "],\"datatype\":\"INT64\",\"data\":[" + ids + "]}],"
                + "\"parameters\":{\"inspect_attention\":{\"layer\":1,\"head\":2}}}").path("inspect_attention");
        assertFalse(picture.has("tokens"), "no tokenizer, no tokens");
        assertEquals(range(t), ints(picture.path("query_positions")));
        assertEquals(4, picture.path("heads").asInt());
        assertEquals("layer1.attention.probs", picture.path("tensor").asText());
        assertEquals("block 1 · attention softmax", picture.path("name").asText());
        assertEquals(5, picture.path("residual_norms").size());

        List<String> taps = new ArrayList<>();
        picture.path("residual_norms").forEach(r -> taps.add(r.path("tensor").asText()));
        taps.add("layer1.attention.probs");
        Map<String, float[]> ref = runAlone(MODELS.resolve("prenorm-256/model.onnx"), taps,
                Map.of("input_ids", first), t);
        float[] p = ref.get("layer1.attention.probs");
        double worst = 0;
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < t; k++) {
                worst = Math.max(worst, Math.abs(p[(2 * t + i) * t + k]
                        - picture.path("probabilities").path(i).path(k).asDouble()));
            }
        }
        assertTrue(worst < 1e-5, "max |difference| from the run of the first sequence alone: " + worst);
        assertNormsMatch(picture, ref, t, 1e-4);
    }

    @Test
    void badParametersAre400sNamingThem() {
        String text = "{\"inputs\":[{\"name\":\"text\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"Hi\"]}],"
                + "\"parameters\":{\"inspect_attention\":";
        assertError("minilm", text + "{\"layer\":6,\"head\":0}}}", "inspect_attention.layer 6", "[0, 1, 2, 3, 4, 5]");
        assertError("minilm", text + "{\"layer\":0,\"head\":12}}}", "inspect_attention head 12", "12 heads");
        assertError("minilm", text + "{\"layer\":-1,\"head\":0}}}", "inspect_attention.layer", "-1");
        assertError("minilm", text + "{\"layer\":0}}}", "inspect_attention.head", "missing");
        assertError("minilm", text + "{\"layer\":0,\"head\":\"2\"}}}", "inspect_attention.head", "\"2\"");
        assertError("minilm", text + "{\"layer\":0.5,\"head\":0}}}", "inspect_attention.layer", "0.5");
        assertError("minilm", text + "3}}", "inspect_attention must be an object", "number");
        String ids = "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":["
                + "1,".repeat(255) + "1]}],\"parameters\":{\"inspect_attention\":{\"layer\":0,\"head\":0}}}";
        assertError("unprobed", ids, "model 'unprobed' is not probed", "inspect_attention");
        assertError("no-attention", ids, "inspect_attention.layer 0", "[]");
    }

    private void assertError(String model, String body, String... parts) {
        HttpResponse<byte[]> r = http.postJson("/v2/models/" + model + "/infer", body);
        String text = new String(r.body(), StandardCharsets.UTF_8);
        assertEquals(400, r.statusCode(), text);
        String error = Http.json(r).path("error").asText();
        for (String part : parts) {
            assertTrue(error.contains(part), "'" + part + "' in: " + error);
        }
    }

    /** Each residual row norm equals sqrt(sum x^2) of the reference row, within a relative {@code tolerance}. */
    private static void assertNormsMatch(JsonNode picture, Map<String, float[]> ref, int n, double tolerance) {
        for (JsonNode r : picture.path("residual_norms")) {
            float[] x = ref.get(r.path("tensor").asText());
            int width = x.length / n;
            assertEquals(range(n), ints(r.path("positions")), r.path("tensor").asText());
            for (int i = 0; i < n; i++) {
                double sum = 0;
                for (int c = 0; c < width; c++) {
                    sum += (double) x[i * width + c] * x[i * width + c];
                }
                double expected = Math.sqrt(sum);
                double got = r.path("norms").path(i).asDouble();
                assertEquals(expected, got, tolerance * expected, r.path("tensor").asText() + " row " + i);
            }
        }
    }

    /** Runs the model on one unpadded sequence with {@code taps} as extra outputs; their values by name. */
    private static Map<String, float[]> runAlone(Path model, List<String> taps, Map<String, long[]> inputs, int n)
            throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        byte[] tapped = GraphTaps.tappedModelBytes(Files.readAllBytes(model), taps);
        Map<String, float[]> out = new HashMap<>();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions();
             OrtSession session = env.createSession(tapped, options)) {
            Map<String, OnnxTensor> feeds = new HashMap<>();
            try {
                for (String name : session.getInputNames()) {
                    feeds.put(name, OnnxTensor.createTensor(env, new long[][]{inputs.get(name)}));
                }
                try (OrtSession.Result result = session.run(feeds, new java.util.HashSet<>(taps))) {
                    for (String name : taps) {
                        OnnxTensor t = (OnnxTensor) result.get(name).orElseThrow();
                        java.nio.FloatBuffer b = t.getFloatBuffer();
                        float[] values = new float[b.remaining()];
                        b.get(values);
                        out.put(name, values);
                    }
                }
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
        return out;
    }

    private JsonNode infer(String model, String body) {
        HttpResponse<byte[]> r = http.postJson("/v2/models/" + model + "/infer", body);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        return Http.json(r);
    }

    private static List<Integer> range(int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(i);
        }
        return out;
    }

    private static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(v -> out.add(v.asInt()));
        return out;
    }

    private static void link(String name, Path source, String config, String... extra) throws Exception {
        Path dir = Files.createDirectories(repo.resolve(name));
        Files.createSymbolicLink(dir.resolve("model.onnx"), source.resolve("model.onnx").toAbsolutePath());
        for (String file : extra) {
            Files.createSymbolicLink(dir.resolve(file), source.resolve(file).toAbsolutePath());
        }
        Files.writeString(dir.resolve("config.json"), config);
    }
}
