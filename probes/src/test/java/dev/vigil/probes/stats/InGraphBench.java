package dev.vigil.probes.stats;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.reduce.ReductionGraph;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Host vs in-graph statistics on one model, on the CPU: the bytes that leave a run (site tensors vs reductions) and
 * the wall time per request of (a) the plain model, (b) the run with its taps copied out plus
 * {@link ModelProbe#observe}, (c) the run with the reductions appended plus {@link ModelProbe#observeReduced}, (d) the
 * model with the reductions appended asked only for the model's own outputs (what an unsampled request would cost on
 * it: ONNX Runtime runs every node whatever the requested outputs), the variants interleaved round by round. Arguments: model path, batch, tokens, rounds, and {@code cuda} to run the
 * sessions on CUDA device 0 (needs the GPU build of ONNX Runtime).
 */
public final class InGraphBench {
    private InGraphBench() {
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args.length > 0 ? args[0] : "../models/all-minilm-l6-v2/model.onnx");
        int b = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int t = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        boolean cuda = args.length > 4 && args[4].equals("cuda");
        ModelProto model = OnnxModels.read(path);
        List<ProbeSite> sites = SiteDiscovery.discover(model);
        ProbeSettings settings = ProbeSettings.defaults();
        ModelProbe host = new ModelProbe(sites, settings);
        ModelProbe graph = new ModelProbe(sites, settings);
        Set<String> taps = new LinkedHashSet<>();
        host.sites().forEach(s -> taps.add(s.tensor()));
        Set<String> reductions = new LinkedHashSet<>(ReducedOutputs.of(host.sites()));
        byte[] tapped = GraphTaps.withOutputs(model, taps).toByteArray();
        byte[] reduced = ReductionGraph.withReductions(model, host.sites(), settings).toByteArray();

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] ids = new long[b * t];
        long[] mask = new long[b * t];
        Random rnd = new Random(1);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % t == 0 ? 101 : 1000 + rnd.nextInt(20000);
            mask[i] = 1;
        }
        byte[] maskBytes = new byte[b * t];
        Arrays.fill(maskBytes, (byte) 1);
        long[] shape = {b, t};
        long[][] ms = new long[4][rounds];
        long hostBytes = 0;
        long graphBytes = 0;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            if (cuda) {
                opts.addCUDA(0);
            }
            try (OrtSession plain = env.createSession(model.toByteArray(), opts);
                 OrtSession withTaps = env.createSession(tapped, opts);
                 OrtSession withReductions = env.createSession(reduced, opts);
                 OnnxTensor idsT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                 OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                 OnnxTensor typesT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[b * t]), shape)) {
                Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
                feeds.put("input_ids", idsT);
                feeds.put("attention_mask", maskT);
                if (plain.getInputNames().contains("token_type_ids")) {
                    feeds.put("token_type_ids", typesT);
                }
                for (int r = -2; r < rounds; r++) {
                    long t0 = System.nanoTime();
                    try (OrtSession.Result res = plain.run(feeds)) {
                        res.size();
                    }
                    long t1 = System.nanoTime();
                    long bytes = 0;
                    try (OrtSession.Result res = withTaps.run(feeds, taps)) {
                        Map<String, TapTensor> tensors = new HashMap<>();
                        for (Map.Entry<String, OnnxValue> e : res) {
                            OnnxTensor o = (OnnxTensor) e.getValue();
                            FloatBuffer fb = o.getFloatBuffer();
                            bytes += 4L * fb.remaining();
                            tensors.put(e.getKey(), new TapTensor(fb, o.getInfo().getShape()));
                        }
                        host.observe(new ProbedBatch(b, t, maskBytes, tensors));
                    }
                    long t2 = System.nanoTime();
                    long small = 0;
                    try (OrtSession.Result res = withReductions.run(feeds, reductions)) {
                        Map<String, ReducedTensor> out = GraphReducer.read(res);
                        for (Map.Entry<String, OnnxValue> e : res) {
                            OnnxTensor o = (OnnxTensor) e.getValue();
                            small += o.getInfo().getNumElements() * o.getInfo().type.size;
                        }
                        graph.observeReduced(new ReducedBatch(b, t, maskBytes, out));
                    }
                    long t3 = System.nanoTime();
                    try (OrtSession.Result res = withReductions.run(feeds, plain.getOutputNames())) {
                        res.size();
                    }
                    long t4 = System.nanoTime();
                    hostBytes = bytes;
                    graphBytes = small;
                    if (r >= 0) {
                        ms[0][r] = (t1 - t0) / 1_000_000;
                        ms[1][r] = (t2 - t1) / 1_000_000;
                        ms[2][r] = (t3 - t2) / 1_000_000;
                        ms[3][r] = (t4 - t3) / 1_000_000;
                    }
                }
            }
        }
        System.out.printf("model %s, batch %d x %d tokens, %d rounds (after 2 warm-up), intra-op threads 2, %s%n",
                path.getFileName(), b, t, rounds, cuda ? "CUDA device 0" : "CPU");
        System.out.printf("bytes leaving the run: host %d (%.1f MB), graph %d (%.2f MB) = %.2f%% of host%n",
                hostBytes, hostBytes / 1e6, graphBytes, graphBytes / 1e6, 100.0 * graphBytes / hostBytes);
        String[] names = {"plain run", "taps copied + observe", "reductions in graph + observeReduced",
                "reduced model, model outputs only"};
        for (int v = 0; v < names.length; v++) {
            long[] sorted = ms[v].clone();
            Arrays.sort(sorted);
            System.out.printf("%-40s min %5d ms  median %5d ms  max %5d ms%n", names[v], sorted[0],
                    sorted[rounds / 2], sorted[rounds - 1]);
        }
        for (int v = 1; v < names.length; v++) {
            double[] ratio = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ratio[r] = (double) ms[0][r] / ms[v][r];
            }
            Arrays.sort(ratio);
            System.out.printf("throughput vs plain, %-40s median %.2f (range %.2f-%.2f, per round)%n", names[v],
                    ratio[rounds / 2], ratio[0], ratio[rounds - 1]);
        }
    }
}
