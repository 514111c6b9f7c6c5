package dev.vigil.tests.probes;

import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Probe overhead on serving throughput: MiniLM at batch 8 × 128 tokens over HTTP (binary tensors), one server
 * holding the same model three times — probes off, {@code sample_rate} 0.1 and 1.0 — requests to the three
 * interleaved in rounds so that machine load hits all alike. Prints req/s per variant and the ratio to probes off,
 * and each probed variant's {@code vigil_probe_dropped_total} (sampled requests the worker could not keep up with)
 * and the probe worker's mean wall time per probed request ({@code vigil_probe_duration_seconds}).
 *
 * <p>Run: {@code scripts/probe-bench.sh [requests per variant, default 60] [concurrency, default 2]} (builds this
 * checkout and runs it, nothing installed).
 */
public final class ProbeBench {
    private static final int BATCH = 8;
    private static final int SEQ = 128;
    private static final int ROUNDS = 4;
    private static final String[] VARIANTS = {"off", "rate_0_1", "rate_1_0"};
    private static final String[] CONFIGS = {"{\"probe\": {\"enabled\": false}}",
            "{\"probe\": {\"sample_rate\": 0.1}}", "{\"probe\": {\"sample_rate\": 1.0}}"};

    private ProbeBench() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        int conc = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        Path repo = MiniLmBench.repository("vigil-probe-bench", VARIANTS, CONFIGS);
        byte[] header = MiniLmBench.header(BATCH, SEQ);
        byte[] body = MiniLmBench.body(header, BATCH, SEQ);
        HttpClient client = HttpClient.newHttpClient();
        try (VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0)
                .device(Device.parse("cpu")).maxInflight(4).build())) {
            String base = "http://127.0.0.1:" + server.start();
            HttpRequest[] calls = MiniLmBench.calls(base, VARIANTS, header, body);
            for (int v = 0; v < VARIANTS.length; v++) {
                for (int i = 0; i < 3; i++) {
                    MiniLmBench.send(client, calls[v]);
                }
            }
            double[] seconds = new double[VARIANTS.length];
            ExecutorService pool = Executors.newFixedThreadPool(conc);
            try {
                for (int round = 0; round < ROUNDS; round++) {
                    for (int v = 0; v < VARIANTS.length; v++) {
                        seconds[v] += slice(pool, client, calls[v], requests / ROUNDS, conc);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            String metrics = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            int total = requests / ROUNDS * ROUNDS;
            System.out.println("| variant | requests | req/s | ratio vs off | probe_requests_total | dropped_total"
                    + " | worker ms per probed request |");
            System.out.println("|---|---|---|---|---|---|---|");
            for (int v = 0; v < VARIANTS.length; v++) {
                String sum = sample(metrics, "vigil_probe_duration_seconds_sum", VARIANTS[v]);
                String count = sample(metrics, "vigil_probe_duration_seconds_count", VARIANTS[v]);
                String workerMs = sum.equals("-") || count.equals("-") || Double.parseDouble(count) == 0 ? "-"
                        : String.format(Locale.ROOT, "%.1f", 1e3 * Double.parseDouble(sum) / Double.parseDouble(count));
                System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.3f | %s | %s | %s |%n", VARIANTS[v], total,
                        total / seconds[v], seconds[0] / seconds[v],
                        sample(metrics, "vigil_probe_requests_total", VARIANTS[v]),
                        sample(metrics, "vigil_probe_dropped_total", VARIANTS[v]), workerMs);
            }
            System.out.println("MiniLM batch " + BATCH + " x " + SEQ + ", CPU, concurrency " + conc + ", "
                    + Runtime.getRuntime().availableProcessors() + " cores");
        }
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

    private static double slice(ExecutorService pool, HttpClient client, HttpRequest call, int n, int conc)
            throws Exception {
        List<Future<?>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < conc; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                for (int i = thread; i < n; i += conc) {
                    MiniLmBench.send(client, call);
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        return (System.nanoTime() - t0) / 1e9;
    }
}
