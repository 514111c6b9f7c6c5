package dev.vigil.server.batching;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.Http;
import dev.vigil.server.TestModelsAccess;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dynamic batching of plain tensor requests (stacked on the batch axis) on a MatMul+Add+Relu model with known
 * weights, checked against the hand computation; and the {@code dynamic_batching} settings a model fails to load
 * with.
 */
class BatchedMlpTest {
    /** {@code y = relu(x·W + b)}: the weights of the test MLP. */
    private static final double[][] W = {{1.0, -2.0}, {0.5, 1.5}, {-1.0, 0.25}};
    private static final double[] B = {0.1, -0.2};

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        Path source = TestModelsAccess.writeMlp(repo, "plain");
        for (String[] m : new String[][]{
                {"batched", "{\"max_batch_size\":8,\"dynamic_batching\":{\"max_queue_delay_us\":400000,"
                        + "\"preferred_batch_size\":[6]}}"},
                {"full", "{\"max_batch_size\":4,\"dynamic_batching\":{\"max_queue_delay_us\":60000000}}"},
                {"too-big", "{\"max_batch_size\":8,\"dynamic_batching\":{\"preferred_batch_size\":[16]}}"},
                {"unknown-key", "{\"dynamic_batching\":{\"max_queue_delay\":5}}"},
                {"negative", "{\"dynamic_batching\":{\"max_queue_delay_us\":-1}}"},
                {"cpu-unknown", "{\"dynamic_batching\":{\"cpu\":{\"run_cost\":5}}}"},
                {"cpu-zero", "{\"dynamic_batching\":{\"cpu\":{\"max_run_tokens\":0}}}"}}) {
            Path dir = Files.createDirectories(repo.resolve(m[0]));
            Files.copy(source.resolve("model.onnx"), dir.resolve("model.onnx"));
            Files.writeString(dir.resolve("config.json"), m[1]);
        }
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String request(float[] x) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < x.length; i++) {
            data.append(i > 0 ? "," : "").append(x[i]);
        }
        return "{\"inputs\":[{\"name\":\"x\",\"shape\":[" + x.length / 3 + ",3],\"datatype\":\"FP32\",\"data\":["
                + data + "]}]}";
    }

    private static double metric(String metrics, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{model=\"batched\"} (\\S+)$").matcher(metrics);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    @Test
    void concurrentRequestsAreStackedAndEachGetsItsOwnRows() throws Exception {
        List<float[]> inputs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            float[] x = new float[3 * (1 + i % 2)];
            for (int j = 0; j < x.length; j++) {
                x[j] = (i + 1) * 0.5f - j * 0.75f;
            }
            inputs.add(x);
        }
        ExecutorService pool = Executors.newFixedThreadPool(inputs.size());
        List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
        for (float[] x : inputs) {
            futures.add(pool.submit(() -> http.postJson("/v2/models/batched/infer", request(x))));
        }
        for (int i = 0; i < inputs.size(); i++) {
            HttpResponse<byte[]> r = futures.get(i).get();
            assertEquals(200, r.statusCode(), Http.text(r));
            JsonNode y = Http.json(r).get("outputs").get(0);
            float[] x = inputs.get(i);
            int rows = x.length / 3;
            assertEquals("[" + rows + ",2]", y.get("shape").toString());
            for (int row = 0; row < rows; row++) {
                for (int j = 0; j < 2; j++) {
                    double s = B[j];
                    for (int k = 0; k < 3; k++) {
                        s += x[row * 3 + k] * W[k][j];
                    }
                    assertEquals(Math.max(0, s), y.get("data").get(row * 2 + j).asDouble(), 1e-5, "request " + i);
                }
            }
        }
        pool.shutdown();
        String metrics = Http.text(http.get("/metrics"));
        assertEquals(9, metric(metrics, "vigil_batch_size_sum"), metrics);
        assertTrue(metric(metrics, "vigil_batch_size_count") < 6, metrics);
        assertEquals(6, metric(metrics, "vigil_batch_queue_delay_seconds_count"), metrics);
    }

    @Test
    void aFullBatchRunsAtOnceWithoutWaitingForTheDelay() throws Exception {
        // the delay is a minute: only a batch that goes as soon as it holds max_batch_size rows answers in time
        ExecutorService pool = Executors.newFixedThreadPool(4);
        long t0 = System.nanoTime();
        List<Future<HttpResponse<byte[]>>> futures = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            float[] x = {i, 1, -i};
            futures.add(pool.submit(() -> http.postJson("/v2/models/full/infer", request(x))));
        }
        for (Future<HttpResponse<byte[]>> f : futures) {
            HttpResponse<byte[]> r = f.get();
            assertEquals(200, r.statusCode(), Http.text(r));
        }
        pool.shutdown();
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(seconds < 30, "a full batch waited " + seconds + " s");
    }

    @Test
    void invalidSettingsKeepTheModelFromLoadingWithTheReason() {
        String[][] cases = {{"too-big", "preferred_batch_size 16 exceeds the model's max_batch_size 8"},
                {"unknown-key", "unknown key 'max_queue_delay'"},
                {"negative", "max_queue_delay_us' must be an integer from 0"},
                {"cpu-unknown", "'dynamic_batching.cpu' has unknown key 'run_cost'"},
                {"cpu-zero", "'dynamic_batching.cpu.max_run_tokens' must be an integer from 1"}};
        for (String[] c : cases) {
            HttpResponse<byte[]> r = http.get("/v2/models/" + c[0] + "/ready");
            assertEquals(503, r.statusCode(), Http.text(r));
            String error = Http.json(r).get("error").asText();
            assertTrue(error.contains(c[1]), error);
        }
    }
}
