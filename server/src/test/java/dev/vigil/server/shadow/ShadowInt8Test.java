package dev.vigil.server.shadow;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.QdqExport;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shadow int8 over real HTTP on the bundled planted-outliers model (four matmul_input sites, outputs {@code logits}
 * [B, 8] and {@code router} [B, T, 16]): the measured per-site SQNR, output cosine and top-1 agreement against the
 * same numbers computed here by running the {@code ?source=shadow} model and the float model in ONNX Runtime on the
 * same requests; the fleet counters; {@code rebuild_seconds}; busy skips.
 */
@Timeout(300)
class ShadowInt8Test {
    private static final Path MODELS = Path.of("..", "models");
    private static final String SOURCE = "planted-outliers";
    private static final int T = 16;
    private static final List<String> SITES = List.of("x", "n1", "act", "out");

    @TempDir
    static Path repo;
    static VigilServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        // 62 unmasked tokens per request: window 0 of "shadowed" closes at its third request
        copy("shadowed", "{\"probe\": {\"window_tokens\": 128, \"shadow\": {\"enabled\": true, \"sample_rate\": 1.0,"
                + " \"rebuild_seconds\": 3600}}}");
        copy("rebuilt", "{\"probe\": {\"window_tokens\": 62, \"shadow\": {\"enabled\": true, \"sample_rate\": 1.0,"
                + " \"rebuild_seconds\": 0, \"calibration\": \"absmax\"}}}");
        copy("busy", "{\"probe\": {\"window_tokens\": 62, \"shadow\": {\"enabled\": true, \"sample_rate\": 1.0}}}");
        copy("plain", "{\"probe\": {\"window_tokens\": 62}}");
        copy("bad-keep", "{\"probe\": {\"shadow\": {\"enabled\": true, \"keep_fp32\": [\"nope\"]}}}");
        copy("unprobed", "{\"probe\": {\"enabled\": false, \"shadow\": {\"enabled\": true}}}");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static void copy(String as, String config) throws Exception {
        Path dir = Files.createDirectories(repo.resolve(as));
        Files.copy(MODELS.resolve(SOURCE).resolve("model.onnx"), dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("config.json"), config);
    }

