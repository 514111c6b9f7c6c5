package dev.vigil.server.quant;

import static dev.vigil.server.Http.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import java.net.http.HttpResponse;
import java.nio.ByteOrder;
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
        TestServers.copyModel(MODELS.resolve(name), repo, as, config);
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
            long[][] ids = TokenRequests.plantedIds(rnd, 4, PLANTED_T);
            HttpResponse<byte[]> resp = http.postJson(base + "/infer", TokenRequests.json(ids, true));
            assertEquals(200, resp.statusCode(), Http.text(resp));
        }
        JsonNode cal = TokenRequests.closedCalibration(http, PLANTED);

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
        long[][] eval = TokenRequests.plantedIds(new Random(99), 8, PLANTED_T);
        Map<String, OfflineRun.Output> f = OfflineRun.runUnmasked(floatModel, eval);
        Map<String, OfflineRun.Output> qa = OfflineRun.runUnmasked(all.body(), eval);
        Map<String, OfflineRun.Output> qk = OfflineRun.runUnmasked(kept.body(), eval);
        double routerAll = OfflineRun.meanRowCosine(f.get("router").data(), qa.get("router").data(), 16);
        double routerKept = OfflineRun.meanRowCosine(f.get("router").data(), qk.get("router").data(), 16);
        double logitsAll = OfflineRun.meanRowCosine(f.get("logits").data(), qa.get("logits").data(), 8);
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
        Map<String, OfflineRun.Output> qu8 = OfflineRun.runUnmasked(u8.body(), eval);
        for (String out : List.of("router", "logits")) {
            float[] a = qa.get(out).data();
            float[] b = qu8.get(out).data();
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-4 * (1 + Math.abs(a[i])), out + "[" + i + "]");
            }
        }
    }

    @Test
    void tensorRtCalibrationCacheReadsBackAsTheWindowsScales() throws Exception {
        String base = "/v2/models/" + PLANTED_TRT;
        for (int r = 0; r < 2; r++) {
            http.postJson(base + "/infer", TokenRequests.json(TokenRequests.plantedIds(new Random(r), 4, PLANTED_T), true));
        }
        JsonNode cal = TokenRequests.closedCalibration(http, PLANTED_TRT);
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
            HttpResponse<byte[]> resp = http.postJson(base + "/infer", TokenRequests.json(ids, false));
            assertEquals(200, resp.statusCode(), Http.text(resp));
        }
        TokenRequests.closedCalibration(http, PRENORM);
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
        float[] f = OfflineRun.run(floatModel, Map.of("input_ids", eval)).get("logits").data();
        float[] i8 = OfflineRun.run(q.body(), Map.of("input_ids", eval)).get("logits").data();
        double cos = OfflineRun.meanRowCosine(f, i8, 4);
        System.out.printf("prenorm-256 logits cosine int8 vs float: %.4f%n", cos);
        assertTrue(cos > 0.95 && cos < 1 - 1e-7, "logits cosine " + cos);
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
}
