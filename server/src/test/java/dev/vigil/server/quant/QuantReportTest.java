package dev.vigil.server.quant;

import static dev.vigil.server.Http.assertError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.Http;
import dev.vigil.server.TestServers;
import dev.vigil.server.VigilServer;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /quantized/report} over real HTTP on the bundled planted-outliers model, whose residual input {@code x}
 * carries a 1600 outlier in channel 0: quantized with that range, every other value of {@code x} rounds to 0 and the
 * router output loses its signal. The report must rank {@code x} first, advise keeping it float, and its measured
 * fidelity must equal an independent ONNX Runtime run of {@code GET /quantized?keep_fp32=<advice>} on the same
 * requests.
 */
class QuantReportTest {
    private static final Path MODELS = Path.of("..", "models");
    private static final String PLANTED = "planted-outliers";
    private static final int T = 16;
    private static final double TARGET = 0.99;

    @TempDir
    static Path repo;
    static VigilServer server;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        // two requests of 64 tokens close window 0; both are recorded (the reservoir holds 16)
        TestServers.copyModel(MODELS.resolve(PLANTED), repo, PLANTED,
                "{\"max_batch_size\": 8, \"probe\": {\"window_tokens\": 128}}");
        server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build());
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void reportRanksThePlantedSiteFirstAndItsAdviceMeasuresAsTheExport() throws Exception {
        String base = "/v2/models/" + PLANTED;
        assertError(http.get(base + "/quantized/report"), 409, "no closed calibration window");
        for (String bad : List.of("abc", "0", "-0.5", "1.5", "NaN", "Infinity", "")) {
            if (!bad.isEmpty()) {
                assertError(http.get(base + "/quantized/report?target_cosine=" + bad), 400, "target_cosine");
            }
        }
        assertError(http.get(base + "/quantized/report?calibration=minmax"), 400, "unknown calibration 'minmax'");
        assertError(http.get("/v2/models/nope/quantized/report"), 404, "unknown model 'nope'");

        Random rnd = new Random(7);
        List<long[][]> sent = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            long[][] ids = TokenRequests.plantedIds(rnd, 4, T);
            sent.add(ids);
            HttpResponse<byte[]> resp = http.postJson(base + "/infer", TokenRequests.json(ids, true));
            assertEquals(200, resp.statusCode(), Http.text(resp));
        }
        TokenRequests.closedCalibration(http, PLANTED);

        String query = base + "/quantized/report?calibration=absmax&target_cosine=" + TARGET;
        JsonNode report = finished(query);
        System.out.println("planted-outliers report: " + report.toPrettyString());
        assertEquals(0, report.path("window").path("index").asInt());
        assertEquals(2, report.path("recorded_requests").asInt());
        assertEquals("x", report.path("sites").path(0).path("tensor").asText(), report.toString());
        double xAlone = report.path("sites").path(0).path("cosine_mean_alone").asDouble();
        double next = report.path("sites").path(1).path("cosine_mean_alone").asDouble();
        assertTrue(xAlone < next - 0.1, "x alone " + xAlone + " vs the next site " + next);
        double allInt8 = report.path("all_int8").path("cosine_mean").asDouble();
        assertTrue(allInt8 < TARGET, "all int8 " + allInt8);
        JsonNode advice = report.path("advice");
        List<String> keep = new ArrayList<>();
        advice.path("keep_fp32").forEach(k -> keep.add(k.asText()));
        assertEquals("x", keep.get(0));
        assertTrue(advice.path("reached").asBoolean(), advice.toString());
        double measured = advice.path("measured").path("cosine_mean").asDouble();
        assertTrue(measured >= TARGET && measured > allInt8 + 0.1, measured + " vs all int8 " + allInt8);
        // cost: one float reference, all int8, and one pass per site
        int sites = report.path("sites").size();
        assertEquals(2 + sites, report.path("cost").path("sweep").path("passes").asInt());
        assertEquals(2L * (2 + sites), report.path("cost").path("sweep").path("runs").asLong());

        // the same advice again is answered from the cache, at once
        HttpResponse<byte[]> again = http.get(query);
        assertEquals(200, again.statusCode(), Http.text(again));
        assertEquals(advice, Http.json(again).path("advice"));

        // independent: the export the advice names, run in ORT on the requests that were sent
        HttpResponse<byte[]> export = http.get(base + "/quantized?calibration=absmax&keep_fp32="
                + URLEncoder.encode(String.join(",", keep), StandardCharsets.UTF_8));
        assertEquals(200, export.statusCode(), Http.text(export));
        byte[] floatModel = Files.readAllBytes(MODELS.resolve(PLANTED).resolve("model.onnx"));
        Map<String, double[]> cos = new LinkedHashMap<>();
        for (long[][] ids : sent) {
            Map<String, OfflineRun.Output> f = OfflineRun.runUnmasked(floatModel, ids);
            Map<String, OfflineRun.Output> q = OfflineRun.runUnmasked(export.body(), ids);
            for (String o : f.keySet()) {
                double[] acc = cos.computeIfAbsent(o, k -> new double[2]);
                for (double c : rowCosines(f.get(o), q.get(o), ids.length)) {
                    acc[0] += c;
                    acc[1]++;
                }
            }
        }
        double offline = Double.POSITIVE_INFINITY;
        for (double[] acc : cos.values()) {
            offline = Math.min(offline, acc[0] / acc[1]);
        }
        assertEquals(offline, measured, 1e-9, "report " + measured + " vs offline " + offline);

        // the health page's JSON carries the advice
        JsonNode health = Http.json(http.get("/api/health"));
        JsonNode shown = health.path("models").path(0).path("quant_advice");
        assertEquals(keep.get(0), shown.path("keep").path(0).path("tensor").asText(), shown.toString());
        assertEquals(TARGET, shown.path("target_cosine").asDouble());
    }

    /** Cosine of each row: an unmasked token of a [B, T, ...] output (every token here), else a sequence. */
    private static double[] rowCosines(OfflineRun.Output a, OfflineRun.Output b, int batch) {
        boolean tokens = a.shape().length >= 3 && a.shape()[0] == batch && a.shape()[1] == T;
        int rows = tokens ? batch * T : (int) a.shape()[0];
        return OfflineRun.rowCosines(a.data(), b.data(), a.data().length / rows);
    }

    /** Polls (bounded) while the report answers 202; returns the 200 body. */
    private static JsonNode finished(String path) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            HttpResponse<byte[]> r = http.get(path);
            if (r.statusCode() == 200) {
                return Http.json(r);
            }
            assertEquals(202, r.statusCode(), Http.text(r));
            assertEquals("measuring", Http.json(r).path("status").asText());
            Thread.sleep(100);
        }
        throw new AssertionError("the report did not finish: " + path);
    }
}