    @Test
    void measuredSqnrCosineAndAgreementEqualAnOfflineRunOfTheShadowModel() throws Exception {
        String base = "/v2/models/shadowed";
        assertError(http.get(base + "/quantized?source=shadow"), 409, "no shadow int8 model yet");
        String metrics = metrics();
        assertEquals(0.0, value(metrics, "vigil_shadow_requests_total", "model", "shadowed"));
        assertEquals(0.0, value(metrics, "vigil_shadow_skipped_total", "model", "shadowed"));
        for (String site : SITES) {
            assertEquals(0.0, value(metrics, "vigil_shadow_error_energy_total", "model", "shadowed", "tensor", site));
            assertEquals(0.0, value(metrics, "vigil_shadow_signal_energy_total", "model", "shadowed", "tensor", site));
        }
        for (String output : List.of("logits", "router")) {
            assertEquals(0.0, value(metrics, "vigil_shadow_output_rows_total", "model", "shadowed", "output", output));
        }
        assertNull(find(metrics, "vigil_shadow_model_window", "model", "shadowed"));

        Random rnd = new Random(5);
        for (int r = 0; r < 3; r++) {
            infer("shadowed", request(rnd));
        }
        awaitClosedWindow("shadowed", 0);
        assertEquals(0.0, value(metrics(), "vigil_shadow_requests_total", "model", "shadowed"),
                "no request is shadowed before a window has closed");

        List<long[][][]> shadowed = new ArrayList<>();
        long[][][] first = request(rnd);
        infer("shadowed", first);
        shadowed.add(first);
        awaitShadowed("shadowed", 1);
        // window 1 is still open: the shadow model is exactly the export of window 0 with the shadow's calibration
        HttpResponse<byte[]> model = http.get(base + "/quantized?source=shadow");
        assertEquals(200, model.statusCode(), Http.text(model));
        assertEquals("0", model.headers().firstValue("X-Vigil-Window").orElse(""));
        HttpResponse<byte[]> export = http.get(base + "/quantized?calibration=percentile");
        assertEquals(200, export.statusCode(), Http.text(export));
        assertArrayEquals(export.body(), model.body(), "source=shadow hands out the percentile export of window 0");
        assertEquals("percentile", metadata(model.body()).get("vigil.calibration"));

        for (int r = 0; r < 4; r++) {
            long[][][] req = request(rnd);
            infer("shadowed", req);
            shadowed.add(req);
            awaitShadowed("shadowed", shadowed.size());
        }
        awaitClosedWindow("shadowed", 1);
        metrics = metrics();
        assertEquals(0.0, value(metrics, "vigil_shadow_skipped_total", "model", "shadowed"));
        assertEquals(0.0, value(metrics, "vigil_shadow_model_window", "model", "shadowed"),
                "rebuild_seconds 3600: still the model of window 0 after window 1 closed");
        HttpResponse<byte[]> still = http.get(base + "/quantized?source=shadow");
        assertArrayEquals(model.body(), still.body());

        Reference ref = Reference.of(Files.readAllBytes(MODELS.resolve(SOURCE).resolve("model.onnx")), model.body(),
                shadowed);
        for (String site : SITES) {
            double sqnr = value(metrics, "vigil_shadow_site_sqnr_db", "model", "shadowed", "tensor", site,
                    "kind", "matmul_input");
            double expected = 10 * Math.log10(ref.signal.get(site) / ref.error.get(site));
            System.out.printf("planted-outliers shadow SQNR %s: %.3f dB (offline %.3f dB)%n", site, sqnr, expected);
            assertEquals(expected, sqnr, 1e-3, site);
            assertClose(ref.signal.get(site), value(metrics, "vigil_shadow_signal_energy_total", "model", "shadowed",
                    "tensor", site), 1e-6);
            assertClose(ref.error.get(site), value(metrics, "vigil_shadow_error_energy_total", "model", "shadowed",
                    "tensor", site), 1e-6);
        }
        for (String output : List.of("logits", "router")) {
            double cosine = value(metrics, "vigil_shadow_output_cosine", "model", "shadowed", "output", output);
            double expected = ref.cosineSum.get(output) / ref.rows.get(output);
            System.out.printf("planted-outliers shadow output cosine %s: %.6f (offline %.6f)%n", output, cosine,
                    expected);
            assertEquals(expected, cosine, 1e-4, output);
            assertEquals(ref.rows.get(output), value(metrics, "vigil_shadow_output_rows_total", "model", "shadowed",
                    "output", output), 0.0, output);
            assertEquals(ref.rows.get(output) - ref.cosineSum.get(output), value(metrics,
                    "vigil_shadow_output_cosine_distance_sum_total", "model", "shadowed", "output", output),
                    1e-4 * ref.rows.get(output), output);
        }
        assertEquals((double) ref.agree / ref.rows.get("logits"),
                value(metrics, "vigil_shadow_top1_agreement", "model", "shadowed", "output", "logits"), 1e-12);
        assertNull(find(metrics, "vigil_shadow_top1_agreement", "model", "shadowed", "output", "router"),
                "router is not among class_outputs");
        assertTrue(ref.rows.get("router") == 5 * 62, "router rows are the unmasked tokens: " + ref.rows);
    }

