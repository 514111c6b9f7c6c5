package dev.vigil.tests.probes;

import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.DataPointSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import com.sun.management.OperatingSystemMXBean;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Probe overhead on serving throughput: MiniLM at batch 8 × 128 tokens over HTTP (binary tensors), one server
 * holding the same model four times — probes off, {@code sample_rate} 0 (the tapped graph, never sampled), 0.1 and
 * 1.0 — requests to the four interleaved in rounds so that machine load hits all alike. Each slice of a round ends
 * when its requests are answered and the probe workers have finished their statistics, so a variant pays for its
 * own probing. After warm-up rounds (not timed), prints per variant: req/s and its ratio to probes off, the CPU
 * time of this process per request (server, ONNX Runtime and client; on a shared machine a steadier cost than
 * wall time) and its ratio, the probed requests and the probe workers' CPU time per probed request, and
 * {@code vigil_probe_dropped_total}.
 *
 * <p>Run: {@code scripts/probe-bench.sh [requests per variant, default 60] [concurrency, default 2] [warm-up
 * rounds, default 1]} (builds this checkout and runs it, nothing installed).
 */
public final class ProbeBench {
    private static final int BATCH = 8;
    private static final int SEQ = 128;
    private static final int ROUNDS = 4;
    private static final OperatingSystemMXBean PROCESS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** How long the probe workers' observation count must stay unchanged for them to count as done. */
    private static final long QUIET_NANOS = 300_000_000L;
    private static final String[] VARIANTS = {"off", "rate_0", "rate_0_1", "rate_1_0"};
    private static final String[] CONFIGS = {"{\"probe\": {\"enabled\": false}}",
            "{\"probe\": {\"sample_rate\": 0.0}}", "{\"probe\": {\"sample_rate\": 0.1}}",
            "{\"probe\": {\"sample_rate\": 1.0}}"};

    private ProbeBench() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 60;
        int conc = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int warmUpRounds = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        Path repo = MiniLmBench.repository("vigil-probe-bench", VARIANTS, CONFIGS);
        byte[] header = MiniLmBench.header(BATCH, SEQ);
        byte[] body = MiniLmBench.body(header, BATCH, SEQ);
        HttpClient client = HttpClient.newHttpClient();
        try (VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0)
                .device(Device.parse("cpu")).maxInflight(4).build())) {
            String base = "http://127.0.0.1:" + server.start();
            PrometheusRegistry registry = server.metrics().registry();
            HttpRequest[] calls = MiniLmBench.calls(base, VARIANTS, header, body);
            Slice[] timed = new Slice[VARIANTS.length];
            Arrays.fill(timed, Slice.ZERO);
            ExecutorService pool = Executors.newFixedThreadPool(conc);
            try {
                for (int round = 0; round < warmUpRounds; round++) {
                    for (HttpRequest call : calls) {
                        slice(pool, client, call, requests / ROUNDS, conc, registry);
                    }
                }
                for (int round = 0; round < ROUNDS; round++) {
                    for (int v = 0; v < VARIANTS.length; v++) {
                        timed[v] = timed[v].plus(slice(pool, client, calls[v], requests / ROUNDS, conc, registry));
                    }
                }
            } finally {
                pool.shutdownNow();
            }
            String metrics = client.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            int total = requests / ROUNDS * ROUNDS;
            System.out.println("| variant | requests | req/s | ratio vs off | CPU ms per request | CPU ratio vs off"
                    + " | probed (timed) | worker CPU ms per probed request | dropped_total |");
            System.out.println("|---|---|---|---|---|---|---|---|---|");
            for (int v = 0; v < VARIANTS.length; v++) {
                Slice t = timed[v];
                String workerMs = t.observed() == 0 ? "-"
                        : String.format(Locale.ROOT, "%.1f", t.workerCpuNanos() / 1e6 / t.observed());
                System.out.printf(Locale.ROOT, "| %s | %d | %.2f | %.3f | %.0f | %.3f | %d | %s | %s |%n",
                        VARIANTS[v], total, total / t.seconds(), timed[0].seconds() / t.seconds(),
                        t.cpuNanos() / 1e6 / total, (double) timed[0].cpuNanos() / t.cpuNanos(), t.observed(),
                        workerMs, sample(metrics, "vigil_probe_dropped_total", VARIANTS[v]));
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

    /**
     * What one variant's requests cost.
     *
     * @param seconds        wall time
     * @param cpuNanos       CPU time of this whole process (server, ONNX Runtime and client)
     * @param workerCpuNanos CPU time of the probe workers
     * @param observed       probed requests the workers finished
     */
    private record Slice(double seconds, long cpuNanos, long workerCpuNanos, long observed) {
        static final Slice ZERO = new Slice(0, 0, 0, 0);

        Slice plus(Slice o) {
            return new Slice(seconds + o.seconds, cpuNanos + o.cpuNanos, workerCpuNanos + o.workerCpuNanos,
                    observed + o.observed);
        }
    }

    /**
     * Serves {@code n} requests at concurrency {@code conc} and waits for the probe workers to finish the statistics
     * of those that were sampled, so that each variant pays for its own probing (otherwise a variant's queued
     * statistics would run in the next variant's slice).
     */
    private static Slice slice(ExecutorService pool, HttpClient client, HttpRequest call, int n, int conc,
                               PrometheusRegistry registry) throws Exception {
        List<Future<?>> futures = new ArrayList<>();
        long observed0 = observed(registry);
        long worker0 = workerCpuNanos();
        long cpu0 = PROCESS.getProcessCpuTime();
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
        long end = settled(registry, System.nanoTime());
        return new Slice((end - t0) / 1e9, PROCESS.getProcessCpuTime() - cpu0, workerCpuNanos() - worker0,
                observed(registry) - observed0);
    }

    /** CPU time of the probe worker threads so far. */
    private static long workerCpuNanos() {
        long n = 0;
        for (ThreadInfo info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (info != null && info.getThreadName().startsWith("vigil-probe-worker-")) {
                n += Math.max(0, THREADS.getThreadCpuTime(info.getThreadId()));
            }
        }
        return n;
    }

    /**
     * When the probe workers last finished a request: polls their observation count (all models) until it stayed
     * the same for {@link #QUIET_NANOS}; {@code served} when it never changed.
     */
    private static long settled(PrometheusRegistry registry, long served) throws InterruptedException {
        long last = served;
        long count = observed(registry);
        while (System.nanoTime() - last < QUIET_NANOS) {
            Thread.sleep(5);
            long now = observed(registry);
            if (now != count) {
                count = now;
                last = System.nanoTime();
            }
        }
        return last;
    }

    /** Probed requests the workers finished so far, over all models. */
    private static long observed(PrometheusRegistry registry) {
        long n = 0;
        for (MetricSnapshot m : registry.scrape(name -> name.equals("vigil_probe_duration_seconds"))) {
            for (DataPointSnapshot p : m.getDataPoints()) {
                n += ((HistogramSnapshot.HistogramDataPointSnapshot) p).getCount();
            }
        }
        return n;
    }
}
