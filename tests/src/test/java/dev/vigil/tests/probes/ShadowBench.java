package dev.vigil.tests.probes;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What shadow int8 costs the served requests: MiniLM at batch 8 × 128 tokens over HTTP (binary tensors), one server
 * holding the same model three times, all probed at {@code sample_rate} 1.0 — shadow off, shadow at 0.05 (the
 * default) and at 1.0 — requests to the three interleaved in rounds so that machine load hits all alike. Before the
 * timed rounds, each shadowed copy gets traffic until its shadow model is built. Prints per variant req/s, the ratio
 * to shadow off, request latency p50/p99, shadowed and skipped requests; then the measured shadow numbers of MiniLM
 * (per-site SQNR range, output cosine).
 *
 * <p>Run: {@code scripts/probe-bench.sh shadow [requests per variant, default 60] [concurrency, default 2]}.
 */
public final class ShadowBench {
    private static final int BATCH = 8;
    private static final int SEQ = 128;
    private static final int ROUNDS = 4;
    private static final String[] VARIANTS = {"shadow_off", "shadow_0_05", "shadow_1_0"};
    private static final String[] CONFIGS = {"{\"probe\": {\"window_tokens\": 4096}}",
            "{\"probe\": {\"window_tokens\": 4096, \"shadow\": {\"enabled\": true}}}",
            "{\"probe\": {\"window_tokens\": 4096, \"shadow\": {\"enabled\": true, \"sample_rate\": 1.0}}}"};

