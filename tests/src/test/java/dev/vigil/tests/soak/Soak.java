package dev.vigil.tests.soak;

import dev.vigil.server.ServerOptions;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A soak: starts Vigil in its own JVM (with the JVM flags {@code run.sh} uses, or those in {@code VIGIL_JVM_FLAGS})
 * on the bundled models, drives a steady mix of requests at a fixed concurrency, and prints one row per interval:
 * throughput, p50/p99, non-200 replies, the server's RSS, heap, direct buffers, threads, request memory held and
 * dropped probes. Not part of CI.
 *
 * <p>Run: {@code scripts/probe-bench.sh soak [seconds=300] [concurrency=6] [interval-seconds=30]
 * [probe-warmup-ms=the server's default]}.
 */
public final class Soak {
    /** The JVM flags of run.sh's java line. */
    static final String DEFAULT_JVM_FLAGS = "-Xmx1g -XX:MaxDirectMemorySize=1792m --add-modules jdk.incubator.vector";
    private static final String[] SENTENCES = {
        "The quick brown fox jumps over the lazy dog.",
        "Vigil watches the inside of the models it serves.",
        "Massive activations often sit on the first token or a delimiter.",
        "Dead neurons never fire on any token of the window, whatever the input looks like.",
    };

    private Soak() {
    }

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 300;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int interval = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        String warmUpMs = args.length > 3 ? Long.toString(Long.parseLong(args[3]))
                : Long.toString(ServerOptions.builder().build().probeWarmUpMs());
        Path models = Files.isDirectory(Path.of("..", "models")) ? Path.of("..", "models") : Path.of("models");
        String flags = System.getenv().getOrDefault("VIGIL_JVM_FLAGS", DEFAULT_JVM_FLAGS);

        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(flags.trim().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), SoakServer.class.getName(),
                models.toString(), warmUpMs));
        Process server = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            int port = awaitPort(server);
            String base = "http://127.0.0.1:" + port;
            System.out.printf(Locale.ROOT, "soak: %d s at concurrency %d, server pid %d, JVM flags '%s', "
                    + "--probe-warmup-ms %s%n", seconds, concurrency, server.pid(), flags, warmUpMs);
            run(server.pid(), base, seconds, concurrency, interval);
        } finally {
            server.destroy();
            server.waitFor(20, TimeUnit.SECONDS);
        }
    }

    private static int awaitPort(Process server) throws IOException {
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        for (String line = out.readLine(); line != null; line = out.readLine()) {
            if (line.startsWith("SOAK PORT ")) {
                int port = Integer.parseInt(line.substring(10).trim());
                Thread drain = new Thread(() -> {
                    try {
                        while (out.readLine() != null) {
                            // the server's log is not part of the soak's report
                        }
                    } catch (IOException ignored) {
                        // the server is gone
                    }
                }, "soak-server-log");
                drain.setDaemon(true);
                drain.start();
                return port;
            }
        }
        throw new IllegalStateException("the soak server exited before listening");
    }

    /** The request mix: MiniLM text, three 256-token exporter models, planted-outliers at batch 4. */
    private static List<String[]> requests(Random random) {
        List<String[]> mix = new ArrayList<>();
        for (int i = 0; i < SENTENCES.length; i++) {
            mix.add(new String[]{"all-minilm-l6-v2", "{\"inputs\":[{\"name\":\"text\",\"shape\":[2],\"datatype\":"
                    + "\"BYTES\",\"data\":[\"" + SENTENCES[i] + "\",\"" + SENTENCES[(i + 1) % SENTENCES.length]
                    + "\"]}]}"});
        }
        for (String m : new String[]{"prenorm-256", "postnorm-256", "eft-256"}) {
            StringBuilder ids = new StringBuilder();
            for (int t = 0; t < 256; t++) {
                ids.append(t > 0 ? "," : "").append(1 + random.nextInt(32));
            }
            mix.add(new String[]{m, "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],\"datatype\":\"INT64\","
                    + "\"data\":[" + ids + "]}]}"});
        }
        StringBuilder ids = new StringBuilder();
        StringBuilder mask = new StringBuilder();
        for (int b = 0; b < 4; b++) {
            int n = 12 + random.nextInt(21);
            for (int t = 0; t < 32; t++) {
                String sep = b + t > 0 ? "," : "";
                ids.append(sep).append(t == 0 ? 1 : t < n ? 2 + random.nextInt(30) : 0);
                mask.append(sep).append(t < n ? 1 : 0);
            }
        }
        mix.add(new String[]{"planted-outliers", "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[4,32],"
                + "\"datatype\":\"INT64\",\"data\":[" + ids + "]},{\"name\":\"attention_mask\",\"shape\":[4,32],"
                + "\"datatype\":\"INT64\",\"data\":[" + mask + "]}]}"});
        return mix;
    }

    private static void run(long pid, String base, int seconds, int concurrency, int interval) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        List<String[]> mix = requests(new Random(42));
        LatencyLog log = new LatencyLog();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService load = Executors.newFixedThreadPool(concurrency);
        double droppedAtStart = metric(client, base, "vigil_probe_dropped_total");
        System.out.println("| t s | req/s | p50 ms | p99 ms | non-200 | RSS MiB | heap MiB | direct MiB | threads "
                + "| request memory MiB | dropped probes (since start) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
        for (int w = 0; w < concurrency; w++) {
            int offset = w;
            load.submit(() -> {
                for (int i = offset; !stop.get(); i++) {
                    String[] r = mix.get(i % mix.size());
                    long t0 = System.nanoTime();
                    int status;
                    try {
                        status = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + r[0]
                                        + "/infer")).header("Content-Type", "application/json")
                                        .timeout(Duration.ofSeconds(60))
                                        .POST(HttpRequest.BodyPublishers.ofString(r[1])).build(),
                                HttpResponse.BodyHandlers.discarding()).statusCode();
                    } catch (IOException e) {
                        status = -1;
                    }
                    log.add(System.nanoTime() - t0, status);
                }
                return null;
            });
        }
        long start = System.nanoTime();
        for (int t = interval; t <= seconds; t += interval) {
            Thread.sleep(Math.max(0, start + t * 1_000_000_000L - System.nanoTime()) / 1_000_000);
            long[] lat = log.drain();
            int errors = log.drainErrors();
            Arrays.sort(lat);
            String text = get(client, base + "/metrics");
            System.out.printf(Locale.ROOT, "| %d | %.1f | %.0f | %.0f | %d | %d | %.0f | %.0f | %d | %.1f | %.0f |%n",
                    t, lat.length / (double) interval, pct(lat, 0.50), pct(lat, 0.99), errors,
                    procStatus(pid, "VmRSS") / 1024, value(text, "jvm_memory_used_bytes{area=\"heap\"}") / (1 << 20),
                    value(text, "jvm_buffer_pool_used_bytes{pool=\"direct\"}") / (1 << 20), procStatus(pid, "Threads"),
                    value(text, "vigil_request_memory_bytes") / (1 << 20),
                    sum(text, "vigil_probe_dropped_total") - droppedAtStart);
        }
        stop.set(true);
        load.shutdown();
        load.awaitTermination(60, TimeUnit.SECONDS);
    }

    /** Client-side latencies and failures of the current interval. */
    private static final class LatencyLog {
        private long[] nanos = new long[1024];
        private int n;
        private int errors;

        synchronized void add(long ns, int status) {
            if (n == nanos.length) {
                nanos = Arrays.copyOf(nanos, n * 2);
            }
            nanos[n++] = ns;
            if (status != 200) {
                errors++;
            }
        }

        synchronized long[] drain() {
            long[] out = Arrays.copyOf(nanos, n);
            n = 0;
            return out;
        }

        synchronized int drainErrors() {
            int e = errors;
            errors = 0;
            return e;
        }
    }

    private static double pct(long[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[(int) Math.min(sorted.length - 1, q * sorted.length)] / 1e6;
    }

    /** A field of /proc/PID/status in its own unit (kB for memory). */
    private static long procStatus(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    private static String get(HttpClient client, String url) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static double metric(HttpClient client, String base, String name) throws Exception {
        return sum(get(client, base + "/metrics"), name);
    }

    /** The value of the series written exactly so (name and labels), NaN when absent. */
    private static double value(String text, String series) {
        for (String line : text.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim().split(" ")[0]);
            }
        }
        return Double.NaN;
    }

    /** The sum of every series of a metric. */
    private static double sum(String text, String name) {
        Pattern p = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)");
        Matcher m = p.matcher(text);
        double s = 0;
        while (m.find()) {
            s += Double.parseDouble(m.group(2));
        }
        return s;
    }
}
