package dev.vigil.server.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The static int8 export and the TensorRT calibration cache over real HTTP, on the bundled planted-outliers model
 * (one residual input with a 1600 outlier feeding a MatMul) and the exporter's pre-norm classifier; the exported
 * models are run in ONNX Runtime against the float originals.
 */
class QuantizedExportTest {
    private static final Path MODELS = Path.of("..", "models");
    private static final String PLANTED = "planted-outliers";
    /** The same model under another name, for the test that closes its window first. */
    private static final String PLANTED_TRT = "planted-trt";
    private static final String PRENORM = "prenorm-256";
    private static final int PLANTED_T = 16;

    @TempDir
    static Path repo;
    static VigilServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        // three requests of 64 tokens: the second closes window 0, the third stays in the open window 1
        copy(PLANTED, PLANTED, "{\"max_batch_size\": 8, \"probe\": {\"window_tokens\": 128}}");
        copy(PLANTED, PLANTED_TRT, "{\"max_batch_size\": 8, \"probe\": {\"window_tokens\": 64}}");
        copy(PRENORM, PRENORM, "{\"max_batch_size\": 8, \"probe\": {\"window_tokens\": 1024}}");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static void copy(String name, String as, String config) throws Exception {
        Path dir = Files.createDirectories(repo.resolve(as));
        Files.copy(MODELS.resolve(name).resolve("model.onnx"), dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("config.json"), config);
    }

