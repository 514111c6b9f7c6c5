package dev.vigil.server.probe;

import ai.onnxruntime.OrtEnvironment;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.probes.stats.ProbeSnapshot;
import dev.vigil.probes.stats.SiteSnapshot;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.ModelConfig;
import dev.vigil.server.serving.ModelPreparer;
import dev.vigil.server.serving.ModelSession;
import dev.vigil.server.serving.ServedModel;
import dev.vigil.server.serving.SessionFactory;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The statistics warm-up at load, on the bundled planted-outliers model (input_ids and attention_mask [B, T]): every
 * probed site takes the synthetic request's taps at their real shapes, windows close, the padded tokens are left
 * out, and the model's own statistics are not touched; the warm-up stops at its time bound.
 */
class ProbeWarmUpTest {
    private static final Path MODEL = Path.of("..", "models", "planted-outliers", "model.onnx");

    @Test
    void everySiteTakesTheSyntheticTapsAndTheModelsStatisticsStayEmpty() throws Exception {
        try (Loaded m = load(512)) {
            ProbeWarmUp.Result r = ProbeWarmUp.run(m.probed, m.served, OrtEnvironment.getEnvironment(),
                    120_000_000_000L);
            assertEquals(2, r.batch());
            assertEquals(128, r.tokens(), "min(max sequence length 512, 128)");
            assertTrue(r.runs() >= ProbeWarmUp.MIN_RUNS, "runs " + r.runs());
            ProbeSnapshot scratch = r.scratch();
            // the second sequence has its last quarter padded: 128 + 96 unmasked tokens per run
            assertEquals(r.runs(), scratch.probedRequests());
            assertEquals(224L * r.runs(), scratch.probedTokens());
            assertTrue(scratch.window().closed(), "windows of two runs close during the warm-up");
            assertEquals(448, scratch.window().tokens());
            assertEquals(m.probed.probe().sites().size(), scratch.sites().size());
            for (SiteSnapshot site : scratch.sites()) {
                List<Long> shape = site.observedShape();
                assertFalse(shape.isEmpty(), site.site() + " took no tap");
                assertEquals(2L, shape.get(0), site.site() + " " + shape);
                assertTrue(shape.contains(128L), site.site() + " " + shape);
            }
            ProbeSnapshot own = m.probed.probe().snapshot();
            assertEquals(0, own.probedRequests());
            assertEquals(0, own.probedTokens());
            assertEquals(0, m.probed.probe().closedWindows());
        }
    }

    @Test
    void theSyntheticRequestFollowsTheModelsLimitsAndTheTimeBound() throws Exception {
        try (Loaded m = load(40)) {
            ProbeWarmUp.Result r = ProbeWarmUp.run(m.probed, m.served, OrtEnvironment.getEnvironment(), 1);
            assertEquals(1, r.runs(), "out of time after the first run");
            assertFalse(r.settled());
            assertEquals(40, r.tokens(), "min(max sequence length 40, 128)");
            assertEquals(40L + 30, r.scratch().probedTokens());
        }
    }

    /** The model as the server loads it: prepared (tapped) by a probe layer, its session open. */
    private record Loaded(ProbeLayer layer, ModelSession session, ServedModel served, ProbedModel probed)
            implements AutoCloseable {
        @Override
        public void close() throws Exception {
            session.close();
            layer.close();
        }
    }

    private static Loaded load(int maxSequenceLength) throws Exception {
        byte[] bytes = Files.readAllBytes(MODEL);
        ModelConfig config = new ModelConfig(8, maxSequenceLength,
                new ObjectMapper().readTree("{\"window_tokens\": 100000}"));
        ProbeLayer layer = new ProbeLayer(4, 2, 1L << 30, new PrometheusRegistry());
        ModelPreparer.Prepared prepared = layer.prepare("m", config, bytes);
        ModelSession session = ModelSession.open(new SessionFactory(Device.parse("cpu"), 1), prepared.model(),
                prepared.internalOutputs());
        ServedModel served = new ServedModel("m", config, session, 8, maxSequenceLength, null, Map.of());
        return new Loaded(layer, session, served, layer.probed("m"));
    }
}
