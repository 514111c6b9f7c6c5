package dev.vigil.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The heap that copies of taps ONNX Runtime allocated may take is bounded by {@code --probe-copy-mb}, over a started
 * server: the MLP's one site is its graph input x, which a run never writes into reused buffers, so every probed
 * request copies it ({@code rows} x 3 floats). A request whose copy does not fit is answered but not probed and
 * counted as dropped; the room comes back once the statistics have read a request.
 */
class TapCopiesTest {
    /** 1 MiB of copies: 80,000 rows (960,000 bytes) fit, 100,000 (1,200,000 bytes) do not. */
    private static final int FITS = 80_000;
    private static final int TOO_MANY = 100_000;

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).probeWarmUpMs(0).probeCopyMb(1)
                .maxBatchSize(TOO_MANY).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String request(int rows) {
        StringBuilder sb = new StringBuilder("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[")
                .append(rows).append(",3],\"data\":[");
        for (int i = 0; i < rows * 3; i++) {
            sb.append(i == 0 ? "" : ",").append(i % 7 - 3);
        }
        return sb.append("]}]}").toString();
    }

    private static double metric(String name) {
        String text = Http.text(http.get("/metrics"));
        Matcher m = Pattern.compile("(?m)^" + name + "\\{model=\"mlp\"} (\\S+)$").matcher(text);
        assertTrue(m.find(), name + " in\n" + text);
        return Double.parseDouble(m.group(1));
    }

    private static JsonNode inspect(int rows) {
        HttpResponse<byte[]> resp = http.postJson("/v2/models/mlp/infer?inspect=true", request(rows));
        assertEquals(200, resp.statusCode(), Http.text(resp));
        JsonNode json = Http.json(resp);
        assertEquals(rows, json.path("outputs").path(0).path("shape").path(0).asInt(), "the request is answered");
        return json.path("probe_summary");
    }

    private static void awaitProbed(double count) throws InterruptedException {
        for (int i = 0; i < 300 && metric("vigil_probe_requests_total") < count; i++) {
            Thread.sleep(20);
        }
        assertEquals(count, metric("vigil_probe_requests_total"));
    }

    @Test
    void aRequestWhoseTapCopiesDoNotFitIsServedButNotProbedAndTheRoomComesBack() throws Exception {
        JsonNode refused = inspect(TOO_MANY);
        assertTrue(refused.path("error").asText().contains("1200000 bytes")
                && refused.path("error").asText().contains("--probe-copy-mb"), refused.toString());
        assertEquals(1, metric("vigil_probe_dropped_total"));
        assertEquals(0, metric("vigil_probe_requests_total"));
        // each fits alone, two together do not: the third is probed only if the first two gave their room back
        for (int i = 1; i <= 3; i++) {
            JsonNode summary = inspect(FITS);
            assertFalse(summary.has("error"), summary.toString());
            awaitProbed(i);
        }
        assertEquals(1, metric("vigil_probe_dropped_total"));
    }
}