    @Test
    void rebuildSecondsZeroFollowsTheLatestClosedWindow() throws Exception {
        Random rnd = new Random(8);
        infer("rebuilt", request(rnd));
        awaitClosedWindow("rebuilt", 0);
        infer("rebuilt", request(rnd));
        awaitShadowed("rebuilt", 1);
        // window 0, or 1 when the probe worker closed it (with this very request) before the shadow run started
        double first = value(metrics(), "vigil_shadow_model_window", "model", "rebuilt");
        assertTrue(first == 0 || first == 1, "built from the latest closed window: " + first);
        // every request closes a window: this one closes first + 1, which the next request's shadow run then finds
        infer("rebuilt", request(rnd));
        awaitClosedWindow("rebuilt", (long) first + 1);
        awaitShadowed("rebuilt", 2);
        infer("rebuilt", request(rnd));
        awaitShadowed("rebuilt", 3);
        double window = value(metrics(), "vigil_shadow_model_window", "model", "rebuilt");
        assertTrue(window > first, "rebuild_seconds 0: rebuilt from the newer closed window: " + window);
        HttpResponse<byte[]> model = http.get("/v2/models/rebuilt/quantized?source=shadow");
        assertEquals(200, model.statusCode(), Http.text(model));
        Map<String, String> meta = metadata(model.body());
        assertEquals("absmax", meta.get("vigil.calibration"));
        assertEquals(Long.toString((long) window), meta.get("vigil.window"));
        assertEquals(Long.toString((long) window), model.headers().firstValue("X-Vigil-Window").orElse(""));
        assertEquals(3.0, value(metrics(), "vigil_shadow_requests_total", "model", "rebuilt"));
    }

