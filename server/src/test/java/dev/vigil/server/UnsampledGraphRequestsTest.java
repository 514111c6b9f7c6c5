package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.probe.ProbeLayer;
import dev.vigil.server.serving.ModelConfig;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code probe.strategy: graph} with requests that are not sampled: MiniLM served with {@code sample_rate} 1 (every
 * request runs the model with the reductions appended) and 0 (every request runs the plain model) answers each padded
 * request with exactly the output bare ONNX Runtime gives for the plain model, bit for bit; the sampled requests are
 * counted in the statistics and the unsampled ones are not.
 */
class UnsampledGraphRequestsTest {
    private static final Path MINILM = Path.of("../models/all-minilm-l6-v2");
    private static final String OUTPUT = "output_0";
    private static final int REQUESTS = 3;
    private static final int B = 2;
    private static final int T = 20;
    private static final Pattern DATA = Pattern.compile(
            "\"name\"\\s*:\\s*\"" + OUTPUT + "\"[^}]*?\"data\"\\s*:\\s*\\[([^\\]]*)\\]");

    @TempDir
    static Path repo;
    static VigilServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        for (String model : new String[] {"sampled", "unsampled"}) {
            TestServers.copyModel(MINILM, repo, model, config(model.equals("sampled") ? "1.0" : "0.0"));
        }
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String config(String rate) {
        return "{\"max_batch_size\": 8, \"probe\": {\"strategy\": \"graph\", \"sample_rate\": " + rate
                + ", \"window_tokens\": 1000}}";
    }

    @Test
    void sampledAndUnsampledRequestsGiveThePlainModelsExactOutput() throws Exception {
        Random rnd = new Random(5);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long tokens = 0;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession bare = env.createSession(MINILM.resolve("model.onnx").toString(), opts)) {
                for (int r = 0; r < REQUESTS; r++) {
                    long[][] req = request(rnd);
                    for (long m : req[1]) {
                        tokens += m;
                    }
                    float[] want = run(env, bare, req);
                    for (String model : new String[] {"sampled", "unsampled"}) {
                        HttpResponse<byte[]> resp = http.postJson("/v2/models/" + model + "/infer", json(req));
                        assertEquals(200, resp.statusCode(), new String(resp.body()));
                        float[] got = floats(new String(resp.body()));
                        assertEquals(want.length, got.length, model);
                        for (int i = 0; i < want.length; i++) {
                            assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                                    model + " request " + r + " value " + i + ": " + want[i] + " vs " + got[i]);
                        }
                    }
                }
            }
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        String text;
        do {
            text = new String(http.get("/metrics").body());
            Double n = ProbeServerTest.find(text, "vigil_probe_requests_total", "model", "sampled");
            if (n != null && n >= REQUESTS) {
                break;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        assertEquals(REQUESTS, ProbeServerTest.find(text, "vigil_probe_requests_total", "model", "sampled"));
        assertEquals((double) tokens, ProbeServerTest.find(text, "vigil_window_tokens", "model", "sampled"),
                "every unmasked token of the sampled requests is in the window");
        Double unsampled = ProbeServerTest.find(text, "vigil_probe_requests_total", "model", "unsampled");
        assertTrue(unsampled == null || unsampled == 0, "no unsampled request is counted: " + unsampled);
        Double window = ProbeServerTest.find(text, "vigil_window_tokens", "model", "unsampled");
        assertTrue(window == null || window == 0, "no unsampled token is in the window: " + window);
    }

    @Test
    void onlyAGraphModelWithUnsampledRequestsGetsAPlainSession() throws Exception {
        byte[] bytes = Files.readAllBytes(MINILM.resolve("model.onnx"));
        try (ProbeLayer layer = new ProbeLayer(4, 2, 1 << 20, new PrometheusRegistry())) {
            assertNotNull(layer.prepare("m", config(probe("graph", 0.25)), bytes).plainModel());
            assertNull(layer.prepare("m", config(probe("graph", 1.0)), bytes).plainModel(),
                    "every request is sampled: no plain session");
            assertNull(layer.prepare("m", config(probe("host", 0.25)), bytes).plainModel(),
                    "host statistics add no nodes");
        }
    }

    private static JsonNode probe(String strategy, double rate) throws Exception {
        return Http.JSON.readTree("{\"strategy\": \"" + strategy + "\", \"sample_rate\": " + rate + "}");
    }

    private static ModelConfig config(JsonNode probe) {
        return new ModelConfig(8, 512, probe);
    }

    /** input_ids and attention_mask of B sequences, the second one padded. */
    private static long[][] request(Random rnd) {
        long[] ids = new long[B * T];
        long[] mask = new long[B * T];
        for (int b = 0; b < B; b++) {
            int len = b == 0 ? T : 3 + rnd.nextInt(T - 3);
            for (int i = 0; i < len; i++) {
                ids[b * T + i] = i == 0 ? 101 : i == len - 1 ? 102 : 1000 + rnd.nextInt(20000);
                mask[b * T + i] = 1;
            }
        }
        return new long[][] {ids, mask};
    }

    private static String json(long[][] req) {
        String shape = "[" + B + "," + T + "]";
        return "{\"outputs\": [{\"name\": \"" + OUTPUT + "\"}], \"inputs\": ["
                + "{\"name\": \"input_ids\", \"shape\": " + shape + ", \"datatype\": \"INT64\", \"data\": "
                + java.util.Arrays.toString(req[0]) + "},"
                + "{\"name\": \"attention_mask\", \"shape\": " + shape + ", \"datatype\": \"INT64\", \"data\": "
                + java.util.Arrays.toString(req[1]) + "},"
                + "{\"name\": \"token_type_ids\", \"shape\": " + shape + ", \"datatype\": \"INT64\", \"data\": "
                + java.util.Arrays.toString(new long[B * T]) + "}]}";
    }

    private static float[] run(OrtEnvironment env, OrtSession bare, long[][] req) throws Exception {
        long[] shape = {B, T};
        try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(req[0]), shape);
             OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(req[1]), shape);
             OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[B * T]), shape);
             OrtSession.Result r = bare.run(Map.of("input_ids", ids, "attention_mask", mask,
                     "token_type_ids", types), java.util.Set.of(OUTPUT))) {
            FloatBuffer b = ((OnnxTensor) r.get(OUTPUT).orElseThrow()).getFloatBuffer();
            float[] out = new float[b.remaining()];
            b.get(out);
            return out;
        }
    }

    /** The output's values as the response writes them (Float.toString text reads back as the same float). */
    private static float[] floats(String body) {
        Matcher m = DATA.matcher(body);
        assertTrue(m.find(), body);
        assertFalse(m.group(1).isBlank(), body);
        String[] parts = m.group(1).split(",");
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Float.parseFloat(parts[i].trim().replace("\"", ""));
        }
        return out;
    }
}
