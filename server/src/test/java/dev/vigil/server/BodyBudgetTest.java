package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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
 * The request memory budget: bodies in progress and the tensors decoded from them never hold more than
 * {@code --body-budget-mb}; a request that would go over is refused before its memory is taken (503 while others
 * hold the budget, 413 when it alone needs more), and every byte returns to the budget when a request ends.
 */
@Timeout(120)
class BodyBudgetTest {
    private static final int MIB = 1 << 20;
    private static final long BUDGET = 4L * MIB;
    private static final Pattern HELD = Pattern.compile("(?m)^vigil_request_memory_bytes (\\S+)$");

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;
    private static int port;

    @BeforeAll
    static void start() throws IOException {
        TestModels.writeMlp(repo, "mlp");
        TestModels.writeTyped(repo, "typed");
        server = new VigilServer(TestServers.cpu(repo)
                .intraOpThreads(1).maxBatchSize(1 << 20).maxBodyBytes(6L * MIB).bodyBudgetMb(BUDGET / MIB)
                .maxInflight(2).build());
        port = server.start();
        http = new Http(port);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** An mlp request of about {@code bytes} bytes of JSON (rows of three small floats). */
    private static String mlpBody(int bytes) {
        int rows = Math.max(1, bytes / 12);
        StringBuilder b = new StringBuilder(bytes + 200);
        b.append("{\"inputs\":[{\"name\":\"x\",\"shape\":[").append(rows).append(",3],\"datatype\":\"FP32\",\"data\":[");
        for (int i = 0; i < rows * 3; i++) {
            b.append(i > 0 ? "," : "").append("0.5");
        }
        return b.append("]}]}").toString();
    }

    private static double held() {
        Matcher m = HELD.matcher(Http.text(http.get("/metrics")));
        assertTrue(m.find(), "vigil_request_memory_bytes is exported");
        return Double.parseDouble(m.group(1));
    }

    private static void awaitHeld(double bytes) throws InterruptedException {
        for (int i = 0; i < 200 && held() != bytes; i++) {
            Thread.sleep(50);
        }
        assertEquals(bytes, held(), "request memory held");
    }

    private static void assertError(HttpResponse<byte[]> r, int status, String... fragments) {
        assertEquals(status, r.statusCode(), Http.text(r));
        JsonNode error = Http.json(r).get("error");
        assertTrue(error != null && error.isTextual(), Http.text(r));
        for (String f : fragments) {
            assertTrue(error.asText().contains(f), "'" + error.asText() + "' should contain '" + f + "'");
        }
    }

    @Test
    void bodiesInProgressHoldTheBudgetAndOthersAre503UntilTheyEnd() throws Exception {
        awaitHeld(0);
        List<Socket> holders = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.getOutputStream().write(("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nContent-Length: "
                        + MIB + "\r\n\r\n{").getBytes(StandardCharsets.ISO_8859_1));
                holders.add(s);
            }
            awaitHeld(3.0 * MIB);
            String big = mlpBody(3 * MIB / 2);
            assertError(http.postJson("/v2/models/mlp/infer", big), 503, "overloaded", "--body-budget-mb");
            assertEquals(200, http.postJson("/v2/models/mlp/infer", mlpBody(1000)).statusCode(),
                    "a request that fits what is left is served");
            for (Socket s : holders) {
                s.close();
            }
            awaitHeld(0);
            HttpResponse<byte[]> r = http.postJson("/v2/models/mlp/infer", big);
            assertEquals(200, r.statusCode(), Http.text(r));
        } finally {
            for (Socket s : holders) {
                s.close();
            }
        }
    }

    @Test
    void oneRequestOverTheWholeBudgetIs413BeforeItsBodyIsRead() throws Exception {
        String body = mlpBody(5 * MIB);
        assertError(http.postJson("/v2/models/mlp/infer", body), 413, "--body-budget-mb");
        assertError(http.postChunked("/v2/models/mlp/infer", body.getBytes(StandardCharsets.UTF_8)), 413,
                "--body-budget-mb");
        awaitHeld(0);
    }

    @Test
    void decodedTensorsCountToo() throws Exception {
        // 450,000 INT64 ones: 0.9 MB of JSON that decodes to 3.6 MB, 4.5 MB together, over the 4 MiB budget
        int n = 450_000;
        StringBuilder b = new StringBuilder("{\"inputs\":[{\"name\":\"a\",\"shape\":[" + n + "],\"datatype\":\"INT64\","
                + "\"data\":[");
        for (int i = 0; i < n; i++) {
            b.append(i > 0 ? ",1" : "1");
        }
        String body = b.append("]}]}").toString();
        assertTrue(body.length() < BUDGET && body.length() + 8L * n > BUDGET);
        assertError(http.postJson("/v2/models/typed/infer", body), 413, "decoded tensors", "--body-budget-mb");
        awaitHeld(0);
    }

    @Test
    void concurrentBigBodiesAreServedOrRefusedNeverFailed() throws Exception {
        String big = mlpBody(MIB);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<HttpResponse<byte[]>>> replies = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                replies.add(pool.submit(() -> new Http(port).postJson("/v2/models/mlp/infer", big)));
            }
            int ok = 0;
            for (Future<HttpResponse<byte[]>> f : replies) {
                HttpResponse<byte[]> r = f.get();
                if (r.statusCode() == 200) {
                    ok++;
                } else {
                    assertError(r, 503, "overloaded");
                }
            }
            assertTrue(ok > 0, "some of the requests are served");
        } finally {
            pool.shutdownNow();
        }
        awaitHeld(0);
    }
}
