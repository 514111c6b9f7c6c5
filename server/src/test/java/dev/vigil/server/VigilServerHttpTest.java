package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End-to-end over real HTTP against a server started on an ephemeral port, on models built in the test: a
 * MatMul+Add+Relu model with known weights, a model with one input per datatype, a corrupt model file and a model
 * with a broken config.json beside them.
 */
class VigilServerHttpTest {
    private static final int MAX_BATCH = 4;
    private static final int MAX_BODY = 16 * 1024;

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        TestModels.writeTyped(repo, "typed");
        Path corrupt = Files.createDirectories(repo.resolve("corrupt"));
        Files.write(corrupt.resolve("model.onnx"), "this is not an ONNX model".getBytes(StandardCharsets.UTF_8));
        Path badConfig = TestModels.writeMlp(repo, "badconfig");
        Files.writeString(badConfig.resolve("config.json"), "{\"max_batch_size\": ");
        server = new VigilServer(TestServers.cpu(repo)
                .maxBatchSize(MAX_BATCH).maxBodyBytes(MAX_BODY).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** The hand computation: relu(x·W + b) in double precision. */
    private static double[] expectedMlp(float[] x) {
        int rows = x.length / 3;
        double[] y = new double[rows * 2];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < 2; j++) {
                double s = TestModels.B[j];
                for (int k = 0; k < 3; k++) {
                    s += (double) x[r * 3 + k] * TestModels.W[k][j];
                }
                y[r * 2 + j] = Math.max(0, s);
            }
        }
        return y;
    }

    private static String mlpRequest(float[] x, String extra) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < x.length; i++) {
            data.append(i > 0 ? "," : "").append(x[i]);
        }
        return "{" + extra + "\"inputs\":[{\"name\":\"x\",\"shape\":[" + x.length / 3 + ",3],\"datatype\":\"FP32\","
                + "\"data\":[" + data + "]}]}";
    }

    private static void assertMlpOutput(float[] x, JsonNode response) {
        JsonNode y = response.get("outputs").get(0);
        assertEquals("y", y.get("name").asText());
        assertEquals("FP32", y.get("datatype").asText());
        assertEquals(x.length / 3, y.get("shape").get(0).asInt());
        assertEquals(2, y.get("shape").get(1).asInt());
        double[] expected = expectedMlp(x);
        assertEquals(expected.length, y.get("data").size());
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], y.get("data").get(i).asDouble(), 1e-5, "y[" + i + "]");
        }
    }

    private static final float[] GOOD_X = {1f, 2f, 3f, -1f, 0.5f, 4f};

    /** A good request that must still succeed after an error. */
    private static void assertStillServes() {
        HttpResponse<byte[]> r = http.postJson("/v2/models/mlp/infer", mlpRequest(GOOD_X, ""));
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        assertMlpOutput(GOOD_X, Http.json(r));
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String... fragments) {
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertEquals(status, r.statusCode(), body);
        JsonNode error = Http.json(r).get("error");
        assertTrue(error != null && error.isTextual(), "error body: " + body);
        for (String f : fragments) {
            assertTrue(error.asText().contains(f), "'" + error.asText() + "' should contain '" + f + "'");
        }
        assertStillServes();
    }

    @Test
    void healthAndServerMetadata() {
        HttpResponse<byte[]> live = http.get("/v2/health/live");
        assertEquals(200, live.statusCode());
        assertTrue(Http.json(live).get("live").asBoolean());
        HttpResponse<byte[]> ready = http.get("/v2/health/ready");
        assertEquals(200, ready.statusCode());
        assertTrue(Http.json(ready).get("ready").asBoolean());
        JsonNode meta = Http.json(http.get("/v2"));
        assertEquals("vigil", meta.get("name").asText());
        assertTrue(meta.get("version").isTextual());
        assertTrue(meta.get("extensions").toString().contains("binary_tensor_data"));
    }

    @Test
    void modelMetadataHasNamesDatatypesAndDynamicShapes() {
        HttpResponse<byte[]> r = http.get("/v2/models/mlp");
        assertEquals(200, r.statusCode());
        JsonNode m = Http.json(r);
        assertEquals("mlp", m.get("name").asText());
        assertEquals("onnxruntime_onnx", m.get("platform").asText());
        assertEquals("x", m.get("inputs").get(0).get("name").asText());
        assertEquals("FP32", m.get("inputs").get(0).get("datatype").asText());
        assertEquals("[-1,3]", m.get("inputs").get(0).get("shape").toString());
        assertEquals("y", m.get("outputs").get(0).get("name").asText());
        assertEquals("[-1,2]", m.get("outputs").get(0).get("shape").toString());
        JsonNode typed = Http.json(http.get("/v2/models/typed"));
        List<String> types = new ArrayList<>();
        typed.get("inputs").forEach(i -> types.add(i.get("datatype").asText()));
        assertEquals(List.of("INT64", "INT32", "BOOL", "FP16", "BYTES"), types);
    }

    @Test
    void readinessOfGoodCorruptAndMisconfiguredModels() {
        HttpResponse<byte[]> good = http.get("/v2/models/mlp/ready");
        assertEquals(200, good.statusCode());
        assertTrue(Http.json(good).get("ready").asBoolean());
        HttpResponse<byte[]> corrupt = http.get("/v2/models/corrupt/ready");
        assertEquals(503, corrupt.statusCode());
        assertTrue(Http.json(corrupt).get("error").asText().contains("ONNX Runtime cannot load model.onnx"),
                new String(corrupt.body(), StandardCharsets.UTF_8));
        HttpResponse<byte[]> badConfig = http.get("/v2/models/badconfig/ready");
        assertEquals(503, badConfig.statusCode());
        assertTrue(Http.json(badConfig).get("error").asText().contains("config.json is not valid JSON"));
        assertError(http.postJson("/v2/models/corrupt/infer", mlpRequest(GOOD_X, "")), 503, "not ready");
        assertError(http.get("/v2/models/corrupt"), 503, "not ready");
    }

    @Test
    void unknownModelIs404Everywhere() {
        assertError(http.get("/v2/models/nope"), 404, "unknown model 'nope'");
        assertError(http.get("/v2/models/nope/ready"), 404, "unknown model 'nope'");
        assertError(http.postJson("/v2/models/nope/infer", mlpRequest(GOOD_X, "")), 404, "unknown model 'nope'");
        assertError(http.get("/v2/nothing/here"), 404);
    }

    @Test
    void jsonInferenceMatchesHandComputationAndEchoesId() {
        float[] x = {0.3f, -1.2f, 2.5f, 4f, 1f, -3f, -0.5f, -0.5f, -0.5f};
        HttpResponse<byte[]> r = http.postJson("/v2/models/mlp/infer", mlpRequest(x, "\"id\":\"req-42\","));
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        JsonNode body = Http.json(r);
        assertEquals("req-42", body.get("id").asText());
        assertEquals("mlp", body.get("model_name").asText());
        assertMlpOutput(x, body);
    }

    @Test
    void nestedDataAndFieldsInAnyOrder() {
        String req = "{\"inputs\":[{\"data\":[[1,2,3],[-1,0.5,4]],\"datatype\":\"FP32\",\"shape\":[2,3],"
                + "\"name\":\"x\"}],\"outputs\":[{\"name\":\"y\"}]}";
        HttpResponse<byte[]> r = http.postJson("/v2/models/mlp/infer", req);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        assertMlpOutput(GOOD_X, Http.json(r));
    }

    @Test
    void everyDatatypeRoundTripsThroughTheModel() {
        String req = "{\"inputs\":["
                + "{\"name\":\"a\",\"shape\":[3],\"datatype\":\"INT64\",\"data\":[5,-7,9007199254740993]},"
                + "{\"name\":\"b\",\"shape\":[3],\"datatype\":\"INT32\",\"data\":[1,2147483647,-3]},"
                + "{\"name\":\"c\",\"shape\":[3],\"datatype\":\"BOOL\",\"data\":[true,false,true]},"
                + "{\"name\":\"d\",\"shape\":[3],\"datatype\":\"FP16\",\"data\":[0.5,-2,1024]},"
                + "{\"name\":\"s\",\"shape\":[3],\"datatype\":\"BYTES\",\"data\":[\"a\",\"héllo\",\"\"]}]}";
        HttpResponse<byte[]> r = http.postJson("/v2/models/typed/infer", req);
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        JsonNode out = Http.json(r).get("outputs");
        assertEquals("[-5,7,-9007199254740993]", out.get(0).get("data").toString());
        assertEquals("INT64", out.get(0).get("datatype").asText());
        assertEquals("[-1,-2147483647,3]", out.get(1).get("data").toString());
        assertEquals("[false,true,false]", out.get(2).get("data").toString());
        assertEquals("BOOL", out.get(2).get("datatype").asText());
        assertEquals(0.5, out.get(3).get("data").get(0).asDouble());
        assertEquals(-2.0, out.get(3).get("data").get(1).asDouble());
        assertEquals(1024.0, out.get(3).get("data").get(2).asDouble());
        assertEquals("[\"a\",\"héllo\",\"\"]", out.get(4).get("data").toString());
        assertEquals("BYTES", out.get(4).get("datatype").asText());
    }

    /**
     * The binary tensor data extension, bytes laid out by hand from the protocol description: a JSON header whose
     * length is in Inference-Header-Content-Length, then each input's raw little-endian bytes in input order;
     * outputs asked with binary_data come back the same way.
     */
    @Test
    void binaryTensorDataRequestAndResponse() throws Exception {
        float[] x = {2f, -1f, 0.5f, 0f, 3f, -2f};
        byte[] header = ("{\"id\":\"bin\",\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                + "\"parameters\":{\"binary_data_size\":24}}],"
                + "\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":true}}]}")
                .getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(header);
        for (float v : x) {
            int bits = Float.floatToIntBits(v);
            body.write(bits & 0xFF);
            body.write((bits >>> 8) & 0xFF);
            body.write((bits >>> 16) & 0xFF);
            body.write((bits >>> 24) & 0xFF);
        }
        HttpResponse<byte[]> r = http.post("/v2/models/mlp/infer", body.toByteArray(),
                "Inference-Header-Content-Length", Integer.toString(header.length),
                "Content-Type", "application/octet-stream");
        assertEquals(200, r.statusCode());
        int jsonLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        JsonNode json = Http.JSON.readTree(new String(r.body(), 0, jsonLength, StandardCharsets.UTF_8));
        assertEquals("bin", json.get("id").asText());
        JsonNode y = json.get("outputs").get(0);
        assertFalse(y.has("data"));
        assertEquals(16, y.get("parameters").get("binary_data_size").asInt());
        assertEquals(jsonLength + 16, r.body().length);
        double[] expected = expectedMlp(x);
        byte[] b = r.body();
        for (int i = 0; i < 4; i++) {
            int o = jsonLength + 4 * i;
            int bits = (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8 | (b[o + 2] & 0xFF) << 16 | (b[o + 3] & 0xFF) << 24;
            assertEquals(expected[i], Float.intBitsToFloat(bits), 1e-6, "y[" + i + "]");
        }
    }

    /** BYTES in binary: a 4-byte little-endian length before each element, in both directions. */
    @Test
    void binaryBytesAndRequestLevelBinaryOutput() throws Exception {
        String[] strings = {"ab", "", "ünï"};
        ByteArrayOutputStream s = new ByteArrayOutputStream();
        for (String str : strings) {
            byte[] e = str.getBytes(StandardCharsets.UTF_8);
            s.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(e.length).array());
            s.write(e);
        }
        byte[] header = String.format(Locale.ROOT, "{\"parameters\":{\"binary_data_output\":true},\"inputs\":["
                + "{\"name\":\"a\",\"shape\":[3],\"datatype\":\"INT64\",\"data\":[1,2,3]},"
                + "{\"name\":\"b\",\"shape\":[3],\"datatype\":\"INT32\",\"data\":[1,2,3]},"
                + "{\"name\":\"c\",\"shape\":[3],\"datatype\":\"BOOL\",\"data\":[true,true,false]},"
                + "{\"name\":\"d\",\"shape\":[3],\"datatype\":\"FP16\",\"data\":[1,2,3]},"
                + "{\"name\":\"s\",\"shape\":[3],\"datatype\":\"BYTES\",\"parameters\":{\"binary_data_size\":%d}}],"
                + "\"outputs\":[{\"name\":\"si\"},{\"name\":\"na\",\"parameters\":{\"binary_data\":false}}]}",
                s.size()).getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(header);
        body.write(s.toByteArray());
        HttpResponse<byte[]> r = http.post("/v2/models/typed/infer", body.toByteArray(),
                "Inference-Header-Content-Length", Integer.toString(header.length));
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        int jsonLength = Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
        JsonNode out = Http.JSON.readTree(new String(r.body(), 0, jsonLength, StandardCharsets.UTF_8)).get("outputs");
        assertEquals("si", out.get(0).get("name").asText());
        assertEquals(s.size(), out.get(0).get("parameters").get("binary_data_size").asInt());
        assertArrayEquals(s.toByteArray(), java.util.Arrays.copyOfRange(r.body(), jsonLength, r.body().length));
        assertEquals("[-1,-2,-3]", out.get(1).get("data").toString());
    }

    @Test
    void malformedRequestsAre400WithTheReason() {
        String infer = "/v2/models/mlp/infer";
        assertError(http.postJson(infer, "{\"inputs\": [ {\"name\": "), 400, "malformed JSON");
        assertError(http.postJson(infer, "[1,2]"), 400, "must be a JSON object");
        assertError(http.postJson(infer, "{\"inputs\":[]}"), 400, "no inputs");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"zz\",\"shape\":[1,3],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3]}]}"), 400, "has no input 'zz'", "x FP32 [-1, 3]");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,3],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3,4,5]}]}"), 400, "input 'x'", "[2, 3] (6 elements)", "5 elements");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,2],\"datatype\":\"FP32\","
                + "\"data\":[1,2,3,4]}]}"), 400, "input 'x' has shape [2, 2]", "expects [-1, 3]");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP64\","
                + "\"data\":[1,2,3]}]}"), 400, "input 'x' has datatype FP64", "expects FP32");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP33\","
                + "\"data\":[1,2,3]}]}"), 400, "unknown datatype 'FP33'");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
                + "\"data\":[1,NaN,3]}]}"), 400, "input 'x' element 1 is NaN");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
                + "\"data\":[1,2,1e39]}]}"), 400, "input 'x' element 2", "infinite");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
                + "\"data\":[1,\"2\",3]}]}"), 400, "element 1 is a string, not a number");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\"}]}"),
                400, "input 'x' has no data");
        assertError(http.postJson(infer, mlpRequest(GOOD_X, "\"outputs\":[{\"name\":\"nope\"}],")), 400,
                "has no output 'nope'", "[y]");
        float[] five = new float[3 * (MAX_BATCH + 1)];
        assertError(http.postJson(infer, mlpRequest(five, "")), 400, "batch size 5", "max_batch_size 4");
    }

    @Test
    void aBatchOfZeroRowsIs400NamingTheInput() {
        String infer = "/v2/models/mlp/infer";
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"x\",\"shape\":[0,3],\"datatype\":\"FP32\","
                + "\"data\":[]}]}"), 400, "input 'x'", "batch size 0");
        byte[] header = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[0,3],\"datatype\":\"FP32\","
                + "\"parameters\":{\"binary_data_size\":0}}]}").getBytes(StandardCharsets.UTF_8);
        assertError(http.post(infer, header, "Inference-Header-Content-Length", Integer.toString(header.length)),
                400, "input 'x'", "batch size 0");
        assertError(http.postJson("/v2/models/typed/infer", "{\"inputs\":["
                + "{\"name\":\"a\",\"shape\":[1],\"datatype\":\"INT64\",\"data\":[1]},"
                + "{\"name\":\"b\",\"shape\":[0],\"datatype\":\"INT32\",\"data\":[]},"
                + "{\"name\":\"c\",\"shape\":[1],\"datatype\":\"BOOL\",\"data\":[true]},"
                + "{\"name\":\"d\",\"shape\":[1],\"datatype\":\"FP16\",\"data\":[0.5]},"
                + "{\"name\":\"s\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"a\"]}]}"),
                400, "input 'b'", "batch size 0");
    }

    @Test
    void typedInputErrors() {
        String infer = "/v2/models/typed/infer";
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"INT64\","
                + "\"data\":[1]}]}"), 400, "needs input 'b' (INT32 [-1])");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"b\",\"shape\":[1],\"datatype\":\"INT32\","
                + "\"data\":[2147483648]}]}"), 400, "input 'b' element 0 (2147483648) is out of range for INT32");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"INT64\","
                + "\"data\":[1.5]}]}"), 400, "input 'a' has datatype INT64 but element 0 is a fractional number");
        assertError(http.postJson(infer, "{\"inputs\":[{\"name\":\"c\",\"shape\":[1],\"datatype\":\"BOOL\","
                + "\"data\":[1]}]}"), 400, "element 0 is an integer, not true or false");
    }

    @Test
    void binaryProtocolErrors() {
        byte[] header = ("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
                + "\"parameters\":{\"binary_data_size\":12}}]}").getBytes(StandardCharsets.UTF_8);
        byte[] body = java.util.Arrays.copyOf(header, header.length + 8);
        assertError(http.post("/v2/models/mlp/infer", body, "Inference-Header-Content-Length",
                Integer.toString(header.length)), 400, "binary_data_size 12 exceeds the 8 binary bytes");
        byte[] nan = ByteBuffer.allocate(header.length + 12).order(ByteOrder.LITTLE_ENDIAN).put(header)
                .putFloat(1f).putFloat(Float.NaN).putFloat(2f).array();
        assertError(http.post("/v2/models/mlp/infer", nan, "Inference-Header-Content-Length",
                Integer.toString(header.length)), 400, "input 'x' element 1 is NaN");
        assertError(http.post("/v2/models/mlp/infer", header, "Inference-Header-Content-Length",
                Integer.toString(header.length + 1)), 400, "Inference-Header-Content-Length");
    }

    @Test
    void oversizedBodyIs413() {
        float[] big = new float[3 * 2000];
        assertError(http.postJson("/v2/models/mlp/infer", mlpRequest(big, "")), 413, "exceeds the limit of 16384");
        byte[] bigBody = mlpRequest(big, "").getBytes(StandardCharsets.UTF_8);
        assertError(http.postChunked("/v2/models/mlp/infer", bigBody), 413, "exceeds the limit of 16384");
        HttpResponse<byte[]> chunked = http.postChunked("/v2/models/mlp/infer",
                mlpRequest(GOOD_X, "").getBytes(StandardCharsets.UTF_8));
        assertEquals(200, chunked.statusCode(), new String(chunked.body(), StandardCharsets.UTF_8));
        assertMlpOutput(GOOD_X, Http.json(chunked));
    }

    @Test
    void concurrentRequestsAreAllAnsweredCorrectly() throws Exception {
        int threads = 8;
        int perThread = 50;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = 0; i < perThread; i++) {
                        float[] x = {thread, i * 0.25f, -thread + i * 0.1f, 1f, -i, thread * 0.5f};
                        HttpResponse<byte[]> r = http.postJson("/v2/models/mlp/infer",
                                mlpRequest(x, "\"id\":\"" + thread + "-" + i + "\","));
                        assertEquals(200, r.statusCode());
                        JsonNode body = Http.json(r);
                        assertEquals(thread + "-" + i, body.get("id").asText());
                        assertMlpOutput(x, body);
                        ok++;
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            assertEquals(threads * perThread, total);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void metricsInTextAndOpenMetrics() {
        assertStillServes();
        http.postJson("/v2/models/mlp/infer", "{bad");
        http.postJson("/v2/models/unknown-model-x/infer", "{}");
        HttpResponse<byte[]> text = http.get("/metrics");
        assertEquals(200, text.statusCode());
        String t = new String(text.body(), StandardCharsets.UTF_8);
        assertTrue(text.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        assertTrue(t.matches("(?s).*vigil_requests_total\\{model=\"mlp\",outcome=\"success\"} [1-9].*"), t);
        assertTrue(t.matches("(?s).*vigil_requests_total\\{model=\"mlp\",outcome=\"client_error\"} [1-9].*"), t);
        assertTrue(t.contains("vigil_request_duration_seconds_bucket{model=\"mlp\""));
        assertTrue(t.contains("vigil_inference_duration_seconds_count{model=\"mlp\"}"));
        assertTrue(t.contains("vigil_batch_size_bucket{model=\"mlp\",le=\"2.0\"}"));
        assertTrue(t.contains("vigil_tokens_total{model=\"mlp\"}"));
        assertFalse(t.contains("unknown-model-x"), "unknown model names must not become label values");
        HttpResponse<byte[]> om = http.get("/metrics", "Accept", "application/openmetrics-text; version=1.0.0");
        assertTrue(om.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"));
        assertTrue(new String(om.body(), StandardCharsets.UTF_8).trim().endsWith("# EOF"));
    }
}
