package dev.vigil.server.probe;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.TapTensor;
import io.prometheus.metrics.core.metrics.Histogram;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe workers' bounded queue: a producer faster than the statistics loses requests and counts each one; a
 * request waits a bounded time for room; one model's requests are observed one at a time while another model's
 * proceed on another worker.
 */
class ProbeWorkerTest {
    private static final long MINUTE_NS = 60_000_000_000L;

    private static ProbedModel model(String name) {
        ProbeSite site = new ProbeSite(SiteKind.RESIDUAL, 0, "h", List.of(), "LayerNormalization");
        return new ProbedModel(name, ProbeSettings.defaults(), List.of(site), 1, new TapMemoryBudget(1L << 30),
                Set.of());
    }

    private static ProbedBatch small() {
        FloatBuffer data = FloatBuffer.allocate(4 * 8);
        for (int i = 0; i < data.capacity(); i++) {
            data.put(i, (float) Math.cos(i));
        }
        return new ProbedBatch(1, 4, null, Map.of("h", new TapTensor(data, new long[]{1, 4, 8})));
    }

    private static Histogram duration() {
        return Histogram.builder().name("vigil_probe_duration_seconds").labelNames("model").build();
    }

    private static void awaitProbed(ProbedModel model, long requests) throws InterruptedException {
        long deadline = System.nanoTime() + MINUTE_NS;
        while (model.probe().snapshot().probedRequests() < requests && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(requests, model.probe().snapshot().probedRequests(), model.name() + " probed requests");
    }

    @Test
    void aFullQueueWaitsBoundedThenDrops() throws Exception {
        ProbedModel m = model("m");
        CountDownLatch hold = new CountDownLatch(1);
        try (ProbeWorker worker = new ProbeWorker(1, 1, 300, duration())) {
            // the worker is held inside the first request's completion, the second fills the queue
            assertTrue(worker.submit(m, small(), () -> await(hold)));
            awaitProbed(m, 1);
            assertTrue(worker.submit(m, small(), () -> { }));
            long t0 = System.nanoTime();
            assertFalse(worker.submit(m, small(), () -> { }), "no room within the wait");
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(waitedMs >= 290 && waitedMs < 30_000, "waited " + waitedMs + " ms for a 300 ms bound");
            assertEquals(1, m.dropped());
            // room comes within the wait: the request waits for it instead of being dropped
            Thread release = new Thread(() -> {
                sleep(100);
                hold.countDown();
            });
            release.start();
            assertTrue(worker.submit(m, small(), () -> { }), "room came 100 ms into a 300 ms wait");
            release.join();
            awaitProbed(m, 3);
            assertEquals(1, m.dropped());
        } finally {
            hold.countDown();
        }
    }

    @Test
    void oneModelAtATimeOthersOnAnotherWorker() throws Exception {
        ProbedModel a = model("a");
        ProbedModel b = model("b");
        CountDownLatch hold = new CountDownLatch(1);
        try (ProbeWorker worker = new ProbeWorker(8, 2, 0, duration())) {
            assertTrue(worker.submit(a, small(), () -> await(hold)));
            awaitProbed(a, 1);
            assertTrue(worker.submit(a, small(), () -> { }));
            assertTrue(worker.submit(b, small(), () -> { }));
            assertTrue(worker.submit(b, small(), () -> { }));
            awaitProbed(b, 2);
            Thread.sleep(200);
            assertEquals(1, a.probe().snapshot().probedRequests(), "a's second request waits for its first");
            hold.countDown();
            awaitProbed(a, 2);
        } finally {
            hold.countDown();
        }
        assertEquals(0, a.dropped() + b.dropped());
    }

    @Test
    void concurrentProducersWithAWaitLoseNothing() throws Exception {
        List<ProbedModel> models = List.of(model("a"), model("b"), model("c"));
        int threads = 6;
        int each = 40;
        try (ProbeWorker worker = new ProbeWorker(2, 2, 30_000, duration())) {
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                ProbedModel m = models.get(t % models.size());
                Thread producer = new Thread(() -> {
                    for (int i = 0; i < each; i++) {
                        worker.submit(m, small(), () -> { });
                    }
                });
                producers.add(producer);
                producer.start();
            }
            for (Thread producer : producers) {
                producer.join();
            }
            for (ProbedModel m : models) {
                awaitProbed(m, (long) each * threads / models.size());
                assertEquals(0, m.dropped(), m.name());
            }
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

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
        try (ProbeWorker worker = new ProbeWorker(1, 1, 0, duration)) {
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
