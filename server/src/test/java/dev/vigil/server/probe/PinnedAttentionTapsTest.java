package dev.vigil.server.probe;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.probes.stats.AttentionSnapshot;
import dev.vigil.probes.stats.ModelProbe;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.QuantSnapshot;
import dev.vigil.probes.stats.SiteSnapshot;
import dev.vigil.server.protocol.InferRequest;
import dev.vigil.server.protocol.InferRequestParser;
import dev.vigil.server.protocol.InferResponse;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.ModelConfig;
import dev.vigil.server.serving.ModelPreparer;
import dev.vigil.server.serving.ModelSession;
import dev.vigil.server.serving.SessionFactory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pinned taps of MiniLM, whose attention maps are {@code [B, 12, T, T]}: a first request of exactly 12 tokens must
 * not make the pool take the 12 heads for T (every longer request would then fail pinned and run twice). Then
 * concurrent requests of mixed batch sizes and lengths, which reuse pooled sets of many (B, T), must all get the
 * unprobed model's exact output, never trip a wrongly shaped set, and feed the statistics exactly what ONNX Runtime
 * computes when it allocates the taps itself.
 */
class PinnedAttentionTapsTest {
    private static final Path MINILM = Path.of("../models/all-minilm-l6-v2");
    private static final int HEADS = 12;
    private static final int THREADS = 4;
    private static final int REQUESTS_PER_THREAD = 12;
    private static final String OUTPUT = "output_0";

