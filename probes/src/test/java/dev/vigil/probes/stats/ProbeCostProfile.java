package dev.vigil.probes.stats;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.vigil.probes.GraphTaps;
import dev.vigil.probes.OnnxModels;
import dev.vigil.probes.ProbeSite;
import dev.vigil.probes.SiteDiscovery;
import dev.vigil.probes.SiteKind;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
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
 * Where a probed request's time goes, on real MiniLM taps: ONNX Runtime per run (plain, and tapped with the taps
 * written into reused direct buffers, interleaved), then each statistic's update over those taps on one thread, per
 * request, summed per statistic over the model's sites, and a whole {@link ModelProbe#observe}. Prints wall ms and
 * CPU ms (process CPU for ORT, whose threads are the only busy ones then; thread CPU for the statistics). Not a unit
 * test: {@code java -cp ... dev.vigil.probes.stats.ProbeCostProfile [model] [batch] [tokens] [rounds] [padded]}
 * ({@code padded}: each sequence has 16 to T real tokens, then padding, and the statistics see the mask).
 */
public final class ProbeCostProfile {
    private ProbeCostProfile() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args.length > 0 ? args[0] : "../models/all-minilm-l6-v2/model.onnx");
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 7;
        // "padded": each sequence right-padded after a random 16..T real tokens, as a batch of varied texts is
        boolean padded = args.length > 4 && args[4].equals("padded");
        byte[] bytes = Files.readAllBytes(model);
        List<ProbeSite> sites = SiteDiscovery.discover(OnnxModels.parse(bytes));
        Set<String> taps = new LinkedHashSet<>();
        sites.forEach(s -> taps.add(s.tensor()));
        byte[] tapped = GraphTaps.tappedModelBytes(bytes, taps);

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {batch, tokens};
        long[] ids = new long[batch * tokens];
        long[] mask = new long[batch * tokens];
        Random random = new Random(42);
        byte[] realTokens = new byte[batch * tokens];
        for (int b = 0; b < batch; b++) {
            int length = padded ? Math.min(tokens, 16 + random.nextInt(Math.max(1, tokens - 15))) : tokens;
            for (int t = 0; t < tokens; t++) {
                int i = b * tokens + t;
                ids[i] = t >= length ? 0 : t == 0 ? 101 : t == length - 1 ? 102 : 1000 + random.nextInt(28000);
                mask[i] = t < length ? 1 : 0;
                realTokens[i] = (byte) mask[i];
            }
        }
        Map<String, TapTensor> tensors = new HashMap<>();
        double[] plainMs = new double[rounds];
        double[] tappedMs = new double[rounds];
        double[] plainCpu = new double[rounds];
        double[] tappedCpu = new double[rounds];
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            opts.addConfigEntry("session.intra_op.allow_spinning", "0");
            try (OrtSession plain = env.createSession(bytes, opts);
                 OrtSession withTaps = env.createSession(tapped, opts);
                 OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                 OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                 OnnxTensor typeT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape)) {
                Map<String, OnnxTensor> inputs = Map.of("input_ids", idT, "attention_mask", maskT,
                        "token_type_ids", typeT);
                Map<String, OnnxTensor> pinned = new LinkedHashMap<>();
                Set<String> allocated = new LinkedHashSet<>(withTaps.getOutputNames());
                try (OrtSession.Result first = withTaps.run(inputs, Set.copyOf(taps))) {
                    for (String tap : taps) {
                        OnnxValue v = first.get(tap).orElseThrow();
                        long[] dims = ((OnnxTensor) v).getInfo().getShape();
                        FloatBuffer buf = ByteBuffer.allocateDirect(((OnnxTensor) v).getFloatBuffer().capacity() * 4)
                                .order(ByteOrder.nativeOrder()).asFloatBuffer();
                        tensors.put(tap, new TapTensor(buf, dims));
                        if (!inputs.containsKey(tap)) {
                            pinned.put(tap, OnnxTensor.createTensor(env, buf, dims));
                            allocated.remove(tap);
                        }
                    }
                }
                for (int w = 0; w < 2; w++) {
                    run(plain, inputs, plain.getOutputNames(), Map.of());
                    run(withTaps, inputs, allocated, pinned);
                }
                for (int r = 0; r < rounds; r++) {
                    long c0 = cpu();
                    long t0 = System.nanoTime();
                    run(plain, inputs, plain.getOutputNames(), Map.of());
                    long t1 = System.nanoTime();
                    long c1 = cpu();
                    run(withTaps, inputs, allocated, pinned);
                    long t2 = System.nanoTime();
                    long c2 = cpu();
                    plainMs[r] = (t1 - t0) / 1e6;
                    tappedMs[r] = (t2 - t1) / 1e6;
                    plainCpu[r] = (c1 - c0) / 1e6;
                    tappedCpu[r] = (c2 - c1) / 1e6;
                }
                pinned.values().forEach(OnnxTensor::close);
            }
        }
        System.out.printf("MiniLM %d x %d%s, %d taps (%.1f MB), ORT 2 intra-op threads, medians of %d runs%n", batch,
                tokens, padded ? ", right-padded" : "", taps.size(), bytesOf(tensors) / 1e6, rounds);
        System.out.printf("| ORT run | wall ms | CPU ms |%n|---|---|---|%n");
        System.out.printf("| plain | %.1f | %.1f |%n", median(plainMs), median(plainCpu));
        System.out.printf("| tapped, pinned outputs | %.1f | %.1f |%n", median(tappedMs), median(tappedCpu));

        ProbedBatch request = new ProbedBatch(batch, tokens, padded ? realTokens : null, tensors);
        ProbeSettings settings = ProbeSettings.defaults();
        Map<String, double[]> perStat = new LinkedHashMap<>();
        for (String stat : List.of("dead neurons", "massive activations + token cosine (one read)",
                "massive activations alone", "token cosine alone", "attention",
                "quant ranges (+ dead neurons fed its rows)")) {
            perStat.put(stat, new double[rounds]);
        }
        double[] observe = new double[rounds];
        ModelProbe probe = new ModelProbe(sites, settings);
        for (int r = -2; r < rounds; r++) {
            Map<String, QuantRangeStat> quants = new HashMap<>();
            Map<String, Long> ns = new LinkedHashMap<>();
            for (ProbeSite site : sites) {
                SiteStats s = new SiteStats(site, settings, quants);
                TapTensor t = tensors.get(site.tensor());
                TensorLayout layout = s.layout(t, request);
                if (s.dead != null) {
                    long a = threadCpu();
                    s.dead.observe(t, (RowLayout) layout);
                    ns.merge("dead neurons", threadCpu() - a, Long::sum);
                }
                if (s.massive != null) {
                    // as observe runs them (the first read of the tap), then each alone (the tap in cache)
                    MassiveActivationStat massive = new MassiveActivationStat(settings.massiveAbsThreshold(),
                            settings.massiveMedianRatio());
                    TokenCosineStat cosine = new TokenCosineStat();
                    long a = threadCpu();
                    massive.observe(t, (RowLayout) layout, cosine);
                    ns.merge("massive activations + token cosine (one read)", threadCpu() - a, Long::sum);
                    a = threadCpu();
                    s.massive.observe(t, (RowLayout) layout);
                    ns.merge("massive activations alone", threadCpu() - a, Long::sum);
                    a = threadCpu();
                    s.cosine.observe(t, (RowLayout) layout);
                    ns.merge("token cosine alone", threadCpu() - a, Long::sum);
                }
                if (s.attention != null) {
                    long a = threadCpu();
                    s.attention.observe(t, (AttentionLayout) layout, request);
                    ns.merge("attention", threadCpu() - a, Long::sum);
                }
            }
            Set<String> done = new LinkedHashSet<>();
            for (ProbeSite site : sites) {
                if (site.kind() != SiteKind.ATTENTION && done.add(site.tensor())) {
                    QuantRangeStat q = quants.get(site.tensor());
                    TapTensor t = tensors.get(site.tensor());
                    long a = threadCpu();
                    q.observe(t, RowLayout.of(site.tensor(), t, request));
                    ns.merge("quant ranges (+ dead neurons fed its rows)", threadCpu() - a, Long::sum);
                }
            }
            long a = threadCpu();
            probe.observe(request);
            long b = threadCpu();
            if (r >= 0) {
                for (Map.Entry<String, Long> e : ns.entrySet()) {
                    perStat.get(e.getKey())[r] = e.getValue() / 1e6;
                }
                observe[r] = (b - a) / 1e6;
            }
        }
        System.out.printf("%n| statistic (all sites of a kind, per request, 1 thread) | CPU ms median | min |%n"
                + "|---|---|---|%n");
        for (Map.Entry<String, double[]> e : perStat.entrySet()) {
            System.out.printf("| %s | %.1f | %.1f |%n", e.getKey(), median(e.getValue()), min(e.getValue()));
        }
        System.out.printf("| ModelProbe.observe (all, window of %d tokens) | %.1f | %.1f |%n",
                settings.windowTokens(), median(observe), min(observe));
    }

    private static void run(OrtSession session, Map<String, OnnxTensor> inputs, Set<String> outputs,
                            Map<String, OnnxTensor> pinned) throws OrtException {
        try (OrtSession.Result ignored = pinned.isEmpty() ? session.run(inputs, outputs)
                : session.run(inputs, outputs, pinned)) {
            // the outputs are only timed
        }
    }

    private static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static long threadCpu() {
        return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    private static double bytesOf(Map<String, TapTensor> tensors) {
        double n = 0;
        for (TapTensor t : tensors.values()) {
            n += 4.0 * t.elements();
        }
        return n;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