    @Test
    void plantedOutliersExportKeepingTheOutlierSiteFloatRaisesFidelity() throws Exception {
        String base = "/v2/models/" + PLANTED;
        assertError(http.get(base + "/quantized"), 409, "no closed calibration window");
        assertError(http.get(base + "/quantized?calibration=minmax"), 400, "unknown calibration 'minmax'");
        assertError(http.get(base + "/quantized?keep_fp32=x,nope"), 400, "unknown tensor 'nope'");
        assertError(http.get(base + "/quantized?keep_fp32=mask_out"), 400, "unknown tensor 'mask_out'");
        assertError(http.get(base + "/calibration?format=onnx"), 400, "unknown calibration format 'onnx'");
        assertError(http.get(base + "/quantized?activations=int4"), 400, "unknown activations 'int4'");
        assertError(http.get(base + "/quantized?source=shadow&activations=uint8"), 400,
                "takes no calibration, keep_fp32 or activations");
        assertError(http.get("/v2/models/nope/quantized"), 404, "unknown model 'nope'");

        Random rnd = new Random(7);
        for (int r = 0; r < 3; r++) {
            long[][] ids = plantedIds(rnd, 4);
            HttpResponse<byte[]> resp = http.postJson(base + "/infer", tokensJson(ids, true));
            assertEquals(200, resp.statusCode(), Http.text(resp));
        }
        JsonNode cal = closedCalibration(PLANTED);

        HttpResponse<byte[]> all = http.get(base + "/quantized?calibration=absmax");
        assertEquals(200, all.statusCode(), Http.text(all));
        assertEquals("application/octet-stream", all.headers().firstValue("Content-Type").orElse(""));
        ModelProto q = ModelProto.parseFrom(all.body());
        Map<String, String> meta = new HashMap<>();
        for (StringStringEntryProto e : q.getMetadataPropsList()) {
            meta.put(e.getKey(), e.getValue());
        }
        assertEquals("absmax", meta.get("vigil.calibration"));
        assertEquals("0", meta.get("vigil.window"));
        assertEquals("128", meta.get("vigil.window_tokens"));
        // one Q/DQ pair per matmul_input site (x, n1, act, out), each scale = the window's abs max / 127
        Map<String, Double> absMax = new HashMap<>();
        for (JsonNode t : cal.path("tensors")) {
            absMax.put(t.path("tensor").asText(), t.path("abs_max").asDouble());
        }
        int pairs = 0;
        for (NodeProto n : q.getGraph().getNodeList()) {
            if (n.getOpType().equals("QuantizeLinear")) {
                pairs++;
                float scale = scalar(q, n.getInput(1));
                assertEquals((float) (absMax.get(n.getInput(0)) / 127.0), scale, 0f, n.getInput(0));
            }
        }
        assertEquals(4, pairs);
        byte[] floatModel = Files.readAllBytes(MODELS.resolve(PLANTED).resolve("model.onnx"));
        assertEquals(keys(SiteDiscovery.discover(ModelProto.parseFrom(floatModel))), keys(SiteDiscovery.discover(q)),
                "the exported model is probed as fully as the float one");

        HttpResponse<byte[]> kept = http.get(base + "/quantized?calibration=absmax&keep_fp32=x");
        assertEquals(200, kept.statusCode(), Http.text(kept));

        // Held-out sequences: x's absmax scale (1600/127) rounds every body value to 0, so the router (x·Wr) loses
        // its signal; keeping x float restores it, while the other sites keep the logits close either way.
        long[][] eval = plantedIds(new Random(99), 8);
        Map<String, float[]> f = runPlanted(floatModel, eval);
        Map<String, float[]> qa = runPlanted(all.body(), eval);
        Map<String, float[]> qk = runPlanted(kept.body(), eval);
        double routerAll = meanRowCosine(f.get("router"), qa.get("router"), 16);
        double routerKept = meanRowCosine(f.get("router"), qk.get("router"), 16);
        double logitsAll = meanRowCosine(f.get("logits"), qa.get("logits"), 8);
        System.out.printf("planted-outliers router cosine: all int8 %.4f, x kept float %.4f; logits %.4f%n",
                routerAll, routerKept, logitsAll);
        assertTrue(routerKept > routerAll + 0.1, routerKept + " vs " + routerAll);
        assertTrue(routerKept > 0.99, "router with x float: " + routerKept);
        assertTrue(logitsAll > 0.95, "logits: " + logitsAll);

        // uint8 activations (zero point 128) are the same grid: the same outputs up to float rounding
        HttpResponse<byte[]> u8 = http.get(base + "/quantized?calibration=absmax&activations=uint8");
        assertEquals(200, u8.statusCode(), Http.text(u8));
        ModelProto qu = ModelProto.parseFrom(u8.body());
        assertTrue(qu.getMetadataPropsList().stream().anyMatch(e -> e.getKey().equals("vigil.activations")
                && e.getValue().equals("uint8")), qu.getMetadataPropsList().toString());
        assertEquals("int8", meta.get("vigil.activations"));
        Map<String, float[]> qu8 = runPlanted(u8.body(), eval);
        for (String out : List.of("router", "logits")) {
            float[] a = qa.get(out);
            float[] b = qu8.get(out);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * (1 + Math.abs(a[i])), out + "[" + i + "]");
            }
        }
    }

    @Test
    void tensorRtCalibrationCacheReadsBackAsTheWindowsScales() throws Exception {
        String base = "/v2/models/" + PLANTED_TRT;
        for (int r = 0; r < 2; r++) {
            http.postJson(base + "/infer", tokensJson(plantedIds(new Random(r), 4), true));
        }
        JsonNode cal = closedCalibration(PLANTED_TRT);
        for (String calibration : List.of("absmax", "percentile")) {
            HttpResponse<byte[]> resp = http.get(base + "/calibration?format=tensorrt&calibration=" + calibration);
            assertEquals(200, resp.statusCode(), Http.text(resp));
            String[] lines = Http.text(resp).split("\n");
            // TensorRT's cache: "TRT-<version>-<calibrator>", then "<tensor>: <float32 scale bits as 8 hex digits>"
            assertTrue(lines[0].matches("TRT-\\d+-[A-Za-z0-9]+"), lines[0]);
            Map<String, Float> scales = new HashMap<>();
            Pattern line = Pattern.compile("(.+): ([0-9a-f]{8})");
            for (int i = 1; i < lines.length; i++) {
                Matcher m = line.matcher(lines[i]);
                assertTrue(m.matches(), lines[i]);
                scales.put(m.group(1), Float.intBitsToFloat(Integer.parseUnsignedInt(m.group(2), 16)));
            }
            assertEquals(cal.path("tensors").size(), scales.size());
            for (JsonNode t : cal.path("tensors")) {
                double c = calibration.equals("absmax") ? t.path("abs_max").asDouble()
                        : t.path("abs_percentiles").path("0.9999").asDouble();
                assertEquals((float) (c / 127.0), scales.get(t.path("tensor").asText()), 0f, t.toString());
            }
        }
    }

    @Test
    void prenormClassifierExportAgreesWithFloat() throws Exception {
        String base = "/v2/models/" + PRENORM;
        Random rnd = new Random(3);
        long[][] ids = new long[4][256];
        for (int r = 0; r < 2; r++) {
            for (long[] row : ids) {
                for (int i = 0; i < row.length; i++) {
                    row[i] = 1 + rnd.nextInt(32);
                }
            }
            HttpResponse<byte[]> resp = http.postJson(base + "/infer", tokensJson(ids, false));
            assertEquals(200, resp.statusCode(), Http.text(resp));
        }
        closedCalibration(PRENORM);
        HttpResponse<byte[]> q = http.get(base + "/quantized?calibration=percentile");
        assertEquals(200, q.statusCode(), Http.text(q));
        byte[] floatModel = Files.readAllBytes(MODELS.resolve(PRENORM).resolve("model.onnx"));
        assertEquals(keys(SiteDiscovery.discover(ModelProto.parseFrom(floatModel))),
                keys(SiteDiscovery.discover(ModelProto.parseFrom(q.body()))));
        long[][] eval = new long[8][256];
        Random held = new Random(11);
        for (long[] row : eval) {
            for (int i = 0; i < row.length; i++) {
                row[i] = 1 + held.nextInt(32);
            }
        }
        float[] f = run(floatModel, Map.of("input_ids", eval)).get("logits");
        float[] i8 = run(q.body(), Map.of("input_ids", eval)).get("logits");
        double cos = meanRowCosine(f, i8, 4);
        System.out.printf("prenorm-256 logits cosine int8 vs float: %.4f%n", cos);
        assertTrue(cos > 0.95 && cos < 1 - 1e-7, "logits cosine " + cos);
    }

    /** Waits (bounded) until the model's calibration window has closed; returns the calibration body. */
    private static JsonNode closedCalibration(String model) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            JsonNode cal = Http.json(http.get("/v2/models/" + model + "/calibration"));
            JsonNode first = cal.path("tensors").path(0);
            if (first.path("window").path("closed").asBoolean(false)) {
                return cal;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no window closed for " + model);
    }

    private static long[][] plantedIds(Random rnd, int batch) {
        long[][] ids = new long[batch][PLANTED_T];
        for (long[] row : ids) {
            row[0] = 1;
            for (int i = 1; i < row.length; i++) {
                row[i] = 2 + rnd.nextInt(30);
            }
        }
        return ids;
    }

    private static String tokensJson(long[][] ids, boolean withMask) {
        StringBuilder data = new StringBuilder();
        StringBuilder mask = new StringBuilder();
        for (long[] row : ids) {
            for (long v : row) {
                data.append(data.length() == 0 ? "" : ",").append(v);
                mask.append(mask.length() == 0 ? "" : ",").append(1);
            }
        }
        String shape = "[" + ids.length + "," + ids[0].length + "]";
        String in = "{\"name\":\"input_ids\",\"shape\":" + shape + ",\"datatype\":\"INT64\",\"data\":[" + data + "]}";
        if (withMask) {
            in += ",{\"name\":\"attention_mask\",\"shape\":" + shape + ",\"datatype\":\"INT64\",\"data\":["
                    + mask + "]}";
        }
        return "{\"inputs\":[" + in + "]}";
    }

    private static Map<String, float[]> runPlanted(byte[] model, long[][] ids) throws Exception {
        long[][] mask = new long[ids.length][ids[0].length];
        for (long[] row : mask) {
            java.util.Arrays.fill(row, 1);
        }
        return run(model, Map.of("input_ids", ids, "attention_mask", mask));
    }

    /** One ORT run of {@code model} on INT64 [B, T] inputs; every float output copied out. */
    static Map<String, float[]> run(byte[] model, Map<String, long[][]> inputs) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Map<String, OnnxTensor> feeds = new HashMap<>();
        Map<String, float[]> out = new HashMap<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            for (Map.Entry<String, long[][]> e : inputs.entrySet()) {
                long[][] v = e.getValue();
                LongBuffer b = LongBuffer.allocate(v.length * v[0].length);
                for (long[] row : v) {
                    b.put(row);
                }
                b.flip();
                feeds.put(e.getKey(), OnnxTensor.createTensor(env, b, new long[] {v.length, v[0].length}));
            }
            try (OrtSession s = env.createSession(model, opts); OrtSession.Result r = s.run(feeds)) {
                r.forEach(e -> {
                    if (e.getValue() instanceof OnnxTensor t && t.getInfo().toString().contains("FLOAT")) {
                        FloatBuffer fb = t.getFloatBuffer();
                        float[] a = new float[fb.remaining()];
                        fb.get(a);
                        out.put(e.getKey(), a);
                    }
                });
            }
        } finally {
            for (OnnxTensor t : feeds.values()) {
                t.close();
            }
        }
        return out;
    }

    /** The mean over rows of {@code d} values of the cosine similarity of a's and b's rows (0 for one zero row). */
    static double meanRowCosine(float[] a, float[] b, int d) {
        double sum = 0;
        int rows = a.length / d;
        for (int r = 0; r < rows; r++) {
            double ab = 0;
            double aa = 0;
            double bb = 0;
            for (int j = 0; j < d; j++) {
                ab += (double) a[r * d + j] * b[r * d + j];
                aa += (double) a[r * d + j] * a[r * d + j];
                bb += (double) b[r * d + j] * b[r * d + j];
            }
            // a row wiped to zero by rounding agrees with nothing (cosine 0); two zero rows agree
            sum += aa == 0 && bb == 0 ? 1 : aa == 0 || bb == 0 ? 0 : ab / Math.sqrt(aa * bb);
        }
        return sum / rows;
    }

    private static float scalar(ModelProto m, String name) {
        for (TensorProto t : m.getGraph().getInitializerList()) {
            if (t.getName().equals(name)) {
                return t.getFloatDataCount() > 0 ? t.getFloatData(0)
                        : t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
            }
        }
        throw new AssertionError("no initializer " + name);
    }

    private static List<String> keys(List<ProbeSite> sites) {
        return sites.stream().map(s -> s.kind().label() + "/" + s.layer() + "/" + s.tensor()).toList();
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String fragment) {
        assertEquals(status, r.statusCode(), Http.text(r));
        String error = Http.json(r).path("error").asText();
        assertTrue(error.contains(fragment), error);
    }
}
