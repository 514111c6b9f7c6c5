package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * All-JSON responses go out as they are formatted: one larger than the server's output buffer arrives chunked, a
 * small one whole with its Content-Length; both read off the wire and checked against the hand computation of the
 * MatMul+Add+Relu model.
 */
class StreamedJsonResponseTest {
    @TempDir
    static Path repo;
    private static VigilServer server;
    private static RawHttp raw;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        server = new VigilServer(TestServers.cpu(repo).maxBatchSize(8192).intraOpThreads(1).build());
        int port = server.start();
        raw = new RawHttp(port);
        http = new Http(port);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static float[] rows(int n) {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[n * 3];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    private static String request(float[] x) {
        StringBuilder data = new StringBuilder();
        for (int i = 0; i < x.length; i++) {
            data.append(i > 0 ? "," : "").append(x[i]);
        }
        return "{\"inputs\":[{\"name\":\"x\",\"shape\":[" + x.length / 3 + ",3],\"datatype\":\"FP32\",\"data\":["
                + data + "]}]}";
    }

    private static RawHttp.Reply post(String body) {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return raw.exchange("POST /v2/models/mlp/infer HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + b.length + "\r\n\r\n" + body);
    }

    /** relu(x·W + b) in double precision, against every output element. */
    private static void assertMlp(float[] x, JsonNode response) {
        JsonNode y = response.get("outputs").get(0);
        assertEquals(x.length / 3, y.get("shape").get(0).asInt());
        assertEquals(x.length / 3 * 2, y.get("data").size());
        for (int r = 0; r < x.length / 3; r++) {
            for (int j = 0; j < 2; j++) {
                double s = TestModels.B[j];
                for (int k = 0; k < 3; k++) {
                    s += (double) x[r * 3 + k] * TestModels.W[k][j];
                }
                assertEquals(Math.max(0, s), y.get("data").get(r * 2 + j).asDouble(), 1e-5, "y[" + r + "," + j + "]");
            }
        }
    }

    @Test
    void aLargeResponseIsChunkedAndComplete() throws Exception {
        float[] x = rows(6000);
        RawHttp.Reply r = post(request(x));
        assertEquals(200, r.status(), r.text());
        assertEquals("chunked", r.header("transfer-encoding"));
        assertNull(r.header("content-length"));
        assertEquals("application/json", r.header("content-type").split(";")[0]);
        assertMlp(x, Http.JSON.readTree(r.body()));
        // and through the JDK's HTTP client, as the other tests' requests go
        assertMlp(x, Http.json(http.postJson("/v2/models/mlp/infer", request(x))));
    }

    @Test
    void aSmallResponseKeepsItsContentLength() throws Exception {
        float[] x = rows(2);
        RawHttp.Reply r = post(request(x));
        assertEquals(200, r.status(), r.text());
        assertEquals(Integer.toString(r.body().length), r.header("content-length"));
        assertNull(r.header("transfer-encoding"));
        assertMlp(x, Http.JSON.readTree(r.body()));
    }
}