    @Test
    void runsThatFindTheShadowBusyAreSkippedAndCounted() throws Exception {
        Random rnd = new Random(13);
        infer("busy", request(rnd));
        awaitClosedWindow("busy", 0);
        int n = 32;
        List<long[][][]> requests = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            requests.add(request(rnd));
        }
        ExecutorService clients = Executors.newFixedThreadPool(8);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (long[][][] r : requests) {
                done.add(clients.submit(() -> {
                    infer("busy", r);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            clients.shutdown();
        }
        double shadowedRuns = 0;
        double skipped = 0;
        double dropped = 0;
        for (int i = 0; i < 200; i++) {
            String m = metrics();
            shadowedRuns = value(m, "vigil_shadow_requests_total", "model", "busy");
            skipped = value(m, "vigil_shadow_skipped_total", "model", "busy");
            dropped = value(m, "vigil_probe_dropped_total", "model", "busy");
            // the accepted runs finish after the burst (the first one builds the shadow model)
            if (shadowedRuns + skipped + dropped >= n && shadowedRuns > 0) {
                break;
            }
            Thread.sleep(50);
        }
        System.out.printf("busy: %d requests, %.0f shadowed, %.0f skipped, %.0f probe drops%n", n, shadowedRuns,
                skipped, dropped);
        assertTrue(skipped > 0, "a burst of 32 requests finds the one shadow thread busy");
        assertTrue(shadowedRuns > 0, "some requests are shadowed");
        assertTrue(shadowedRuns + skipped <= n && shadowedRuns + skipped + dropped >= n,
                "every sampled request is shadowed or skipped, once");
    }

    @Test
    void configAndRequestMistakesAreNamed() throws Exception {
        assertError(http.get("/v2/models/shadowed/quantized?source=live"), 400, "unknown source 'live'");
        assertError(http.get("/v2/models/shadowed/quantized?source=shadow&calibration=absmax"), 400,
                "source=shadow takes no calibration");
        assertError(http.get("/v2/models/plain/quantized?source=shadow"), 409, "probe.shadow.enabled is false");
        JsonNode index = Http.json(http.post("/v2/repository/index", new byte[0]));
        Map<String, String> reasons = new HashMap<>();
        index.forEach(e -> reasons.put(e.path("name").asText(), e.path("reason").asText()));
        assertTrue(reasons.get("bad-keep").contains("'probe.shadow.keep_fp32' names 'nope'"), reasons.toString());
        assertTrue(reasons.get("unprobed").contains("'probe.shadow.enabled' needs 'probe.enabled'"),
                reasons.toString());
        assertNull(find(metrics(), "vigil_shadow_requests_total", "model", "plain"), "no shadow series unless enabled");
        JsonNode settings = Http.json(http.get("/v2/models/rebuilt/probes")).path("settings").path("shadow");
        assertEquals("absmax", settings.path("calibration").asText());
        assertEquals(0, settings.path("rebuild_seconds").asInt());
        assertEquals("logits", settings.path("class_outputs").path(0).asText());
    }

    /** The sums the server should have, from the float and shadow models run here on the shadowed requests. */
    private static final class Reference {
        final Map<String, Double> signal = new HashMap<>();
        final Map<String, Double> error = new HashMap<>();
        final Map<String, Double> cosineSum = new HashMap<>();
        final Map<String, Long> rows = new HashMap<>();
        long agree;

        static Reference of(byte[] floatModel, byte[] shadowModel, List<long[][][]> requests) throws Exception {
            List<String> dq = new ArrayList<>();
            for (String s : SITES) {
                dq.add(QdqExport.dequantized(s));
            }
            byte[] f = GraphTaps.tappedModelBytes(floatModel, SITES);
            byte[] q = GraphTaps.tappedModelBytes(shadowModel, dq);
            Reference ref = new Reference();
            for (long[][][] req : requests) {
                long[][] mask = req[1];
                Map<String, Tensor> fo = run(f, req);
                Map<String, Tensor> qo = run(q, req);
                for (String s : SITES) {
                    Tensor x = fo.get(s);
                    Tensor xq = qo.get(QdqExport.dequantized(s));
                    double[] se = new double[2];
                    forEachRealRow(x, mask, (off, width) -> {
                        for (int j = off; j < off + width; j++) {
                            double d = (double) x.v[j] - xq.v[j];
                            se[0] += (double) x.v[j] * x.v[j];
                            se[1] += d * d;
                        }
                    });
                    ref.signal.merge(s, se[0], Double::sum);
                    ref.error.merge(s, se[1], Double::sum);
                }
                for (String o : List.of("logits", "router")) {
                    Tensor a = fo.get(o);
                    Tensor b = qo.get(o);
                    forEachRealRow(a, mask, (off, width) -> {
                        double ab = 0;
                        double aa = 0;
                        double bb = 0;
                        int am = off;
                        int bm = off;
                        for (int j = off; j < off + width; j++) {
                            ab += (double) a.v[j] * b.v[j];
                            aa += (double) a.v[j] * a.v[j];
                            bb += (double) b.v[j] * b.v[j];
                            am = a.v[j] > a.v[am] ? j : am;
                            bm = b.v[j] > b.v[bm] ? j : bm;
                        }
                        // the documented convention: two zero rows agree, a zero row against another does not
                        double cos = aa == 0 && bb == 0 ? 1 : aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
                        ref.cosineSum.merge(o, cos, Double::sum);
                        ref.rows.merge(o, 1L, Long::sum);
                        if (o.equals("logits") && am == bm) {
                            ref.agree++;
                        }
                    });
                }
            }
            return ref;
        }
    }

    private record Tensor(float[] v, long[] shape) {
    }

    private interface RowVisitor {
        void row(int offset, int width);
    }

    /** Token rows with mask 1 when the tensor has B·T rows; every row when it has B. */
    private static void forEachRealRow(Tensor t, long[][] mask, RowVisitor visitor) {
        int width = (int) t.shape[t.shape.length - 1];
        int rows = t.v.length / width;
        int batch = mask.length;
        for (int r = 0; r < rows; r++) {
            if (rows == batch * T && mask[r / T][r % T] == 0) {
                continue;
            }
            visitor.row(r * width, width);
        }
    }

    private static Map<String, Tensor> run(byte[] model, long[][][] req) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
        Map<String, Tensor> out = new HashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            feeds.put("input_ids", longs(env, req[0]));
            feeds.put("attention_mask", longs(env, req[1]));
            try (OrtSession s = env.createSession(model, opts); OrtSession.Result r = s.run(feeds)) {
                for (Map.Entry<String, OnnxValue> e : r) {
                    if (e.getValue() instanceof OnnxTensor t && t.getInfo().type == ai.onnxruntime.OnnxJavaType.FLOAT) {
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] a = new float[fb.remaining()];
                        fb.get(a);
                        out.put(e.getKey(), new Tensor(a, t.getInfo().getShape()));
                    }
                }
            }
        } finally {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
        return out;
    }

    private static OnnxTensor longs(OrtEnvironment env, long[][] v) throws Exception {
        LongBuffer b = LongBuffer.allocate(v.length * v[0].length);
        for (long[] row : v) {
            b.put(row);
        }
        b.flip();
        return OnnxTensor.createTensor(env, b, new long[] {v.length, v[0].length});
    }

