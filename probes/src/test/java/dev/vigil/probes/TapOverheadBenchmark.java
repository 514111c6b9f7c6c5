package dev.vigil.probes;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Measures, on a real model, (1) parse + discover + tap time and (2) one ONNX Runtime run of a batch plain vs with
 * every site tensor tapped, interleaved in one process so that the ratio is what counts. Not a unit test: run it
 * with {@code java -cp ... dev.vigil.probes.TapOverheadBenchmark [model] [batch] [tokens] [rounds] [runsPerRound]}.
 */
public final class TapOverheadBenchmark {
    private TapOverheadBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args.length > 0 ? args[0] : "../models/all-minilm-l6-v2/model.onnx");
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 128;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        int runs = args.length > 4 ? Integer.parseInt(args[4]) : 6;

        byte[] bytes = Files.readAllBytes(model);
        byte[] tapped = null;
        int tapCount = 0;
        for (int i = 0; i < 5; i++) {
            long t0 = System.nanoTime();
            ModelProto m = OnnxModels.parse(bytes);
            long t1 = System.nanoTime();
            List<ProbeSite> sites = SiteDiscovery.discover(m);
            long t2 = System.nanoTime();
            Set<String> taps = new LinkedHashSet<>();
            sites.forEach(s -> taps.add(s.tensor()));
            ModelProto withOutputs = GraphTaps.withOutputs(m, taps);
            long t3 = System.nanoTime();
            tapped = withOutputs.toByteArray();
            long t4 = System.nanoTime();
            tapCount = taps.size();
            System.out.printf("pass %d (%d sites, %d taps): parse %.1f ms, discover %.1f ms, tap %.1f ms,"
                    + " serialize %.1f ms, total %.1f ms%n", i, sites.size(), tapCount, (t1 - t0) / 1e6,
                    (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t4 - t3) / 1e6, (t4 - t0) / 1e6);
        }

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        long[] shape = {batch, tokens};
        long[] ids = new long[batch * tokens];
        long[] mask = new long[batch * tokens];
        Random random = new Random(1);
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i % tokens == 0 ? 101 : 1000 + random.nextInt(20000);
            mask[i] = 1;
        }
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            try (OrtSession plain = env.createSession(bytes, opts);
                 OrtSession withTaps = env.createSession(tapped, opts);
                 OnnxTensor idT = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
                 OnnxTensor maskT = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
                 OnnxTensor typeT = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape)) {
                Map<String, OnnxTensor> inputs = Map.of("input_ids", idT, "attention_mask", maskT,
                        "token_type_ids", typeT);
                for (int w = 0; w < 2; w++) {
                    time(plain, inputs);
                    time(withTaps, inputs);
                }
                double[] ratios = new double[rounds];
                for (int r = 0; r < rounds; r++) {
                    double[] p = new double[runs];
                    double[] t = new double[runs];
                    for (int i = 0; i < runs; i++) {
                        p[i] = time(plain, inputs);
                        t[i] = time(withTaps, inputs);
                    }
                    double mp = median(p);
                    double mt = median(t);
                    ratios[r] = mp / mt;
                    System.out.printf("round %d: plain %.1f ms, tapped %.1f ms, throughput ratio tapped/plain %.3f%n",
                            r, mp, mt, ratios[r]);
                }
                System.out.printf("median throughput ratio tapped/plain over %d rounds: %.3f%n", rounds, median(ratios));
            }
        }
    }

    private static double time(OrtSession session, Map<String, OnnxTensor> inputs) throws OrtException {
        long t0 = System.nanoTime();
        try (OrtSession.Result ignored = session.run(inputs)) {
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
