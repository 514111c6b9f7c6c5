package dev.vigil.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code vigil_requests_total{outcome}} as a started server counts it: every outcome present at 0 from the start,
 * a refused request for want of a slot counted as {@code overloaded}, a request to a model that failed to load as
 * {@code unavailable}, neither as {@code server_error}; and the failed model's reason shows no server path.
 */
class ServingOutcomesTest {
    private static final String[] OUTCOMES = {"success", "client_error", "overloaded", "unavailable", "server_error"};
    private static final String REQUEST = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
            + "\"data\":[1,2,3]}]}";

    @TempDir
    static Path repo;
    private static VigilServer server;
    private static Http http;
    private static final HoldingObserver holding = new HoldingObserver();

    @BeforeAll
    static void start() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        Files.createDirectories(repo.resolve("empty"));
        Files.write(Files.createDirectories(repo.resolve("corrupt")).resolve("model.onnx"),
                "not ONNX".getBytes(StandardCharsets.UTF_8));
        server = new VigilServer(TestServers.cpu(repo).maxInflight(1).maxQueue(0).intraOpThreads(1).build(), holding);
        http = new Http(server.start());
    }

    @AfterAll
    static void stop() {
        holding.release();
        server.close();
    }

    private static double count(String model, String outcome) {
        String text = Http.text(http.get("/metrics"));
        Matcher m = Pattern.compile("(?m)^vigil_requests_total\\{model=\"" + model + "\",outcome=\"" + outcome
                + "\"} (\\S+)$").matcher(text);
        assertTrue(m.find(), "no series for " + model + "/" + outcome + " in\n" + text);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void everyOutcomeOfEveryModelIsExposedFromTheStart() throws Exception {
        // a fresh server of its own: the shared one has counted requests by now
        try (VigilServer fresh = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).build())) {
            String text = Http.text(new Http(fresh.start()).get("/metrics"));
            for (String model : new String[]{"mlp", "empty", "corrupt"}) {
                for (String outcome : OUTCOMES) {
                    assertTrue(text.contains("vigil_requests_total{model=\"" + model + "\",outcome=\"" + outcome
                            + "\"} 0.0"), model + "/" + outcome + " in\n" + text);
                }
            }
        }
    }

    @Test
    void aRequestRefusedForWantOfASlotIsOverloadedNotAServerError() throws Exception {
        double overloaded = count("mlp", "overloaded");
        double serverErrors = count("mlp", "server_error");
        CompletableFuture<HttpResponse<byte[]>> held = CompletableFuture.supplyAsync(
                () -> http.postJson("/v2/models/mlp/infer", "{\"id\":\"hold\"," + REQUEST.substring(1)));
        assertTrue(holding.awaitRunning(), "the held request never ran");
        HttpResponse<byte[]> refused = http.postJson("/v2/models/mlp/infer", REQUEST);
        holding.release();
        assertEquals(503, refused.statusCode(), Http.text(refused));
        assertTrue(Http.json(refused).get("error").asText().contains("overloaded"), Http.text(refused));
        assertEquals(200, held.get(30, TimeUnit.SECONDS).statusCode());
        assertEquals(overloaded + 1, count("mlp", "overloaded"));
        assertEquals(serverErrors, count("mlp", "server_error"));
    }

    @Test
    void aModelThatFailedToLoadIsUnavailableAndItsReasonShowsNoServerPath() {
        double unavailable = count("empty", "unavailable");
        for (String model : new String[]{"empty", "corrupt"}) {
            for (HttpResponse<byte[]> r : java.util.List.of(http.postJson("/v2/models/" + model + "/infer", REQUEST),
                    http.get("/v2/models/" + model + "/ready"), http.get("/v2/models/" + model))) {
                assertEquals(503, r.statusCode());
                String error = Http.json(r).get("error").asText();
                assertTrue(error.contains("not ready"), error);
                assertFalse(error.contains(repo.toString()) || error.contains(repo.toAbsolutePath().toString())
                        || error.contains(System.getProperty("java.io.tmpdir")), error);
            }
        }
        assertTrue(Http.json(http.get("/v2/models/empty")).get("error").asText().contains("no model.onnx in empty"));
        assertEquals(unavailable + 1, count("empty", "unavailable"));
        assertEquals(0, count("empty", "server_error"));
        assertEquals(0, count("corrupt", "server_error"));
    }
}