    /** Token ids [4, 16] and a mask with the last two positions of sequence 1 padded: 62 unmasked tokens. */
    private static long[][][] request(Random rnd) {
        long[][] ids = new long[4][T];
        long[][] mask = new long[4][T];
        for (int b = 0; b < 4; b++) {
            ids[b][0] = 1;
            mask[b][0] = 1;
            for (int i = 1; i < T; i++) {
                ids[b][i] = 2 + rnd.nextInt(30);
                mask[b][i] = b == 1 && i >= T - 2 ? 0 : 1;
            }
        }
        return new long[][][] {ids, mask};
    }

    private static void infer(String model, long[][][] req) {
        StringBuilder ids = new StringBuilder();
        StringBuilder mask = new StringBuilder();
        for (int b = 0; b < req[0].length; b++) {
            for (int i = 0; i < T; i++) {
                ids.append(ids.length() == 0 ? "" : ",").append(req[0][b][i]);
                mask.append(mask.length() == 0 ? "" : ",").append(req[1][b][i]);
            }
        }
        String shape = "[" + req[0].length + "," + T + "]";
        String body = "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":" + shape + ",\"datatype\":\"INT64\",\"data\":["
                + ids + "]},{\"name\":\"attention_mask\",\"shape\":" + shape + ",\"datatype\":\"INT64\",\"data\":["
                + mask + "]}],\"outputs\":[{\"name\":\"logits\"}]}";
        HttpResponse<byte[]> resp = http.postJson("/v2/models/" + model + "/infer", body);
        assertEquals(200, resp.statusCode(), Http.text(resp));
    }

    private static String metrics() {
        return Http.text(http.get("/metrics"));
    }

    /** Waits (bounded) until the model's calibration covers a closed window of at least this index. */
    private static void awaitClosedWindow(String model, long index) throws InterruptedException {
        for (int i = 0; i < 400; i++) {
            JsonNode w = Http.json(http.get("/v2/models/" + model + "/calibration")).path("tensors").path(0)
                    .path("window");
            if (w.path("closed").asBoolean(false) && w.path("index").asLong(-1) >= index) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("window " + index + " of " + model + " did not close");
    }

    /** Waits (bounded) until the model's shadowed and skipped requests reach {@code n}. */
    private static void awaitShadowed(String model, int n) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            String m = metrics();
            if (value(m, "vigil_shadow_requests_total", "model", model)
                    + value(m, "vigil_shadow_skipped_total", "model", model) >= n) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError(model + ": " + n + " shadow runs did not happen");
    }

    private static Map<String, String> metadata(byte[] model) throws Exception {
        Map<String, String> meta = new HashMap<>();
        for (StringStringEntryProto e : ModelProto.parseFrom(model).getMetadataPropsList()) {
            meta.put(e.getKey(), e.getValue());
        }
        return meta;
    }

    private static double value(String text, String name, String... labels) {
        Double v = find(text, name, labels);
        assertNotNull(v, "no sample " + name + " " + String.join(",", labels));
        return v;
    }

    /** The value of the one sample of {@code name} carrying every given label, or null. */
    private static Double find(String text, String name, String... labels) {
        Double found = null;
        for (String line : text.split("\n")) {
            if (!line.startsWith(name + "{")) {
                continue;
            }
            boolean all = true;
            for (int i = 0; i < labels.length; i += 2) {
                all &= line.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (all) {
                assertNull(found, "two samples match " + name + " " + String.join(",", labels));
                String v = line.substring(line.lastIndexOf(' ') + 1);
                found = v.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(v);
            }
        }
        return found;
    }

    private static void assertClose(double expected, double actual, double rel) {
        assertEquals(expected, actual, rel * Math.max(1.0, Math.abs(expected)));
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String fragment) {
        assertEquals(status, r.statusCode(), Http.text(r));
        String error = Http.json(r).path("error").asText();
        assertTrue(error.contains(fragment), error);
    }
}
