package dev.vigil.probes.reduce;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.stats.ProbeSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What ONNX Runtime executes when a run of MiniLM with the reductions appended asks only for the model's own output:
 * read from ORT's own profile (one event per executed node), not from timings. ORT does not prune the graph to the
 * requested outputs: every reduction node runs anyway, which is why a request that is not sampled runs a session of
 * the plain model instead.
 */
class UnrequestedOutputsTest {
    private static final Path MODEL = Path.of("../models/all-minilm-l6-v2/model.onnx");
    private static final Pattern NODE = Pattern.compile("\"cat\"\\s*:\\s*\"Node\"[^}]*?\"name\"\\s*:\\s*\"([^\"]+)\"");

    @TempDir
    Path dir;

    @Test
    void reductionNodesRunEvenWhenOnlyTheModelOutputIsRequested() throws Exception {
        ModelProto model = OnnxModels.read(MODEL);
        List<ProbeSite> sites = SiteDiscovery.discover(model);
        ProbeSettings settings = ProbeSettings.defaults();
        byte[] reduced = ReductionGraph.withReductions(model, settings.select(sites), settings).toByteArray();
        String output = model.getGraph().getOutput(0).getName();

        Map<String, Integer> onlyOutput = executedNodes(reduced, Set.of(output), "only-output");
        Map<String, Integer> all = executedNodes(reduced, null, "all");
        int reductionNodes = count(all, "vigil.reduce/");
        assertTrue(reductionNodes > 100, "a run that asks for every output executes the reductions: " + reductionNodes);
        assertTrue(count(all, "") > reductionNodes, "and the model's own nodes");
        assertEquals(reductionNodes, count(onlyOutput, "vigil.reduce/"),
                "asked only for '" + output + "', ORT still executes every reduction node");
    }

    /** Executed node names (kernel events of ORT's profile) of one run with these requested outputs (null: all). */
    private Map<String, Integer> executedNodes(byte[] model, Set<String> outputs, String tag) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {2, 16};
        long[] ids = new long[32];
        long[] mask = new long[32];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % 16 == 0 ? 101 : 1000 + i;
            mask[i] = i % 16 < 10 || i < 16 ? 1 : 0;
        }
        String profile;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            opts.enableProfiling(dir.resolve(tag).toString());
            try (OrtSession session = env.createSession(model, opts);
                 OnnxTensor idsT = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(ids), shape);
                 OnnxTensor maskT = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(mask), shape);
                 OnnxTensor typesT = OnnxTensor.createTensor(env, java.nio.LongBuffer.wrap(new long[32]), shape)) {
                Map<String, OnnxTensor> feeds = Map.of("input_ids", idsT, "attention_mask", maskT,
                        "token_type_ids", typesT);
                try (OrtSession.Result r = outputs == null ? session.run(feeds) : session.run(feeds, outputs)) {
                    assertEquals(outputs == null ? session.getOutputNames().size() : outputs.size(), r.size());
                }
                profile = session.endProfiling();
            }
        }
        Map<String, Integer> names = new HashMap<>();
        Matcher m = NODE.matcher(Files.readString(Path.of(profile)));
        while (m.find()) {
            String name = m.group(1);
            if (name.endsWith("_kernel_time")) {
                names.merge(name.substring(0, name.length() - "_kernel_time".length()), 1, Integer::sum);
            }
        }
        return names;
    }

    private static int count(Map<String, Integer> nodes, String prefix) {
        int n = 0;
        for (String name : nodes.keySet()) {
            n += name.startsWith(prefix) ? 1 : 0;
        }
        return n;
    }
}
