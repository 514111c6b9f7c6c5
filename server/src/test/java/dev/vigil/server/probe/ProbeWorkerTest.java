package dev.vigil.server.probe;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.TapTensor;
import io.prometheus.metrics.core.metrics.Histogram;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The probe worker's bounded queue: a producer faster than the statistics loses requests, and counts each one. */
class ProbeWorkerTest {
    @Test
    void fullQueueDropsAndCountsEveryRequest() throws Exception {
        ProbeSite site = new ProbeSite(SiteKind.RESIDUAL, 0, "h", List.of(), "LayerNormalization");
        ProbedModel model = new ProbedModel("m", ProbeSettings.defaults(), List.of(site), 1, new TapMemoryBudget(1L << 30), Set.of());
        // 1 x 2048 tokens x 512 channels: each observe takes far longer than queueing the next request
        int tokens = 2048;
        int channels = 512;
        FloatBuffer data = FloatBuffer.allocate(tokens * channels);
        for (int i = 0; i < data.capacity(); i++) {
            data.put(i, (float) Math.sin(i));
        }
        ProbedBatch batch = new ProbedBatch(1, tokens, null,
                Map.of("h", new TapTensor(data, new long[]{1, tokens, channels})));
        Histogram duration = Histogram.builder().name("vigil_probe_duration_seconds").labelNames("model").build();
        int sent = 50;
        int accepted = 0;
        try (ProbeWorker worker = new ProbeWorker(1, duration)) {
            for (int i = 0; i < sent; i++) {
                accepted += worker.submit(model, batch, () -> { }) ? 1 : 0;
            }
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (model.probe().snapshot().probedRequests() < accepted && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }
        assertTrue(model.dropped() > 0, "a queue of 1 cannot take 50 requests at once");
        assertEquals(sent - accepted, model.dropped());
        assertEquals(accepted, model.probe().snapshot().probedRequests(), "every accepted request is observed");
        assertEquals(sent, model.probe().snapshot().probedRequests() + model.dropped());
    }
}
