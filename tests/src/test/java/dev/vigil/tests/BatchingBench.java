package dev.vigil.tests;

import dev.vigil.server.Http;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.SessionFactory;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.sun.management.OperatingSystemMXBean;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Dynamic batching benchmark: one server holds MiniLM twice, probes off, {@code off} (every request alone) and
 * {@code on} ({@code dynamic_batching}, max_batch_size 32). Single short sentences (5–20 tokens, text in, binary
 * output) and single 128-token sequences (binary tensors in and out) at concurrency 1, 8 and 32, the two variants
 * interleaved in rounds. Prints req/s, p50/p99, the on/off throughput ratio, the process's CPU time per request
 * (what a shared machine does not distort) and the mean rows per model run of {@code on}.
 *
 * <p>Run: {@code scripts/probe-bench.sh batching [short requests] [128-token requests] [max_queue_delay_us]
 * [concurrencies] [kinds]} (defaults 256, 64, 2000, {@code 1,8,32}, {@code short,long}; each cell sends at least 8
 * short or 2 long requests per client thread and round). The kind {@code cpu} adds, per concurrency, where the CPU
 * of a short-sentence request goes: each variant alone, the process's CPU time by thread job. The kind {@code bare}
 * adds bare ONNX Runtime's CPU time per sequence at batch 1, 4 and 8 from 16 to 128 tokens: where merging saves.
 */
public final class BatchingBench {
    private static final String[] WORDS = {"the", "model", "serves", "requests", "over", "http", "and", "every",
            "layer", "is", "watched", "for", "massive", "activations", "attention", "sinks", "dead", "neurons", "a",
            "quick", "brown", "fox", "jumps", "lazy", "dog", "paris", "capital", "france", "weather", "today",
            "tomorrow", "rain", "sun", "batch", "queue", "delay", "token", "sentence", "short", "long"};
    private static final Pattern SAMPLE = Pattern.compile(
            "(?m)^vigil_batch_size_(sum|count)\\{model=\"on\"} (\\S+)$");

