package dev.vigil.tests;

import dev.vigil.server.Http;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.SessionFactory;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * Serving overhead benchmark: MiniLM at batch 1 and 8 × 128 tokens, concurrency 1 and 4, with a fixed request
 * count per cell, variants interleaved in rounds: (a) bare in-process ORT {@code session.run} on a session built
 * exactly as the server builds it, against (b) Vigil over HTTP on the same machine and in the same run, with binary
 * tensor inputs, JSON inputs (binary outputs), and JSON both ways. The HTTP client is {@link KeepAliveClient}: one
 * keep-alive connection per client thread, requests encoded once, replies read into reused buffers, so that the
 * client costs what a high-performance one would. Every reply is checked against bare ONNX Runtime's outputs
 * ({@link ReplyCheck}). At batch 1 two more clients send the binary request: {@code wrk} (a C client in its own
 * process, when it is installed: {@link WrkClient}) and the JDK's {@code java.net.http} client.
 *
 * <p>Prints req/s, p50/p99, the throughput ratio b/a, the CPU time per request (this process's, plus wrk's for its
 * row), and where an HTTP request's time went: the server's own time (from the server's request and model-run
 * histograms) split into the model run and the rest, and the remainder outside the server (client and loopback).
 * The served copy of MiniLM has its probes off, so this measures the serving layer alone; {@code ProbeBench}
 * measures the probes.
 *
 * <p>Run: {@code scripts/probe-bench.sh serving [requests at batch 1] [requests at batch 8] [JIT warm-up requests]}
 * (default 200, 40 and 2000; 0 skips that batch size, or the warm-up: {@link #warmUpJit}).
 */
public final class ServingBench {
    private static final int SEQ = 128;
    private static final String INFER = "/v2/models/" + MiniLmTextTest.MODEL + "/infer";
    private static final String[] INPUTS = {"input_ids", "attention_mask", "token_type_ids"};
    private static final int ROUNDS = 4;
    private static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    private ServingBench() {
    }

    /** One request kind: runs once and returns when the answer is complete. */
    @FunctionalInterface
    interface Call {
        void run() throws Exception;
    }

    /**
     * @param cpuMsPerRequest this process's CPU time (all threads: client, server, ONNX Runtime) per request; unlike
     *                        req/s it does not depend on how much of a shared machine the process got
     */
    record Stats(double reqPerSec, double p50Ms, double p99Ms, double cpuMsPerRequest, double meanMs,
                 double serverMs, double runMs, double[] cpuByGroup) {
    }

    /**
     * Thread groups whose CPU time per request is reported: the caller threads (which run the model themselves in
     * the bare variant) and the in-process HTTP client, Jetty's threads, the JIT and GC, and the rest: ONNX
     * Runtime's own pool threads (native, unnamed).
     */
    static final String[] GROUPS = {"callers+HTTP client", "Jetty", "JIT+GC", "ORT pool, other"};

    /** CPU nanoseconds by {@link #GROUPS} of every thread of this process, from /proc (native threads too). */
    static long[] cpuByGroup() {
        long[] out = new long[GROUPS.length];
        File[] tasks = new File("/proc/self/task").listFiles();
        if (tasks == null) {
            return out;
        }
        long tick = 10_000_000L; // USER_HZ is 100 on Linux
        for (File task : tasks) {
            try {
                String comm = Files.readString(task.toPath().resolve("comm")).trim();
                String stat = Files.readString(task.toPath().resolve("stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                long ns = (Long.parseLong(f[11]) + Long.parseLong(f[12])) * tick;
                int group = comm.startsWith("pool-") || comm.startsWith("HttpClient") ? 0
                        : comm.startsWith("JettyServer") || comm.startsWith("qtp") ? 1
                        : comm.startsWith("C1 ") || comm.startsWith("C2 ") || comm.startsWith("GC ")
                        || comm.startsWith("G1 ") || comm.startsWith("VM Thread") ? 2 : 3;
                out[group] += ns;
            } catch (IOException | RuntimeException e) {
                // the thread ended between the listing and the read
            }
        }
        return out;
    }

    /** Seconds summed so far over the served requests: the server's request time and its model runs' time. */
    record ServerTime(double requestSeconds, double runSeconds) {
        static final ServerTime NONE = new ServerTime(0, 0);

        /** The server's summed times, read from its request and model-run histograms. */
        static ServerTime of(VigilServer server) {
            double request = 0;
            double run = 0;
            for (MetricSnapshot m : server.metrics().registry().scrape()) {
                if (m instanceof HistogramSnapshot h) {
                    double sum = 0;
                    for (HistogramSnapshot.HistogramDataPointSnapshot p : h.getDataPoints()) {
                        sum += p.getSum();
                    }
                    switch (h.getMetadata().getName()) {
                        case "vigil_request_duration_seconds" -> request = sum;
                        case "vigil_inference_duration_seconds" -> run = sum;
                        default -> { }
                    }
                }
            }
            return new ServerTime(request, run);
        }
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        int n1 = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int n8 = args.length > 1 ? Integer.parseInt(args[1]) : 40;
        int jitWarmUp = args.length > 2 ? Integer.parseInt(args[2]) : 2000;
        Path bundled = Files.isDirectory(MiniLmTextTest.MODELS) ? MiniLmTextTest.MODELS : Path.of("models");
        byte[] onnx = Files.readAllBytes(bundled.resolve(MiniLmTextTest.MODEL).resolve("model.onnx"));
        Path models = probesOffRepository(bundled);

        SessionFactory factory = new SessionFactory(Device.parse("cpu"), 0);
        OrtEnvironment env = factory.environment();
        double loadBefore = loadAverage();
        boolean wrk = WrkClient.available();
        try (OrtSession bare = factory.create(onnx);
             VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(models).port(0)
                     .device(Device.parse("cpu")).maxInflight(4).build())) {
            int port = server.start();
            Http jdk = new Http(port);
            long w0 = System.nanoTime();
            warmUpJit(env, bare, port, jdk, jitWarmUp);
            System.out.printf(Locale.ROOT, "JIT warm-up: %d short requests per variant in %.1f s%n", jitWarmUp,
                    (System.nanoTime() - w0) / 1e9);
            List<String> rows = new ArrayList<>();
            rows.add("| batch | concurrency | variant | requests | req/s | p50 ms | p99 ms | ratio b/a | CPU ms/req "
                    + "| mean ms | server ms | model run ms | server rest ms | outside server ms | CPU ms/req: "
                    + String.join(" / ", GROUPS) + " |");
            rows.add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (int batch : new int[]{1, 8}) {
                if ((batch == 1 ? n1 : n8) == 0) {
                    continue;
                }
                long[] ids = tokenIds(batch);
                Map<String, float[]> reference = bareOutputs(env, bare, ids, batch);
                byte[] binaryBody = binaryRequest(ids, batch);
                int headerLength = binaryHeader(batch).length;
                byte[] jsonBinaryOut = jsonRequest(ids, batch, true);
                byte[] jsonBody = jsonRequest(ids, batch, false);
                for (int conc : new int[]{1, 4}) {
                    try (KeepAliveClient client = new KeepAliveClient("127.0.0.1", port);
                         WrkClient external = batch == 1 && wrk ? new WrkClient(port, INFER, binaryBody,
                                 headerLength, checkedReply(client, binaryBody, headerLength, reference)) : null) {
                        List<Variant> variants = new ArrayList<>(List.of(
                                new Variant("(a) bare ORT session.run",
                                        onThreads(() -> runBare(env, bare, ids, batch))),
                                new Variant("(b) HTTP, binary in + out", keepAlive(client, client.post(INFER,
                                        binaryBody, "Content-Type", "application/octet-stream", HEADER_LENGTH,
                                        Integer.toString(headerLength)), reference)),
                                new Variant("(b) HTTP, JSON in, binary out", keepAlive(client, client.post(INFER,
                                        jsonBinaryOut, "Content-Type", "application/json"), reference)),
                                new Variant("(b) HTTP, JSON in + out", keepAlive(client, client.post(INFER, jsonBody,
                                        "Content-Type", "application/json"), reference))));
                        if (external != null) {
                            variants.add(new Variant("(b) HTTP, binary in + out, wrk", external));
                        }
                        if (batch == 1) {
                            variants.add(new Variant("(b) HTTP, binary in + out, JDK HttpClient",
                                    jdkClient(jdk, binaryBody, headerLength, reference)));
                        }
                        int requests = batch == 1 ? n1 : n8;
                        Slice[] slices = variants.stream().map(Variant::slice).toArray(Slice[]::new);
                        Stats[] stats = measureSlices(slices, requests, conc, batch == 1 ? 30 : 4,
                                v -> v == 0 ? ServerTime.NONE : ServerTime.of(server));
                        for (int v = 0; v < slices.length; v++) {
                            rows.add(row(batch, conc, variants.get(v).name(), requests, stats[v], stats[0]));
                        }
                        System.out.println(String.join("\n", rows.subList(rows.size() - slices.length,
                                rows.size())));
                    }
                }
            }
            System.out.println();
            System.out.println("MiniLM (all-minilm-l6-v2), " + SEQ + " tokens per sequence, CPU, "
                    + Runtime.getRuntime().availableProcessors() + " cores, ORT intra-op threads: ORT default; "
                    + "load average before " + String.format(Locale.ROOT, "%.1f", loadBefore) + ", after "
                    + String.format(Locale.ROOT, "%.1f", loadAverage())
                    + (wrk ? "" : "; wrk is not installed, so its row is left out"));
            System.out.println(String.join("\n", rows));
        }
    }

    /**
     * Warms the JIT up on the serving path before anything is measured: {@code requests} short requests (8 tokens,
     * a model run well under a millisecond on a quiet machine) through every variant at concurrency 2. A server that has served for a few
     * minutes runs its request path compiled by C2; without this, a cell of a few hundred MiniLM requests runs much
     * of that path interpreted or in C1's profiling code while the compiler threads take CPU beside it.
     */
    private static void warmUpJit(OrtEnvironment env, OrtSession bare, int port, Http jdk, int requests)
            throws Exception {
        if (requests == 0) {
            return;
        }
        int seq = 8;
        long[] ids = tokenIds(1, seq);
        byte[] binary = binaryRequest(ids, 1);
        String headerLength = Integer.toString(binaryHeader(1, seq).length);
        try (KeepAliveClient client = new KeepAliveClient("127.0.0.1", port)) {
            byte[][] http = {
                    client.post(INFER, binary, "Content-Type", "application/octet-stream", HEADER_LENGTH, headerLength),
                    client.post(INFER, jsonRequest(ids, 1, true), "Content-Type", "application/json"),
                    client.post(INFER, jsonRequest(ids, 1, false), "Content-Type", "application/json")};
            List<Call> calls = new ArrayList<>(List.of(() -> runBare(env, bare, ids, 1),
                    () -> expect200(jdk.post(INFER, binary, HEADER_LENGTH, headerLength))));
            for (byte[] request : http) {
                calls.add(() -> {
                    KeepAliveClient.Reply r = client.send(request);
                    if (r.status() != 200) {
                        throw new IllegalStateException(r.status() + ": " + r.text());
                    }
                });
            }
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                for (Call call : calls) {
                    runSlice(pool, call, new long[requests], 0, requests, 2);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static double loadAverage() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /** A named variant of the benchmark. */
    record Variant(String name, Slice slice) {
    }

    /** Requests on each client thread's keep-alive connection, every reply checked against bare ONNX Runtime. */
    private static Slice keepAlive(KeepAliveClient client, byte[] request, Map<String, float[]> reference) {
        ReplyCheck check = new ReplyCheck(reference);
        return onThreads(() -> {
            KeepAliveClient.Reply r = client.send(request);
            check.check(r.status(), r.headerLength(), r.body(), r.length());
        });
    }

    /** The binary request sent with the JDK's HTTP client, every reply checked against bare ONNX Runtime. */
    private static Slice jdkClient(Http jdk, byte[] body, int headerLength, Map<String, float[]> reference) {
        ReplyCheck check = new ReplyCheck(reference);
        String length = Integer.toString(headerLength);
        return onThreads(() -> {
            HttpResponse<byte[]> r = jdk.post(INFER, body, HEADER_LENGTH, length);
            check.check(r.statusCode(), r.headers().firstValueAsLong(HEADER_LENGTH).orElse(-1), r.body(),
                    r.body().length);
        });
    }

    /** A binary reply to the binary request, checked against the reference: what every wrk reply must equal. */
    private static byte[] checkedReply(KeepAliveClient client, byte[] body, int headerLength,
                                       Map<String, float[]> reference) {
        KeepAliveClient.Reply r = client.send(client.post(INFER, body, "Content-Type", "application/octet-stream",
                HEADER_LENGTH, Integer.toString(headerLength)));
        new ReplyCheck(reference).check(r.status(), r.headerLength(), r.body(), r.length());
        return Arrays.copyOf(r.body(), r.length());
    }

    /** Bare ONNX Runtime's outputs for these token ids, by name, flattened: what every reply is checked against. */
    static Map<String, float[]> bareOutputs(OrtEnvironment env, OrtSession session, long[] ids, int batch)
            throws Exception {
        long[] shape = {batch, ids.length / batch};
        Map<String, float[]> out = new LinkedHashMap<>();
        try (OnnxTensor i = OnnxTensor.createTensor(env, direct(ids), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, direct(fill(ids.length, 1)), shape);
             OnnxTensor t = OnnxTensor.createTensor(env, direct(fill(ids.length, 0)), shape);
             OrtSession.Result r = session.run(Map.of(INPUTS[0], i, INPUTS[1], m, INPUTS[2], t))) {
            for (Map.Entry<String, OnnxValue> e : r) {
                FloatBuffer values = ((OnnxTensor) e.getValue()).getFloatBuffer();
                float[] flat = new float[values.remaining()];
                values.get(flat);
                out.put(e.getKey(), flat);
            }
        }
        return out;
    }

    /** A repository holding MiniLM alone, its probes off: the bench measures HTTP, parsing and the session. */
    static Path probesOffRepository(Path bundled) throws IOException {
        Path dir = Files.createTempDirectory("vigil-serving-bench");
        Path model = Files.createDirectories(dir.resolve(MiniLmTextTest.MODEL));
        Path source = bundled.resolve(MiniLmTextTest.MODEL).toAbsolutePath();
        Files.createSymbolicLink(model.resolve("model.onnx"), source.resolve("model.onnx"));
        Files.createSymbolicLink(model.resolve("tokenizer.json"), source.resolve("tokenizer.json"));
        Files.writeString(model.resolve("config.json"),
                "{\"max_batch_size\": 32, \"max_sequence_length\": 512, \"probe\": {\"enabled\": false}}");
        return dir;
    }

    private static String row(int batch, int conc, String variant, int requests, Stats s, Stats a) {
        boolean served = s.serverMs() > 0;
        StringBuilder byGroup = new StringBuilder();
        for (double g : s.cpuByGroup()) {
            byGroup.append(byGroup.length() > 0 ? " / " : "").append(String.format(Locale.ROOT, "%.1f", g));
        }
        return String.format(Locale.ROOT, "| %d | %d | %s | %d | %.1f | %.1f | %.1f | %.2f | %.1f | %.1f | %s | %s "
                        + "| %s | %s | %s |", batch, conc, variant, requests, s.reqPerSec(), s.p50Ms(), s.p99Ms(),
                s.reqPerSec() / a.reqPerSec(), s.cpuMsPerRequest(), s.meanMs(),
                served ? ms(s.serverMs()) : "–", served ? ms(s.runMs()) : "–",
                served ? ms(s.serverMs() - s.runMs()) : "–", served ? ms(s.meanMs() - s.serverMs()) : "–", byGroup);
    }

    private static String ms(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static void expect200(HttpResponse<byte[]> r) {
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.statusCode() + ": " + Http.text(r));
        }
    }

    /** One variant's way of sending a slice of its requests. */
    interface Slice {
        /**
         * Sends requests {@code [from, to)} at concurrency {@code conc} and records their latencies.
         *
         * @param pool {@code conc} threads of this process, for variants whose client runs here
         * @return the wall time in seconds
         */
        double run(ExecutorService pool, long[] latencies, int from, int to, int conc) throws Exception;

        /** CPU nanoseconds this variant spent so far outside this process (an external client's). */
        default long outsideCpuNanos() {
            return 0;
        }
    }

    /** A variant whose requests are calls on {@code conc} threads of this process. */
    static Slice onThreads(Call call) {
        return (pool, latencies, from, to, conc) -> runSlice(pool, call, latencies, from, to, conc);
    }

    /**
     * Runs every variant for a fixed request count, split over {@code conc} threads, in {@value #ROUNDS}
     * interleaved rounds (a, b, b, b, a, b, ...) so that load from other processes on the machine hits all
     * variants alike; warms each variant up first.
     */
    static Stats[] measureInterleaved(Call[] calls, int requests, int conc, int warmup) throws Exception {
        Slice[] slices = new Slice[calls.length];
        for (int v = 0; v < calls.length; v++) {
            slices[v] = onThreads(calls[v]);
        }
        return measureSlices(slices, requests, conc, warmup, v -> ServerTime.NONE);
    }

    /**
     * As {@link #measureInterleaved(Call[], int, int, int)} for variants of any kind, also summing the server's own
     * time over each variant's slices ({@code serverTime} of the variant's index, read before and after each slice);
     * an external client's CPU time counts in the first thread group.
     */
    static Stats[] measureSlices(Slice[] slices, int requests, int conc, int warmup,
                                 IntFunction<ServerTime> serverTime) throws Exception {
        long[][] latencies = new long[slices.length][Math.max(requests, warmup)];
        double[] seconds = new double[slices.length];
        double[] cpu = new double[slices.length];
        double[] serverSeconds = new double[slices.length];
        double[] runSeconds = new double[slices.length];
        double[][] groups = new double[slices.length][GROUPS.length];
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        ExecutorService pool = Executors.newFixedThreadPool(conc);
        try {
            for (Slice slice : slices) {
                slice.run(pool, latencies[0], 0, warmup, 1);
            }
            int perRound = requests / ROUNDS;
            for (int round = 0; round < ROUNDS; round++) {
                int from = round * perRound;
                int to = round == ROUNDS - 1 ? requests : from + perRound;
                for (int v = 0; v < slices.length; v++) {
                    ServerTime s0 = serverTime.apply(v);
                    long[] g0 = cpuByGroup();
                    long cpu0 = os.getProcessCpuTime();
                    long outside0 = slices[v].outsideCpuNanos();
                    seconds[v] += slices[v].run(pool, latencies[v], from, to, conc);
                    double outside = (slices[v].outsideCpuNanos() - outside0) / 1e6;
                    cpu[v] += (os.getProcessCpuTime() - cpu0) / 1e6 + outside;
                    long[] g1 = cpuByGroup();
                    for (int g = 0; g < GROUPS.length; g++) {
                        groups[v][g] += (g1[g] - g0[g]) / 1e6;
                    }
                    groups[v][0] += outside;
                    ServerTime s1 = serverTime.apply(v);
                    serverSeconds[v] += s1.requestSeconds() - s0.requestSeconds();
                    runSeconds[v] += s1.runSeconds() - s0.runSeconds();
                }
            }
        } finally {
            pool.shutdownNow();
        }
        Stats[] stats = new Stats[slices.length];
        for (int v = 0; v < slices.length; v++) {
            long[] lat = Arrays.copyOf(latencies[v], requests);
            double meanMs = Arrays.stream(lat).average().orElse(0) / 1e6;
            Arrays.sort(lat);
            stats[v] = new Stats(requests / seconds[v], percentile(lat, 0.50) / 1e6,
                    percentile(lat, 0.99) / 1e6, cpu[v] / requests, meanMs,
                    serverSeconds[v] * 1e3 / requests, runSeconds[v] * 1e3 / requests, perRequest(groups[v], requests));
        }
        return stats;
    }

    private static double[] perRequest(double[] totals, int requests) {
        double[] out = totals.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] /= requests;
        }
        return out;
    }

    /** Requests {@code [from, to)} of one variant on {@code conc} threads; returns the wall time in seconds. */
    private static double runSlice(ExecutorService pool, Call call, long[] latencies, int from, int to, int conc)
            throws Exception {
        List<Future<?>> futures = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int t = 0; t < conc; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                for (int i = from + thread; i < to; i += conc) {
                    long s = System.nanoTime();
                    call.run();
                    latencies[i] = System.nanoTime() - s;
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get();
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static double percentile(long[] sorted, double q) {
        double rank = q * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
    }

    private static void runBare(OrtEnvironment env, OrtSession session, long[] ids, int batch) throws Exception {
        long[] shape = {batch, ids.length / batch};
        try (OnnxTensor i = OnnxTensor.createTensor(env, direct(ids), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, direct(fill(ids.length, 1)), shape);
             OnnxTensor t = OnnxTensor.createTensor(env, direct(fill(ids.length, 0)), shape);
             OrtSession.Result r = session.run(Map.of(INPUTS[0], i, INPUTS[1], m, INPUTS[2], t))) {
            if (r.size() == 0) {
                throw new IllegalStateException("no outputs");
            }
        }
    }

    /** [CLS] + 126 random word-piece ids + [SEP] per row, fixed seed. */
    static long[] tokenIds(int batch) {
        return tokenIds(batch, SEQ);
    }

    /** [CLS] + {@code seq - 2} random word-piece ids + [SEP] per row, fixed seed. */
    static long[] tokenIds(int batch, int seq) {
        Random random = new Random(42);
        long[] ids = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            ids[b * seq] = 101;
            for (int t = 1; t < seq - 1; t++) {
                ids[b * seq + t] = 1000 + random.nextInt(28000);
            }
            ids[b * seq + seq - 1] = 102;
        }
        return ids;
    }

    private static long[] fill(int n, long v) {
        long[] a = new long[n];
        Arrays.fill(a, v);
        return a;
    }

    private static LongBuffer direct(long[] values) {
        LongBuffer b = ByteBuffer.allocateDirect(values.length * 8).order(ByteOrder.nativeOrder()).asLongBuffer();
        return b.put(values).rewind();
    }

    static byte[] binaryHeader(int batch) {
        return binaryHeader(batch, SEQ);
    }

    private static byte[] binaryHeader(int batch, int seq) {
        int size = batch * seq * 8;
        StringBuilder sb = new StringBuilder("{\"inputs\":[");
        for (int k = 0; k < INPUTS.length; k++) {
            sb.append(k > 0 ? "," : "").append("{\"name\":\"").append(INPUTS[k]).append("\",\"datatype\":\"INT64\",")
                    .append("\"shape\":[").append(batch).append(',').append(seq).append("],")
                    .append("\"parameters\":{\"binary_data_size\":").append(size).append("}}");
        }
        return sb.append("],\"parameters\":{\"binary_data_output\":true}}").toString()
                .getBytes(StandardCharsets.UTF_8);
    }

    static byte[] binaryRequest(long[] ids, int batch) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(binaryHeader(batch, ids.length / batch));
        for (long[] values : new long[][]{ids, fill(ids.length, 1), fill(ids.length, 0)}) {
            ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long v : values) {
                b.putLong(v);
            }
            out.write(b.array());
        }
        return out.toByteArray();
    }

    static byte[] jsonRequest(long[] ids, int batch, boolean binaryOutput) {
        StringBuilder sb = new StringBuilder("{\"inputs\":[");
        long[][] data = {ids, fill(ids.length, 1), fill(ids.length, 0)};
        for (int k = 0; k < INPUTS.length; k++) {
            sb.append(k > 0 ? "," : "").append("{\"name\":\"").append(INPUTS[k]).append("\",\"datatype\":\"INT64\",")
                    .append("\"shape\":[").append(batch).append(',').append(ids.length / batch)
                    .append("],\"data\":[");
            for (int i = 0; i < data[k].length; i++) {
                sb.append(i > 0 ? "," : "").append(data[k][i]);
            }
            sb.append("]}");
        }
        sb.append("],\"parameters\":{\"binary_data_output\":").append(binaryOutput).append("}}");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }
}
