package dev.vigil.probes.stats;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.reduce.ReductionGraph;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * MiniLM with the in-graph reductions appended, run in ONNX Runtime (CPU): one run gives both the site tensors and
 * their reductions, and the statistics fed either way agree (padded sequences, two windows). The model's own outputs
 * are unchanged by the reductions and the opset they need.
 */
class InGraphMiniLmTest {
    private static final Path MODEL = Path.of("../models/all-minilm-l6-v2/model.onnx");
    private static final int B = 4;
    private static final int T = 40;

    @Test
    void statisticsReducedInTheGraphMatchTheHostOnes() throws Exception {
        ModelProto model = OnnxModels.read(MODEL);
        List<ProbeSite> discovered = SiteDiscovery.discover(model);
        ProbeSettings settings = ProbeSettings.defaults().withWindowTokens(60);
        ModelProbe host = new ModelProbe(discovered, settings);
        ModelProbe graph = new ModelProbe(discovered, settings);
        ModelProto reduced = ReductionGraph.withReductions(model, host.sites(), settings);
        Set<String> taps = new LinkedHashSet<>();
        host.sites().forEach(s -> taps.add(s.tensor()));
        List<String> reductions = ReducedOutputs.of(host.sites());
        assertEquals(44 * 5 + 6 * 1 + 13 * 4 + 6 * 4 - 6 * 4, reductions.size(),
                "per row tensor 5 quant outputs, mlp 1 more, residual 4 more; attention 5 (shape included)");

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Random rnd = new Random(3);
        List<ProbedBatch> sent = new java.util.ArrayList<>();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession plain = env.createSession(model.toByteArray(), opts);
                 OrtSession session = env.createSession(reduced.toByteArray(), opts)) {
                for (int request = 0; request < 3; request++) {
                    long[] ids = new long[B * T];
                    long[] mask = new long[B * T];
                    byte[] maskBytes = new byte[B * T];
                    for (int s = 0; s < B; s++) {
                        int len = s == 0 ? T : 3 + rnd.nextInt(T - 3);
                        for (int i = 0; i < len; i++) {
                            ids[s * T + i] = i == 0 ? 101 : i == len - 1 ? 102 : 1000 + rnd.nextInt(20000);
                            mask[s * T + i] = 1;
                            maskBytes[s * T + i] = 1;
                        }
                    }
                    Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                    long[] shape = {B, T};
                    feeds.put("input_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape));
                    feeds.put("attention_mask", OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape));
                    feeds.put("token_type_ids", OnnxTensor.createTensor(env, LongBuffer.wrap(new long[B * T]), shape));
                    try (OrtSession.Result base = plain.run(feeds);
                         OrtSession.Result tapped = session.run(feeds, taps);
                         OrtSession.Result small = session.run(feeds, withModelOutputs(reductions, plain))) {
                        for (String out : plain.getOutputNames()) {
                            float[] a = floats((OnnxTensor) base.get(out).orElseThrow());
                            float[] b = floats((OnnxTensor) small.get(out).orElseThrow());
                            assertArrayEquals(a, b, out + " changed");
                        }
                        Map<String, TapTensor> tensors = new HashMap<>();
                        for (String tap : taps) {
                            OnnxTensor t = (OnnxTensor) tapped.get(tap).orElseThrow();
                            tensors.put(tap, new TapTensor(FloatBuffer.wrap(floats(t)), t.getInfo().getShape()));
                        }
                        ProbedBatch probed = new ProbedBatch(B, T, maskBytes, tensors);
                        sent.add(probed);
                        host.observe(probed);
                        graph.observeReduced(new ReducedBatch(B, T, maskBytes, GraphReducer.read(small)));
                    } finally {
                        feeds.values().forEach(OnnxTensor::close);
                    }
                    SnapshotAgreement.assertAgree(host.snapshot(), graph.snapshot(), 1e-5);
                    powerSumsAgainstDoubleSums(graph.snapshot(), sent);
                }
            }
        }
        assertTrue(host.snapshot().window().index() >= 1, "a window closed and the next one was compared too");
    }

    /** The graph's fleet power sums against double sums over every real value sent. */
    private static void powerSumsAgainstDoubleSums(ProbeSnapshot snapshot, List<ProbedBatch> sent) {
        for (SiteSnapshot s : snapshot.sites()) {
            QuantCounters q = s.counters().quant();
            if (q == null) {
                continue;
            }
            PowerSums.of(Reference.windowSequences(sent, s.site().tensor())).assertClose(q, 1e-5,
                    s.site().tensor());
        }
    }

    private static Set<String> withModelOutputs(List<String> reductions, OrtSession plain) throws Exception {
        Set<String> out = new LinkedHashSet<>(reductions);
        out.addAll(plain.getOutputNames());
        return out;
    }

    private static float[] floats(OnnxTensor t) {
        FloatBuffer b = t.getFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }
}