    private ShadowBench() {
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        int conc = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        Path repo = MiniLmBench.repository("vigil-shadow-bench", VARIANTS, CONFIGS);
        Path model = repo.resolve(VARIANTS[0]).resolve("model.onnx");
        byte[] header = MiniLmBench.header(BATCH, SEQ);
        byte[] body = MiniLmBench.body(header, BATCH, SEQ);
        HttpClient client = HttpClient.newHttpClient();
        try (VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0)
                .device(Device.parse("cpu")).maxInflight(4).build())) {
            String base = "http://127.0.0.1:" + server.start();
            HttpRequest[] calls = MiniLmBench.calls(base, VARIANTS, header, body);
            // a closed window (4 requests), then traffic until each shadowed copy runs its shadow model
            for (int v = 0; v < VARIANTS.length; v++) {
                for (int i = 0; i < 5; i++) {
                    MiniLmBench.send(client, calls[v]);
                }
            }
            for (int v = 1; v < VARIANTS.length; v++) {
                long deadline = System.nanoTime() + 300_000_000_000L;
                while (sample(metrics(client, base), "vigil_shadow_requests_total", VARIANTS[v]).equals("0.0")
                        && System.nanoTime() < deadline) {
                    MiniLmBench.send(client, calls[v]);
                    Thread.sleep(500);
                }
            }
            String before = metrics(client, base);
            double[] seconds = new double[VARIANTS.length];
            List<List<Double>> latencies = new ArrayList<>();
            for (int v = 0; v < VARIANTS.length; v++) {
                latencies.add(new ArrayList<>());
            }
            ExecutorService pool = Executors.newFixedThreadPool(conc);
            try {
                for (int round = 0; round < ROUNDS; round++) {
                    for (int v = 0; v < VARIANTS.length; v++) {
                        seconds[v] += slice(pool, client, calls[v], requests / ROUNDS, conc, latencies.get(v));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            Thread.sleep(2000);
            String after = metrics(client, base);
            int total = requests / ROUNDS * ROUNDS;
            System.out.println("| variant | requests | req/s | ratio vs shadow off | p50 ms | p99 ms | shadowed | skipped |");
            System.out.println("|---|---|---|---|---|---|---|---|");
            for (int v = 0; v < VARIANTS.length; v++) {
                double[] l = latencies.get(v).stream().mapToDouble(Double::doubleValue).sorted().toArray();
                System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.3f | %.0f | %.0f | %s | %s |%n", VARIANTS[v], total,
                        total / seconds[v], seconds[0] / seconds[v], l[l.length / 2], l[(int) (l.length * 0.99)],
                        delta(before, after, "vigil_shadow_requests_total", VARIANTS[v]),
                        delta(before, after, "vigil_shadow_skipped_total", VARIANTS[v]));
            }
            System.out.println("MiniLM batch " + BATCH + " x " + SEQ + ", CPU, concurrency " + conc + ", "
                    + Runtime.getRuntime().availableProcessors() + " cores");
            List<Double> sqnr = new ArrayList<>();
            String prefix = "vigil_shadow_site_sqnr_db{";
            for (String line : after.split("\n")) {
                if (line.startsWith(prefix) && line.contains("model=\"shadow_1_0\"")) {
                    sqnr.add(Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
                }
            }
            double[] s = sqnr.stream().mapToDouble(Double::doubleValue).sorted().toArray();
            System.out.printf(Locale.ROOT, "shadow_1_0: %d sites, measured SQNR min %.1f dB, median %.1f dB, max %.1f dB%n",
                    s.length, s[0], s[s.length / 2], s[s.length - 1]);
            for (String line : after.split("\n")) {
                if ((line.startsWith("vigil_shadow_output_cosine{") || line.startsWith("vigil_shadow_model_window{"))
                        && line.contains("model=\"shadow_1_0\"")) {
                    System.out.println(line);
                }
            }
            System.out.println("per-site SQNR: " + Arrays.toString(s));
            // the same comparison offline: the handed-out shadow model and the float model on the bench's one batch
            byte[] shadow = client.send(HttpRequest.newBuilder(URI.create(base
                    + "/v2/models/shadow_1_0/quantized?source=shadow")).build(),
                    HttpResponse.BodyHandlers.ofByteArray()).body();
            float[] f = run(Files.readAllBytes(model), "output_0");
            float[] q = run(shadow, "output_0");
            double sum = 0;
            for (int r = 0; r < BATCH * SEQ; r++) {
                double ab = 0;
                double aa = 0;
                double bb = 0;
                for (int j = 0; j < 384; j++) {
                    ab += (double) f[r * 384 + j] * q[r * 384 + j];
                    aa += (double) f[r * 384 + j] * f[r * 384 + j];
                    bb += (double) q[r * 384 + j] * q[r * 384 + j];
                }
                sum += ab / Math.sqrt(aa * bb);
            }
            System.out.printf(Locale.ROOT, "offline output_0 token cosine of the source=shadow model: %.6f%n",
                    sum / (BATCH * SEQ));
        }
    }

    /** One ORT run of {@code model} on the bench's batch; the named float output. */
    private static float[] run(byte[] model, String output) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Random random = new Random(42);
        long[] ids = new long[BATCH * SEQ];
        long[] mask = new long[BATCH * SEQ];
        for (int b = 0; b < BATCH; b++) {
            for (int t = 0; t < SEQ; t++) {
                ids[b * SEQ + t] = t == 0 ? 101 : t == SEQ - 1 ? 102 : 1000 + random.nextInt(28000);
                mask[b * SEQ + t] = 1;
            }
        }
        long[] shape = {BATCH, SEQ};
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
             OnnxTensor i = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[BATCH * SEQ]), shape)) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession s = env.createSession(model, opts);
                 OrtSession.Result r = s.run(Map.of("input_ids", i, "attention_mask", m, "token_type_ids", t))) {
                FloatBuffer fb = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
                float[] out = new float[fb.remaining()];
                fb.get(out);
                return out;
            }
        }
    }

    private static String metrics(HttpClient client, String base) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static String delta(String before, String after, String name, String model) {
        String a = sample(after, name, model);
        String b = sample(before, name, model);
        return a.equals("-") ? "-" : String.format(Locale.ROOT, "%.0f", Double.parseDouble(a) - Double.parseDouble(b));
    }

    private static String sample(String metrics, String name, String model) {
        String prefix = name + "{model=\"" + model + "\"} ";
        for (String line : metrics.split("\n")) {
            if (line.startsWith(prefix)) {
                return line.substring(prefix.length());
            }
        }
        return "-";
    }

    private static double slice(ExecutorService pool, HttpClient client, HttpRequest call, int n, int conc,
                                List<Double> latencies) throws Exception {
        List<Future<List<Double>>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < conc; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                List<Double> own = new ArrayList<>();
                for (int i = thread; i < n; i += conc) {
                    long s = System.nanoTime();
                    MiniLmBench.send(client, call);
                    own.add((System.nanoTime() - s) / 1e6);
                }
                return own;
            }));
        }
        for (Future<List<Double>> f : futures) {
            latencies.addAll(f.get());
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