    @Test
    void attentionTapsFollowTheirDeclaredHeadsAndConcurrentReuseSeesOnlyRightSets() throws Exception {
        byte[] bytes = Files.readAllBytes(MINILM.resolve("model.onnx"));
        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 1);
        ModelConfig config = new ModelConfig(8, 512, new ObjectMapper().readTree("{\"window_tokens\": 10000000}"));
        try (ProbeLayer layer = new ProbeLayer(new ProbeCapacity(64, 2, 60_000), THREADS, 1L << 30, 0, 1, 512,
                new PrometheusRegistry())) {
            ModelPreparer.Prepared prepared = layer.prepare("m", config, bytes);
            try (PlainAndTapped run = PlainAndTapped.open(factory, bytes, prepared, config, layer)) {
                ProbedModel probed = layer.probed("m");
                TapBufferPool pool = probed.buffers();
                assertTrue(probed.taps().size() > 6, "MiniLM has attention and activation taps: " + probed.taps());

                Random random = new Random(11);
                List<long[][]> served = new ArrayList<>();
                // B = 2, T = 12 = heads: the run the pool learns the tap shapes from
                served.add(serve(run, tokens(random, 2, HEADS)));
                waitForProbed(probed, 1);
                assertTrue(pool.pinning(), "the shapes were learned from the first run");
                served.add(serve(run, tokens(random, 2, 15)));
                waitForProbed(probed, 2);
                assertEquals(0, pool.mismatches(), "the 15-token run wrote into a set of the learned shapes");
                assertEquals(1, pool.live(), "its set went back to the pool for the next (2, 15) request");

                ExecutorService clients = Executors.newFixedThreadPool(THREADS);
                try {
                    List<Future<List<long[][]>>> futures = new ArrayList<>();
                    for (int c = 0; c < THREADS; c++) {
                        Random own = new Random(100 + c);
                        futures.add(clients.submit(() -> {
                            List<long[][]> mine = new ArrayList<>();
                            for (int r = 0; r < REQUESTS_PER_THREAD; r++) {
                                // few shapes, so that sets are reused while other threads' runs are in flight
                                int b = 1 + own.nextInt(3);
                                int t = HEADS - 2 + own.nextInt(5);
                                mine.add(serve(run, tokens(own, b, t)));
                            }
                            return mine;
                        }));
                    }
                    for (Future<List<long[][]>> f : futures) {
                        served.addAll(f.get(120, TimeUnit.SECONDS));
                    }
                } finally {
                    clients.shutdownNow();
                }
                waitForProbed(probed, served.size());
                assertEquals(0, pool.mismatches(), "no request ran with a set of wrong shapes");
                assertTrue(pool.pinning());
                assertEquals(0, probed.dropped());

                assertSameStatistics(reference(probed, run.tappedSession(), served), probed.probe().snapshot());
            }
        }
    }

    /** Serves one request of ids and mask to both models; asserts the outputs are bit-identical. */
    private static long[][] serve(PlainAndTapped run, long[][] request) {
        InferResponse expected = run.plainService().infer(run.plain(), request(request));
        InferResponse actual = run.tappedService().infer(run.tapped(), request(request));
        assertArrayEquals(bytes(expected), bytes(actual), "the probed model's output is the plain model's");
        return request;
    }

    /**
     * The statistics of the same requests observed one by one from runs whose taps ONNX Runtime allocated (no pool).
     */
    private static ProbeSnapshot reference(ProbedModel probed, ModelSession session, List<long[][]> requests)
            throws Exception {
        ModelProbe probe = new ModelProbe(probed.discovered(), probed.settings());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (long[][] request : requests) {
            Map<String, OnnxTensor> feeds = feeds(env, request);
            try (OrtSession.Result result = session.run(feeds, Set.of(OUTPUT), probed.taps())) {
                int[] bt = TapReader.batchAndTokens(probed, feeds);
                ProbedBatch batch = TapReader.read(new ProbeTaps(probed, bt[0], bt[1], null), feeds, result);
                probe.observe(batch);
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }
        return probe.snapshot();
    }

    /** Counts and extrema are equal whatever the order; means pooled in another order agree to rounding. */
    private static void assertSameStatistics(ProbeSnapshot expected, ProbeSnapshot actual) {
        assertEquals(expected.probedRequests(), actual.probedRequests());
        assertEquals(expected.probedTokens(), actual.probedTokens());
        assertEquals(expected.sites().size(), actual.sites().size());
        int attention = 0;
        for (int i = 0; i < expected.sites().size(); i++) {
            SiteSnapshot e = expected.sites().get(i);
            SiteSnapshot a = actual.sites().get(i);
            String where = e.site().kind().label() + " " + e.site().tensor();
            assertEquals(e.site(), a.site());
            if (e.quant() != null) {
                QuantSnapshot qe = e.quant();
                QuantSnapshot qa = a.quant();
                assertEquals(qe.count(), qa.count(), where + " count");
                assertEquals(qe.min(), qa.min(), where + " min");
                assertEquals(qe.max(), qa.max(), where + " max");
                assertEquals(qe.absMax(), qa.absMax(), where + " abs max");
            }
            if (e.attention() != null) {
                attention++;
                AttentionSnapshot ae = e.attention();
                AttentionSnapshot aa = a.attention();
                assertEquals(HEADS, aa.heads(), where);
                assertEquals(ae.queries(), aa.queries(), where + " queries");
                for (int h = 0; h < HEADS; h++) {
                    assertEquals(ae.sinkScore().get(h), aa.sinkScore().get(h), 1e-9, where + " sink score " + h);
                    assertEquals(ae.entropy().get(h), aa.entropy().get(h), 1e-6, where + " entropy " + h);
                }
            }
        }
        assertEquals(6, attention, "MiniLM's six attention maps were compared");
    }

    private static void waitForProbed(ProbedModel probed, long n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (probed.probe().snapshot().probedRequests() < n && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(n, probed.probe().snapshot().probedRequests());
    }

    /**
     * {@code {ids, mask, {b, t}}}: ids in MiniLM's vocabulary starting with [CLS]; every sequence but the first has
     * some trailing padding.
     */
    private static long[][] tokens(Random random, int b, int t) {
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        for (int s = 0; s < b; s++) {
            int length = s == 0 ? t : 2 + random.nextInt(t - 1);
            for (int i = 0; i < length; i++) {
                ids[s * t + i] = i == 0 ? 101 : 1000 + random.nextInt(20_000);
                mask[s * t + i] = 1;
            }
        }
        return new long[][]{ids, mask, {b, t}};
    }

    private static InferRequest request(long[][] tokens) {
        long b = tokens[2][0];
        long t = tokens[2][1];
        StringBuilder sb = new StringBuilder("{\"inputs\":[");
        String[] names = {"input_ids", "attention_mask", "token_type_ids"};
        for (int n = 0; n < names.length; n++) {
            sb.append(n > 0 ? "," : "").append("{\"name\":\"").append(names[n])
                    .append("\",\"datatype\":\"INT64\",\"shape\":[").append(b).append(',').append(t)
                    .append("],\"data\":[");
            for (int i = 0; i < b * t; i++) {
                sb.append(i > 0 ? "," : "").append(n == 2 ? 0 : tokens[n][i]);
            }
            sb.append("]}");
        }
        sb.append("],\"outputs\":[{\"name\":\"").append(OUTPUT).append("\"}]}");
        return new InferRequestParser().parse(sb.toString().getBytes(StandardCharsets.UTF_8), -1);
    }

    private static Map<String, OnnxTensor> feeds(OrtEnvironment env, long[][] tokens) throws Exception {
        long[] shape = {tokens[2][0], tokens[2][1]};
        return Map.of("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(tokens[0]), shape),
                "attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(tokens[1]), shape),
                "token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[tokens[0].length]), shape));
    }

    private static byte[] bytes(InferResponse response) {
        ByteBuffer data = response.outputs().get(0).data().duplicate();
        byte[] out = new byte[data.remaining()];
        data.get(out);
        return out;
    }
}
