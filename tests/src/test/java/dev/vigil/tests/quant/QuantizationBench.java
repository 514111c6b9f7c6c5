package dev.vigil.tests.quant;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.exporter.LabeledBatch;
import dev.vigil.exporter.ModelDirectory;
import dev.vigil.exporter.Split;
import dev.vigil.server.Http;
import dev.vigil.server.ServerOptions;
import dev.vigil.server.VigilServer;
import dev.vigil.server.serving.Device;
import dev.vigil.server.serving.TextTokenizer;
import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures Vigil's live-calibrated static int8 export against the float model and, for MiniLM, against the int8
 * model langchain4j publishes (ONNX Runtime dynamic quantization). Vigil serves the float models in this process;
 * calibration traffic goes over HTTP until a window closes; the exports come from {@code GET /quantized}; evaluation
 * runs each model in ONNX Runtime (CPU, 2 intra-op threads) on held-out inputs. Prints markdown tables.
 *
 * <p>Run from the {@code tests} directory (scripts/quant-bench.sh). Args: evaluation sentences (default 240), latency
 * rounds (default 3), and {@code minilm} to measure MiniLM only.
 */
public final class QuantizationBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path MODELS = Path.of("..", "models");
    private static final String MINILM = "all-minilm-l6-v2";
    private static final int MINILM_WINDOW = 4096;
    private static final double REPORT_TARGET = 0.995;
    private static final String UINT8 = "uint8";
    private static final int EXPORTER_CALIBRATION_SEQUENCES = 64;
    private static final List<String> EXPORTER_MODELS = List.of("prenorm-256", "postnorm-256", "eft-256",
            "prenorm-512", "postnorm-512", "eft-512", "prenorm-1024", "postnorm-1024", "eft-1024");
    /** ONNX Runtime's integer MatMul kernels, counted in each model's optimized graph. */
    private static final List<String> INTEGER_MATMULS = List.of("MatMulIntegerToFloat", "DynamicQuantizeMatMul",
            "QLinearMatMul", "MatMulInteger", "QGemm", "QAttention");

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private Http http;

    private QuantizationBench() {
    }

    public static void main(String[] args) throws Exception {
        int evalSentences = args.length > 0 ? Integer.parseInt(args[0]) : 240;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        boolean miniLmOnly = args.length > 2 && args[2].equals("minilm");
        new QuantizationBench().run(evalSentences, rounds, miniLmOnly);
    }

    private void run(int evalSentences, int rounds, boolean miniLmOnly) throws Exception {
        Path repo = Files.createTempDirectory("vigil-quant-bench");
        Path minilm = Files.createDirectories(repo.resolve(MINILM));
        Files.createSymbolicLink(minilm.resolve("model.onnx"),
                MODELS.resolve(MINILM).resolve("model.onnx").toAbsolutePath());
        Files.createSymbolicLink(minilm.resolve("tokenizer.json"),
                MODELS.resolve(MINILM).resolve("tokenizer.json").toAbsolutePath());
        Files.writeString(minilm.resolve("config.json"), "{\"max_batch_size\": 8, \"probe\": {\"window_tokens\": "
                + MINILM_WINDOW + "}}");
        for (String m : EXPORTER_MODELS) {
            Path dir = Files.createDirectories(repo.resolve(m));
            Files.createSymbolicLink(dir.resolve("model.onnx"), MODELS.resolve(m).resolve("model.onnx")
                    .toAbsolutePath());
            int seqLen = ModelDirectory.readTask(MODELS.resolve(m)).task().seqLen();
            Files.writeString(dir.resolve("config.json"), "{\"max_batch_size\": 8, \"probe\": {\"window_tokens\": "
                    + EXPORTER_CALIBRATION_SEQUENCES * seqLen + "}}");
        }
        try (VigilServer server = new VigilServer(ServerOptions.builder().modelsDir(repo).port(0)
                .device(Device.parse("cpu")).intraOpThreads(2).build())) {
            http = new Http(server.start());
            System.out.println("Machine: " + Runtime.getRuntime().availableProcessors() + " cores (shared), ORT CPU, "
                    + "2 intra-op threads per session.\n");
            miniLm(evalSentences, rounds);
            if (!miniLmOnly) {
                exporterModels();
            }
        }
    }

    // ---------------------------------------------------------------- MiniLM

    private void miniLm(int evalSentences, int rounds) throws Exception {
        List<String> calibration = VariedSentences.make(1, 400);
        List<String> eval = VariedSentences.make(2, evalSentences);
        eval.removeAll(calibration);
        String base = "/v2/models/" + MINILM;
        int sent = 0;
        for (int i = 0, b = 1; !windowClosed(MINILM) && i < calibration.size(); i += b, b = b % 8 + 1) {
            List<String> batch = calibration.subList(i, Math.min(calibration.size(), i + b));
            ObjectNode req = JSON.createObjectNode();
            ObjectNode in = req.putArray("inputs").addObject();
            in.put("name", "text").put("datatype", "BYTES").putArray("shape").add(batch.size());
            ArrayNode data = in.putArray("data");
            batch.forEach(data::add);
            expect200(http.postJson(base + "/infer", req.toString()));
            sent += batch.size();
        }
        JsonNode cal = closedCalibration(MINILM);
        System.out.printf(Locale.ROOT, "## MiniLM: calibrated on %d live sentences (window %s: %s tokens, %s requests)"
                        + "; evaluated on %d other sentences%n%n", sent, cal.path("window").path("index"),
                cal.path("window").path("tokens"), cal.path("window").path("requests"), eval.size());
        List<String> advised = lowestSqnrSites(cal, 6);
        List<String> reported = reportAdvice(REPORT_TARGET);
        Map<String, byte[]> models = new LinkedHashMap<>();
        models.put("float (served model)", Files.readAllBytes(MODELS.resolve(MINILM).resolve("model.onnx")));
        models.put("published int8 (ORT dynamic)",
                Files.readAllBytes(MODELS.resolve(MINILM + "-q").resolve("model.onnx")));
        models.put("Vigil static int8, percentile, activations=int8", export(MINILM, "percentile", List.of(), "int8"));
        models.put("Vigil static int8, absmax", export(MINILM, "absmax", List.of(), UINT8));
        models.put("Vigil static int8, percentile", export(MINILM, "percentile", List.of(), UINT8));
        models.put("Vigil static int8, percentile, keep 1", export(MINILM, "percentile", advised.subList(0, 1),
                UINT8));
        models.put("Vigil static int8, percentile, keep 3", export(MINILM, "percentile", advised.subList(0, 3),
                UINT8));
        models.put("Vigil static int8, percentile, keep 6", export(MINILM, "percentile", advised, UINT8));
        models.put("Vigil static int8, absmax, keep 6", export(MINILM, "absmax", advised, UINT8));
        models.put("Vigil static int8, percentile, report's advice for " + REPORT_TARGET + " (keep " + reported.size()
                + ")", export(MINILM, "percentile", reported, UINT8));
        System.out.println("Kept in float (keep k: the first k of the matmul_input sites of lowest "
                + "`int8_sqnr_db.percentile` in the window, in that order): " + advised + "\n");

        List<Batch> batches = new ArrayList<>();
        try (TextTokenizer tok = TextTokenizer.load(MODELS.resolve(MINILM).resolve("tokenizer.json"))) {
            for (int i = 0, b = 1; i < eval.size(); i += b, b = b % 8 + 1) {
                List<String> part = eval.subList(i, Math.min(eval.size(), i + b));
                TextTokenizer.TokenizedBatch t = tok.encode(part.toArray(String[]::new), 512, "text");
                batches.add(new Batch(t.batch(), t.length(), longs(t.ids()), longs(t.attentionMask()),
                        longs(t.typeIds())));
            }
        }
        Map<String, OrtSession> sessions = new LinkedHashMap<>();
        Map<String, Integer> integerMatMuls = new LinkedHashMap<>();
        Path optimized = Files.createTempFile("vigil-quant-bench", ".onnx");
        try {
            for (Map.Entry<String, byte[]> e : models.entrySet()) {
                sessions.put(e.getKey(), session(e.getValue(), optimized));
                integerMatMuls.put(e.getKey(), integerMatMuls(optimized));
            }
            Map<String, List<float[]>> pooled = new LinkedHashMap<>();
            Map<String, double[]> tokenCos = new LinkedHashMap<>();
            for (Map.Entry<String, OrtSession> e : sessions.entrySet()) {
                pooled.put(e.getKey(), new ArrayList<>());
                for (Batch b : batches) {
                    pooled.get(e.getKey()).addAll(meanPooled(e.getValue(), b));
                }
            }
            List<float[]> ref = pooled.get("float (served model)");
            // latency: every model over all batches, the models' order rotated per round
            List<String> names = new ArrayList<>(sessions.keySet());
            Map<String, List<Double>> ms = new LinkedHashMap<>();
            names.forEach(n -> ms.put(n, new ArrayList<>()));
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < names.size(); k++) {
                    String n = names.get((k + r) % names.size());
                    long t0 = System.nanoTime();
                    for (Batch b : batches) {
                        meanPooled(sessions.get(n), b);
                    }
                    ms.get(n).add((System.nanoTime() - t0) / 1e6);
                }
            }
            System.out.println("| model | integer MatMul kernels | mean-pooled cosine to float: mean | worst | time for all "
                    + batches.size() + " requests (median of " + rounds + " rounds) | speed vs float (per round) "
                    + "| speed vs published int8 (per round) |");
            System.out.println("|---|---|---|---|---|---|---|");
            List<Double> floatMs = ms.get(names.get(0));
            List<Double> publishedMs = ms.get(names.get(1));
            for (String n : names) {
                double[] c = cosines(ref, pooled.get(n));
                List<Double> t = ms.get(n);
                System.out.printf(Locale.ROOT, "| %s | %d | %.4f | %.4f | %.0f ms | %s× | %s× |%n", n,
                        integerMatMuls.get(n), c[0], c[1], median(t), ratios(floatMs, t), ratios(publishedMs, t));
            }
            System.out.println();
        } finally {
            for (OrtSession s : sessions.values()) {
                s.close();
            }
            Files.deleteIfExists(optimized);
        }
    }

    /** Per round, {@code reference / time}: how many times faster than the reference. */
    private static String ratios(List<Double> reference, List<Double> time) {
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < time.size(); r++) {
            out.append(r == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", reference.get(r) / time.get(r)));
        }
        return out.toString();
    }

    /** The nodes of ONNX Runtime's integer MatMul kernels in the optimized model it saved to {@code file}. */
    private static int integerMatMuls(Path file) {
        int n = 0;
        for (ai.onnx.proto.OnnxMl.NodeProto node : dev.vigil.probes.OnnxModels.read(file).getGraph().getNodeList()) {
            n += INTEGER_MATMULS.contains(node.getOpType()) ? 1 : 0;
        }
        return n;
    }

    private record Batch(int size, int length, long[] ids, long[] mask, long[] types) {
    }

    /**
     * Asks {@code GET /quantized/report} (percentile) for {@code target}, waits for it, prints what it measured on
     * the recorded runs and its cost, and returns its advised keep_fp32 set.
     */
    private List<String> reportAdvice(double target) throws InterruptedException {
        String path = "/v2/models/" + MINILM + "/quantized/report?calibration=percentile&target_cosine=" + target;
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r = http.get(path);
        while (r.statusCode() == 202) {
            Thread.sleep(200);
            r = http.get(path);
        }
        expect200(r);
        double seconds = (System.nanoTime() - t0) / 1e9;
        JsonNode report = Http.json(r);
        JsonNode advice = report.path("advice");
        List<String> keep = new ArrayList<>();
        advice.path("keep_fp32").forEach(k -> keep.add(k.asText()));
        System.out.printf(Locale.ROOT, "Report for target_cosine %s (GET answered in %.1f s): %d recorded runs, %d sites;"
                        + " all int8 %.4f / %.4f (mean / worst token-row cosine on the recorded runs); keep %d: %s%n",
                target, seconds, report.path("recorded_requests").asInt(), report.path("sites").size(),
                report.path("all_int8").path("cosine_mean").asDouble(),
                report.path("all_int8").path("cosine_worst").asDouble(), keep.size(), keep);
        System.out.printf(Locale.ROOT, "  predicted %.4f, checked (switchable) %.4f / %.4f, measured (export) %.4f / %.4f,"
                        + " reached %s%n", advice.path("predicted_cosine_mean").asDouble(),
                advice.path("checked").path("cosine_mean").asDouble(),
                advice.path("checked").path("cosine_worst").asDouble(),
                advice.path("measured").path("cosine_mean").asDouble(),
                advice.path("measured").path("cosine_worst").asDouble(), advice.path("reached").asBoolean());
        for (String part : List.of("sweep", "advice")) {
            JsonNode c = report.path("cost").path(part);
            System.out.printf(Locale.ROOT, "  cost of the %s: %d passes, %d ORT runs, %d sessions, %d ms%n", part,
                    c.path("passes").asInt(), c.path("runs").asInt(), c.path("sessions").asInt(), c.path("ms").asLong());
        }
        System.out.println("  ranking (error share, cosine alone): ");
        for (JsonNode s : report.path("sites")) {
            if (s.path("rank").asInt() > 10) {
                break;
            }
            System.out.printf(Locale.ROOT, "    %d. %s (%s): %.3f, %.5f%n", s.path("rank").asInt(),
                    s.path("name").asText(), s.path("tensor").asText(), s.path("error_share").asDouble(),
                    s.path("cosine_mean_alone").asDouble());
        }
        System.out.println();
        return keep;
    }

    private List<float[]> meanPooled(OrtSession s, Batch b) throws Exception {
        long[] shape = {b.size(), b.length()};
        try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(b.ids()), shape);
             OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(b.mask()), shape);
             OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(b.types()), shape);
             OrtSession.Result r = s.run(Map.of("input_ids", ids, "attention_mask", mask, "token_type_ids", types))) {
            FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
            int d = out.remaining() / (b.size() * b.length());
            List<float[]> rows = new ArrayList<>();
            for (int i = 0; i < b.size(); i++) {
                float[] sum = new float[d];
                int n = 0;
                for (int t = 0; t < b.length(); t++) {
                    if (b.mask()[i * b.length() + t] == 0) {
                        continue;
                    }
                    n++;
                    int off = (i * b.length() + t) * d;
                    for (int j = 0; j < d; j++) {
                        sum[j] += out.get(off + j);
                    }
                }
                for (int j = 0; j < d; j++) {
                    sum[j] /= n;
                }
                rows.add(sum);
            }
            return rows;
        }
    }

    /** {mean, min} of the row cosines of b against a. */
    private static double[] cosines(List<float[]> a, List<float[]> b) {
        double sum = 0;
        double worst = 1;
        for (int i = 0; i < a.size(); i++) {
            double c = cosine(a.get(i), b.get(i));
            sum += c;
            worst = Math.min(worst, c);
        }
        return new double[] {sum / a.size(), worst};
    }

    private static double cosine(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int j = 0; j < a.length; j++) {
            ab += (double) a[j] * b[j];
            aa += (double) a[j] * a[j];
            bb += (double) b[j] * b[j];
        }
        return aa == 0 || bb == 0 ? (aa == bb ? 1 : 0) : ab / Math.sqrt(aa * bb);
    }

    /** The {@code k} matmul_input sites of lowest percentile SQNR in the calibration window. */
    private List<String> lowestSqnrSites(JsonNode cal, int k) {
        JsonNode probes = Http.json(http.get("/v2/models/" + MINILM + "/probes"));
        List<String> matmulInputs = new ArrayList<>();
        for (JsonNode s : probes.path("sites")) {
            if (s.path("kind").asText().equals("matmul_input")) {
                matmulInputs.add(s.path("tensor").asText());
            }
        }
        List<JsonNode> tensors = new ArrayList<>();
        cal.path("tensors").forEach(t -> {
            if (matmulInputs.contains(t.path("tensor").asText())) {
                tensors.add(t);
            }
        });
        tensors.sort(Comparator.comparingDouble(t -> t.path("int8_sqnr_db").path("percentile").asDouble()));
        return tensors.subList(0, k).stream().map(t -> t.path("tensor").asText()).toList();
    }

    // ---------------------------------------------------------------- exporter models

    private void exporterModels() throws Exception {
        System.out.println("## Exporter models: calibrated on " + EXPORTER_CALIBRATION_SEQUENCES + " training sequences"
                + " (one window), evaluated on the validation split\n");
        System.out.println("| model | min matmul_input SQNR dB (absmax / percentile) | float accuracy | int8 absmax: "
                + "accuracy, top-1 agreement | int8 percentile: accuracy, top-1 agreement |");
        System.out.println("|---|---|---|---|---|");
        for (String m : EXPORTER_MODELS) {
            ModelDirectory.TrainedTask task = ModelDirectory.readTask(MODELS.resolve(m));
            int seqLen = task.task().seqLen();
            for (int first = 0; first < EXPORTER_CALIBRATION_SEQUENCES; first += 8) {
                LabeledBatch b = task.task().batch(task.seed(), Split.TRAIN, first, 8);
                expect200(http.postJson("/v2/models/" + m + "/infer", idsJson(b.ids(), b.size(), seqLen)));
            }
            JsonNode cal = closedCalibration(m);
            double minAbs = Double.POSITIVE_INFINITY;
            double minPct = Double.POSITIVE_INFINITY;
            for (JsonNode t : cal.path("tensors")) {
                minAbs = Math.min(minAbs, t.path("int8_sqnr_db").path("absmax").asDouble(Double.POSITIVE_INFINITY));
                minPct = Math.min(minPct, t.path("int8_sqnr_db").path("percentile")
                        .asDouble(Double.POSITIVE_INFINITY));
            }
            byte[] fModel = Files.readAllBytes(MODELS.resolve(m).resolve("model.onnx"));
            byte[][] variants = {export(m, "absmax", List.of(), UINT8), export(m, "percentile", List.of(), UINT8)};
            int n = task.validationSize();
            LabeledBatch val = task.task().batch(task.seed(), Split.VALIDATION, 0, n);
            int[] fTop = top1(fModel, val);
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %.1f / %.1f | %.3f |", m, minAbs,
                    minPct, accuracy(fTop, val.labels())));
            for (byte[] v : variants) {
                int[] q = top1(v, val);
                row.append(String.format(Locale.ROOT, " %.3f, %.3f |", accuracy(q, val.labels()), accuracy(q, fTop)));
            }
            System.out.println(row);
        }
        System.out.println();
    }

    private int[] top1(byte[] model, LabeledBatch all) throws Exception {
        int[] top = new int[all.size()];
        try (OrtSession s = session(model, null)) {
            for (int first = 0; first < all.size(); first += 8) {
                int size = Math.min(8, all.size() - first);
                long[] ids = Arrays.copyOfRange(all.ids(), first * all.seqLen(), (first + size) * all.seqLen());
                try (OnnxTensor t = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {size, all.seqLen()});
                     OrtSession.Result r = s.run(Map.of("input_ids", t))) {
                    float[][] logits = (float[][]) r.get(0).getValue();
                    for (int i = 0; i < size; i++) {
                        int best = 0;
                        for (int c = 1; c < logits[i].length; c++) {
                            if (logits[i][c] > logits[i][best]) {
                                best = c;
                            }
                        }
                        top[first + i] = best;
                    }
                }
            }
        }
        return top;
    }

    private static double accuracy(int[] predicted, int[] reference) {
        int same = 0;
        for (int i = 0; i < predicted.length; i++) {
            same += predicted[i] == reference[i] ? 1 : 0;
        }
        return (double) same / predicted.length;
    }

    private static String idsJson(long[] ids, int batch, int seqLen) {
        ObjectNode req = JSON.createObjectNode();
        ObjectNode in = req.putArray("inputs").addObject();
        in.put("name", "input_ids").put("datatype", "INT64");
        in.putArray("shape").add(batch).add(seqLen);
        ArrayNode data = in.putArray("data");
        for (long v : ids) {
            data.add(v);
        }
        return req.toString();
    }

    // ---------------------------------------------------------------- helpers

    private byte[] export(String model, String calibration, List<String> keep, String activations) {
        String q = "/v2/models/" + model + "/quantized?calibration=" + calibration + "&activations=" + activations
                + (keep.isEmpty() ? "" : "&keep_fp32=" + java.net.URLEncoder.encode(String.join(",", keep),
                java.nio.charset.StandardCharsets.UTF_8));
        HttpResponse<byte[]> r = http.get(q);
        expect200(r);
        return r.body();
    }

    /** A session with 2 intra-op threads; it saves its optimized graph to {@code optimized} unless null. */
    private OrtSession session(byte[] model, Path optimized) throws Exception {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(2);
            if (optimized != null) {
                opts.setOptimizedModelFilePath(optimized.toString());
            }
            return env.createSession(model, opts);
        }
    }

    private boolean windowClosed(String model) {
        JsonNode cal = Http.json(http.get("/v2/models/" + model + "/calibration"));
        return cal.path("window").path("closed").asBoolean(false);
    }

    private JsonNode closedCalibration(String model) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            JsonNode cal = Http.json(http.get("/v2/models/" + model + "/calibration"));
            if (cal.path("window").path("closed").asBoolean(false)) {
                return cal;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no window closed for " + model);
    }

    private static void expect200(HttpResponse<byte[]> r) {
        if (r.statusCode() != 200) {
            throw new IllegalStateException(r.statusCode() + ": " + Http.text(r));
        }
    }

    private static long[] longs(java.nio.ByteBuffer b) {
        LongBuffer lb = b.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        long[] v = new long[lb.remaining()];
        lb.get(v);
        return v;
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}
