package dev.vigil.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stopping a server (SIGTERM runs {@link VigilServer#close()}) while a request runs: readiness fails and new
 * inference requests get 503 at once, the running request still gets its 200, and only then are the models'
 * sessions closed. Before, the sessions were closed under the running request: on a real model ONNX Runtime then
 * crashed the JVM (SIGSEGV in libonnxruntime, exit 134) and every request in flight lost its connection.
 */
@Timeout(60)
class GracefulShutdownTest {
    private static final String REQUEST = "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
            + "\"data\":[1,2,3]}]}";

    @TempDir
    static Path repo;

    @Test
    void aRequestInProgressFinishesWhileNewOnesAreRefusedAndTheServerIsNotReady() throws Exception {
        TestModels.writeMlp(repo, "mlp");
        HoldingObserver holding = new HoldingObserver();
        VigilServer server = new VigilServer(TestServers.cpu(repo).intraOpThreads(1).shutdownTimeoutMs(20_000)
                .build(), holding);
        Http http = new Http(server.start());
        assertEquals(200, http.get("/v2/health/ready").statusCode());
        CompletableFuture<HttpResponse<byte[]>> held = CompletableFuture.supplyAsync(() -> http.postJson(
                "/v2/models/mlp/infer", "{\"id\":\"" + HoldingObserver.HOLD + "\"," + REQUEST.substring(1)));
        assertTrue(holding.awaitRunning(), "the held request never ran");

        CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close);
        HttpResponse<byte[]> ready = http.get("/v2/health/ready");
        for (int i = 0; i < 100 && ready.statusCode() == 200; i++) {
            Thread.sleep(20);
            ready = http.get("/v2/health/ready");
        }
        Http.assertError(ready, 503, "shutting down");
        Http.assertError(http.postJson("/v2/models/mlp/infer", REQUEST), 503, "shutting down");
        assertFalse(closing.isDone(), "close waits for the request in progress");

        holding.release();
        HttpResponse<byte[]> answered = held.get(30, TimeUnit.SECONDS);
        assertEquals(200, answered.statusCode(), Http.text(answered));
        assertEquals(2, Http.json(answered).path("outputs").path(0).path("data").size());
        closing.get(30, TimeUnit.SECONDS);
    }
}