    private BatchingBench() {
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        int shortRequests = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        int longRequests = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        long delayUs = args.length > 2 ? Long.parseLong(args[2]) : 2000;
        int[] concurrencies = Arrays.stream((args.length > 3 ? args[3] : "1,8,32").split(","))
                .mapToInt(Integer::parseInt).toArray();
        List<String> kinds = List.of((args.length > 4 ? args[4] : "short,long").split(","));
        Path bundled = Files.isDirectory(MiniLmTextTest.MODELS) ? MiniLmTextTest.MODELS : Path.of("models");
        Path source = bundled.resolve(MiniLmTextTest.MODEL).toAbsolutePath();
        Path repo = Files.createTempDirectory("vigil-batching-bench");
        for (String name : new String[]{"off", "on"}) {
            Path dir = Files.createDirectories(repo.resolve(name));
            Files.createSymbolicLink(dir.resolve("model.onnx"), source.resolve("model.onnx"));
            Files.createSymbolicLink(dir.resolve("tokenizer.json"), source.resolve("tokenizer.json"));
            Files.writeString(dir.resolve("config.json"), "{\"max_batch_size\": 32, \"probe\": {\"enabled\": false}"
                    + (name.equals("on") ? ", \"dynamic_batching\": {\"max_queue_delay_us\": " + delayUs + "}" : "")
                    + "}");
        }
        List<String> sentences = sentences(new Random(7), 512);
        byte[] longBody = ServingBench.binaryRequest(ServingBench.tokenIds(1), 1);
        String longHeader = Integer.toString(ServingBench.binaryHeader(1).length);
        try (VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0)
                .device(Device.parse("cpu")).build())) {
            Http http = new Http(server.start());
            List<String> rows = new ArrayList<>();
            rows.add("| requests | conc | batching | n | req/s | p50 ms | p99 ms | on/off req/s | CPU ms/req "
                    + "| off/on CPU | rows per run |");
            rows.add("|---|---|---|---|---|---|---|---|---|---|---|");
            for (String kind : new String[]{"short sentence", "128 tokens"}) {
                if (!kinds.contains(kind.equals("128 tokens") ? "long" : "short")) {
                    continue;
                }
                for (int conc : concurrencies) {
                    ServingBench.Call[] calls = new ServingBench.Call[2];
                    for (int v = 0; v < 2; v++) {
                        String path = "/v2/models/" + (v == 0 ? "off" : "on") + "/infer";
                        AtomicInteger next = new AtomicInteger();
                        calls[v] = kind.equals("128 tokens")
                                ? () -> ServingBench.expect200(http.post(path, longBody,
                                        "Inference-Header-Content-Length", longHeader))
                                : () -> ServingBench.expect200(http.postJson(path, textRequest(
                                        sentences.get(Math.floorMod(next.getAndIncrement(), sentences.size())))));
                    }
                    double[] before = mergedBatches(http);
                    // every client thread sends several requests per round, so that the concurrency holds
                    int n = kind.equals("128 tokens") ? Math.max(longRequests, conc * 2 * 4)
                            : Math.max(shortRequests, conc * 8 * 4);
                    ServingBench.Stats[] s = ServingBench.measureInterleaved(calls, n, conc, conc == 32 ? 8 : 4);
                    double[] after = mergedBatches(http);
                    double merged = (after[0] - before[0]) / Math.max(1, after[1] - before[1]);
                    for (int v = 0; v < 2; v++) {
                        rows.add(String.format(Locale.ROOT,
                                "| %s | %d | %s | %d | %.1f | %.1f | %.1f | %s | %.1f | %s | %s |",
                                kind, conc, v == 0 ? "off" : "on", n, s[v].reqPerSec(), s[v].p50Ms(), s[v].p99Ms(),
                                v == 0 ? "1.00" : String.format(Locale.ROOT, "**%.2f**",
                                        s[1].reqPerSec() / s[0].reqPerSec()),
                                s[v].cpuMsPerRequest(),
                                v == 0 ? "1.00" : String.format(Locale.ROOT, "**%.2f**",
                                        s[0].cpuMsPerRequest() / s[1].cpuMsPerRequest()),
                                v == 0 ? "1" : String.format(Locale.ROOT, "%.1f", merged)));
                    }
                    System.out.println(String.join("\n", rows.subList(rows.size() - 2, rows.size())));
                }
            }
            if (kinds.contains("bare")) {
                rows.add("");
                rows.addAll(bareRuns(source.resolve("model.onnx")));
            }
            if (kinds.contains("cpu")) {
                rows.add("");
                rows.addAll(cpuByThread(http, sentences, concurrencies, shortRequests));
            }
            System.out.println();
            System.out.println("MiniLM, probes off, max_batch_size 32, max_queue_delay_us " + delayUs + ", "
                    + Runtime.getRuntime().availableProcessors() + " cores, load average before the run: "
                    + String.format(Locale.ROOT, "%.1f",
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
            System.out.println(String.join("\n", rows));
        }
    }

    /**
     * Where the CPU of a short-sentence request goes, each variant measured alone after the interleaved cells: the
     * CPU time of the process's threads by job, per request.
     */
    private static List<String> cpuByThread(Http http, List<String> sentences, int[] concurrencies, int requests)
            throws Exception {
        List<String> out = new ArrayList<>();
        out.add("| conc | batching | req/s | process CPU ms/req | HTTP client | server request threads "
                + "| batcher thread | ORT pool, GC, JIT |");
        out.add("|---|---|---|---|---|---|---|---|");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        OperatingSystemMXBean os = (OperatingSystemMXBean)
                ManagementFactory.getOperatingSystemMXBean();
        for (int conc : concurrencies) {
            for (String variant : new String[]{"off", "on"}) {
                String path = "/v2/models/" + variant + "/infer";
                AtomicInteger next = new AtomicInteger();
                int n = Math.max(requests, conc * 16);
                AtomicInteger left = new AtomicInteger(n);
                Runnable call = () -> ServingBench.expect200(http.postJson(path, textRequest(
                        sentences.get(Math.floorMod(next.getAndIncrement(), sentences.size())))));
                for (int i = 0; i < conc; i++) {
                    call.run();
                }
                Map<String, Long> before = threadCpu(threads);
                long process0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                ExecutorService pool = Executors.newFixedThreadPool(conc,
                        r -> new Thread(r, "bench-client"));
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < conc; t++) {
                    done.add(pool.submit(() -> {
                        while (left.getAndDecrement() > 0) {
                            call.run();
                        }
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
                pool.shutdown();
                double seconds = (System.nanoTime() - t0) / 1e9;
                double process = (os.getProcessCpuTime() - process0) / 1e6 / n;
                double[] byJob = new double[3];
                double java = 0;
                for (Map.Entry<String, Long> e : threadCpu(threads).entrySet()) {
                    double ms = (e.getValue() - before.getOrDefault(e.getKey(), 0L)) / 1e6 / n;
                    java += ms;
                    String name = e.getKey();
                    if (name.startsWith("bench-client") || name.startsWith("HttpClient")) {
                        byJob[0] += ms;
                    } else if (name.startsWith("JettyServerThreadPool") || name.startsWith("qtp")) {
                        byJob[1] += ms;
                    } else if (name.startsWith("vigil-batcher")) {
                        byJob[2] += ms;
                    }
                }
                out.add(String.format(Locale.ROOT, "| %d | %s | %.1f | %.2f | %.2f | %.2f | %.2f | %.2f |", conc,
                        variant, n / seconds, process, byJob[0], byJob[1], byJob[2], process - java));
                System.out.println(out.get(out.size() - 1));
            }
        }
        return out;
    }

    /**
     * Bare ONNX Runtime on the server's CPU session options: the process's CPU time per sequence at batch 1, 4 and 8
     * for sequence lengths from 16 to 128 tokens (32 sequences per sample, medians of 5 rounds, the batch sizes of one length interleaved),
     * and how much less a sequence costs in a batch of 4 or 8 than alone.
     */
    private static List<String> bareRuns(Path model) throws Exception {
        List<String> out = new ArrayList<>();
        out.add("| tokens | CPU ms/seq at batch 1 | batch 4 | batch 8 | batch 1 / batch 4 | batch 1 / batch 8 |");
        out.add("|---|---|---|---|---|---|");
        OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        int[] batches = {1, 4, 8};
        int rounds = 5;
        SessionFactory sessions = new SessionFactory(Device.parse("cpu"), 0);
        try (OrtSession session = sessions.create(Files.readAllBytes(model))) {
            for (int tokens : new int[]{16, 32, 64, 96, 128}) {
                double[][] ms = new double[batches.length][rounds];
                for (int r = -1; r < rounds; r++) {
                    for (int b = 0; b < batches.length; b++) {
                        // 32 sequences per sample: the process CPU clock ticks in milliseconds
                        long cpu0 = os.getProcessCpuTime();
                        for (int k = 0; k < 32 / batches[b]; k++) {
                            runOnce(sessions.environment(), session, batches[b], tokens);
                        }
                        if (r >= 0) {
                            ms[b][r] = (os.getProcessCpuTime() - cpu0) / 1e6 / 32;
                        }
                    }
                }
                double[] median = new double[batches.length];
                for (int b = 0; b < batches.length; b++) {
                    Arrays.sort(ms[b]);
                    median[b] = ms[b][rounds / 2];
                }
                out.add(String.format(Locale.ROOT, "| %d | %.2f | %.2f | %.2f | %.2f | %.2f |", tokens, median[0],
                        median[1], median[2], median[0] / median[1], median[0] / median[2]));
                System.out.println(out.get(out.size() - 1));
            }
        }
        return out;
    }

    private static void runOnce(OrtEnvironment env, OrtSession session, int batch, int tokens) throws Exception {
        long[] shape = {batch, tokens};
        long[] ids = new long[batch * tokens];
        long[] mask = new long[batch * tokens];
        Random random = new Random(tokens);
        for (int i = 0; i < ids.length; i++) {
            int t = i % tokens;
            ids[i] = t == 0 ? 101 : t == tokens - 1 ? 102 : 1000 + random.nextInt(28000);
            mask[i] = 1;
        }
        try (OnnxTensor id = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor m = OnnxTensor.createTensor(env, LongBuffer.wrap(mask), shape);
             OnnxTensor type = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[ids.length]), shape);
             OrtSession.Result ignored = session.run(Map.of("input_ids", id, "attention_mask", m,
                     "token_type_ids", type))) {
            // only the run's CPU time is wanted
        }
    }

    /** CPU nanoseconds of every live thread, by name and id. */
    private static Map<String, Long> threadCpu(ThreadMXBean threads) {
        Map<String, Long> out = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            ThreadInfo info = threads.getThreadInfo(id);
            long cpu = threads.getThreadCpuTime(id);
            if (info != null && cpu >= 0) {
                out.put(info.getThreadName() + "#" + id, cpu);
            }
        }
        return out;
    }

    /** Sentences of 3–18 words: 5–20 tokens with [CLS] and [SEP]. */
    private static List<String> sentences(Random random, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            StringBuilder sb = new StringBuilder();
            for (int w = 0, words = 3 + random.nextInt(16); w < words; w++) {
                sb.append(w > 0 ? " " : "").append(WORDS[random.nextInt(WORDS.length)]);
            }
            out.add(sb.toString());
        }
        return out;
    }

    private static String textRequest(String sentence) {
        return "{\"inputs\":[{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\"" + sentence
                + "\"]}],\"outputs\":[{\"name\":\"output_0\"}],\"parameters\":{\"binary_data_output\":true}}";
    }

    /** The {@code on} model's vigil_batch_size sum and count. */
    private static double[] mergedBatches(Http http) {
        double[] out = new double[2];
        Matcher m = SAMPLE.matcher(Http.text(http.get("/metrics")));
        while (m.find()) {
            out[m.group(1).equals("sum") ? 0 : 1] = Double.parseDouble(m.group(2));
        }
        return out;
    }
}
