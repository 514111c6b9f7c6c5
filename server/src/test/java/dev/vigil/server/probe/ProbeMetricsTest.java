package dev.vigil.server.probe;

import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteKind;
import dev.vigil.probes.stats.ProbeSettings;
import dev.vigil.probes.stats.ProbedBatch;
import dev.vigil.probes.stats.TapTensor;
import dev.vigil.server.shadow.ShadowSettings;
import dev.vigil.server.shadow.ShadowedModel;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe metrics in a real Prometheus registry, from a model with every kind of site and a shadow model after one
 * request: every family a scrape exports is among the names the collector declares, so that a scrape filtered on any
 * of them still gets it, and a scrape filtered on other names never reads the models' statistics.
 */
class ProbeMetricsTest {
    private static final int T = 4;
    private static final int D = 8;
    private static final int H = 2;

    @Test
    void filteredScrapesGetTheirFamiliesAndSkipTheModelsOtherwise() {
        ProbeSite residual = new ProbeSite(SiteKind.RESIDUAL, 0, "res", List.of(), "LayerNormalization");
        ProbeSite mlp = new ProbeSite(SiteKind.MLP, 0, "act", List.of(), "Erf-GELU");
        ProbeSite matmul = new ProbeSite(SiteKind.MATMUL_INPUT, 0, "act", List.of(), "MatMul");
        ProbeSite attention = new ProbeSite(SiteKind.ATTENTION, 0, "probs", List.of(), "Softmax->MatMul");
        ProbedModel model = new ProbedModel("m", ProbeSettings.defaults(), List.of(residual, mlp, matmul, attention),
                1, new TapMemoryBudget(1L << 30), Set.of());
        model.shadow(ShadowSettings.defaults(), new ShadowedModel("m", ShadowSettings.defaults(), model.probe(),
                List.of(matmul), List.of("logits")));
        model.probe().observe(request());
        AtomicInteger reads = new AtomicInteger();
        PrometheusRegistry registry = new PrometheusRegistry();
        registry.register(new ProbeMetrics(() -> {
            reads.incrementAndGet();
            return List.of(model);
        }));

        List<String> exported = names(registry.scrape());
        assertTrue(exported.size() >= 40, "one request should give most families: " + exported);
        for (String name : exported) {
            assertTrue(ProbeMetrics.NAMES.contains(name), name + " is exported but not declared");
            assertEquals(List.of(name), names(registry.scrape(name::equals)), "a scrape of " + name + " alone");
        }
        int before = reads.get();
        assertEquals(List.of(), names(registry.scrape(n -> n.equals("vigil_probe_duration_seconds"))));
        assertEquals(before, reads.get(), "a scrape of other names must not read the models' statistics");
    }

    /** One sequence: a massive element on the residual, GELU-like activations, softmax rows. */
    private static ProbedBatch request() {
        Random rnd = new Random(5);
        float[] res = new float[T * D];
        float[] act = new float[T * D];
        for (int i = 0; i < res.length; i++) {
            res[i] = (float) rnd.nextGaussian();
            act[i] = (float) Math.max(-0.2, rnd.nextGaussian());
        }
        res[3] = 2000f;
        float[] probs = new float[H * T * T];
        for (int row = 0; row < H * T; row++) {
            float sum = 0;
            for (int k = 0; k < T; k++) {
                probs[row * T + k] = 1 + rnd.nextFloat();
                sum += probs[row * T + k];
            }
            for (int k = 0; k < T; k++) {
                probs[row * T + k] /= sum;
            }
        }
        return new ProbedBatch(1, T, null, Map.of(
                "res", new TapTensor(FloatBuffer.wrap(res), new long[] {1, T, D}),
                "act", new TapTensor(FloatBuffer.wrap(act), new long[] {1, T, D}),
                "probs", new TapTensor(FloatBuffer.wrap(probs), new long[] {1, H, T, T})));
    }

    private static List<String> names(MetricSnapshots snapshots) {
        List<String> out = new ArrayList<>();
        for (MetricSnapshot s : snapshots) {
            out.add(s.getMetadata().getPrometheusName());
        }
        return out;
    }
}
