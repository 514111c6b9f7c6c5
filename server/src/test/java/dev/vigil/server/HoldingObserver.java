package dev.vigil.server;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.serving.RunObserver;
import dev.vigil.server.serving.RunTaps;
import dev.vigil.server.serving.ServedModel;

import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A run observer that holds the run of the request whose id is {@value #HOLD} (so that its inference slot stays
 * taken, or its client can go away meanwhile) until {@link #release()}, at most 30 s; it taps nothing.
 */
final class HoldingObserver implements RunObserver {
    static final String HOLD = "hold";
    private final CountDownLatch running = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);

    @Override
    public RunTaps beforeRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds) {
        if (HOLD.equals(request.id())) {
            running.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return RunTaps.NONE;
    }

    @Override
    public Map<String, JsonNode> onRun(ServedModel model, InferRequest request, Map<String, OnnxTensor> feeds,
                                       OrtSession.Result result, RunTaps taps) {
        return Map.of();
    }

    /** Whether the held request started its run within 30 s. */
    boolean awaitRunning() throws InterruptedException {
        return running.await(30, TimeUnit.SECONDS);
    }

    /** Lets the held run go on. */
    void release() {
        release.countDown();
    }
}
